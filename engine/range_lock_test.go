package engine

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

func mustLock(t *testing.T, l *RangeLock[string], start, end string, regionID, version uint64) *LockedRange {
	t.Helper()
	res, err := l.TryLock(start, end, regionID, version, "")
	require.NoError(t, err)
	require.Equal(t, LockSuccess, res.Status, "lock region %d %s: %+v", regionID, fmtRange(start, end), res)
	checkRangeLock(t, l)
	return res.Locked
}

func mustUnlock(t *testing.T, l *RangeLock[string], lr *LockedRange, resolvedTs uint64) (woken []string, drained bool) {
	t.Helper()
	r := lr.Range()
	woken, drained, err := l.Unlock(lr.RegionID(), lr.Version(), r.Start, r.End, resolvedTs)
	require.NoError(t, err)
	checkRangeLock(t, l)
	return woken, drained
}

// checkRangeLock verifies the structure's invariants: the segments tile the
// span in order, the ts counts are exactly those segments', and the
// region index and waiter lists agree with the locked segments.
func checkRangeLock[W any](t *testing.T, l *RangeLock[W]) {
	t.Helper()
	if !beforeEnd(l.spanStart, l.spanEnd) {
		require.Empty(t, l.segments)
		return
	}
	require.NotEmpty(t, l.segments)
	require.Equal(t, l.spanStart, l.segments[0].start)
	require.Equal(t, l.spanEnd, l.segments[len(l.segments)-1].end)
	locked := 0
	for i, seg := range l.segments {
		require.True(t, beforeEnd(seg.start, seg.end), "empty segment %d %s", i, fmtRange(seg.start, seg.end))
		if i > 0 {
			require.Equal(t, l.segments[i-1].end, seg.start, "segments %d and %d not adjacent", i-1, i)
		}
		require.True(t, seg.live, "segment %d not live", i)
		if seg.lock != nil {
			locked++
			require.Same(t, seg, &seg.lock.seg)
			require.Same(t, seg.lock, l.byRegion[seg.lock.regionID])
		}
	}
	// The counts are exactly the segments' ts, and the minimum is theirs.
	want := map[uint64]int{}
	minTs := l.segments[0].ts
	for _, seg := range l.segments {
		want[seg.ts]++
		minTs = min(minTs, seg.ts)
	}
	require.Equal(t, want, l.ts.count)
	require.Equal(t, len(l.segments), l.ts.len())
	got, ok := l.ts.min()
	require.True(t, ok)
	require.Equal(t, minTs, got)
	for i := 1; i < len(l.ts.heap); i++ {
		require.LessOrEqual(t, l.ts.heap[(i-1)/2], l.ts.heap[i], "heap order at %d", i)
	}
	for ts := range l.ts.count {
		require.Contains(t, l.ts.heap, ts, "counted ts %d missing from the heap", ts)
	}
	require.Equal(t, locked, len(l.byRegion))
	for lr, ws := range l.waiters {
		require.Same(t, lr, l.byRegion[lr.regionID], "waiters parked on an unlocked range")
		require.NotEmpty(t, ws)
	}
}

func TestRangeLockLockUnlock(t *testing.T) {
	l := NewRangeLock[string]("a", "z", 10)
	require.Equal(t, uint64(10), l.ResolvedTs())
	require.Equal(t, []UnlockedRange{{"a", "z", 10}}, l.Holes())

	lr := mustLock(t, l, "c", "g", 1, 5)
	require.Equal(t, uint64(1), lr.RegionID())
	require.Equal(t, uint64(5), lr.Version())
	require.Equal(t, KeyRange{"c", "g"}, lr.Range())
	require.Equal(t, uint64(10), lr.ResolvedTs())
	require.False(t, lr.Initialized())
	lr.MarkInitialized()
	require.True(t, lr.Initialized())
	require.Equal(t, 1, l.Len())
	require.Equal(t, []UnlockedRange{{"a", "c", 10}, {"g", "z", 10}}, l.Holes())

	// Adjacent locks on both sides and one covering the rest.
	mustLock(t, l, "a", "c", 2, 1)
	mustLock(t, l, "g", "z", 3, 1)
	require.Nil(t, l.Holes())
	require.Equal(t, 3, l.Len())

	var order []uint64
	l.IterLocked(func(r *LockedRange) bool { order = append(order, r.RegionID()); return true })
	require.Equal(t, []uint64{2, 1, 3}, order)
	order = order[:0]
	l.IterLocked(func(r *LockedRange) bool { order = append(order, r.RegionID()); return false })
	require.Equal(t, []uint64{2}, order)

	woken, drained := mustUnlock(t, l, lr, 15)
	require.Empty(t, woken)
	require.False(t, drained)
	require.Equal(t, 2, l.Len())
	require.Equal(t, []UnlockedRange{{"c", "g", 15}}, l.Holes())
	// The getters still describe the released lock.
	require.Equal(t, uint64(10), lr.ResolvedTs())
	require.Equal(t, KeyRange{"c", "g"}, lr.Range())
}

