package ui

import (
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
)

func TestViewKeysSwitchViews(t *testing.T) {
	h := newHarness(t, fixtureState())
	for k, name := range viewNames {
		h.press(string(rune('1' + k)))
		require.Equal(t, viewID(k), h.m.a.view)
		h.requireContains("[" + string(rune('1'+k)) + " " + name)
	}
	h.press("1", "tab")
	require.Equal(t, viewRegions, h.m.a.view)
	h.press("shift+tab", "shift+tab")
	require.Equal(t, viewRows, h.m.a.view, "shift+tab wraps around")
	h.press("tab")
	require.Equal(t, viewOverview, h.m.a.view, "tab wraps around")
}

func TestNavigationKeys(t *testing.T) {
	h := newHarness(t, bigState(1000))
	h.press("2")
	// Sort by region ID for predictable rows.
	l := h.m.a.lists[viewRegions]
	l.tbl.sortCol, l.tbl.sortDesc, l.dirty = regColID, false, true
	h.m.a.deriveVisible()
	h.press("g")
	rows := l.tbl.rows
	require.Equal(t, 40-4-1, rows, "body rows under the column header")

	cur := func() int { return l.tbl.cursor }
	h.press("j", "down")
	require.Equal(t, 2, cur())
	h.press("k", "up", "up")
	require.Equal(t, 0, cur(), "up stops at the top")
	h.press("pgdown")
	require.Equal(t, rows, cur())
	h.press("pgup")
	require.Equal(t, 0, cur())
	h.press("ctrl+d")
	require.Equal(t, rows/2, cur())
	h.press("ctrl+u")
	require.Equal(t, 0, cur())
	h.press("G")
	require.Equal(t, 999, cur())
	require.True(t, strings.HasPrefix(h.cursorLine(), ">      1000 "), h.cursorLine())
	h.press("g")
	require.Equal(t, 0, cur())
	require.True(t, strings.HasPrefix(h.cursorLine(), ">         1 "), h.cursorLine())
	h.press("end", "home")
	require.Equal(t, 0, cur())

	// Only the visible rows are drawn.
	require.Len(t, strings.Split(h.view(), "\n"), 40)
	h.requireNotContains(" 37 ") // region 37 is past the first screen
}

func TestSortKeys(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("2")
	h.requireContains("LAG▼", "sorted by LAG▼")
	require.Contains(t, h.cursorLine(), "STALE", "worst lag first")

	h.press("S")
	h.requireContains("LAG▲")
	h.press("s")
	h.requireContains("EVENTS▲")
	h.requireNotContains("LAG▲")
	require.Contains(t, h.cursorLine(), "         4 ", "the cursor stays on the selected region")
	require.Contains(t, firstRow(h.view()), "         5 ", "fewest events first, ties in snapshot order")

	h.press("s", "s", "s", "s") // RETRY, SPAN, LAST ERROR, back to REGION
	h.requireContains("REGION▲")
	require.Contains(t, firstRow(h.view()), "         2 ")
	h.press("S")
	h.requireContains("REGION▼")
	require.Contains(t, firstRow(h.view()), "        20 ")
}

// firstRow is the first table row under the column header.
func firstRow(view string) string {
	lines := strings.Split(view, "\n")
	for k, line := range lines {
		if strings.Contains(line, "▲") || strings.Contains(line, "▼") {
			return lines[k+1]
		}
	}
	return ""
}

