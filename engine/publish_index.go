package engine

import (
	"math"
	"slices"
	"time"

	"github.com/pulltop/pulltop/engine/diagnose"
)

// pubIndex is what publish keeps of every region between publishes so that
// it need not walk them: by view row (the region's view handle - 1), its
// resolved ts as lag counts it, its last advance while it streams, and its
// store; and, per chunk of pubChunkLen rows, the minima of those, kept
// fresh lazily (a write marks its chunk; publish recomputes the marked
// ones, a dense pass over arrays, no record read).
//
// With them a publish finds the worst lag and each store's (the least
// resolved ts) in one pass over the chunk minima, and the regions time made
// suspect (streaming, but held or behind: the quiet regions that are no
// longer quiet) by scanning only the chunks whose minimum crossed the
// threshold. Rows move as the view's do: a removal fills the hole with the
// last row (remove mirrors view.Builder.Remove).
//
// Owned by the event loop.
type pubIndex struct {
	regions []*regionState // by row
	rts     []uint64       // resolved ts (the range's while it holds none); 0: none (no lag)
	adv     []int64        // last advance (unix ns) while streaming; notStreaming otherwise
	store   []int32        // its store's index in storeIDs
	chunks  []pubChunk

	storeIx  map[uint64]int32
	storeIDs []uint64
}

const (
	pubChunkBits = 10
	pubChunkLen  = 1 << pubChunkBits
	notStreaming = math.MaxInt64
	noTs         = math.MaxUint64
)

type pubChunk struct {
	stale     bool   // written since its minima were computed
	minTs     uint64 // least resolved ts (noTs: none)
	minRow    int32  // a row holding it (the first)
	minStream uint64 // least resolved ts among the streaming rows
	minAdv    int64  // least last advance among the streaming rows
	storeMin  []uint64
}

func (x *pubIndex) ix(storeID uint64) int32 {
	if i, ok := x.storeIx[storeID]; ok {
		return i
	}
	if x.storeIx == nil {
		x.storeIx = map[uint64]int32{}
	}
	i := int32(len(x.storeIDs))
	x.storeIx[storeID] = i
	x.storeIDs = append(x.storeIDs, storeID)
	return i
}

// set records region r at row (a row past the end grows the index).
func (x *pubIndex) set(row int, r *regionState, rts uint64, adv int64) {
	for row >= len(x.regions) {
		x.regions = append(x.regions, nil)
		x.rts = append(x.rts, 0)
		x.adv = append(x.adv, notStreaming)
		x.store = append(x.store, 0)
		if (len(x.regions)-1)>>pubChunkBits >= len(x.chunks) {
			x.chunks = append(x.chunks, pubChunk{stale: true})
		}
	}
	x.regions[row], x.rts[row], x.adv[row], x.store[row] = r, rts, adv, x.ix(r.storeID)
	x.chunks[row>>pubChunkBits].stale = true
}

// advance notes a resolved ts moving r at row (hot: a store's batch moves
// a third of the regions every second).
func (x *pubIndex) advance(row int, rts uint64, adv int64) {
	if row >= len(x.regions) {
		return // not indexed yet: its first publish will
	}
	x.rts[row], x.adv[row] = rts, adv
	x.chunks[row>>pubChunkBits].stale = true
}

// remove takes row out, moving the last row into it, as the view does.
func (x *pubIndex) remove(row int) {
	last := len(x.regions) - 1
	if row < 0 || row > last {
		return
	}
	x.regions[row], x.rts[row], x.adv[row], x.store[row] = x.regions[last], x.rts[last], x.adv[last], x.store[last]
	x.regions[last] = nil
	x.regions, x.rts, x.adv, x.store = x.regions[:last], x.rts[:last], x.adv[:last], x.store[:last]
	x.chunks[row>>pubChunkBits].stale = true
	if last&(pubChunkLen-1) == 0 {
		x.chunks = x.chunks[:last>>pubChunkBits]
	} else {
		x.chunks[last>>pubChunkBits].stale = true
	}
}