func TestRangeLockInfiniteEnd(t *testing.T) {
	l := NewRangeLock[string]("", "", 1)
	mustLock(t, l, "m", "", 1, 1)
	mustLock(t, l, "", "m", 2, 1)
	require.Nil(t, l.Holes())
	res, err := l.TryLock("x", "", 3, 9, "")
	require.NoError(t, err)
	require.Equal(t, LockWait, res.Status)
	require.Equal(t, []uint64{1}, res.Blockers)
}

func TestRangeLockRejectsBadRange(t *testing.T) {
	l := NewRangeLock[string]("b", "y", 1)
	for _, r := range []KeyRange{{"a", "c"}, {"c", "z"}, {"c", ""}, {"c", "c"}, {"d", "c"}} {
		_, err := l.TryLock(r.Start, r.End, 1, 1, "")
		require.Error(t, err, "range %s", r)
		require.Contains(t, err.Error(), "region 1 version 1")
	}
	require.Equal(t, 0, l.Len())
	checkRangeLock(t, l)

	empty := NewRangeLock[string]("b", "b", 7)
	_, err := empty.TryLock("b", "c", 1, 1, "")
	require.Error(t, err)
	require.Equal(t, uint64(7), empty.ResolvedTs())
	require.Nil(t, empty.Holes())
}

func TestRangeLockStaleRetryRanges(t *testing.T) {
	l := NewRangeLock[string]("a", "z", 1)
	mustLock(t, l, "c", "g", 1, 10)
	mustLock(t, l, "j", "n", 2, 8)

	res, err := l.TryLock("a", "z", 3, 9, "")
	require.NoError(t, err)
	require.Equal(t, LockStale, res.Status)
	require.Equal(t, []KeyRange{{"a", "c"}, {"g", "j"}, {"n", "z"}}, res.RetryRanges)
	require.Nil(t, res.Locked)

	// Fully covered: nothing to retry. Same version counts as stale (a duplicate).
	res, err = l.TryLock("d", "f", 4, 10, "")
	require.NoError(t, err)
	require.Equal(t, LockStale, res.Status)
	require.Empty(t, res.RetryRanges)
	res, err = l.TryLock("c", "g", 1, 10, "")
	require.NoError(t, err)
	require.Equal(t, LockStale, res.Status)

	// Retry ranges are clipped to the request.
	res, err = l.TryLock("b", "e", 5, 3, "")
	require.NoError(t, err)
	require.Equal(t, []KeyRange{{"b", "c"}}, res.RetryRanges)
	require.Equal(t, 2, l.Len())
	checkRangeLock(t, l)
}

func TestRangeLockSameRegionDisjointIsStale(t *testing.T) {
	l := NewRangeLock[string]("a", "z", 1)
	mustLock(t, l, "a", "c", 1, 5)

	// Older or equal metadata for the same region elsewhere: stale, and the
	// whole request is free so all of it is retried.
	for _, version := range []uint64{4, 5} {
		res, err := l.TryLock("m", "p", 1, version, "")
		require.NoError(t, err)
		require.Equal(t, LockStale, res.Status, "version %d", version)
		require.Equal(t, []KeyRange{{"m", "p"}}, res.RetryRanges)
	}

	// Newer metadata: the region moved; wait for the old lock to go.
	res, err := l.TryLock("m", "p", 1, 6, "moved")
	require.NoError(t, err)
	require.Equal(t, LockWait, res.Status)
	require.Equal(t, []uint64{1}, res.Blockers)
}

func TestRangeLockWaitThenSuccess(t *testing.T) {
	l := NewRangeLock[string]("a", "z", 1)
	left := mustLock(t, l, "a", "f", 1, 5)
	right := mustLock(t, l, "f", "k", 2, 5)

	// A merged region newer than both has to wait for both.
	res, err := l.TryLock("a", "k", 3, 6, "merged")
	require.NoError(t, err)
	require.Equal(t, LockWait, res.Status)
	require.Equal(t, []uint64{1, 2}, res.Blockers)
	// Another request parked behind only one of them.
	res, err = l.TryLock("e", "f", 4, 7, "small")
	require.NoError(t, err)
	require.Equal(t, LockWait, res.Status)
	require.Equal(t, []uint64{1}, res.Blockers)
	checkRangeLock(t, l)

	woken, _ := mustUnlock(t, l, left, 40)
	require.Equal(t, []string{"small"}, woken, "merged still waits for region 2")

	woken, _ = mustUnlock(t, l, right, 30)
	require.Equal(t, []string{"merged"}, woken)

	lr := mustLock(t, l, "a", "k", 3, 6)
	require.Equal(t, uint64(30), lr.ResolvedTs(), "starts from the older of the two released ranges")
	require.Nil(t, l.waiters[lr])

	// "small" retries and now finds itself stale behind the newer merged region.
	res, err = l.TryLock("e", "f", 4, 5, "small")
	require.NoError(t, err)
	require.Equal(t, LockStale, res.Status)
}

