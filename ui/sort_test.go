package ui

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
)

// TestRadixSortOrdersAsCompare: a long Regions list is radix sorted by
// keys; it must show the rows in exactly the order the comparison sort
// gives (ties in snapshot order), for every column and both directions,
// filtered or not, with values at the edges of their ranges.
func TestRadixSortOrdersAsCompare(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := fixtureState()
	states := append(snapshots.RegionStates(), "", "weird")
	causes := append(snapshots.Causes(), "", "unknown")
	s.Regions = make([]snapshots.Region, 3*radixMin)
	for i := range s.Regions {
		r := &s.Regions[i]
		// Few distinct values, so ties are common; some at the extremes.
		r.ID = uint64(rng.IntN(50)) + 1
		r.Subscription = uint64(rng.IntN(3)) + 1
		r.StoreID = uint64(rng.IntN(5))
		r.State = states[rng.IntN(len(states))]
		r.Cause = causes[rng.IntN(len(causes))]
		r.Initialized = rng.IntN(2) == 0
		r.ResolvedLagMs = []int64{0, -5, 1, 1999, 1 << 40, 1<<62 + 3}[rng.IntN(6)]
		r.Events = []uint64{0, 7, 1 << 63, ^uint64(0)}[rng.IntN(4)]
		r.RetryAttempts = []int{0, 1, -1, 1 << 40}[rng.IntN(4)]
	}
	h := newHarness(t, s)
	l := h.m.a.lists[viewRegions]
	km := l.model.(keyedModel)
	for _, filter := range []string{"", "store:2"} {
		l.setFilter(filter)
		l.derive()
		require.Greater(t, len(l.idx), radixMin/2)
		for col := range l.tbl.cols {
			if km.sortKeys(col) == nil {
				continue
			}
			for _, desc := range []bool{false, true} {
				l.tbl.sortCol, l.tbl.sortDesc = col, desc
				byCompare, byRadix := slices.Clone(l.idx), slices.Clone(l.idx)
				slices.Sort(byCompare)
				slices.Sort(byRadix)
				l.sort(byCompare, false)
				l.sort(byRadix, true)
				require.Equal(t, byCompare, byRadix, "filter %q column %s desc=%v", filter, l.tbl.cols[col].title, desc)
				require.True(t, filter != "" || !slices.IsSorted(byRadix), "column %s: the data must need sorting", l.tbl.cols[col].title)
			}
		}
	}
	for _, col := range []int{regColSpan, regColError} {
		require.Nil(t, km.sortKeys(col), "a text column has no integer keys")
	}
}

// TestRadixSortEdges: keys that are all equal, of two values only (no
// middle to sort), at both ends of uint64, and several keys per row.
func TestRadixSortEdges(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name string
		vals []uint64
	}{
		{"equal", []uint64{7}},
		{"two", []uint64{0, ^uint64(0)}},
		{"extremes and middle", []uint64{0, ^uint64(0), 1 << 63, 5, 1<<11 + 5, 1 << 40}},
		{"wide", nil},
	} {
		for _, n := range []int{0, 1, 2, 1000} {
			k1, k2 := make([]uint64, n), make([]uint64, n)
			for i := range n {
				if tc.vals == nil {
					k1[i], k2[i] = rng.Uint64(), rng.Uint64()
				} else {
					k1[i], k2[i] = tc.vals[rng.IntN(len(tc.vals))], tc.vals[rng.IntN(len(tc.vals))]
				}
			}
			keys := []func(int32) uint64{func(i int32) uint64 { return k1[i] }, func(i int32) uint64 { return k2[i] }}
			for _, desc := range []bool{false, true} {
				want := make([]int32, n)
				for i := range want {
					want[i] = int32(i)
				}
				got := slices.Clone(want)
				slices.SortStableFunc(want, func(a, b int32) int {
					c := cmp.Or(cmp.Compare(k1[a], k1[b]), cmp.Compare(k2[a], k2[b]))
					if desc {
						c = -c
					}
					return c
				})
				var buf [2][]keyedRow
				buf = radixSort(got, keys, desc, buf)
				require.Equal(t, want, got, "%s n=%d desc=%v", tc.name, n, desc)
				// The buffers are reused: a second sort gives the same.
				again := slices.Clone(got)
				slices.Sort(again)
				radixSort(again, keys, desc, buf)
				require.Equal(t, want, again, "%s n=%d desc=%v, reused buffers", tc.name, n, desc)
			}
		}
	}
}

