package engine

import (
	"container/heap"

	"github.com/pulltop/pulltop/engine/diagnose"
	"github.com/pulltop/pulltop/snapshots"
)

// waitBook counts the regions waiting for their initial scan that a
// publish need not look at: queued or requested, not initialized, no
// error, decided ScanPending by the last publish that looked. Their row
// and verdict cannot change until one of these does:
//
//   - their row (state, store, error, ...): markDirty lists them and takes
//     them off the book;
//   - their store's cause turns to one DecideRegion gives them instead of
//     ScanPending (waitCompatible): the publish that decides the store
//     takes that store's regions off the book and decides them then;
//   - a queued region's place in its store's admission queue appears or
//     goes (its text reads "waiting for the range lock" without one):
//     diagBegin, which walks the queues, lists them;
//   - PD going down or coming back (DecideRegion does not need it today;
//     a cheap insurance): every one is listed.
//
// They are counted like the quiet regions: by store, and the causes
// board's example among them (the earliest since, then key order) is the
// top of a heap of (since, region) kept lazily.
//
// Owned by the event loop.
type waitBook struct {
	n  int
	by map[uint64]int // by the store it was counted under (its index row's)
	// admittedBy counts, by store, the queued ones counted with a place
	// in the admission queue.
	admittedBy map[uint64]int
	// earliest holds every waiting region (and stale entries: a region
	// taken off, or counted again); fresh, the entries pushed since the
	// last publish.
	earliest waitHeap
	fresh    []waitEntry
	pdDown   bool
}

type waitEntry struct {
	since int64
	r     *regionState
}

type waitHeap []waitEntry

func (h waitHeap) Len() int { return len(h) }
func (h waitHeap) Less(i, j int) bool {
	if h[i].since != h[j].since {
		return h[i].since < h[j].since
	}
	return regionLess(h[i].r, h[j].r)
}
func (h waitHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *waitHeap) Push(x any)   { *h = append(*h, x.(waitEntry)) }
func (h *waitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = waitEntry{}
	*h = old[:len(old)-1]
	return x
}

func (w waitEntry) valid() bool { return w.r.waiting() && w.r.mark.Since == w.since }

// waitCompatible: a region waiting for its initial scan (queued or
// requested, no error, no store left behind) on a store of cause c is
// decided ScanPending (diagnose.DecideRegion).
func waitCompatible(c diagnose.Cause) bool {
	switch c {
	case diagnose.Incompatible, diagnose.StorePaused, diagnose.StoreDown, diagnose.StoreCooling,
		diagnose.StoreRemoved, diagnose.StoreDraining, diagnose.StoreFlapping,
		diagnose.StoreStalled, diagnose.StoreBusy:
		return false
	}
	return true
}

// mayWait: r, just decided ScanPending, waits for its initial scan with
// nothing that can change its verdict on its own.
func mayWait(r *regionState) bool {
	return (r.state == snapshots.StateQueued || r.state == snapshots.StateRequested) &&
		!r.initialized && r.failReason == "" && r.viewHandle > 0 && !r.forgotten
}

// setWaiting counts r waiting (after its index row was set and it was
// decided ScanPending at this publish).
func (e *Engine) setWaiting(r *regionState) {
	w := &e.wait
	r.calm = calmWaiting
	if r.state == snapshots.StateQueued && r.admitGen == e.diag.gen && r.admitPos > 0 {
		r.calm = calmAdmitted
	}
	w.n++
	if w.by == nil {
		w.by, w.admittedBy = map[uint64]int{}, map[uint64]int{}
	}
	id := e.quietStore(r)
	w.by[id]++
	if r.waitAdmitted() {
		w.admittedBy[id]++
	}
	w.fresh = append(w.fresh, waitEntry{since: r.mark.Since, r: r})
}

// unwait takes r off the book.
func (e *Engine) unwait(r *regionState) {
	w := &e.wait
	id := e.quietStore(r)
	admitted := r.waitAdmitted()
	r.calm = calmNot
	w.n--
	if w.by[id]--; w.by[id] == 0 {
		delete(w.by, id)
	}
	if admitted {
		if w.admittedBy[id]--; w.admittedBy[id] == 0 {
			delete(w.admittedBy, id)
		}
	}
}

// resetWait forgets the book (resync).
func (e *Engine) resetWait() {
	for _, r := range e.regions {
		if r.waiting() {
			r.calm = calmNot
		}
	}
	e.wait = waitBook{pdDown: e.wait.pdDown}
}

// eachWaiting calls fn for every waiting region keep says (all of them
// with keep nil): a walk over every region, for what is rare (a store's
// cause changing, PD going down, a place in the queue lost).
func (e *Engine) eachWaiting(keep func(r *regionState) bool, fn func(r *regionState)) {
	for _, r := range e.regions {
		if r.waiting() && (keep == nil || keep(r)) {
			fn(r)
		}
	}
}

// listWaiting lists for the next look every waiting region keep says
// (eachWaiting).
func (e *Engine) listWaiting(keep func(r *regionState) bool) { e.eachWaiting(keep, e.markDirty) }

// earliestWaiting is the waiting region with the earliest since (then
// first in key order), nil if none.
func (e *Engine) earliestWaiting() *regionState {
	w := &e.wait
	if len(w.fresh) > 0 {
		if len(w.fresh) > len(w.earliest)/4 {
			w.earliest = append(w.earliest, w.fresh...)
			heap.Init(&w.earliest)
		} else {
			for _, x := range w.fresh {
				heap.Push(&w.earliest, x)
			}
		}
		clear(w.fresh)
		w.fresh = w.fresh[:0]
	}
	for len(w.earliest) > 0 && !w.earliest[0].valid() {
		heap.Pop(&w.earliest)
	}
	if len(w.earliest) > 2*w.n+1024 {
		// Mostly stale entries (or one region counted twice): rebuild.
		seen := make(map[*regionState]bool, w.n)
		kept := w.earliest[:0]
		for _, x := range w.earliest {
			if x.valid() && !seen[x.r] {
				seen[x.r] = true
				kept = append(kept, x)
			}
		}
		clear(w.earliest[len(kept):])
		w.earliest = kept
		heap.Init(&w.earliest)
	}
	if len(w.earliest) == 0 {
		return nil
	}
	return w.earliest[0].r
}