func TestRangeLockWaitAgainAfterWake(t *testing.T) {
	l := NewRangeLock[string]("a", "z", 1)
	old := mustLock(t, l, "a", "f", 1, 5)
	res, err := l.TryLock("a", "c", 2, 6, "split")
	require.NoError(t, err)
	require.Equal(t, LockWait, res.Status)

	woken, _ := mustUnlock(t, l, old, 10)
	require.Equal(t, []string{"split"}, woken)
	// Before the woken request retries, an even newer region takes the range.
	newer := mustLock(t, l, "a", "c", 3, 8)
	_ = newer
	res, err = l.TryLock("a", "c", 2, 6, "split")
	require.NoError(t, err)
	require.Equal(t, LockStale, res.Status)
}

func TestRangeLockStopCancelsAndDrains(t *testing.T) {
	l := NewRangeLock[string]("a", "z", 1)
	a := mustLock(t, l, "a", "f", 1, 5)
	b := mustLock(t, l, "f", "k", 2, 5)
	_, err := l.TryLock("a", "k", 3, 6, "both")
	require.NoError(t, err)
	_, err = l.TryLock("g", "h", 4, 6, "one")
	require.NoError(t, err)

	require.False(t, l.Stopped())
	woken := l.Stop()
	require.Equal(t, []string{"both", "one"}, woken, "each parked request handed back once")
	require.True(t, l.Stopped())
	require.False(t, l.Drained())
	require.Nil(t, l.Stop(), "second Stop is a no-op")

	res, err := l.TryLock("m", "n", 5, 1, "late")
	require.NoError(t, err)
	require.Equal(t, LockCancel, res.Status)
	require.Equal(t, 2, l.Len())

	woken, drained := mustUnlock(t, l, a, 3)
	require.Empty(t, woken)
	require.False(t, drained)
	woken, drained = mustUnlock(t, l, b, 3)
	require.Empty(t, woken)
	require.True(t, drained)
	require.True(t, l.Drained())
}

func TestRangeLockStopWithNothingLockedIsDrained(t *testing.T) {
	l := NewRangeLock[string]("a", "z", 1)
	require.Empty(t, l.Stop())
	require.True(t, l.Drained())
}

func TestRangeLockResolvedTsFromHoles(t *testing.T) {
	l := NewRangeLock[string]("a", "z", 50)
	r1 := mustLock(t, l, "a", "f", 1, 1)
	r2 := mustLock(t, l, "f", "k", 2, 1)
	mustLock(t, l, "k", "z", 3, 1)

	// A region that unlocks at 100 starts from 100 when it locks again.
	mustUnlock(t, l, r1, 100)
	again := mustLock(t, l, "a", "f", 1, 2)
	require.Equal(t, uint64(100), again.ResolvedTs())

	// A lock covering holes at 80 and 100 starts from 80.
	mustUnlock(t, l, again, 100)
	mustUnlock(t, l, r2, 80)
	require.Equal(t, []UnlockedRange{{"a", "f", 100}, {"f", "k", 80}}, l.Holes())
	merged := mustLock(t, l, "a", "k", 4, 3)
	require.Equal(t, uint64(80), merged.ResolvedTs())
	require.Nil(t, l.Holes())

	// A lock over part of a hole leaves the rest of the hole with its ts.
	mustUnlock(t, l, merged, 120)
	part := mustLock(t, l, "c", "e", 5, 4)
	require.Equal(t, uint64(120), part.ResolvedTs())
	require.Equal(t, []UnlockedRange{{"a", "c", 120}, {"e", "k", 120}}, l.Holes())

	// Unlock never records a ts older than the lock's own progress.
	require.True(t, l.UpdateResolvedTs(part, 130))
	mustUnlock(t, l, part, 0)
	require.Equal(t, []UnlockedRange{{"a", "c", 120}, {"c", "e", 130}, {"e", "k", 120}}, l.Holes())
}

