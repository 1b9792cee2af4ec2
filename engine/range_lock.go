package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// KeyRange is a half-open range [Start, End) of memcomparable-encoded keys.
// An empty End means +infinity.
type KeyRange struct {
	Start, End string
}

func (r KeyRange) String() string { return fmtRange(r.Start, r.End) }

// UnlockedRange is a part of a subscription's span that no region holds, with
// the resolved ts the next lock there will start from. The UI shows these as
// holes: a hole that persists means part of the span is not being pulled.
type UnlockedRange struct {
	Start, End string
	ResolvedTs uint64
}

// LockStatus is the outcome of RangeLock.TryLock.
type LockStatus uint8

const (
	// LockSuccess: the range is now held; register the region with
	// LockResult.Locked.ResolvedTs() as its checkpoint.
	LockSuccess LockStatus = iota + 1
	// LockStale: a region at least as new already holds part of the range (or
	// the same region is already locked), so this region's metadata is out of
	// date. Reload LockResult.RetryRanges, the parts no one holds.
	LockStale
	// LockWait: the request is newer than every region in its way. The request
	// has been parked under its waiter token; try again when Unlock or Stop
	// hands the token back. Nothing blocks.
	LockWait
	// LockCancel: the lock was stopped; drop the request.
	LockCancel
)

func (s LockStatus) String() string {
	switch s {
	case LockSuccess:
		return "success"
	case LockStale:
		return "stale"
	case LockWait:
		return "wait"
	case LockCancel:
		return "cancel"
	}
	return fmt.Sprintf("LockStatus(%d)", uint8(s))
}

// LockResult is what TryLock decided. Only the field for Status is set.
type LockResult struct {
	Status LockStatus
	// Locked is the new lock (LockSuccess).
	Locked *LockedRange
	// RetryRanges are the parts of the request that no region holds, in key
	// order, adjacent parts merged (LockStale).
	RetryRanges []KeyRange
	// Blockers are the ids of the regions the request waits for (LockWait),
	// for display: the request is "queued behind" them.
	Blockers []uint64
}

// LockedRange is one region's hold on a key range and its progress.
//
// It belongs to the RangeLock that returned it and to the same goroutine; the
// getters stay valid after Unlock (they then report the final values).
type LockedRange struct {
	regionID    uint64
	version     uint64
	initialized bool
	// owner is the RangeLock that made it (its id).
	owner *byte
	// seg is this lock's place in the span's tiling. Embedded so a region
	// costs one allocation.
	seg segment
}

// RegionID is the id of the region holding the range.
func (r *LockedRange) RegionID() uint64 { return r.regionID }

// Version is the region epoch version the range was locked with.
func (r *LockedRange) Version() uint64 { return r.version }

// Range is the locked key range (the region's part of the subscription).
func (r *LockedRange) Range() KeyRange { return KeyRange{r.seg.start, r.seg.end} }

// ResolvedTs is the region's progress. At lock time it is the oldest resolved
// ts of the unlocked parts it took over: where the incremental scan must
// start so that nothing committed there since is missed.
func (r *LockedRange) ResolvedTs() uint64 { return r.seg.ts }

// Initialized reports whether the region's incremental scan has finished.
func (r *LockedRange) Initialized() bool { return r.initialized }

// MarkInitialized records the region's INITIALIZED event.
func (r *LockedRange) MarkInitialized() { r.initialized = true }

// segment is one piece of the tiling of the subscription's span: either a
// region's lock (lock != nil) or a hole no region holds.
type segment struct {
	start, end string
	// ts is the locked region's resolved ts, or for a hole the resolved ts the
	// range had when it was last unlocked: where the next lock must start.
	ts uint64
	// live: the segment is one of the lock's segments (a locked range that
	// was unlocked is not, and its late resolved ts are ignored).
	live bool
	lock *LockedRange
}

// rangeWaiter is a parked TryLock; pending counts the blockers not yet
// unlocked.
type rangeWaiter[W any] struct {
	token   W
	pending int
}