// TestRegionStateNames: the Overview counts states by rank, so every rank
// must name its state (and every state the snapshot defines have a rank).
func TestRegionStateNames(t *testing.T) {
	for r, name := range regionStateNames {
		require.Equal(t, r, regionStateRank(name), name)
	}
	for _, name := range snapshots.RegionStates() {
		require.Less(t, regionStateRank(name), regionStateRanks, name)
	}
}

// TestPartialSortShowsTheFullOrder: a long Regions list orders only its
// first rows on a refresh; what the screen shows, the cursor row and,
// after paging to the bottom, every row must be where the full comparison
// sort puts them, while lags drift between snapshots and in both sort
// directions.
func TestPartialSortShowsTheFullOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 130k-region snapshots")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	n := 2 * partialMin
	base := fixtureState()
	base.Regions = make([]snapshots.Region, n)
	for i := range base.Regions {
		r := &base.Regions[i]
		r.ID, r.Subscription, r.StoreID = uint64(i)+1, 1, 1
		r.State = snapshots.StateInitialized
		r.Initialized = rng.IntN(10) != 0 // some unknown lags: they sort first under LAG▼
		if r.Initialized {
			r.ResolvedLagMs = int64(rng.IntN(5000))
		}
	}
	h := newHarness(t, base)
	h.resize(200, 40)
	h.press("2")
	l := h.m.a.lists[viewRegions]
	full := func() []int32 {
		want := make([]int32, len(l.idx))
		for i := range want {
			want[i] = int32(i)
		}
		l.sort(want, false)
		return want
	}
	partial := 0
	for step := range 12 {
		if step == 6 {
			h.press("S") // ascending: the smallest lags first
		}
		s := *base
		s.Seq = base.Seq + uint64(step) + 1
		for i := range base.Regions {
			if !base.Regions[i].Initialized {
				continue
			}
			// Lags drift, and some jump: the limit learned last time
			// must not hide a row that moved to the top.
			base.Regions[i].ResolvedLagMs = max(1, base.Regions[i].ResolvedLagMs+int64(rng.IntN(400))-100)
			if rng.IntN(1000) == 0 {
				base.Regions[i].ResolvedLagMs += int64(rng.IntN(20000))
			}
		}
		s.Regions = slices.Clone(base.Regions)
		h.refresh(&s)
		h.press("j")
		_ = h.view()
		if l.sortedTo < len(l.idx) {
			partial++
		}
		sorted := slices.Sorted(slices.Values(l.idx))
		require.True(t, sorted[0] == 0 && sorted[n-1] == int32(n-1) && len(slices.Compact(sorted)) == n, "step %d: every row once", step)
		want := full()
		require.Equal(t, want[:l.sortedTo], l.idx[:l.sortedTo], "step %d: the sorted part", step)
		require.GreaterOrEqual(t, l.sortedTo, l.tbl.offset+l.tbl.rows, "step %d: every row on screen is sorted", step)
		got, ok := l.selected()
		require.True(t, ok)
		require.Equal(t, want[l.tbl.cursor], got, "step %d: the cursor row", step)
		// Back to the top: the cursor follows its row, and one that
		// drifted deep would need every row sorted.
		h.press("g")
	}
	require.Greater(t, partial, 6, "most refreshes must sort only the top")
	h.press("G")
	require.Equal(t, len(l.idx), l.sortedTo)
	require.Equal(t, full(), l.idx, "at the bottom every row is in order")
	h.press("S") // descending again: the bottom row is followed into a full sort
	require.Equal(t, full(), l.idx)
}
