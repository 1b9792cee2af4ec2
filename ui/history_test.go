package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
)

// historyScript drives a history directly, one snapshot at a time.
type historyScript struct {
	t *testing.T
	h *history
	s snapshots.State
}

func newHistoryScript(t *testing.T, ids ...uint64) *historyScript {
	hs := &historyScript{t: t, h: newHistory(), s: snapshots.State{Seq: 1, TakenAt: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}}
	for _, id := range ids {
		hs.s.Regions = append(hs.s.Regions, snapshots.Region{ID: id, Subscription: 1, StoreID: 1, State: snapshots.StateInitialized})
	}
	hs.h.observe(&hs.s)
	return hs
}

// step observes the next snapshot, after change.
func (hs *historyScript) step(change func(s *snapshots.State)) {
	hs.s.Seq++
	hs.s.TakenAt = hs.s.TakenAt.Add(time.Second)
	if change != nil {
		change(&hs.s)
	}
	hs.h.observe(&hs.s)
}

// described is region id's history as the detail shows it, newest first.
func (hs *historyScript) described(id uint64) []string {
	t := hs.h.region(1, id)
	if t == nil {
		return nil
	}
	var out []string
	for _, c := range hs.h.regionChanges(t, hs.s.Seq) {
		out = append(out, c.at.UTC().Format("05.000")+" "+c.describe())
	}
	return out
}

func (hs *historyScript) row(id uint64) *snapshots.Region {
	for i := range hs.s.Regions {
		if hs.s.Regions[i].ID == id {
			return &hs.s.Regions[i]
		}
	}
	hs.t.Fatalf("no region %d", id)
	return nil
}

func without(s *snapshots.State, id uint64) {
	s.Regions = slices.DeleteFunc(s.Regions, func(r snapshots.Region) bool { return r.ID == id })
}

// A region that never changed has no ring; its first sight is still its
// history. One that changed has both, and keeps them through a split
// before it that moves every row after it.
func TestHistoryFirstSightWithoutRing(t *testing.T) {
	hs := newHistoryScript(t, 1, 2, 3, 4)
	require.Equal(t, []string{"00.000 first seen INITIALIZED"}, hs.described(3))
	require.Nil(t, hs.h.region(1, 3).past, "no change, no error: nothing allocated")

	hs.step(func(s *snapshots.State) {
		r := hs.row(3)
		r.State, r.LastError = snapshots.StateRetryWait, "not_leader: leader moved"
	})
	hs.step(func(s *snapshots.State) { // region 1 splits: every row after it moves
		s.Regions = slices.Insert(s.Regions, 1, snapshots.Region{ID: 9, Subscription: 1, StoreID: 2, State: snapshots.StateQueued})
		hs.row(4).StoreID = 2
	})
	require.Equal(t, []string{"01.000 state INITIALIZED -> RETRY-WAIT: not_leader: leader moved", "00.000 first seen INITIALIZED"}, hs.described(3))
	require.Equal(t, []string{"02.000 moved from store 1 to store 2", "00.000 first seen INITIALIZED"}, hs.described(4))
	require.Equal(t, []string{"02.000 first seen QUEUED"}, hs.described(9))
	require.Equal(t, []string{"00.000 first seen INITIALIZED"}, hs.described(2))
	require.Nil(t, hs.h.region(1, 2).past)

	// A frozen view older than a region's first sight does not show it.
	require.Empty(t, hs.h.regionChanges(hs.h.region(1, 9), 2))
	require.Len(t, hs.h.regionChanges(hs.h.region(1, 3), 1), 1, "the first sight only, as of seq 1")
}

// A region that first appears with an error keeps it, so that it is not
// reported again as new.
func TestHistoryErrorAtFirstSight(t *testing.T) {
	hs := newHistoryScript(t, 1)
	hs.step(func(s *snapshots.State) {
		s.Regions = append(s.Regions, snapshots.Region{ID: 2, Subscription: 1, StoreID: 1,
			State: snapshots.StateRetryWait, LastError: "epoch_not_match", RetryAttempts: 1})
	})
	hs.step(nil)
	require.Equal(t, []string{"01.000 first seen RETRY-WAIT"}, hs.described(2))
	hs.step(func(s *snapshots.State) { hs.row(2).LastError = "region_not_found" })
	require.Equal(t, []string{"03.000 error region_not_found", "01.000 first seen RETRY-WAIT"}, hs.described(2))
}