func TestFilter(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("2", "/")
	h.typeText("store:2 state:wait")
	h.requireContains("/store:2 state:wait█", "2 of 16 regions match")
	h.press("enter")
	h.requireContains(`filter "store:2 state:wait": 2 of 16 regions match`)
	h.requireContains("RELOAD-WAIT", "RETRY-WAIT")
	h.requireNotContains("PARKED", "STALE ")

	// Kept across refreshes, and recomputed on the new data.
	h.refresh(next(h.src.s, func(s *snapshots.State) { s.Regions[9].StoreID = 2 })) // region 11 is QUEUED; make 12 (PARKED) store 2
	h.requireContains("2 of 16 regions match")
	h.refresh(next(h.src.s, func(s *snapshots.State) { s.Regions[10].State = snapshots.StateRetryWait; s.Regions[10].StoreID = 2 }))
	h.requireContains("3 of 16 regions match")

	// Inverse and substring on decoded keys.
	h.press("/", "ctrl+u")
	h.typeText("!state:parked t100_r1")
	h.press("enter")
	v := h.view()
	require.Contains(t, v, "[t100_r1000, t100_r2000)")
	require.NotContains(t, v, "PARKED")
	require.NotContains(t, v, "[t100_r3000, t100_r4000)")

	// Durations and comparisons.
	h.press("/", "ctrl+u")
	h.typeText("lag>1s")
	h.press("enter")
	h.requireContains("1 of 16 regions match", "STALE")

	// A bad field says why and matches nothing.
	h.press("/", "ctrl+u")
	h.typeText("colour:red")
	h.requireContains(`invalid filter: unknown field "colour"`, "0 of 16")
	// esc while typing restores the filter that was in force.
	h.press("esc")
	h.requireContains(`filter "lag>1s"`)
	// esc outside the editor clears it.
	h.press("esc")
	h.requireContains("16 regions, sorted by LAG▼")
}

func TestFilterPerView(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("5", "/")
	h.typeText("state:paused")
	h.press("enter")
	h.requireContains("1 of 4 stores match", "127.0.0.1:20162")
	h.press("2")
	h.requireContains("16 regions, sorted by")
	h.press("5")
	h.requireContains("1 of 4 stores match")
}

func TestCursorFollowsSelectedRegion(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("2")
	for !strings.Contains(h.cursorLine(), "RELOAD-WAIT") {
		h.press("j")
	}
	require.Contains(t, h.cursorLine(), "         9 ")
	// Region 9 now lags the most: it moves to the top, and the cursor with it.
	h.refresh(next(h.src.s, func(s *snapshots.State) {
		s.Regions[7].State = snapshots.StateStale
		s.Regions[7].ResolvedLagMs = 99000
	}))
	require.Contains(t, h.cursorLine(), "         9 ")
	require.Contains(t, h.cursorLine(), "STALE")
	require.Equal(t, 0, h.m.a.lists[viewRegions].tbl.cursor)

	// When the region is gone, the cursor stays where it was.
	h.press("j", "j")
	h.refresh(next(h.src.s, func(s *snapshots.State) {
		s.Regions = append(s.Regions[:1:1], s.Regions[2:]...) // drop region 3
	}))
	require.Equal(t, 2, h.m.a.lists[viewRegions].tbl.cursor)
}

func TestCursorFollowsSelectedStore(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("5", "j", "j") // store 3
	require.Contains(t, h.cursorLine(), "127.0.0.1:20162")
	h.refresh(next(h.src.s, func(s *snapshots.State) {
		s.Stores = append([]snapshots.Store{{ID: 0, Addr: "127.0.0.1:20159", State: snapshots.StoreUp}}, s.Stores...)
	}))
	require.Contains(t, h.cursorLine(), "127.0.0.1:20162")
}

func TestSameSnapshotIsSkipped(t *testing.T) {
	s := fixtureState()
	h := newHarness(t, s)
	require.Equal(t, 1, h.m.a.received)
	h.refresh(s)
	require.Equal(t, 1, h.m.a.received, "same pointer")
	same := *s
	h.refresh(&same)
	require.Equal(t, 1, h.m.a.received, "same seq")
	h.refresh(next(s, nil))
	require.Equal(t, 2, h.m.a.received)
	h.refresh(nil)
	require.Equal(t, 2, h.m.a.received, "nil snapshot ignored")
}

func TestDetailRegionHistory(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("2", "g")
	// Region 4 (STALE) is on top; give it a history.
	s := h.src.s
	s = next(s, func(s *snapshots.State) {
		r := &s.Regions[2]
		r.State, r.LastError, r.RetryAttempts = snapshots.StateRetryWait, "not_leader: leader moved", 1
	})
	h.refresh(s)
	s = next(s, func(s *snapshots.State) {
		r := &s.Regions[2]
		r.State, r.RetryAttempts = snapshots.StateRequested, 2
	})
	h.refresh(s)
	h.press("2")
	for !strings.Contains(h.cursorLine(), "         4 ") {
		h.press("j")
	}
	h.press("enter")
	h.requireContains("Region 4", "subscription 1", "REQUESTED", "127.0.0.1:20160",
		"[t100_r2000, t100_r3000)", "state RETRY-WAIT -> REQUESTED", "retry attempt 2",
		"state STALE -> RETRY-WAIT: not_leader: leader moved", "first seen STALE")
	h.press("esc")
	require.Nil(t, h.m.a.detail)
	h.requireContains("REGION", "sorted by")
}