// refresh recomputes the minima of the chunks written since the last one.
func (x *pubIndex) refresh() {
	stores := len(x.storeIDs)
	for c := range x.chunks {
		ch := &x.chunks[c]
		if !ch.stale && len(ch.storeMin) == stores {
			continue
		}
		lo, hi := c<<pubChunkBits, min((c+1)<<pubChunkBits, len(x.regions))
		*ch = pubChunk{minTs: noTs, minRow: -1, minStream: noTs, minAdv: notStreaming, storeMin: ch.storeMin[:0]}
		for range stores {
			ch.storeMin = append(ch.storeMin, noTs)
		}
		rts, adv, store := x.rts[lo:hi], x.adv[lo:hi], x.store[lo:hi]
		for k, ts := range rts {
			if ts != 0 {
				if ts < ch.minTs {
					ch.minTs, ch.minRow = ts, int32(lo+k)
				}
				if s := store[k]; ts < ch.storeMin[s] {
					ch.storeMin[s] = ts
				}
			}
			if a := adv[k]; a != notStreaming {
				ch.minAdv = min(ch.minAdv, a)
				if ts != 0 {
					ch.minStream = min(ch.minStream, ts)
				}
			}
		}
	}
}

// worst is the row with the least resolved ts (-1: none has one).
func (x *pubIndex) worst() (int, uint64) {
	row, ts := -1, uint64(noTs)
	for c := range x.chunks {
		if ch := &x.chunks[c]; ch.minTs < ts {
			row, ts = int(ch.minRow), ch.minTs
		}
	}
	return row, ts
}

// storeMins calls fn with each store's least resolved ts.
func (x *pubIndex) storeMins(fn func(storeID, ts uint64)) {
	for s, id := range x.storeIDs {
		least := uint64(noTs)
		for c := range x.chunks {
			if ch := &x.chunks[c]; s < len(ch.storeMin) {
				least = min(least, ch.storeMin[s])
			}
		}
		if least != noTs {
			fn(id, least)
		}
	}
}

// suspects calls fn with the streaming rows that advanced at or before
// advCut (unix ns) or whose resolved ts is at or before tsCutMs (PD ms):
// only the chunks whose minima say they hold one are scanned.
func (x *pubIndex) suspects(advCut int64, tsCutMs int64, fn func(*regionState)) {
	for c := range x.chunks {
		ch := &x.chunks[c]
		if ch.minAdv > advCut && (ch.minStream == noTs || int64(ch.minStream>>18) > tsCutMs) {
			continue
		}
		lo, hi := c<<pubChunkBits, min((c+1)<<pubChunkBits, len(x.regions))
		for k := lo; k < hi; k++ {
			if a := x.adv[k]; a != notStreaming && (a <= advCut || x.rts[k] != 0 && int64(x.rts[k]>>18) <= tsCutMs) {
				fn(x.regions[k])
			}
		}
	}
}

// reset forgets every row (the view is being rebuilt).
func (x *pubIndex) reset() {
	clear(x.regions)
	x.regions, x.rts, x.adv, x.store, x.chunks = x.regions[:0], x.rts[:0], x.adv[:0], x.store[:0], x.chunks[:0]
}

// markDirty lists r for the next publish: one of its row's fields (state,
// store, leader, epoch, error, retries, lineage, initialized) changed, or
// it was just added. Every change to those fields calls it; a publish
// looks at the listed regions, the ones not yet quiet and those time made
// suspect (pubIndex.suspects), never at the rest (checkPublish verifies
// this in tests).
func (e *Engine) markDirty(r *regionState) {
	if r.waiting() {
		e.unwait(r)
	}
	if !r.listed {
		r.listed = true
		e.active = append(e.active, r)
	}
}

// advanced notes r's resolved ts moving (at now, unix ns) in the view and
// the publish index: the dense writes a publish reads instead of r.
func (e *Engine) advanced(r *regionState, now int64) {
	h := r.viewHandle
	if h <= 0 {
		return
	}
	ts := r.lock.ResolvedTs()
	e.view.SetAdvance(h, ts, now)
	adv := int64(notStreaming)
	if streaming(r) {
		adv = now
	}
	e.pub.advance(int(h-1), ts, adv)
}

