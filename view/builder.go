package view

import (
	"time"

	"github.com/pulltop/pulltop/snapshots"
)

// Builder is the writable side: the event loop's. A region is put under a
// handle, an int32 the caller keeps with its region (0: not in the view);
// the builder writes the handle when the region's row moves (a removal
// fills the hole with the last row, so rows stay dense).
//
// Owned by one goroutine (the engine's event loop).
type Builder struct {
	gen     uint64 // chunks with this gen are the builder's own, written in place
	seq     uint64 // the next version's seq
	n       int
	static  []*staticChunk
	moving  []*movingChunk
	handles []*int32 // by row: the caller's handle of the region there

	states map[string]int
	causes map[string]int

	log      []Change
	logFloor uint64
	// logKeep bounds the log (0: the larger of 64k and one per two regions): past
	// it a publish starts a new one (readers that fell further behind read
	// every row).
	logKeep int
	worst   int32 // the handle of the region with the worst lag (SetWorst)
	// changed marks the rows already logged since the last publish.
	changed []uint64 // bitmap by row
}

// NewBuilder is an empty view.
func NewBuilder() *Builder {
	return &Builder{gen: 1, seq: 1, states: map[string]int{}, causes: map[string]int{}}
}

// Len is how many regions the view holds.
func (b *Builder) Len() int { return b.n }

func (b *Builder) staticRow(slot int) *snapshots.Region {
	c := b.static[slot>>staticBits]
	if c.gen != b.gen {
		cp := *c
		cp.gen = b.gen
		c = &cp
		b.static[slot>>staticBits] = c
	}
	return &c.rows[slot&(staticLen-1)]
}

func (b *Builder) movingChunk(slot int) *movingChunk {
	c := b.moving[slot>>movingBits]
	if c.gen != b.gen {
		cp := *c
		cp.gen = b.gen
		c = &cp
		b.moving[slot>>movingBits] = c
	}
	return c
}

// Current is the row of handle h as the view holds it now (read only; nil
// when h is not in the view). The caller compares before it puts.
func (b *Builder) Current(h int32) *snapshots.Region {
	if h <= 0 || int(h) > b.n {
		return nil
	}
	slot := int(h - 1)
	return &b.static[slot>>staticBits].rows[slot&(staticLen-1)]
}

// Put sets the row of the region under *h (adding it when *h is 0),
// without its moving parts (see SetMoving). Its strings are cleaned here,
// once per change, so no reader has to. A row equal to the view's costs
// nothing.
func (b *Builder) Put(h *int32, row *snapshots.Region) {
	if *h == 0 {
		b.add(h)
	}
	slot := int(*h - 1)
	cur := b.Current(*h)
	if sameStatic(cur, row) {
		return
	}
	b.count(cur, -1)
	w := b.staticRow(slot)
	*w = *row
	w.ResolvedTs, w.ResolvedLagMs, w.Events, w.LastAdvanceAt = 0, 0, 0, time.Time{}
	w.LastError = snapshots.CleanString(w.LastError)
	w.Diagnosis = snapshots.CleanString(w.Diagnosis)
	b.count(w, 1)
	b.logChange(slot)
}

// SetMoving sets the moving parts of the region under h (which must be in
// the view): its resolved ts (the range's while it holds none), when it
// last advanced (unix ns, 0: never), and its delivered rows.
func (b *Builder) SetMoving(h int32, resolvedTs uint64, advancedAt int64, events uint64) {
	slot := int(h - 1)
	k := slot & (movingLen - 1)
	c := b.moving[slot>>movingBits]
	if c.resolvedTs[k] == resolvedTs && c.advancedAt[k] == advancedAt && c.events[k] == events {
		return
	}
	c = b.movingChunk(slot)
	c.resolvedTs[k], c.advancedAt[k], c.events[k] = resolvedTs, advancedAt, events
}

// SetAdvance sets the resolved ts and last advance (unix ns) of the region
// under h, as a resolved ts moves it: what SetMoving does, for the event
// loop's hot path. h 0 (not in the view yet) does nothing.
func (b *Builder) SetAdvance(h int32, resolvedTs uint64, advancedAt int64) {
	if h <= 0 {
		return
	}
	slot := int(h - 1)
	c, k := b.movingChunk(slot), slot&(movingLen-1)
	c.resolvedTs[k], c.advancedAt[k] = resolvedTs, advancedAt
}

// SetEvents sets the delivered rows of the region under h (0: nothing).
func (b *Builder) SetEvents(h int32, events uint64) {
	if h <= 0 {
		return
	}
	slot := int(h - 1)
	c, k := b.movingChunk(slot), slot&(movingLen-1)
	c.events[k] = events
}

// Moving is what SetMoving last set for the region under h.
func (b *Builder) Moving(h int32) (resolvedTs uint64, advancedAt int64, events uint64) {
	if h <= 0 || int(h) > b.n {
		return 0, 0, 0
	}
	slot := int(h - 1)
	c, k := b.moving[slot>>movingBits], slot&(movingLen-1)
	return c.resolvedTs[k], c.advancedAt[k], c.events[k]
}