func TestDetailHistoryIsBounded(t *testing.T) {
	h := newHarness(t, fixtureState())
	s := h.src.s
	for k := range 100 {
		s = next(s, func(s *snapshots.State) {
			s.Regions[0].State = []string{snapshots.StateStale, snapshots.StateInitialized}[k%2]
		})
		h.refresh(s)
	}
	tr := h.m.a.hist.region(1, 2)
	require.NotNil(t, tr)
	newest := h.m.a.hist.regionChanges(tr, s.Seq)
	require.Len(t, newest, regionHistoryLen, "the first sight dropped with the oldest changes")
	require.Equal(t, changeState, newest[len(newest)-1].kind)
	require.Equal(t, snapshots.StateInitialized, newest[0].to)
	require.Equal(t, s.Seq, newest[0].seq)
}

func TestDetailFromOtherViews(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("3", "enter") // retries: the first due is region 15
	h.requireContains("Region 15", "rpc_ctx_unavailable, attempt 4, due now")
	h.press("esc", "5", "j", "enter")
	h.requireContains("Store 2", "COOLDOWN", "1.6s", "by state")
	h.press("esc", "4", "enter") // reloads: the youngest waiting span
	h.requireContains("Reload span waiting", "[t101_r0, t101_r5000)", "drawn here once it is flushed")
}

func TestFreeze(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("5", "space")
	h.requireContains("FROZEN — 0 updates behind")
	s := next(h.src.s, func(s *snapshots.State) { s.Stores[0].State = snapshots.StoreDown })
	h.refresh(s)
	s = next(s, nil)
	h.refresh(s)
	h.requireContains("FROZEN — 2 updates behind", "snapshot #42")
	require.Contains(t, h.cursorLine(), "UP", "the view keeps the frozen snapshot")
	h.press("space")
	h.requireNotContains("FROZEN")
	h.requireContains("snapshot #44")
	require.Contains(t, h.cursorLine(), "DOWN")
}

func TestRefreshInterval(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("+")
	require.Equal(t, 2*time.Second, h.m.a.interval)
	h.requireContains("refresh 2s", "refresh every 2s")
	h.press("+", "+", "+", "+")
	require.Equal(t, 5*time.Second, h.m.a.interval, "at most 5s")
	for range 8 {
		h.press("-")
	}
	require.Equal(t, 250*time.Millisecond, h.m.a.interval, "at least 250ms")
	h.press("=")
	require.Equal(t, 500*time.Millisecond, h.m.a.interval)
}

func TestPauseAndResumeStore(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("5", "j", "P")
	h.requireContains("Pause store 2 (127.0.0.1:20161)? Its 4 regions will be parked. [y/N]")
	h.press("n")
	require.Empty(t, h.ctrl.Calls())
	h.requireContains("cancelled: pause store 2")

	h.press("P", "y")
	require.Equal(t, []string{"pause 2"}, h.ctrl.Calls())
	require.True(t, h.m.Idle())
	h.requireContains("pause store 2: done")

	// The paused store 3 offers resume, counting its parked regions.
	h.press("j", "P")
	h.requireContains("Resume store 3 (127.0.0.1:20162)? Its 3 parked regions will be")
	require.Equal(t, "Resume store 3 (127.0.0.1:20162)? Its 3 parked regions will be dispatched again. [y/N]", h.m.a.confirm.prompt)
	h.press("Y")
	require.Equal(t, []string{"pause 2", "resume 3"}, h.ctrl.Calls())
}