// viewRemove takes r out of the view and of the publish's books.
func (e *Engine) viewRemove(r *regionState) {
	if r.isQuiet() {
		e.unquiet(r)
	}
	if r.waiting() {
		e.unwait(r)
	}
	if e.view == nil || r.viewHandle <= 0 {
		return
	}
	row := int(r.viewHandle - 1)
	e.view.Remove(&r.viewHandle)
	e.pub.remove(row)
}

// quietStore is the store r was counted quiet under: its store at the
// publish that found it quiet (its index row's).
func (e *Engine) quietStore(r *regionState) uint64 {
	return e.pub.storeIDs[e.pub.store[r.viewHandle-1]]
}

func (e *Engine) unquiet(r *regionState) {
	r.calm = calmNot
	e.quietN--
	id := e.quietStore(r)
	if e.quietBy[id]--; e.quietBy[id] == 0 {
		delete(e.quietBy, id)
	}
}

// setQuiet counts r quiet (after its index row was set).
func (e *Engine) setQuiet(r *regionState) {
	r.calm = calmQuiet
	e.quietN++
	if e.quietBy == nil {
		e.quietBy = map[uint64]int{}
	}
	e.quietBy[e.quietStore(r)]++
}

func staleNs(e *Engine) int64 { return int64(e.cfg.StaleAfter) }

// lookAt is the regions a publish at now (pdNow on PD's clock) looks at,
// in key order: the listed ones (changed, or not quiet), and the quiet
// ones that may no longer be: held (no advance for the lagging threshold,
// which is within the stale one) or behind. It empties the list; the
// publish lists again those still not quiet.
func (e *Engine) lookAt(nowNs int64, pdNow time.Time) []*regionState {
	for _, r := range e.looked {
		r.looking = false
	}
	if e.index.len() != len(e.regions) || e.view.Len() > len(e.regions) {
		e.resync()
	}
	out := e.looked[:0]
	for _, r := range e.active {
		r.listed = false
		if r.looking || r.forgotten || e.regions[r.key()] != r {
			continue
		}
		r.looking = true
		out = append(out, r)
	}
	clear(e.active)
	e.active = e.active[:0]
	lagging := diagnose.LaggingAfter(e.cfg.StaleAfter)
	e.pub.refresh()
	// Conservative by a millisecond: lag is truncated to ms.
	e.pub.suspects(nowNs-int64(lagging), pdNow.UnixMilli()-lagging.Milliseconds()+1, func(r *regionState) {
		if r != nil && !r.looking {
			r.looking = true
			out = append(out, r)
		}
	})
	if len(out) > len(e.regions)/8 {
		// Most of them: in the index's order, without a sort.
		out = out[:0]
		e.index.ascend(func(r *regionState) bool {
			if r.looking {
				out = append(out, r)
			}
			return true
		})
	} else {
		slices.SortFunc(out, func(a, b *regionState) int {
			switch {
			case regionLess(a, b):
				return -1
			case regionLess(b, a):
				return 1
			}
			return 0
		})
	}
	e.looked = out
	return out
}

// resync rebuilds the publish's books from the records: for an engine
// whose records were put on the books or taken off by hand (tests).
func (e *Engine) resync() {
	e.index = newRegionIndex()
	for _, r := range e.regions {
		e.index.add(r)
	}
	if e.view.Len() > 0 {
		on := make(map[*int32]bool, len(e.regions))
		for _, r := range e.regions {
			on[&r.viewHandle] = true
		}
		e.view.RemoveUnless(func(h *int32) bool { return on[h] })
	}
	e.resetWait()
	e.pub.reset()
	e.quietN, e.quietBy = 0, nil
	for _, r := range e.regions {
		r.calm = calmNot
		e.markDirty(r)
	}
}

// afterPublish, when set (tests), is called at the end of every publish
// with its time, on the event loop.
var afterPublish func(e *Engine, now, pdNow time.Time)