// Remove takes the region under *h out of the view and zeroes *h.
func (b *Builder) Remove(h *int32) {
	if *h <= 0 || int(*h) > b.n {
		*h = 0
		return
	}
	slot, last := int(*h-1), b.n-1
	gone := b.Current(*h)
	b.count(gone, -1)
	b.log = append(b.log, Change{Seq: b.seq, Slot: int32(slot), Gone: true, Key: Key{gone.Subscription, gone.ID}})
	*h = 0
	if slot != last {
		// The last row fills the hole.
		*b.staticRow(slot) = *b.Current(int32(last + 1))
		from := b.moving[last>>movingBits]
		to, j, k := b.movingChunk(slot), last&(movingLen-1), slot&(movingLen-1)
		to.resolvedTs[k], to.advancedAt[k], to.events[k] = from.resolvedTs[j], from.advancedAt[j], from.events[j]
		b.handles[slot] = b.handles[last]
		*b.handles[slot] = int32(slot + 1)
		b.unmark(slot)
		b.logChange(slot)
	}
	*b.staticRow(last) = snapshots.Region{}
	b.handles[last] = nil
	b.handles = b.handles[:last]
	b.unmark(last)
	b.n--
}

// RemoveUnless removes every region whose handle keep refuses: for a
// caller that lost track of some (it walks all of its regions anyway).
func (b *Builder) RemoveUnless(keep func(h *int32) bool) {
	for slot := b.n - 1; slot >= 0; slot-- {
		if h := b.handles[slot]; !keep(h) {
			b.Remove(h)
		}
	}
}

func (b *Builder) add(h *int32) {
	slot := b.n
	if slot>>staticBits == len(b.static) {
		b.static = append(b.static, &staticChunk{gen: b.gen})
	}
	if slot>>movingBits == len(b.moving) {
		b.moving = append(b.moving, &movingChunk{gen: b.gen})
	}
	if slot>>6 == len(b.changed) {
		b.changed = append(b.changed, 0)
	}
	b.handles = append(b.handles, h)
	b.n++
	*h = int32(slot + 1)
	// A fresh row: zero moving parts (a removed row may have left some).
	c, k := b.movingChunk(slot), slot&(movingLen-1)
	c.resolvedTs[k], c.advancedAt[k], c.events[k] = 0, 0, 0
}

func (b *Builder) count(r *snapshots.Region, d int) {
	if r == nil || r.ID == 0 && r.State == "" {
		return
	}
	b.states[r.State] += d
	if b.states[r.State] == 0 {
		delete(b.states, r.State)
	}
	b.causes[r.Cause] += d
	if b.causes[r.Cause] == 0 {
		delete(b.causes, r.Cause)
	}
}

func (b *Builder) logChange(slot int) {
	w, bit := slot>>6, uint64(1)<<(slot&63)
	if b.changed[w]&bit != 0 {
		return
	}
	b.changed[w] |= bit
	b.log = append(b.log, Change{Seq: b.seq, Slot: int32(slot)})
}

func (b *Builder) unmark(slot int) { b.changed[slot>>6] &^= 1 << (slot & 63) }

// Publish freezes what was put so far as a Version, pdNow being PD's
// clock at the publish (lag is measured against it). It costs a pointer
// per chunk and the change log's bookkeeping; the chunks are shared until
// written again.
func (b *Builder) Publish(pdNow time.Time) *Version {
	v := &Version{
		seq: b.seq, n: b.n, pdNowMs: pdNow.UnixMilli(),
		static: append([]*staticChunk(nil), b.static...),
		moving: append([]*movingChunk(nil), b.moving...),
		states: clone(b.states), causes: clone(b.causes),
		log: b.log[:len(b.log):len(b.log)], logFloor: b.logFloor,
		worst: int(b.worst) - 1,
	}
	// What this publish logged is marked; clear only those marks.
	for k := len(b.log) - 1; k >= 0 && b.log[k].Seq == b.seq; k-- {
		if !b.log[k].Gone {
			b.unmark(int(b.log[k].Slot))
		}
	}
	keep := b.logKeep
	if keep == 0 {
		keep = max(1<<16, b.n/2)
	}
	if len(b.log) > keep {
		// Readers more than a log behind read every row.
		b.log, b.logFloor = nil, b.seq
	}
	b.gen++
	b.seq++
	return v
}

// SetWorst names the region (by handle, 0: none) with the worst lag, for
// the next Version: the caller measures lag as it walks.
func (b *Builder) SetWorst(h int32) { b.worst = h }

// Seq is the seq the next Version will have.
func (b *Builder) Seq() uint64 { return b.seq }

func clone(m map[string]int) map[string]int {
	c := make(map[string]int, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// sameStatic: a and b agree outside their moving parts. Strings the
// engine keeps are compared by content (usually the same pointer).
func sameStatic(a, b *snapshots.Region) bool {
	if a == nil {
		return false
	}
	return a.ID == b.ID && a.Subscription == b.Subscription && a.Start == b.Start && a.End == b.End &&
		a.StoreID == b.StoreID && a.LeaderPeer == b.LeaderPeer && a.EpochVersion == b.EpochVersion &&
		a.EpochConfVer == b.EpochConfVer && a.State == b.State && a.Initialized == b.Initialized &&
		a.LastError == snapshots.CleanString(b.LastError) && a.RetryAttempts == b.RetryAttempts && a.Cause == b.Cause &&
		a.Since.Equal(b.Since) && a.Diagnosis == snapshots.CleanString(b.Diagnosis) && a.LastErrorAt.Equal(b.LastErrorAt) &&
		sameLineage(a.Lineage, b.Lineage)
}

func sameLineage(a, b []snapshots.Origin) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if a[i].Kind != b[i].Kind || a[i].From != b[i].From || !a[i].At.Equal(b[i].At) {
			return false
		}
	}
	return true
}