func TestPauseFromRegion(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("2", "/")
	h.typeText("region:8")
	h.press("enter", "P")
	h.requireContains("Pause store 2 (127.0.0.1:20161)?")
	h.press("y")
	require.Equal(t, []string{"pause 2"}, h.ctrl.Calls())

	// From a region's detail too.
	h.press("esc", "g", "enter", "P")
	h.requireContains("Pause store 1 (127.0.0.1:20160)? Its 7 regions will be parked.")
	h.press("esc")
	require.Nil(t, h.m.a.confirm)
	require.Len(t, h.ctrl.Calls(), 1)

	// Elsewhere P explains itself instead of guessing.
	h.press("esc", "1", "P")
	h.requireContains("P acts on a store")
}

func TestForceReload(t *testing.T) {
	h := newHarness(t, fixtureState())
	s := h.src.s
	h.press("2", "R") // region 4, worst lag
	h.requireContains("Force reload region 4 [t100_r2000, t100_r3000) of subscription 1?", "[y/N]")
	h.press("y")
	require.Equal(t, []string{"reload-region 1/4"}, h.ctrl.Calls())

	// In Reloads: the selected span.
	h.press("4", "/")
	h.typeText("reason:force")
	h.press("enter", "R")
	h.requireContains("Force reload span [t100_r7000, t100_r9000) of subscription 1?")
	h.press("y")
	require.Equal(t, "reload-span 1 "+s.Regions[7].Start+" "+s.Regions[8].End, h.ctrl.Calls()[1])

	// In Regions with a filter: exactly the matches, counted, in every
	// subscription they are in; not a covering span, which would also
	// reload the regions between them (store:2 matched 21 and reloaded 61).
	h.press("2", "/")
	h.typeText("store:1")
	h.press("enter", "R")
	h.requireContains(`Force reload the 8 regions matching "store:1" (2 subscriptions)?`, "no other region is touched")
	h.press("y")
	require.Equal(t, []string{"reload-regions 1 [2 3 4 5 6 7 16]", "reload-regions 2 [20]"}, h.ctrl.Calls()[2:])

	h.press("/", "ctrl+u")
	h.typeText("store:3")
	h.press("enter", "R")
	h.requireContains(`Force reload the 3 regions matching "store:3" (subscription 1)?`)
	h.press("y")
	require.Equal(t, "reload-regions 1 [12 13 14]", h.ctrl.Calls()[4])

	// In Retries: the region.
	h.press("3", "R")
	h.requireContains("Force reload region 15")
}

func TestActionErrorIsShown(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.ctrl.err = errStoreGone
	h.press("5", "j", "j", "P", "y")
	h.requireContains("resume store 3 failed: unknown store 3")
}

func TestReadOnly(t *testing.T) {
	reason := "--read-only: operator actions are disabled"
	h := newHarness(t, fixtureState(), readOnly(reason))
	require.False(t, h.m.a.keys.Pause.Enabled())
	require.False(t, h.m.a.keys.Reload.Enabled())
	h.requireNotContains("P pause", "R reload")
	h.requireContains("[read-only]")
	h.press("5", "P")
	require.Nil(t, h.m.a.confirm)
	h.requireContains(reason)
	h.press("2", "R")
	require.Nil(t, h.m.a.confirm)
	h.press("?")
	h.requireContains("Read-only: "+reason, "save snapshot")
	h.requireNotContains("pause/resume")
}

func TestReadOnlyReasonAloneDisablesActions(t *testing.T) {
	h := newHarness(t, fixtureState(), func(o *Options) { o.ReadOnlyReason = "--read-only" })
	h.press("5", "P")
	require.Nil(t, h.m.a.confirm)
	require.Empty(t, h.ctrl.Calls())
	h.requireContains("--read-only")
}

func TestSaveSnapshot(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("ctrl+s")
	h.requireContains("snapshot saved to /state/pulltop/pulltop-20260601-120000.json")

	var saved *snapshots.State
	h2 := newHarness(t, fixtureState(), func(o *Options) {
		o.SaveSnapshot = func(s *snapshots.State) (string, error) {
			saved = s
			return "", errors.New("disk full")
		}
	})
	h2.press("space")
	h2.refresh(next(h2.src.s, nil))
	h2.press("ctrl+s")
	h2.requireContains("saving snapshot failed: disk full")
	require.Equal(t, uint64(42), saved.Seq, "saves the snapshot on screen (frozen), not the newest")

	h3 := newHarness(t, fixtureState(), func(o *Options) { o.SaveSnapshot = nil })
	h3.requireNotContains("save snapshot")
	h3.press("ctrl+s") // disabled: nothing happens
}