// A region waiting to re-lock its range (retry, reload, PD lookup) claims
// the range's last resolved ts, or the start ts if nobody ever held it, so
// its lag keeps growing while it waits.
func TestRangeLockRangeResolvedTs(t *testing.T) {
	l := NewRangeLock[string]("b", "y", 50)
	require.Equal(t, uint64(50), l.RangeResolvedTs("c", "d"), "never held: the start ts")
	r1 := mustLock(t, l, "b", "f", 1, 1)
	r2 := mustLock(t, l, "f", "k", 2, 1)
	require.True(t, l.UpdateResolvedTs(r1, 90))
	require.True(t, l.UpdateResolvedTs(r2, 70))
	mustUnlock(t, l, r1, 0)
	require.Equal(t, uint64(90), l.RangeResolvedTs("b", "f"), "the hole keeps its holder's last ts")
	require.Equal(t, uint64(90), l.RangeResolvedTs("c", "e"), "part of the hole")
	require.Equal(t, uint64(70), l.RangeResolvedTs("d", "h"), "a hole and a lock: the minimum")
	require.Equal(t, uint64(50), l.RangeResolvedTs("j", ""), "past the held ranges, cut to the span")
	require.Equal(t, uint64(90), l.RangeResolvedTs("a", "c"), "cut to the span's start")
	require.Equal(t, uint64(50), l.RangeResolvedTs("z", ""), "outside the span: the start ts")
	require.Equal(t, uint64(50), NewRangeLock[string]("b", "b", 50).RangeResolvedTs("b", "c"), "empty span")
}

func TestRangeLockResolvedTsIsMinimum(t *testing.T) {
	l := NewRangeLock[string]("a", "z", 10)
	a := mustLock(t, l, "a", "h", 1, 1)
	b := mustLock(t, l, "h", "p", 2, 1)
	require.Equal(t, uint64(10), l.ResolvedTs(), "the hole [p, z) is still at the start ts")
	c := mustLock(t, l, "p", "z", 3, 1)

	require.True(t, l.UpdateResolvedTs(a, 30))
	require.True(t, l.UpdateResolvedTs(b, 20))
	require.Equal(t, uint64(10), l.ResolvedTs())
	require.True(t, l.UpdateResolvedTs(c, 25))
	require.Equal(t, uint64(20), l.ResolvedTs())
	require.True(t, l.UpdateResolvedTs(b, 40))
	require.Equal(t, uint64(25), l.ResolvedTs())

	// Unlocking the slowest region leaves a hole at its ts: still the minimum.
	mustUnlock(t, l, c, 0)
	require.Equal(t, uint64(25), l.ResolvedTs())
}

func TestRangeLockUpdateResolvedTsNeverGoesBackwards(t *testing.T) {
	l := NewRangeLock[string]("a", "z", 10)
	lr := mustLock(t, l, "a", "z", 1, 1)
	require.True(t, l.UpdateResolvedTs(lr, 20))
	require.False(t, l.UpdateResolvedTs(lr, 15))
	require.False(t, l.UpdateResolvedTs(lr, 20))
	require.Equal(t, uint64(20), lr.ResolvedTs())
	require.Equal(t, uint64(20), l.ResolvedTs())

	// A late update for a released lock changes nothing.
	mustUnlock(t, l, lr, 20)
	require.False(t, l.UpdateResolvedTs(lr, 99))
	require.Equal(t, uint64(20), l.ResolvedTs())
	require.False(t, l.UpdateResolvedTs(nil, 99))

	// Nor does one for a lock of another subscription.
	other := NewRangeLock[string]("a", "z", 10)
	foreign := mustLock(t, other, "a", "z", 1, 1)
	mine := mustLock(t, l, "a", "z", 1, 2)
	require.False(t, l.UpdateResolvedTs(foreign, 99))
	require.Equal(t, uint64(20), mine.ResolvedTs())
	checkRangeLock(t, l)
}

func TestRangeLockBadUnlockIsError(t *testing.T) {
	l := NewRangeLock[string]("a", "z", 1)
	lr := mustLock(t, l, "c", "g", 1, 5)
	for _, tc := range []struct {
		name       string
		regionID   uint64
		version    uint64
		start, end string
	}{
		{"unknown region", 2, 5, "c", "g"},
		{"wrong version", 1, 6, "c", "g"},
		{"wrong start", 1, 5, "b", "g"},
		{"wrong end", 1, 5, "c", "h"},
		{"infinite end", 1, 5, "c", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			woken, drained, err := l.Unlock(tc.regionID, tc.version, tc.start, tc.end, 9)
			require.ErrorIs(t, err, ErrRangeNotLocked)
			require.Contains(t, err.Error(), fmt.Sprintf("region %d", tc.regionID))
			require.Empty(t, woken)
			require.False(t, drained)
			require.Equal(t, 1, l.Len())
			checkRangeLock(t, l)
		})
	}
	mustUnlock(t, l, lr, 9)
	_, _, err := l.Unlock(1, 5, "c", "g", 9)
	require.ErrorIs(t, err, ErrRangeNotLocked, "double unlock")
}

