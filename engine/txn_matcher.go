package engine

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/pingcap/kvproto/pkg/cdcpb"
)

// OpType is what a delivered row does to its key.
type OpType uint8

const (
	OpUnknown OpType = iota
	OpPut
	OpDelete
)

func (o OpType) String() string {
	switch o {
	case OpPut:
		return "put"
	case OpDelete:
		return "delete"
	}
	return "unknown"
}

func opTypeOf(op cdcpb.Event_Row_OpType) OpType {
	switch op {
	case cdcpb.Event_Row_PUT:
		return OpPut
	case cdcpb.Event_Row_DELETE:
		return OpDelete
	}
	return OpUnknown
}

// Row is one committed change ready for delivery. Its byte slices alias the
// decoded events it came from and must not be modified.
type Row struct {
	OpType   OpType
	Key      []byte
	Value    []byte
	OldValue []byte
	StartTs  uint64
	CommitTs uint64
}

// RowFromCommitted converts a COMMITTED row (found by the incremental scan, or
// a live one-phase commit), which carries its value and needs no matching.
func RowFromCommitted(row *cdcpb.Event_Row) Row {
	return Row{
		OpType:   opTypeOf(row.OpType),
		Key:      row.Key,
		Value:    row.Value,
		OldValue: row.OldValue,
		StartTs:  row.StartTs,
		CommitTs: row.CommitTs,
	}
}

// ErrCommitWithoutPrewrite is returned when an initialized region sends a
// COMMIT whose PREWRITE was never seen. TiCDC treats this as fatal; the engine
// treats it as a region error and registers the region again, which rescans
// from the region's resolved ts.
var ErrCommitWithoutPrewrite = errors.New("commit without a matching prewrite")

// TxnMatcher pairs a region's live COMMIT rows with the PREWRITE rows that
// carry their values. TiKV sends a transaction's value with its PREWRITE and
// only (start ts, key) with its COMMIT; before the region is INITIALIZED the
// incremental scan and live rows interleave, so a COMMIT can arrive before
// the scanned PREWRITE it needs and has to be held back until the scan ends.
// Filtering rows by ts is the caller's job.
//
// Owner: the engine's event-loop goroutine, one matcher per region. The zero
// value is ready to use. An idle matcher holds no map (a subscription can have
// 100k regions): the prewrite cache is allocated by the first PREWRITE and
// dropped by Tidy once it has been empty for a while.
type TxnMatcher struct {
	// prewrites holds PREWRITE values until their COMMIT or ROLLBACK.
	prewrites map[txnKey]prewriteValue
	// early holds the COMMIT and ROLLBACK rows that arrived before
	// INITIALIZED and could not be applied yet, in arrival order. By
	// value: the rows of a message live in slabs the event loop reuses
	// once the message is handled (their bytes are the message's own).
	early []cdcpb.Event_Row
	// prewroteSinceTidy keeps an emptied map for a region that is still
	// writing, so a busy region does not reallocate it per transaction.
	prewroteSinceTidy bool
	// initialized: INITIALIZED was seen, so later prewrites are live ones
	// (for the diagnosis: was a pinning lock found by the scan or live).
	initialized bool
}

// txnKey identifies one transaction's write to one key.
type txnKey struct {
	startTs uint64
	key     string
}

type prewriteValue struct {
	value, oldValue []byte
	generation      uint64
	inScan          bool // arrived before INITIALIZED
}

// Prewrite caches a PREWRITE row's value for its COMMIT. An empty-value row
// (a "fake" prewrite TiKV sends for a transaction heartbeat) never replaces
// one with a value, and a lower generation (pipelined DML flushes) never
// replaces a higher one.
func (m *TxnMatcher) Prewrite(row *cdcpb.Event_Row) {
	m.prewroteSinceTidy = true
	if cached, ok := m.prewrites[txnKey{row.StartTs, borrowKey(row.Key)}]; ok {
		if len(row.Value) == 0 && len(cached.value) > 0 {
			return
		}
		if row.Generation < cached.generation {
			return
		}
	}
	if m.prewrites == nil {
		m.prewrites = make(map[txnKey]prewriteValue)
	}
	// The cache outlives the event the row came in, whose bytes alias the
	// whole message: the key, value and old value get one allocation of
	// their own, so an open transaction holds its own bytes and no more.
	buf := make([]byte, 0, len(row.Key)+len(row.Value)+len(row.OldValue))
	buf = append(buf, row.Key...)
	buf = append(buf, row.Value...)
	buf = append(buf, row.OldValue...)
	k, v := len(row.Key), len(row.Key)+len(row.Value)
	m.prewrites[txnKey{row.StartTs, unsafe.String(unsafe.SliceData(buf), k)}] = prewriteValue{
		value:      keepNil(row.Value, buf[k:v:v]),
		oldValue:   keepNil(row.OldValue, buf[v:]),
		generation: row.Generation,
		inScan:     !m.initialized,
	}
}

// keepNil is copy, or nil where the original was nil (an absent value).
func keepNil(original, copy []byte) []byte {
	if original == nil {
		return nil
	}
	return copy
}