func TestTooSmallTerminal(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("2")
	h.resize(20, 5)
	v := h.view()
	require.Contains(t, strings.ReplaceAll(v, "\n", " "), "terminal too small (have 20×5, need 60×15)")
	lines := strings.Split(v, "\n")
	require.LessOrEqual(t, len(lines), 5)
	for _, l := range lines {
		require.LessOrEqual(t, textWidth(l), 20, l)
	}
	h.press("P", "j", "5") // ignored: the operator cannot see
	require.Nil(t, h.m.a.confirm)
	require.Equal(t, viewRegions, h.m.a.view)
	h.resize(59, 40)
	h.requireContains("have 59×40")
	h.resize(120, 40)
	h.requireContains("[2 Regions 16]", "sorted by LAG▼")
	require.Len(t, strings.Split(h.view(), "\n"), 40)

	h.resize(1, 1)
	require.NotPanics(t, func() { _ = h.view() })
	h.resize(0, 0)
	require.Equal(t, "", h.view())
	h.resize(20, 5)
	h.press("q")
	require.True(t, h.quit, "q still quits")
}

func TestEveryFrameFitsTheTerminal(t *testing.T) {
	for _, size := range [][2]int{{60, 15}, {80, 24}, {120, 40}, {200, 60}} {
		h := newHarness(t, fixtureState())
		h.resize(size[0], size[1])
		h.refresh(next(h.src.s, func(s *snapshots.State) { s.EngineError = strings.Repeat("boom ", 50) }))
		h.press("space")
		for _, keys := range [][]string{{"1"}, {"2"}, {"3"}, {"4"}, {"5"}, {"6"}, {"7"}, {"2", "enter"}, {"5", "enter"}, {"?"}, {"esc", "5", "P"}, {"n", "2", "/"}} {
			h.press(keys...)
			lines := strings.Split(h.view(), "\n")
			require.Len(t, lines, size[1], "keys %v at %v", keys, size)
			for _, l := range lines {
				require.LessOrEqual(t, textWidth(stripANSI(l)), size[0], "keys %v at %v: %q", keys, size, l)
			}
		}
	}
}

func TestEngineErrorBanner(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.refresh(next(h.src.s, func(s *snapshots.State) { s.EngineError = "pd 127.0.0.1:2379: cluster id mismatch" }))
	h.requireContains("ENGINE STOPPED: pd 127.0.0.1:2379: cluster id mismatch")
}

func TestHelpOverlay(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("?")
	h.requireContains("Keys", "half page down", "force", "pause/resume", "save snapshot", "field:value")
	h.press("j")
	require.True(t, h.m.a.showHelp, "other keys do not close help")
	h.press("?")
	require.False(t, h.m.a.showHelp)
	h.press("?", "esc")
	require.False(t, h.m.a.showHelp)
}

func TestQuit(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("q")
	require.True(t, h.quit)

	h = newHarness(t, fixtureState())
	h.press("2", "/", "ctrl+c")
	require.True(t, h.quit, "ctrl+c quits even while typing a filter")

	h = newHarness(t, fixtureState())
	h.press("2", "/", "q")
	require.False(t, h.quit, "q is text in the filter")
	h.requireContains("/q█")
}

func TestLiveCountdown(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("3")
	h.requireContains("2.4s")
	// Once the source is live, countdowns move between snapshots.
	s := next(h.src.s, nil)
	h.refresh(s)
	h.now = s.TakenAt.Add(1500 * time.Millisecond)
	h.press("3")
	h.requireContains("900ms", "due")
	// A snapshot older than 3 intervals is shown as it was taken.
	h.now = s.TakenAt.Add(10 * time.Second)
	h.press("3")
	h.requireContains("2.4s", "NOT UPDATING")
}