// A region that leaves and comes back within forgetAfter snapshots keeps
// its history; one gone longer is forgotten, its slot reused, and starts
// over when it comes back.
func TestHistoryLeaveAndComeBack(t *testing.T) {
	hs := newHistoryScript(t, 1, 2, 3)
	hs.step(func(s *snapshots.State) { hs.row(2).State = snapshots.StateStale })
	hs.step(func(s *snapshots.State) { without(s, 2) })
	require.NotNil(t, hs.h.region(1, 2), "kept while it may come back")
	hs.step(func(s *snapshots.State) {
		s.Regions = slices.Insert(s.Regions, 0, snapshots.Region{ID: 2, Subscription: 1, StoreID: 1, State: snapshots.StateStale})
	})
	require.Equal(t, []string{"01.000 state INITIALIZED -> STALE", "00.000 first seen INITIALIZED"}, hs.described(2))

	hs.step(func(s *snapshots.State) { without(s, 2) })
	for range forgetAfter + 64 {
		hs.step(nil)
	}
	require.Nil(t, hs.h.region(1, 2), "forgotten")
	tracks := len(hs.h.regions)
	hs.step(func(s *snapshots.State) {
		s.Regions = append(s.Regions, snapshots.Region{ID: 2, Subscription: 1, StoreID: 1, State: snapshots.StateQueued})
	})
	require.Len(t, hs.h.regions, tracks, "its old slot reused")
	at := hs.s.TakenAt.UTC().Format("05.000")
	require.Equal(t, []string{at + " first seen QUEUED"}, hs.described(2))
	require.Equal(t, []string{"00.000 first seen INITIALIZED"}, hs.described(3))
}

// A partial observation (a live table: only the changed rows) forgets
// the regions told gone, and one that comes back starts over.
func TestHistoryPartial(t *testing.T) {
	hs := newHistoryScript(t, 1, 2, 3)
	partial := func(rows []int, gone []uint64) {
		hs.s.Seq++
		hs.s.TakenAt = hs.s.TakenAt.Add(time.Second)
		hs.h.beginObserveN(&hs.s, len(hs.s.Regions), true)
		for _, i := range rows {
			hs.h.observeRegion(i, &hs.s.Regions[i])
		}
		for _, id := range gone {
			hs.h.goneRegion(1, id)
		}
		hs.h.endObserve(&hs.s)
	}
	hs.s.Regions[2].State = snapshots.StateStale
	partial([]int{2}, nil)
	require.Equal(t, []string{"01.000 state INITIALIZED -> STALE", "00.000 first seen INITIALIZED"}, hs.described(3))

	// Region 2's row is taken by region 7; region 2 left.
	hs.s.Regions[1] = snapshots.Region{ID: 7, Subscription: 1, StoreID: 1, State: snapshots.StateQueued}
	partial([]int{1}, []uint64{2})
	require.Nil(t, hs.h.region(1, 2))
	require.Equal(t, []string{"02.000 first seen QUEUED"}, hs.described(7))

	// Region 2 comes back in a new row.
	hs.s.Regions = append(hs.s.Regions, snapshots.Region{ID: 2, Subscription: 1, StoreID: 1, State: snapshots.StateInitialized})
	partial([]int{3}, nil)
	require.Equal(t, []string{"03.000 first seen INITIALIZED"}, hs.described(2))
	require.Equal(t, []string{"00.000 first seen INITIALIZED"}, hs.described(1))
	require.Equal(t, []string{"01.000 state INITIALIZED -> STALE", "00.000 first seen INITIALIZED"}, hs.described(3))

	// A full observation after partial ones finds every region where it was.
	hs.step(nil)
	require.Equal(t, []string{"03.000 first seen INITIALIZED"}, hs.described(2))
	require.Equal(t, []string{"02.000 first seen QUEUED"}, hs.described(7))
}

// The detail of a region that never changed shows its first sight.
func TestDetailUnchangedRegionHistory(t *testing.T) {
	h := newHarness(t, fixtureState())
	s := h.src.s
	for range 3 {
		s = next(s, nil)
		h.refresh(s)
	}
	h.press(":")
	for _, r := range "region 4" {
		h.press(string(r))
	}
	h.press("enter")
	h.requireContains("Region 4", "HISTORY")
	screen := h.view()
	first := strings.Index(screen, "first seen STALE")
	require.Positive(t, first, "its first sight:\n%s", screen)
	require.Nil(t, h.m.a.hist.region(1, 4).past)
}