func TestLockStatusString(t *testing.T) {
	require.Equal(t, "success", LockSuccess.String())
	require.Equal(t, "stale", LockStale.String())
	require.Equal(t, "wait", LockWait.String())
	require.Equal(t, "cancel", LockCancel.String())
	require.Equal(t, "LockStatus(0)", LockStatus(0).String())
	require.Equal(t, "[61, +inf)", KeyRange{"a", ""}.String())
}

// rangeLockModel is a brute-force RangeLock over a span cut into units at
// fixed keys: each unit is either held by one lock or a hole with a ts.
type rangeLockModel struct {
	keys    []string // unit i is [keys[i], keys[i+1])
	holder  []*modelLock
	holeTs  []uint64
	locks   map[uint64]*modelLock
	waiters []*modelWaiter
	stopped bool
}

type modelLock struct {
	regionID, version uint64
	lo, hi            int
	ts                uint64
	real              *LockedRange
}

type modelWaiter struct {
	token    string
	blockers map[*modelLock]bool
}

func newRangeLockModel(keys []string, startTs uint64) *rangeLockModel {
	m := &rangeLockModel{keys: keys, locks: map[uint64]*modelLock{}}
	m.holder = make([]*modelLock, len(keys)-1)
	m.holeTs = make([]uint64, len(keys)-1)
	for i := range m.holeTs {
		m.holeTs[i] = startTs
	}
	return m
}

func (m *rangeLockModel) tryLock(lo, hi int, regionID, version uint64, token string) (LockResult, *modelLock) {
	if m.stopped {
		return LockResult{Status: LockCancel}, nil
	}
	var blockers []*modelLock
	for u := lo; u < hi; u++ {
		if h := m.holder[u]; h != nil && !slices.Contains(blockers, h) {
			blockers = append(blockers, h)
		}
	}
	if same := m.locks[regionID]; same != nil && !slices.Contains(blockers, same) {
		blockers = append(blockers, same)
	}
	for _, b := range blockers {
		if b.version >= version {
			var retry []KeyRange
			for u := lo; u < hi; u++ {
				if m.holder[u] != nil {
					continue
				}
				if n := len(retry); n > 0 && retry[n-1].End == m.keys[u] {
					retry[n-1].End = m.keys[u+1]
				} else {
					retry = append(retry, KeyRange{m.keys[u], m.keys[u+1]})
				}
			}
			return LockResult{Status: LockStale, RetryRanges: retry}, nil
		}
	}
	if len(blockers) > 0 {
		w := &modelWaiter{token: token, blockers: map[*modelLock]bool{}}
		var ids []uint64
		for _, b := range blockers {
			w.blockers[b] = true
			ids = append(ids, b.regionID)
		}
		m.waiters = append(m.waiters, w)
		return LockResult{Status: LockWait, Blockers: ids}, nil
	}
	ml := &modelLock{regionID: regionID, version: version, lo: lo, hi: hi, ts: ^uint64(0)}
	for u := lo; u < hi; u++ {
		ml.ts = min(ml.ts, m.holeTs[u])
		m.holder[u] = ml
	}
	m.locks[regionID] = ml
	return LockResult{Status: LockSuccess}, ml
}

func (m *rangeLockModel) unlock(regionID, version uint64, lo, hi int, ts uint64) (woken []string, drained, ok bool) {
	ml := m.locks[regionID]
	if ml == nil || ml.version != version || ml.lo != lo || ml.hi != hi {
		return nil, false, false
	}
	delete(m.locks, regionID)
	for u := lo; u < hi; u++ {
		m.holder[u] = nil
		m.holeTs[u] = max(ts, ml.ts)
	}
	kept := m.waiters[:0]
	for _, w := range m.waiters {
		if w.blockers[ml] {
			delete(w.blockers, ml)
			if len(w.blockers) == 0 {
				woken = append(woken, w.token)
				continue
			}
		}
		kept = append(kept, w)
	}
	m.waiters = kept
	return woken, m.stopped && len(m.locks) == 0, true
}

func (m *rangeLockModel) stop() []string {
	if m.stopped {
		return nil
	}
	m.stopped = true
	var woken []string
	for _, w := range m.waiters {
		woken = append(woken, w.token)
	}
	m.waiters = nil
	return woken
}