func TestErrorRatesAndLagHistory(t *testing.T) {
	h := newHarness(t, fixtureState())
	s := h.src.s
	for k := range 5 {
		s = next(s, func(s *snapshots.State) {
			s.Totals.ErrorsByReason[snapshots.ReasonNotLeader] += 4
			s.Totals.SubLagMs = int64(1000 * (k + 1)) // the headline lag
		})
		h.refresh(s)
	}
	h.press("1")
	// Labelled in seconds (the snapshots are a second apart), not in
	// snapshots.
	h.requireContains("4.0", "▁", "█", "last 5.0s, peak 12.3s")
}

func TestColourStillHasTextCursorAndWords(t *testing.T) {
	// NO_COLOR: meaning must survive without paint. With colour on, the
	// same words and the '>' cursor must still be there.
	withColour(t, func() {
		h := newHarness(t, fixtureState())
		h.press("2")
		v := h.view()
		require.Contains(t, v, "\x1b[", "colour profile in effect")
		plain := stripANSI(v)
		require.Contains(t, plain, "> ")
		require.Contains(t, plain, "STALE")
		require.Contains(t, plain, "RETRY-WAIT")
	})
}

func TestRegionStatesAllShown(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("2")
	for _, st := range snapshots.RegionStates() {
		h.requireContains(regionStateWord(st))
	}
}

func TestRunsOfCharactersAreSeparateKeys(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("5jj")})
	require.Equal(t, viewStores, h.m.a.view)
	require.Contains(t, h.cursorLine(), "127.0.0.1:20162")

	// Typed-ahead characters never answer a dialog.
	h.update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("Py")})
	require.NotNil(t, h.m.a.confirm)
	require.Empty(t, h.ctrl.Calls())
	h.press("n")

	// "/" takes the rest as filter text.
	h.update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("2/store:2")})
	require.True(t, h.m.a.filtering)
	h.requireContains("/store:2█", "4 of 16 regions match")
	h.press("enter")

	// A paste is never a command.
	h.update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q1"), Paste: true})
	require.False(t, h.quit)
	require.Equal(t, viewRegions, h.m.a.view)
}

func TestNoSnapshotYet(t *testing.T) {
	h := newHarness(t, nil)
	h.requireContains("no snapshot yet", "waiting for the first snapshot")
	for _, k := range []string{"2", "enter", "P", "R", "3", "5", "P", "ctrl+s", "6", "7", "?"} {
		h.press(k)
	}
	require.Empty(t, h.ctrl.Calls())
	h.press("esc")
	h.refresh(fixtureState())
	h.press("2")
	h.requireContains("16 regions")

	m := New(Options{}) // no source at all: nothing to show, nothing to panic on
	m.Update(tickMsg{})
	require.NotEmpty(t, m.View())
}

func TestReplayLabel(t *testing.T) {
	h := newHarness(t, fixtureState(), readOnly("replay of snap.json: a saved snapshot, actions are disabled"))
	h.requireContains(" pulltop  replay of snap.json  captured 2026-06-01 12:00:00 UTC", "[replay]")
	h2 := newHarness(t, fixtureState(), func(o *Options) { o.SourceLabel = "PD 10.0.0.1:2379 (prod-east)" })
	h2.requireContains("PD 10.0.0.1:2379 (prod-east)")
}

func TestLogViewsStayOnTheNewest(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("7")
	require.Contains(t, h.cursorLine(), "resume-store")
	add := func(s *snapshots.State) {
		s.Actions = append(s.Actions, snapshots.Action{At: s.TakenAt, Action: "pause-store", Target: "store 1", Result: "ok"})
	}
	h.refresh(next(h.src.s, add))
	// The newest shows at the top, above the cursor, which stays on the
	// row the operator chose (issue 27: enter opened an event that had
	// just arrived).
	require.Contains(t, h.cursorLine(), "resume-store", "the cursor keeps its row")
	require.Contains(t, firstRow(h.view()), "store 1", "the newest is on top, in view")
	h.press("g")
	require.Contains(t, h.cursorLine(), "store 1")
	// Scrolled away from the top, the page follows the cursor's row.
	h.press("j")
	require.Contains(t, h.cursorLine(), "resume-store")
	h.refresh(next(h.src.s, add))
	require.Contains(t, h.cursorLine(), "resume-store")
}
