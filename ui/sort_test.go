package ui

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"pulltop/snapshots"
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
