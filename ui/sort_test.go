package ui

import (
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