func (m *rangeLockModel) resolvedTs() uint64 {
	ts := ^uint64(0)
	for u, h := range m.holder {
		if h != nil {
			ts = min(ts, h.ts)
		} else {
			ts = min(ts, m.holeTs[u])
		}
	}
	return ts
}

func (m *rangeLockModel) holes() []UnlockedRange {
	var holes []UnlockedRange
	for u, h := range m.holder {
		if h != nil {
			continue
		}
		if n := len(holes); n > 0 && holes[n-1].End == m.keys[u] && holes[n-1].ResolvedTs == m.holeTs[u] {
			holes[n-1].End = m.keys[u+1]
			continue
		}
		holes = append(holes, UnlockedRange{m.keys[u], m.keys[u+1], m.holeTs[u]})
	}
	return holes
}

func (m *rangeLockModel) lockedInKeyOrder() []*modelLock {
	var out []*modelLock
	for _, ml := range m.locks {
		out = append(out, ml)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].lo < out[j].lo })
	return out
}

func TestRangeLockRandomAgainstModel(t *testing.T) {
	spans := map[string][]string{
		"bounded":  {"b", "c", "d", "e", "f", "g", "h"},
		"infinite": {"", "b", "c", "d", "e", "f", ""},
	}
	for name, keys := range spans {
		t.Run(name, func(t *testing.T) {
			seen := map[LockStatus]int{}
			for seed := range uint64(40) {
				runRangeLockModel(t, keys, seed, seen)
			}
			// Every outcome, including retries after a wake-up, was exercised.
			for _, s := range []LockStatus{LockSuccess, LockStale, LockWait, LockCancel} {
				require.Positive(t, seen[s], "no %s outcome", s)
			}
			require.Positive(t, seen[0], "no retry after a wake-up")
		})
	}
}

// runRangeLockModel runs random operations on a RangeLock and the model and
// compares them after each. seen counts the TryLock outcomes; seen[0] counts
// retries of handed-back requests.
func runRangeLockModel(t *testing.T, keys []string, seed uint64, seen map[LockStatus]int) {
	rng := rand.New(rand.NewPCG(seed, 0xc0ffee))
	const startTs = 100
	l := NewRangeLock[string](keys[0], keys[len(keys)-1], startTs)
	m := newRangeLockModel(keys, startTs)
	nextToken := 0
	type request struct {
		lo, hi            int
		regionID, version uint64
		token             string
	}
	// parked requests wait for their token to be handed back; only then are
	// they retried, as the contract requires.
	parked := map[string]request{}
	var ready []request
	units := len(keys) - 1

	lastResolved := l.ResolvedTs()
	for step := range 400 {
		ctx := fmt.Sprintf("seed %d step %d", seed, step)
		var woken, wantWoken []string
		switch op := rng.IntN(100); {
		case op < 40 || (op < 50 && len(ready) > 0):
			var req request
			if op >= 40 {
				req, ready = ready[0], ready[1:]
				seen[0]++
			} else {
				req.lo = rng.IntN(units)
				req.hi = req.lo + 1 + rng.IntN(units-req.lo)
				req.regionID = 1 + rng.Uint64N(8)
				req.version = 1 + rng.Uint64N(6)
				req.token = fmt.Sprint("t", nextToken)
				nextToken++
			}
			got, err := l.TryLock(keys[req.lo], keys[req.hi], req.regionID, req.version, req.token)
			require.NoError(t, err, ctx)
			want, ml := m.tryLock(req.lo, req.hi, req.regionID, req.version, req.token)
			require.Equal(t, want.Status, got.Status, "%s: lock r%d v%d %s", ctx, req.regionID, req.version, fmtRange(keys[req.lo], keys[req.hi]))
			seen[got.Status]++
			switch got.Status {
			case LockSuccess:
				ml.real = got.Locked
				require.Equal(t, ml.ts, got.Locked.ResolvedTs(), ctx)
				require.Equal(t, KeyRange{keys[req.lo], keys[req.hi]}, got.Locked.Range(), ctx)
			case LockStale:
				require.Equal(t, want.RetryRanges, got.RetryRanges, ctx)
			case LockWait:
				require.ElementsMatch(t, want.Blockers, got.Blockers, ctx)
				parked[req.token] = req
			}
		case op < 75:
			locked := m.lockedInKeyOrder()
			if len(locked) == 0 {
				continue
			}
			ml := locked[rng.IntN(len(locked))]
			ts := ml.ts - 5 + rng.Uint64N(30)
			var drained, ok bool
			wantWoken, drained, ok = m.unlock(ml.regionID, ml.version, ml.lo, ml.hi, ts)
			require.True(t, ok)
			var gotDrained bool
			var err error
			woken, gotDrained, err = l.Unlock(ml.regionID, ml.version, keys[ml.lo], keys[ml.hi], ts)
			require.NoError(t, err, ctx)
			require.Equal(t, drained, gotDrained, ctx)
			require.Equal(t, wantWoken, woken, ctx)
		case op < 80:
			// A bad unlock is refused by both.
			regionID, version := 1+rng.Uint64N(8), 1+rng.Uint64N(6)
			lo := rng.IntN(units)
			hi := lo + 1 + rng.IntN(units-lo)
			_, _, ok := m.unlock(regionID, version, lo, hi, 1)
			_, _, err := l.Unlock(regionID, version, keys[lo], keys[hi], 1)
			require.Equal(t, ok, err == nil, ctx)
		case op < 98:
			locked := m.lockedInKeyOrder()
			if len(locked) == 0 {
				continue
			}
			ml := locked[rng.IntN(len(locked))]
			ts := ml.ts - 5 + rng.Uint64N(30)
			require.Equal(t, ts > ml.ts, l.UpdateResolvedTs(ml.real, ts), ctx)
			ml.ts = max(ml.ts, ts)
		default:
			wantWoken = m.stop()
			woken = l.Stop()
			require.ElementsMatch(t, wantWoken, woken, ctx)
		}
		for _, tok := range woken {
			req, ok := parked[tok]
			require.True(t, ok, "%s: token %s handed back but not parked", ctx, tok)
			delete(parked, tok)
			ready = append(ready, req)
		}

		checkRangeLock(t, l)
		require.Equal(t, m.resolvedTs(), l.ResolvedTs(), ctx)
		require.Equal(t, m.holes(), l.Holes(), ctx)
		require.Equal(t, len(m.locks), l.Len(), ctx)
		require.Equal(t, m.stopped && len(m.locks) == 0, l.Drained(), ctx)
		var got []*LockedRange
		l.IterLocked(func(lr *LockedRange) bool { got = append(got, lr); return true })
		want := m.lockedInKeyOrder()
		require.Len(t, got, len(want), ctx)
		for i := range want {
			require.Same(t, want[i].real, got[i], ctx)
			require.Equal(t, want[i].ts, got[i].ResolvedTs(), ctx)
		}
		// Locking takes the minimum of the holes it covers and unlocking never
		// records less than the lock's own ts, so the subscription's resolved
		// ts never goes backwards.
		require.GreaterOrEqual(t, l.ResolvedTs(), lastResolved, ctx)
		lastResolved = l.ResolvedTs()
	}
}

