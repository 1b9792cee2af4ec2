package ui

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
)

// boardCursor is the selected line of the causes board.
func boardCursor(h *harness) string {
	for _, line := range strings.Split(h.view(), "\n") {
		if strings.HasPrefix(line, ">") {
			return line
		}
	}
	return ""
}

// The causes board leads the Overview; the arrows select a cause, enter
// lists its regions in Regions (filtered cause:<name>), esc clears it.
func TestCausesBoardOpensTheRegionsOfACause(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.requireContains("CAUSE", "REGIONS", "STORES", "SINCE", "EXAMPLE")
	require.True(t, strings.HasPrefix(boardCursor(h), ">lock "), boardCursor(h))
	h.press("down")
	require.True(t, strings.HasPrefix(boardCursor(h), ">store_down "), boardCursor(h))
	require.Contains(t, boardCursor(h), "2,4", "its stores")
	h.requireContains("enter: the regions of store_down")

	h.press("enter")
	require.Equal(t, viewRegions, h.m.a.view)
	h.requireContains(`filter "cause:store_down": 5 of 16`)
	l := h.m.a.lists[viewRegions]
	require.Len(t, l.idx, 5)
	for _, i := range l.idx {
		r := &h.m.a.shown.Regions[i]
		require.Equal(t, snapshots.CauseStoreDown, r.Cause, "region %d", r.ID)
	}

	// The selection follows the cause across refreshes that reorder the
	// board. The board's rows are among the Overview's other culprit lines
	// (issue 18): the headline above it, the stores and errors below.
	h.press("1")
	for !strings.HasPrefix(boardCursor(h), ">scan_pending ") {
		h.press("down")
	}
	h.press("down")
	require.Regexp(t, `^>\s+store 2  COOLDOWN`, boardCursor(h), "past the board: the stores it names")
	h.press("g")
	require.Regexp(t, `^>Lag `, boardCursor(h), "the headline is the first line")
	h.press("down", "down", "down")
	require.True(t, strings.HasPrefix(boardCursor(h), ">store_paused "), boardCursor(h))
	h.refresh(next(h.m.a.shown, func(s *snapshots.State) {
		s.Causes = append([]snapshots.CauseRow{}, s.Causes[2:]...) // lock and store_down recovered
	}))
	require.True(t, strings.HasPrefix(boardCursor(h), ">store_paused "), boardCursor(h))
}

// A cause only a store has (no region yet) opens the Stores view.
func TestCausesBoardStoreOnlyCauseOpensStores(t *testing.T) {
	s := fixtureState()
	s.Causes = []snapshots.CauseRow{{Cause: snapshots.CauseStoreBusy, Stores: []uint64{2}, Example: "store 2 busy"}}
	s.Stores[1].Condition = snapshots.CauseStoreBusy
	h := newHarness(t, s)
	h.requireContains("enter: the stores with store_busy")
	h.press("enter")
	require.Equal(t, viewStores, h.m.a.view)
	h.requireContains(`filter "cause:store_busy": 1 of 4`)
}

// With nothing wrong the board says so in one line; the Overview's
// selection is then on its other culprits (the headline's worst region),
// and with none at all enter says so.
func TestCausesBoardAllHealthy(t *testing.T) {
	s := fixtureState()
	s.Causes = nil
	h := newHarness(t, s)
	h.requireContains("Causes         every region healthy")
	require.Regexp(t, `^>Lag `, boardCursor(h))
	h.press("enter")
	h.requireContains("Region 4  subscription 1")

	quiet := fixtureState()
	quiet.Causes, quiet.Stores, quiet.Totals.ErrorsByReason, quiet.Totals.WorstRegion = nil, nil, nil, 0
	h = newHarness(t, quiet)
	h.press("enter")
	require.Equal(t, viewOverview, h.m.a.view)
	require.Nil(t, h.m.a.detail)
	h.requireContains("nothing to open")
}

// The Regions view filters and sorts on the cause; the detail names it,
// since when, the diagnosis, and the age of the last error, marked when it
// is older than the condition.
func TestRegionCauseFilterAndDetail(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("2", "/")
	h.typeText("cause:churn")
	h.press("enter")
	h.requireContains(`filter "cause:churn": 2 of 16`)
	h.press("esc", "/")
	h.typeText("why:txn")
	h.press("enter")
	h.requireContains(`filter "why:txn": 1 of 16`)
	h.press("enter")
	h.requireContains("Region 4", "cause          lock since 11:59:48 (12.0s ago)",
		"pinned 12s by txn 449999988000000000")

	h.press("esc", "esc", "/")
	h.typeText("region:6")
	h.press("enter", "enter")
	h.requireContains("region_churn since 11:59:30",
		"last error     not_leader: leader is on store 2  at 11:59:15 (45.0s ago)", "[before the current condition: not its")
}

// A version 1 snapshot has no causes: the board does not claim health.
func TestCausesBoardVersion1Snapshot(t *testing.T) {
	s := fixtureState()
	s.Version, s.Causes = 1, nil
	for i := range s.Regions {
		s.Regions[i].Cause, s.Regions[i].Diagnosis = "", ""
	}
	h := newHarness(t, s, readOnly("replay of old.json: a saved snapshot, actions are disabled"))
	h.requireContains("not diagnosed: this snapshot was saved by a pulltop without causes (version 1)")
	h.requireNotContains("every region healthy")
}