// RangeLock guarantees that each key range of one subscription is requested
// by at most one region at a time: region metadata from PD overlaps during
// splits and merges, and two registrations for the same keys would deliver
// their rows twice. It also tracks each region's resolved ts, so the
// subscription's resolved ts (the minimum) is O(1) to read.
//
// Owner: the engine's event-loop goroutine. It is not synchronised; every
// method, and every LockedRange it returns, must be used from that goroutine.
//
// It never blocks. A request that must wait for older regions to let go is
// parked with a caller-chosen token of type W (the engine's task), and the
// token comes back from the Unlock that frees the last blocker (or from Stop);
// the caller then calls TryLock again, which may succeed, wait again (a newer
// region got there first), or report stale.
type RangeLock[W any] struct {
	spanStart, spanEnd string
	startTs            uint64

	// segments tiles [spanStart, spanEnd) in key order: every key of the span
	// is in exactly one segment, locked or not. Overlap queries are a binary
	// search plus a walk over the overlapping segments.
	segments []*segment
	// ts counts the segments by ts, so the subscription's resolved ts (the
	// minimum) is read in O(1) amortized, and a region's resolved ts moves
	// in O(1): a million regions move theirs every second.
	ts tsCounter
	// byRegion holds the region's single lock: a second request for a region
	// is either stale or waits for the first to go.
	byRegion map[uint64]*LockedRange
	// waiters maps a lock to the requests parked behind it. Allocated on the
	// first wait: waits only happen while regions split or merge.
	waiters map[*LockedRange][]*rangeWaiter[W]
	stopped bool
	// id tells its LockedRanges from another subscription's.
	id *byte
}

// NewRangeLock returns a lock over the subscription span [start, end) (end ""
// is +infinity) with nothing locked and every key resolved at startTs. An
// empty span accepts no lock and reports startTs as its resolved ts.
func NewRangeLock[W any](start, end string, startTs uint64) *RangeLock[W] {
	l := &RangeLock[W]{
		spanStart: start,
		spanEnd:   end,
		startTs:   startTs,
		byRegion:  make(map[uint64]*LockedRange),
		id:        new(byte),
	}
	if beforeEnd(start, end) {
		hole := &segment{start: start, end: end, ts: startTs, live: true}
		l.segments = []*segment{hole}
		l.ts.add(startTs)
	}
	return l
}

// TryLock asks for [start, end) on behalf of region regionID at epoch version.
// waiter is the token parked if the answer is LockWait; it is ignored
// otherwise. Call TryLock again for the same request only after its token has
// been handed back, or it is parked twice.
//
// An error means the request itself is malformed (empty, or outside the
// subscription span); the lock is unchanged.
func (l *RangeLock[W]) TryLock(start, end string, regionID, version uint64, waiter W) (LockResult, error) {
	if l.stopped {
		return LockResult{Status: LockCancel}, nil
	}
	if !beforeEnd(start, end) || start < l.spanStart || endLess(l.spanEnd, end) {
		return LockResult{}, fmt.Errorf("range lock %s: region %d version %d: range %s is empty or outside the subscription span",
			fmtRange(l.spanStart, l.spanEnd), regionID, version, fmtRange(start, end))
	}
	first, last := l.overlap(start, end)

	stale := false
	var blockers []*LockedRange
	for _, seg := range l.segments[first:last] {
		if seg.lock == nil {
			continue
		}
		blockers = append(blockers, seg.lock)
		if seg.lock.version >= version {
			stale = true
		}
	}
	// The same region locked elsewhere means its metadata moved (or this is a
	// duplicate); registering it twice on one stream is a DuplicateRequest.
	if same := l.byRegion[regionID]; same != nil && !overlaps(same.seg.start, same.seg.end, start, end) {
		blockers = append(blockers, same)
		if same.version >= version {
			stale = true
		}
	}

	switch {
	case stale:
		return LockResult{Status: LockStale, RetryRanges: l.unheld(first, last, start, end)}, nil
	case len(blockers) > 0:
		w := &rangeWaiter[W]{token: waiter, pending: len(blockers)}
		if l.waiters == nil {
			l.waiters = make(map[*LockedRange][]*rangeWaiter[W])
		}
		ids := make([]uint64, len(blockers))
		for i, b := range blockers {
			l.waiters[b] = append(l.waiters[b], w)
			ids[i] = b.regionID
		}
		return LockResult{Status: LockWait, Blockers: ids}, nil
	}
	return LockResult{Status: LockSuccess, Locked: l.lock(first, last, start, end, regionID, version)}, nil
}

