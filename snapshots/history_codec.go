package snapshots

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// mark is what the timeline keeps of one region at one moment: 32 bytes,
// as there is one per region in the base and in every cursor. Times are
// milliseconds since the recorder's epoch (its first moment) in an int32,
// so they reach ±24 days around it (farther ones are clamped); noTime is
// unset. Indexes point into the History's tables.
type mark struct {
	lagRef   int32 // lagTracking: the lag (ms); lagFrozen: when resolved ts stopped
	since    int32
	errAt    int32
	attempts int32
	err      int32  // Strings index; 0 is ""
	diag     int32  // Strings index
	store    uint16 // StoreIDs index; 0: none
	state    uint8  // States index; 0: the region is not there
	cause    uint8  // Causes index
	flags    uint8
	lag      uint8 // lagNone, lagTracking, lagFrozen
}

// noTime is an unset time in a mark.
const noTime = math.MinInt32

// epochTime converts between unix milliseconds (0: unset) and a mark's
// time relative to epoch.
type epochTime int64

func (e epochTime) rel(ms int64) int32 {
	if ms == 0 {
		return noTime
	}
	return int32(min(max(ms-int64(e), math.MinInt32+1), math.MaxInt32))
}

func (e epochTime) abs(v int32) int64 {
	if v == noTime {
		return 0
	}
	return int64(e) + int64(v)
}

const (
	lagNone     = 0
	lagTracking = 1
	lagFrozen   = 2

	flagInitialized = 1
)

// Field groups of a delta: the mask byte says which follow.
const (
	fState    = 1 << iota // state, cause, flags
	fStore                // store id
	fSince                // since
	fLag                  // lag model
	fAttempts             // retry attempts
	fErr                  // last error and its time
	fDiag                 // diagnosis
	fAll      = fState | fStore | fSince | fLag | fAttempts | fErr | fDiag
)

func diffMask(o, n *mark) byte {
	var m byte
	if o.state != n.state || o.cause != n.cause || o.flags != n.flags {
		m |= fState
	}
	if o.store != n.store {
		m |= fStore
	}
	if o.since != n.since {
		m |= fSince
	}
	if o.lag != n.lag || o.lagRef != n.lagRef {
		m |= fLag
	}
	if o.attempts != n.attempts {
		m |= fAttempts
	}
	if o.err != n.err || o.errAt != n.errAt {
		m |= fErr
	}
	if o.diag != n.diag {
		m |= fDiag
	}
	return m
}

// deltaWriter encodes a frame's deltas: slots relative to the previous
// one (regions change in runs, in slot order: mostly one byte), times
// relative to the frame's time (small numbers, short varints).
type deltaWriter struct {
	b     []byte
	at    int64 // the frame's time, unix ms
	epoch epochTime
	prev  int // the previous delta's slot; -1 at the start
}

func newDeltaWriter(buf []byte, at int64, epoch epochTime) deltaWriter {
	return deltaWriter{b: buf[:0], at: at, epoch: epoch, prev: -1}
}

// add encodes slot's change from o to n.
func (w *deltaWriter) add(slot int, o, n *mark) {
	mask := diffMask(o, n)
	w.b = binary.AppendVarint(w.b, int64(slot-w.prev-1))
	w.b = append(w.b, mask)
	w.fields(mask, o)
	w.fields(mask, n)
	w.prev = slot
}

func (w *deltaWriter) fields(mask byte, m *mark) {
	b, at := w.b, w.at
	defer func() { w.b = b }()
	if mask&fState != 0 {
		b = binary.AppendUvarint(b, uint64(m.flags&1)|uint64(m.state)<<1|uint64(m.cause)<<9)
	}
	if mask&fStore != 0 {
		b = binary.AppendUvarint(b, uint64(m.store))
	}
	if mask&fSince != 0 {
		b = appendTime(b, w.epoch.abs(m.since), at)
	}
	if mask&fLag != 0 {
		b = append(b, m.lag)
		switch m.lag {
		case lagTracking:
			b = binary.AppendVarint(b, floorDiv(int64(m.lagRef), lagUnit))
		case lagFrozen:
			b = binary.AppendVarint(b, floorDiv(at, lagUnit)-floorDiv(w.epoch.abs(m.lagRef), lagUnit))
		}
	}
	if mask&fAttempts != 0 {
		b = binary.AppendUvarint(b, uint64(uint32(m.attempts)))
	}
	if mask&fErr != 0 {
		b = binary.AppendUvarint(b, uint64(m.err))
		b = appendTime(b, w.epoch.abs(m.errAt), at)
	}
	if mask&fDiag != 0 {
		b = binary.AppendUvarint(b, uint64(m.diag))
	}
}

