package engine

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/tikv/client-go/v2/util/codec"

	"github.com/pulltop/pulltop/snapshots"
)

// deliver hands one committed row downstream: counters, the recent-rows
// ring, the sink, the test hook and the ground-truth check. Rows at or
// below the subscription's start ts are stale and dropped; a row at or
// below the region's resolved ts breaks TiKV's promise and fails the region
// instead of being passed on (TiCDC would crash here).
func (e *Engine) deliver(r *regionState, row Row) {
	if row.CommitTs <= r.sub.startTs {
		return
	}
	if r.initialized && r.lock != nil && row.CommitTs <= r.lock.ResolvedTs() {
		e.regionFailed(r, snapshots.ReasonUnknown,
			fmt.Sprintf("row at commit ts %d is behind the region's resolved ts %d", row.CommitTs, r.lock.ResolvedTs()), 0, nil)
		return
	}
	if e.cfg.DropRowForTest != nil && e.cfg.DropRowForTest(r.sub.id, row) {
		return
	}
	r.events++
	e.view.SetEvents(r.viewHandle, r.events)
	r.sub.events++
	e.stats.events++
	e.recent.add(r.sub.id, r.id, row)
	if e.sink != nil {
		if err := e.sink.write(r.sub.id, r.id, row); err != nil {
			e.fatal(err) // a sink that silently drops rows would lose data
		}
	}
	if e.truth != nil {
		e.truth.delivered(r.sub.id, row.Key, row.CommitTs)
	}
	if e.cfg.OnRow != nil {
		e.cfg.OnRow(r.sub.id, row)
	}
}

const recentCapacity = 1000

// recentRows keeps the last delivered rows for the Events view.
type recentRows struct {
	rows [recentCapacity]recentRow
	next int
	n    int
}

type recentRow struct {
	sub, region       uint64
	op                OpType
	key               []byte
	startTs, commitTs uint64
	valueLen          int
}

func (rr *recentRows) add(sub, region uint64, row Row) {
	// The key is copied into the slot's own buffer, reused from lap to lap:
	// a row's bytes alias the whole message it came in.
	x := &rr.rows[rr.next]
	*x = recentRow{sub, region, row.OpType, append(x.key[:0], row.Key...), row.StartTs, row.CommitTs, len(row.Value)}
	rr.next = (rr.next + 1) % recentCapacity
	rr.n = min(rr.n+1, recentCapacity)
}

// events returns the rows oldest first, as snapshot events.
func (rr *recentRows) events() []snapshots.Event {
	out := make([]snapshots.Event, 0, rr.n)
	for i := 0; i < rr.n; i++ {
		x := rr.rows[(rr.next-rr.n+i+recentCapacity)%recentCapacity]
		out = append(out, snapshots.Event{
			Subscription: x.sub, RegionID: x.region, Op: x.op.String(),
			Key: hex.EncodeToString(codec.EncodeBytes(nil, x.key)), StartTs: x.startTs, CommitTs: x.commitTs, ValueLen: x.valueLen,
		})
	}
	return out
}

// truthChecker compares delivered rows with the embedded sim's ground truth:
// every committed row inside a subscription, newer than its start ts and at
// or below its resolved ts, must have been delivered. Owned by the event
// loop; memory stays bounded because matched rows are forgotten.
type truthChecker struct {
	truth     GroundTruth
	cursor    int
	committed uint64
	missing   uint64
	seen      map[string]struct{} // sub + commit ts + raw key
	keyBuf    []byte
	droppedTs uint64 // truth rows at or below it were dropped unread
}

func newTruthChecker(t GroundTruth) *truthChecker {
	return &truthChecker{truth: t, seen: make(map[string]struct{})}
}

func (t *truthChecker) seenKey(sub uint64, key []byte, commitTs uint64) []byte {
	b := binary.BigEndian.AppendUint64(t.keyBuf[:0], sub)
	b = binary.BigEndian.AppendUint64(b, commitTs)
	b = append(b, key...)
	t.keyBuf = b
	return b
}

func (t *truthChecker) delivered(sub uint64, key []byte, commitTs uint64) {
	t.seen[string(t.seenKey(sub, key, commitTs))] = struct{}{}
}

// check consumes committed rows that every subscription's resolved ts has
// passed and counts those never delivered.
func (t *truthChecker) check(subs []*subscription) {
	if len(subs) == 0 {
		return
	}
	horizon := subs[0].resolvedTs
	for _, s := range subs[1:] {
		horizon = min(horizon, s.resolvedTs)
	}
	var droppedTs uint64
	t.cursor, droppedTs = t.truth.CommittedFrom(t.cursor, func(raw []byte, commitTs uint64) bool {
		if commitTs > horizon {
			return false
		}
		var enc []byte
		for _, s := range subs {
			if commitTs <= s.startTs {
				continue
			}
			if enc == nil {
				enc = codec.EncodeBytes(nil, raw)
			}
			k := string(enc)
			if k < s.start || (s.end != "" && k >= s.end) {
				continue
			}
			t.committed++
			key := t.seenKey(s.id, raw, commitTs)
			if _, ok := t.seen[string(key)]; ok {
				delete(t.seen, string(key))
			} else {
				t.missing++
			}
		}
		return true
	})
	if droppedTs > t.droppedTs {
		// Rows the truth could not keep will never be checked: forget what
		// was delivered for them, or seen would grow without bound.
		t.droppedTs = droppedTs
		for k := range t.seen {
			if binary.BigEndian.Uint64([]byte(k[8:16])) <= droppedTs {
				delete(t.seen, k)
			}
		}
	}
}