// lock replaces the holes segments[first:last], which cover [start, end), with
// a new lock, keeping the parts of the outer holes that stick out.
func (l *RangeLock[W]) lock(first, last int, start, end string, regionID, version uint64) *LockedRange {
	ts := l.segments[first].ts
	for _, seg := range l.segments[first+1 : last] {
		ts = min(ts, seg.ts)
	}
	lr := &LockedRange{regionID: regionID, version: version, owner: l.id}
	lr.seg = segment{start: start, end: end, ts: ts, live: true, lock: lr}

	left, right := l.segments[first], l.segments[last-1]
	rightEnd := right.end
	var keep [3]*segment
	n := 0
	// Trimming a hole does not change its ts, so a kept hole keeps its
	// count.
	var keptLeft, keptRight *segment
	if left.start < start {
		left.end = start
		keptLeft = left
		keep[n] = left
		n++
	}
	keep[n] = &lr.seg
	n++
	if endLess(end, rightEnd) {
		if right == keptLeft {
			// One hole split in two around the lock.
			keptRight = &segment{start: end, end: rightEnd, ts: right.ts, live: true}
			l.ts.add(keptRight.ts)
		} else {
			right.start = end
			keptRight = right
		}
		keep[n] = keptRight
		n++
	}
	// The lock counts before the holes it replaces stop counting: its ts is
	// theirs, so the minimum never passes it in between.
	l.ts.add(lr.seg.ts)
	for _, seg := range l.segments[first:last] {
		if seg != keptLeft && seg != keptRight {
			l.ts.remove(seg.ts)
			seg.live = false
		}
	}
	l.segments = slices.Replace(l.segments, first, last, keep[:n]...)
	l.byRegion[regionID] = lr
	return lr
}

// Unlock releases the lock of region regionID, which must match version and
// [start, end) exactly. The range becomes a hole whose resolved ts is the
// later of resolvedTs and the lock's own: both are progress already confirmed
// for these keys, and a region re-locking here starts its scan from it.
//
// woken are the tokens of parked requests whose last blocker this was, in the
// order they were parked: retry TryLock for each. drained reports that the
// lock is stopped and nothing is locked any more. A mismatch is an error and
// changes nothing.
func (l *RangeLock[W]) Unlock(regionID, version uint64, start, end string, resolvedTs uint64) (woken []W, drained bool, err error) {
	lr := l.byRegion[regionID]
	if lr == nil {
		return nil, false, fmt.Errorf("range lock %s: unlock region %d version %d range %s: %w",
			fmtRange(l.spanStart, l.spanEnd), regionID, version, fmtRange(start, end), ErrRangeNotLocked)
	}
	if lr.version != version || lr.seg.start != start || lr.seg.end != end {
		return nil, false, fmt.Errorf("range lock %s: unlock region %d version %d range %s, but it holds version %d range %s: %w",
			fmtRange(l.spanStart, l.spanEnd), regionID, version, fmtRange(start, end), lr.version, fmtRange(lr.seg.start, lr.seg.end), ErrRangeNotLocked)
	}
	i := l.segmentAt(start)
	if i < 0 || l.segments[i] != &lr.seg || !lr.seg.live {
		return nil, false, fmt.Errorf("range lock %s: unlock region %d range %s: lock index corrupted", fmtRange(l.spanStart, l.spanEnd), regionID, fmtRange(start, end))
	}
	hole := &segment{start: start, end: end, ts: max(resolvedTs, lr.seg.ts), live: true}
	l.segments[i] = hole
	l.ts.add(hole.ts)
	l.ts.remove(lr.seg.ts)
	lr.seg.live = false
	delete(l.byRegion, regionID)

	if ws, ok := l.waiters[lr]; ok {
		delete(l.waiters, lr)
		for _, w := range ws {
			if w.pending--; w.pending == 0 {
				woken = append(woken, w.token)
			}
		}
	}
	return woken, l.Drained(), nil
}

