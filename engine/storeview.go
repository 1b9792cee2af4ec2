package engine

import (
	"slices"
	"time"

	"github.com/pulltop/pulltop/snapshots"
)

// What the Stores view shows beyond the cooldown tracker (issue 18): how
// far behind a store's regions are, how many of them wait, when its stream
// last said anything, its last error, and whether it has gone quiet. An
// operator watching a hang or a busy window sees the store say what it is
// doing before anything fails.

// storeTally is one store's per-publish counters, filled while publish
// builds the region rows. The map holding them is kept across publishes,
// so the per-region cost is a map lookup and two compares, no allocation.
type storeTally struct {
	maxLagMs int64
	waiting  int
	gen      uint64
}

// tally is storeID's counters for this publish (reset at its first use
// in a publish).
func (e *Engine) tally(storeID uint64) *storeTally {
	t := e.tallies[storeID]
	if t == nil {
		t = &storeTally{}
		e.tallies[storeID] = t
	}
	if t.gen != e.seq {
		*t = storeTally{gen: e.seq}
	}
	return t
}

// tallyRegion counts one region row for its store.
func (e *Engine) tallyRegion(storeID uint64, row *snapshots.Region) {
	t := e.tally(storeID)
	t.maxLagMs = max(t.maxLagMs, row.ResolvedLagMs)
	if !row.Initialized {
		t.waiting++
	}
}

// tallyWaiting counts n regions waiting for their initial scan that
// publish did not walk (waitBook).
func (e *Engine) tallyWaiting(storeID uint64, n int) {
	t := e.tally(storeID)
	t.waiting += n
}

// tallyLag counts a store's largest lag (publish finds it in its index,
// without walking the store's regions).
func (e *Engine) tallyLag(storeID uint64, lagMs int64) {
	t := e.tally(storeID)
	t.maxLagMs = max(t.maxLagMs, lagMs)
}

// fillStoreRow adds the tallies, the stream's last message, the last error
// and the suspect mark to a store row.
func (e *Engine) fillStoreRow(row *snapshots.Store, s *storeInfo, now time.Time) {
	if t := e.tallies[row.ID]; t != nil && t.gen == e.seq {
		row.MaxLagMs, row.Waiting = t.maxLagMs, t.waiting
	}
	row.LastErrorAt = row.LastErrorAt.UTC()
	w := s.worker
	if w == nil {
		return
	}
	if ns := w.lastRecv.Load(); ns != 0 {
		row.LastMsgAt = time.Unix(0, ns).UTC()
	}
	// Suspect: the stream is open and carries initialized regions, which
	// TiKV advances about every second, yet nothing came for half the
	// stale threshold. A hung store looks exactly like this before its
	// regions go stale; a store with no regions to advance is only idle.
	if w.connected.Load() && w.initialized.Load() > 0 && !row.LastMsgAt.IsZero() &&
		now.Sub(row.LastMsgAt) >= e.cfg.StaleAfter/2 {
		row.Suspect = true
	}
}

// noteStoreError records a stream or region error as its store's last.
func (e *Engine) noteStoreError(storeID uint64, text string, now time.Time) {
	if st := e.stores[storeID]; st != nil {
		st.lastErr, st.lastErrAt = text, now.UTC()
	}
}

// errorWindow counts errors by reason over the last minute, in one-second
// buckets, and remembers which stores each reason came from. Owned by the
// event loop.
type errorWindow struct {
	buckets [60]errorBucket
	// stores[reason][store] is the unix second it last reported reason.
	stores map[string]map[uint64]int64
}

type errorBucket struct {
	sec    int64
	counts map[string]int64
}

func (w *errorWindow) add(reason string, storeID uint64, now time.Time) {
	sec := now.Unix()
	b := &w.buckets[sec%int64(len(w.buckets))]
	if b.sec != sec {
		b.sec = sec
		clear(b.counts)
	}
	if b.counts == nil {
		b.counts = map[string]int64{}
	}
	b.counts[reason]++
	if storeID == 0 {
		return
	}
	if w.stores == nil {
		w.stores = map[string]map[uint64]int64{}
	}
	m := w.stores[reason]
	if m == nil {
		m = map[uint64]int64{}
		w.stores[reason] = m
	}
	m[storeID] = sec
}

// fill writes the last minute's counts and stores into t; nil maps when
// nothing happened.
func (w *errorWindow) fill(t *snapshots.Totals, now time.Time) {
	sec := now.Unix()
	for i := range w.buckets {
		b := &w.buckets[i]
		if b.sec <= sec-int64(len(w.buckets)) || b.sec > sec {
			continue
		}
		for reason, n := range b.counts {
			if t.ErrorsLastMinute == nil {
				t.ErrorsLastMinute = map[string]int64{}
			}
			t.ErrorsLastMinute[reason] += n
		}
	}
	for reason, m := range w.stores {
		for id, at := range m {
			if at <= sec-int64(len(w.buckets)) {
				delete(m, id)
				continue
			}
			if t.ErrorStores == nil {
				t.ErrorStores = map[string][]uint64{}
			}
			t.ErrorStores[reason] = append(t.ErrorStores[reason], id)
		}
		if len(m) == 0 {
			delete(w.stores, reason)
		}
	}
	for _, ids := range t.ErrorStores {
		slices.Sort(ids)
	}
}