const benchRegions = 100_000

// benchKeys returns the boundaries of n adjacent regions, built once per
// benchmark so that key formatting is not measured.
func benchKeys(n int) []string {
	keys := make([]string, n+1)
	for i := range keys {
		keys[i] = fmt.Sprintf("t\x80\x00\x00\x00\x00\x00\x00\xff_r%08d", i)
	}
	return keys
}

// lockAll locks the regions [keys[i], keys[i+1]) in the given order.
func lockAll(tb testing.TB, l *RangeLock[int], keys []string, order []int) []*LockedRange {
	locks := make([]*LockedRange, len(keys)-1)
	for _, i := range order {
		res, err := l.TryLock(keys[i], keys[i+1], uint64(i+1), 1, 0)
		if err != nil || res.Status != LockSuccess {
			tb.Fatalf("lock %d: %v %v", i, res.Status, err)
		}
		locks[i] = res.Locked
	}
	return locks
}

func inKeyOrder(n int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	return order
}

func BenchmarkResolvedTsUpdate100k(b *testing.B) {
	keys := benchKeys(benchRegions)
	l := NewRangeLock[int](keys[0], keys[benchRegions], 1)
	locks := lockAll(b, l, keys, inKeyOrder(benchRegions))
	rng := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		// Regions advance in a shuffled round-robin, as resolved-ts batches do.
		lr := locks[(i*7919)%benchRegions]
		l.UpdateResolvedTs(lr, lr.ResolvedTs()+1+rng.Uint64N(3))
		_ = l.ResolvedTs()
	}
}