// ErrRangeNotLocked is returned by Unlock when the region does not hold the
// range it names. It is a bug in the caller's bookkeeping, not a cluster
// condition.
var ErrRangeNotLocked = errors.New("range not locked by this region")

// UpdateResolvedTs moves the region's resolved ts forward to ts and reports
// whether it moved. A ts that is not newer, or a lock already unlocked (a late
// event), changes nothing: resolved ts never goes backwards. Whether the
// region is initialized is the caller's concern.
func (l *RangeLock[W]) UpdateResolvedTs(lr *LockedRange, ts uint64) bool {
	if lr == nil || ts <= lr.seg.ts || !lr.seg.live || lr.owner != l.id {
		return false
	}
	l.ts.add(ts)
	l.ts.remove(lr.seg.ts)
	lr.seg.ts = ts
	return true
}

// ResolvedTs is the subscription's resolved ts: the minimum over the locked
// regions and the holes. O(1) amortized.
func (l *RangeLock[W]) ResolvedTs() uint64 {
	if ts, ok := l.ts.min(); ok {
		return ts
	}
	return l.startTs
}

// RangeResolvedTs is the resolved ts of [start, end) as the lock knows it:
// the minimum over the segments overlapping it, locked or not. For a range
// nobody holds, that is the resolved ts it had when its last holder let go,
// or the start ts if it was never held: what a region waiting to re-lock
// the range can claim, so its lag keeps growing while it waits.
// O(log n + segments overlapped).
func (l *RangeLock[W]) RangeResolvedTs(start, end string) uint64 {
	start = max(start, l.spanStart)
	if endLess(l.spanEnd, end) {
		end = l.spanEnd
	}
	if len(l.segments) == 0 || !beforeEnd(start, end) {
		return l.startTs
	}
	first, last := l.overlap(start, end)
	first = max(first, 0)
	ts := l.segments[first].ts
	for _, seg := range l.segments[first+1 : last] {
		ts = min(ts, seg.ts)
	}
	return ts
}

// Stop makes every later TryLock return LockCancel and hands back the tokens
// of all parked requests (in key order of their first blocker) so the caller
// can drop them. Locks already held stay until unlocked; see Drained.
func (l *RangeLock[W]) Stop() (woken []W) {
	if l.stopped {
		return nil
	}
	l.stopped = true
	for _, seg := range l.segments {
		if seg.lock == nil {
			continue
		}
		for _, w := range l.waiters[seg.lock] {
			if w.pending > 0 {
				w.pending = 0
				woken = append(woken, w.token)
			}
		}
	}
	l.waiters = nil
	return woken
}

// Stopped reports whether Stop was called.
func (l *RangeLock[W]) Stopped() bool { return l.stopped }

// Drained reports that the lock is stopped and no region holds a range: the
// subscription can be forgotten.
func (l *RangeLock[W]) Drained() bool { return l.stopped && len(l.byRegion) == 0 }

// Len is the number of locked ranges.
func (l *RangeLock[W]) Len() int { return len(l.byRegion) }

// IterLocked calls fn for each locked range in key order until fn returns
// false. fn must not lock or unlock.
func (l *RangeLock[W]) IterLocked(fn func(*LockedRange) bool) {
	for _, seg := range l.segments {
		if seg.lock != nil && !fn(seg.lock) {
			return
		}
	}
}

// Holes returns the unlocked parts of the span in key order. Adjacent holes
// with the same resolved ts are reported as one.
func (l *RangeLock[W]) Holes() []UnlockedRange {
	var holes []UnlockedRange
	for _, seg := range l.segments {
		if seg.lock != nil {
			continue
		}
		if n := len(holes); n > 0 && holes[n-1].End == seg.start && holes[n-1].ResolvedTs == seg.ts {
			holes[n-1].End = seg.end
			continue
		}
		holes = append(holes, UnlockedRange{Start: seg.start, End: seg.end, ResolvedTs: seg.ts})
	}
	return holes
}