// Commit matches a live COMMIT row with its cached PREWRITE and returns the
// row to deliver, taking Value and OldValue from the prewrite. initialized is
// whether the region's INITIALIZED has been seen.
//
// Before INITIALIZED a prewrite with an empty value or a non-zero generation
// may still be superseded by the scan, so it is not matched then; an
// unmatched COMMIT is held back (matched is false, no error) for
// MarkInitialized. After INITIALIZED an unmatched COMMIT is an error wrapping
// ErrCommitWithoutPrewrite.
func (m *TxnMatcher) Commit(row *cdcpb.Event_Row, initialized bool) (delivered Row, matched bool, err error) {
	if delivered, matched = m.match(row, initialized); matched {
		return delivered, true, nil
	}
	if !initialized {
		m.early = append(m.early, *row)
		return Row{}, false, nil
	}
	return Row{}, false, fmt.Errorf("%w: start ts %d, commit ts %d, key %x",
		ErrCommitWithoutPrewrite, row.StartTs, row.CommitTs, row.Key)
}

func (m *TxnMatcher) match(row *cdcpb.Event_Row, initialized bool) (Row, bool) {
	k := txnKey{row.StartTs, borrowKey(row.Key)}
	cached, ok := m.prewrites[k]
	if !ok || (!initialized && (len(cached.value) == 0 || cached.generation > 0)) {
		return Row{}, false
	}
	delete(m.prewrites, k)
	return Row{
		OpType:   opTypeOf(row.OpType),
		Key:      row.Key,
		Value:    cached.value,
		OldValue: cached.oldValue,
		StartTs:  row.StartTs,
		CommitTs: row.CommitTs,
	}, true
}

// Rollback forgets the rolled-back transaction's prewrite. Before INITIALIZED
// the prewrite may not have been scanned yet, so the rollback is held back
// for MarkInitialized.
func (m *TxnMatcher) Rollback(row *cdcpb.Event_Row, initialized bool) {
	if !initialized {
		m.early = append(m.early, *row)
		return
	}
	delete(m.prewrites, txnKey{row.StartTs, borrowKey(row.Key)})
}

// MarkInitialized handles the region's INITIALIZED event: the scan has sent
// every prewrite it will, so the held-back COMMITs are matched (rows, in
// arrival order) and the held-back ROLLBACKs applied. A COMMIT still without
// a prewrite is dropped and counted: its transaction was committed before the
// scan's snapshot, so the scan already delivered it as COMMITTED.
func (m *TxnMatcher) MarkInitialized() (rows []Row, dropped int) {
	m.initialized = true
	early := m.early
	m.early = nil
	for i := range early {
		row := &early[i]
		if row.Type != cdcpb.Event_COMMIT {
			continue
		}
		if r, ok := m.match(row, true); ok {
			rows = append(rows, r)
		} else {
			dropped++
		}
	}
	for i := range early {
		if row := &early[i]; row.Type == cdcpb.Event_ROLLBACK {
			delete(m.prewrites, txnKey{row.StartTs, borrowKey(row.Key)})
		}
	}
	return rows, dropped
}

// borrowKey views key as a string without copying it, for map lookups and
// deletes, which do not keep the key: matching runs for every row, and row
// keys are often longer than the 32 bytes the compiler converts on the stack.
// The row's bytes are not modified while the view is in use.
func borrowKey(key []byte) string { return unsafe.String(unsafe.SliceData(key), len(key)) }

// Len is the number of cached prewrites: transactions prewritten in the
// region and not yet committed or rolled back.
func (m *TxnMatcher) Len() int { return len(m.prewrites) }

// Oldest is the open transaction with the lowest start ts: the one that
// holds the region's resolved ts when it is stuck. open is how many
// prewrites are open; 0 (and nothing else) when none. It walks the cache,
// so the engine asks only for regions whose resolved ts is stuck.
func (m *TxnMatcher) Oldest() (startTs uint64, key string, inScan bool, open int) {
	for k, v := range m.prewrites {
		if startTs == 0 || k.startTs < startTs || (k.startTs == startTs && k.key < key) {
			startTs, key, inScan = k.startTs, k.key, v.inScan
		}
	}
	return startTs, key, inScan, len(m.prewrites)
}

// HoldsAt reports whether an open transaction started at exactly startTs:
// TiKV resolves a locked region to its oldest lock's start ts, so a
// resolved ts equal to an open prewrite's start ts is that lock's doing.
// It walks the cache; the engine asks only about a batch that would move
// its store's newest resolved ts.
func (m *TxnMatcher) HoldsAt(startTs uint64) bool {
	for k := range m.prewrites {
		if k.startTs == startTs {
			return true
		}
	}
	return false
}

// Early is the number of COMMIT and ROLLBACK rows held back until
// INITIALIZED.
func (m *TxnMatcher) Early() int { return len(m.early) }

// Tidy releases the prewrite cache if it is empty and no PREWRITE arrived
// since the previous Tidy. Call it on each resolved ts of the region: Go maps
// never shrink, so a cache that once held a large transaction would otherwise
// be kept forever, yet a region writing steadily keeps its map.
func (m *TxnMatcher) Tidy() {
	// Writes only what changes: most regions have nothing to tidy, and a
	// million of them are tidied every second.
	if m.prewrites != nil && len(m.prewrites) == 0 && !m.prewroteSinceTidy {
		m.prewrites = nil
	}
	if m.prewroteSinceTidy {
		m.prewroteSinceTidy = false
	}
}

// Clear forgets everything, as when the region is removed from the stream:
// a new registration rescans from the resolved ts and sends the prewrites
// again.
func (m *TxnMatcher) Clear() { *m = TxnMatcher{} }