// BenchmarkTryLock100k locks 100k regions into an empty subscription, in key
// order (as regions come from a PD scan) and in random order (the worst case
// for the sorted slice: each insert moves half of it).
func BenchmarkTryLock100k(b *testing.B) {
	keys := benchKeys(benchRegions)
	for _, bc := range []struct {
		name    string
		shuffle bool
	}{{"inOrder", false}, {"random", true}} {
		b.Run(bc.name, func(b *testing.B) {
			order := inKeyOrder(benchRegions)
			if bc.shuffle {
				rand.New(rand.NewPCG(3, 4)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			}
			b.ReportAllocs()
			for b.Loop() {
				l := NewRangeLock[int](keys[0], keys[benchRegions], 1)
				lockAll(b, l, keys, order)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRegions), "ns/lock")
		})
	}
}

// BenchmarkRelock100k is the steady-state churn: a region errors, unlocks and
// locks the same range again, with 100k regions held.
func BenchmarkRelock100k(b *testing.B) {
	keys := benchKeys(benchRegions)
	l := NewRangeLock[int](keys[0], keys[benchRegions], 1)
	locks := lockAll(b, l, keys, inKeyOrder(benchRegions))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		j := (i * 7919) % benchRegions
		lr := locks[j]
		r := lr.Range()
		if _, _, err := l.Unlock(lr.RegionID(), lr.Version(), r.Start, r.End, lr.ResolvedTs()+1); err != nil {
			b.Fatal(err)
		}
		res, _ := l.TryLock(r.Start, r.End, lr.RegionID(), lr.Version()+1, 0)
		if res.Status != LockSuccess {
			b.Fatal(res.Status)
		}
		locks[j] = res.Locked
	}
}

// BenchmarkSplitMerge100k moves a boundary: two adjacent regions unlock and
// lock again split elsewhere, which inserts into the middle of the tiling.
func BenchmarkSplitMerge100k(b *testing.B) {
	keys := benchKeys(benchRegions)
	l := NewRangeLock[int]("", "", 1)
	locks := lockAll(b, l, keys, inKeyOrder(benchRegions))
	version := uint64(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		j := (i * 7919) % (benchRegions - 1)
		version++
		a, c := locks[j], locks[j+1]
		ra, rc := a.Range(), c.Range()
		if _, _, err := l.Unlock(a.RegionID(), a.Version(), ra.Start, ra.End, 0); err != nil {
			b.Fatal(err)
		}
		if _, _, err := l.Unlock(c.RegionID(), c.Version(), rc.Start, rc.End, 0); err != nil {
			b.Fatal(err)
		}
		// Merge then split at the old boundary again: one lock over two holes,
		// then two locks over one hole.
		res, _ := l.TryLock(ra.Start, rc.End, a.RegionID(), version, 0)
		if res.Status != LockSuccess {
			b.Fatal(res.Status)
		}
		m := res.Locked
		if _, _, err := l.Unlock(m.RegionID(), m.Version(), ra.Start, rc.End, 0); err != nil {
			b.Fatal(err)
		}
		r1, _ := l.TryLock(ra.Start, ra.End, a.RegionID(), version+1, 0)
		r2, _ := l.TryLock(rc.Start, rc.End, c.RegionID(), version+1, 0)
		if r1.Status != LockSuccess || r2.Status != LockSuccess {
			b.Fatal(r1.Status, r2.Status)
		}
		version++
		locks[j], locks[j+1] = r1.Locked, r2.Locked
	}
}

// BenchmarkRangeLockAdvance1M is a resolved-ts round at a million regions:
// every region's resolved ts moves to the store's new ts, in the store's
// batches, and the subscription's resolved ts is read after each batch (as
// advanceSubscription does). One op is one region's advance.
//
//	go test -run '^$' -bench RangeLockAdvance1M ./engine/
func BenchmarkRangeLockAdvance1M(b *testing.B) {
	const n, stores = 1_000_000, 3
	l := NewRangeLock[int]("", "", 1)
	locks := make([]*LockedRange, n)
	key := func(i int) string { return fmt.Sprintf("k%08d", i) }
	for i := range n {
		end := ""
		if i < n-1 {
			end = key(i + 1)
		}
		start := key(i)
		if i == 0 {
			start = ""
		}
		res, err := l.TryLock(start, end, uint64(i+1), 1, 0)
		if err != nil || res.Status != LockSuccess {
			b.Fatalf("lock %d: %v %v", i, res.Status, err)
		}
		locks[i] = res.Locked
	}
	// Round after round, store by store: region j is on store j%stores.
	order := make([]int, 0, n)
	for s := range stores {
		for j := s; j < n; j += stores {
			order = append(order, j)
		}
	}
	ts := uint64(1)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p := i % n
		j := order[p]
		if p == 0 || j%stores != order[p-1]%stores {
			ts++ // the next store's batch
		}
		l.UpdateResolvedTs(locks[j], ts)
		if p%1024 == 0 {
			_ = l.ResolvedTs()
		}
	}
}
