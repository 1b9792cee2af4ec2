package ui

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
)

// esc retraces the path (issue 27): Events → enter on a cause's event →
// Regions filtered to that cause → esc → Events with its cursor on the
// event, and the Regions list unfiltered again for a plain visit.
func TestEscRetracesThePath(t *testing.T) {
	s := fixtureState()
	s.Log = append(s.Log, snapshots.LogEntry{At: fixtureTaken.Add(-time.Second), Kind: snapshots.LogState,
		Subject: "cause lock", Text: "lock: 1 region on store 1 — pinned"})
	h := newHarness(t, s)
	h.press("6", "j", "j")
	at := h.cursorLine()
	h.press("k", "k") // the cause's event is the newest
	require.Contains(t, h.cursorLine(), "cause lock")
	h.press("j", "j")
	require.Equal(t, at, h.cursorLine())
	h.press("g", "enter")
	require.Equal(t, viewRegions, h.m.a.view)
	h.requireContains("[2 Regions 16]", `filter "cause:lock": 1 of 16 regions match`)
	h.press("enter") // region 4's detail, under Regions
	h.requireContains("Region 4", "[2 Regions 16]")
	h.press("enter") // its store, under Stores
	h.requireContains("Store 1", "[5 Stores 4]")
	h.press("esc")
	h.requireContains("Region 4", "[2 Regions 16]")
	h.press("esc")
	h.requireContains(`filter "cause:lock": 1 of 16 regions match`)
	h.press("esc")
	require.Equal(t, viewEvents, h.m.a.view, "esc goes back to where enter was pressed")
	require.Contains(t, h.cursorLine(), "cause lock", "with the cursor where it was")
	h.press("esc")
	require.Equal(t, viewOverview, h.m.a.view)
	h.press("esc")
	h.requireContains("nothing to go back to")
}

// A filter typed on a page is undone by the first esc (back to the filter
// the page was opened with), the second esc goes back.
func TestEscUndoesATypedFilterFirst(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press(":")
	h.typeText("store 2")
	h.press("enter", "enter") // store 2's regions
	h.requireContains(`filter "store:2": 4 of 16 regions match`)
	h.press("/")
	h.typeText("state:parked")
	h.press("enter")
	h.requireContains(`filter "state:parked": 4 of 16 regions match`)
	h.press("esc")
	h.requireContains(`filter "store:2": 4 of 16 regions match`)
	h.press("esc")
	h.requireContains("Store 2", "[5 Stores 4]")
	h.press("esc")
	require.Equal(t, viewOverview, h.m.a.view)

	// On the first page, esc clears a filter as it always did.
	h = newHarness(t, fixtureState())
	h.press("2")
	h.m.a.back = nil // Regions is the first page
	h.press("/")
	h.typeText("store:2")
	h.press("enter", "esc")
	h.requireContains("16 regions, sorted by")
}

// : commands and the tabs say where the operator is: a store's detail is
// under Stores, wherever it was opened from.
func TestDetailUnderItsOwnTab(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("2", ":")
	h.typeText("store 3")
	h.press("enter")
	h.requireContains("Store 3", "[5 Stores 4]")
	h.requireNotContains("[2 Regions")
	h.press("esc")
	h.requireContains("[2 Regions 16]", "REGION")
}

// The stack is bounded.
func TestBackIsBounded(t *testing.T) {
	h := newHarness(t, fixtureState())
	for range 3 * maxBack {
		h.press("tab")
	}
	require.Len(t, h.m.a.back, maxBack)
}