// overlap returns the segments overlapping [start, end), a non-empty range
// inside the span, as segments[first:last].
func (l *RangeLock[W]) overlap(start, end string) (first, last int) {
	first = l.segmentAt(start)
	last = len(l.segments)
	if end != "" {
		// First segment starting at or after end.
		lo, hi := first+1, len(l.segments)
		for lo < hi {
			mid := int(uint(lo+hi) >> 1)
			if l.segments[mid].start < end {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		last = lo
	}
	return first, last
}

// segmentAt returns the index of the segment containing key, -1 if key is
// before the span.
func (l *RangeLock[W]) segmentAt(key string) int {
	// Last segment starting at or before key.
	lo, hi := 0, len(l.segments)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if l.segments[mid].start <= key {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1
}

// unheld returns the parts of [start, end) covered by the holes among
// segments[first:last], adjacent parts merged.
func (l *RangeLock[W]) unheld(first, last int, start, end string) []KeyRange {
	var ranges []KeyRange
	for _, seg := range l.segments[first:last] {
		if seg.lock != nil {
			continue
		}
		r := KeyRange{Start: max(seg.start, start), End: seg.end}
		if endLess(end, r.End) {
			r.End = end
		}
		if n := len(ranges); n > 0 && ranges[n-1].End == r.Start {
			ranges[n-1].End = r.End
			continue
		}
		ranges = append(ranges, r)
	}
	return ranges
}

// tsCounter counts segments by resolved ts. Segments share a handful of
// values (TiKV advances a store's regions in batches, to one ts), so the
// counts stay small, and the distinct values sit in a min-heap from which
// a value whose count fell to zero is dropped when it comes to the top.
// A heap of the segments themselves cost a sift through a million
// pointers for every region's every resolved ts.
type tsCounter struct {
	count map[uint64]int
	heap  []uint64 // distinct values; may hold some whose count is zero
}

func (c *tsCounter) add(ts uint64) {
	if c.count == nil {
		c.count = map[uint64]int{}
	}
	n := c.count[ts]
	if n == 0 {
		c.push(ts)
	}
	c.count[ts] = n + 1
}

func (c *tsCounter) remove(ts uint64) {
	if n := c.count[ts]; n > 1 {
		c.count[ts] = n - 1
	} else {
		delete(c.count, ts)
	}
}

// min is the smallest counted ts; false when nothing is counted.
func (c *tsCounter) min() (uint64, bool) {
	for len(c.heap) > 0 && c.count[c.heap[0]] == 0 {
		c.pop()
	}
	if len(c.heap) == 0 {
		return 0, false
	}
	return c.heap[0], true
}

// len is how many segments are counted.
func (c *tsCounter) len() int {
	n := 0
	for _, k := range c.count {
		n += k
	}
	return n
}

func (c *tsCounter) push(ts uint64) {
	h := append(c.heap, ts)
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if h[parent] <= h[i] {
			break
		}
		h[parent], h[i] = h[i], h[parent]
		i = parent
	}
	c.heap = h
}

func (c *tsCounter) pop() {
	h := c.heap
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		child := 2*i + 1
		if child >= n {
			break
		}
		if right := child + 1; right < n && h[right] < h[child] {
			child = right
		}
		if h[i] <= h[child] {
			break
		}
		h[i], h[child] = h[child], h[i]
		i = child
	}
	c.heap = h
}

// beforeEnd reports whether key lies before the end key end ("" is
// +infinity).
func beforeEnd(key, end string) bool { return end == "" || key < end }

// endLess orders end keys, "" being +infinity.
func endLess(a, b string) bool { return a != "" && (b == "" || a < b) }

// overlaps reports whether [s1, e1) and [s2, e2) share a key.
func overlaps(s1, e1, s2, e2 string) bool { return beforeEnd(s1, e2) && beforeEnd(s2, e1) }

// fmtRange formats a range for operators: keys in hex, as TiKV and PD log
// them, and an empty end as +inf.
func fmtRange(start, end string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%x, ", start)
	if end == "" {
		b.WriteString("+inf)")
	} else {
		fmt.Fprintf(&b, "%x)", end)
	}
	return b.String()
}