// Deltas keep times to the second (the views show them to the second)
// and lag to a tenth of a second, counted back from the frame's time in
// whole units (floor(at) - floor(t)), so a time decodes to the same value
// whichever frame wrote it, and the varints stay short.
const (
	timeUnit = 1000 // ms
	lagUnit  = 100  // ms
)

// appendTime writes 0 for unset, else 1 + zigzag(at - t) in seconds.
func appendTime(b []byte, t, at int64) []byte {
	if t == 0 {
		return binary.AppendUvarint(b, 0)
	}
	d := floorDiv(at, timeUnit) - floorDiv(t, timeUnit)
	return binary.AppendUvarint(b, 1+uint64(d<<1^d>>63))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// deltaReader decodes a frame's deltas (or the base), checking every index
// against the tables, so a corrupt or hostile file is an error, not a panic.
type deltaReader struct {
	b       []byte
	at      int64
	epoch   epochTime
	prev    int // the previous delta's slot, -1 at the start
	slots   int // valid slots are < slots
	states  int // table sizes
	causes  int
	stores  int
	strings int
	err     error
}

var errHistoryCorrupt = errors.New("history: corrupt deltas")

func (d *deltaReader) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errHistoryCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *deltaReader) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errHistoryCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *deltaReader) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errHistoryCorrupt
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *deltaReader) time() int64 {
	v := d.uvarint()
	if v == 0 {
		return 0
	}
	v--
	return (floorDiv(d.at, timeUnit) - (int64(v>>1) ^ -int64(v&1))) * timeUnit
}

func (d *deltaReader) index(v uint64, size int, what string) int32 {
	if d.err == nil && v >= uint64(size) {
		d.err = fmt.Errorf("history: %s index %d out of range (table has %d)", what, v, size)
	}
	return int32(v)
}

func (d *deltaReader) fields(mask byte, m *mark) {
	if mask&fState != 0 {
		v := d.uvarint()
		m.flags = uint8(v & 1)
		m.state = uint8(d.index(v>>1&0xff, d.states, "state"))
		m.cause = uint8(d.index(v>>9, d.causes, "cause"))
	}
	if mask&fStore != 0 {
		m.store = uint16(d.index(d.uvarint(), d.stores, "store"))
	}
	if mask&fSince != 0 {
		m.since = d.epoch.rel(d.time())
	}
	if mask&fLag != 0 {
		m.lag = d.byte()
		switch m.lag {
		case lagNone:
			m.lagRef = 0
		case lagTracking:
			m.lagRef = int32(min(max(d.varint()*lagUnit, math.MinInt32), math.MaxInt32))
		case lagFrozen:
			m.lagRef = d.epoch.rel((floorDiv(d.at, lagUnit) - d.varint()) * lagUnit)
		default:
			if d.err == nil {
				d.err = fmt.Errorf("history: unknown lag kind %d", m.lag)
			}
		}
	}
	if mask&fAttempts != 0 {
		m.attempts = int32(uint32(d.uvarint()))
	}
	if mask&fErr != 0 {
		m.err = d.index(d.uvarint(), d.strings, "string")
		m.errAt = d.epoch.rel(d.time())
	}
	if mask&fDiag != 0 {
		m.diag = d.index(d.uvarint(), d.strings, "string")
	}
}

// next decodes one delta: the slot, which fields changed, and their old and
// new values (the other fields of o and n are left as they were). false at
// the end or on an error (then d.err is set).
func (d *deltaReader) next(o, n *mark) (slot int, mask byte, ok bool) {
	if d.err != nil || len(d.b) == 0 {
		return 0, 0, false
	}
	s := int64(d.prev) + 1 + d.varint()
	if d.err == nil && (s < 0 || s >= int64(d.slots)) {
		d.err = fmt.Errorf("history: region slot %d out of range (%d regions)", s, d.slots)
	}
	mask = d.byte()
	if d.err == nil && mask&^fAll != 0 {
		d.err = fmt.Errorf("history: unknown field mask %#x", mask)
	}
	d.fields(mask, o)
	d.fields(mask, n)
	if d.err != nil {
		return 0, 0, false
	}
	d.prev = int(s)
	return int(s), mask, true
}

// setFields copies the fields of mask from src to dst.
func setFields(dst, src *mark, mask byte) {
	if mask&fState != 0 {
		dst.state, dst.cause, dst.flags = src.state, src.cause, src.flags
	}
	if mask&fStore != 0 {
		dst.store = src.store
	}
	if mask&fSince != 0 {
		dst.since = src.since
	}
	if mask&fLag != 0 {
		dst.lag, dst.lagRef = src.lag, src.lagRef
	}
	if mask&fAttempts != 0 {
		dst.attempts = src.attempts
	}
	if mask&fErr != 0 {
		dst.err, dst.errAt = src.err, src.errAt
	}
	if mask&fDiag != 0 {
		dst.diag = src.diag
	}
}
