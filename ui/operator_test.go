package ui

import (
	"bytes"
	"encoding/base64"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
)

// Issue 18: the console presents and navigates what the engine knows.

// pdDown is the fixture during a PD outage of 23 s: store 4 has no stream
// and its regions wait for PD (NO ROUTE (PD), not DOWN).
func pdDown(s *snapshots.State) {
	s.Source.PDError = "GetRegion: rpc error: code = Unavailable desc = connection refused"
	s.Source.PDErrorSince = s.TakenAt.Add(-23 * time.Second)
	s.Source.PDLastOK = s.TakenAt.Add(-24 * time.Second)
	s.Source.PDFailuresPerSec = 4
}

// quiet makes store 1 quiet: up, but suspect.
func quiet(s *snapshots.State) {
	s.Stores[0].Suspect = true
	s.Stores[0].LastMsgAt = s.TakenAt.Add(-6 * time.Second)
}

func TestGoldenOperatorScreens(t *testing.T) {
	cases := []struct {
		name  string
		opts  []harnessOpt
		size  [2]int
		setup func(h *harness)
	}{
		{name: "overview_80x24", size: [2]int{80, 24}},
		{name: "regions_80x24", size: [2]int{80, 24}, setup: func(h *harness) { h.press("2") }},
		{name: "stores_80x24", size: [2]int{80, 24}, setup: func(h *harness) { h.press("5") }},
		{name: "pd_unreachable_overview", setup: func(h *harness) { h.refresh(next(h.src.s, pdDown)) }},
		{name: "pd_unreachable_stores", setup: func(h *harness) {
			h.refresh(next(h.src.s, func(s *snapshots.State) { pdDown(s); quiet(s) }))
			h.press("5")
		}},
		{name: "region_lineage", setup: func(h *harness) {
			// The parent's history first: region 15 was seen before it split.
			h.refresh(next(h.src.s, func(s *snapshots.State) {
				s.Regions[13].State, s.Regions[13].LastError = snapshots.StateReloadWait, "epoch_not_match: epoch not match (2 current regions)"
			}))
			h.press(":")
			h.typeText("region 16")
			h.press("enter")
		}},
		{name: "store_detail_suspect", setup: func(h *harness) {
			h.refresh(next(h.src.s, quiet))
			h.press(":")
			h.typeText("store 1")
			h.press("enter")
		}},
		{name: "events_enter_names_nothing", setup: func(h *harness) {
			h.press("6", "enter")
		}},
		{name: "help_glossary", setup: func(h *harness) { h.press("?", "G") }},
		{name: "replay", opts: []harnessOpt{func(o *Options) { o.Controller = nil; o.Replay = true; o.ReadOnlyReason = "replay of s.json" }},
			setup: func(h *harness) { h.press("2") }},
		{name: "command_line", setup: func(h *harness) {
			h.press("2", ":")
			h.typeText("regions lag>5s")
		}},
		{name: "filter_selected", setup: func(h *harness) {
			h.press("2", "/")
			h.typeText("store:2")
			h.press("enter", "/")
		}},
		{name: "copy_prompt", setup: func(h *harness) { h.press("2", "y") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, fixtureState(), c.opts...)
			if c.size != [2]int{} {
				h.resize(c.size[0], c.size[1])
			}
			if c.setup != nil {
				c.setup(h)
			}
			golden.RequireEqual(t, []byte(h.view()))
		})
	}
}

// An 80×24 terminal keeps [live], the refresh rate, every state count and
// the footer; the header is compact.
func TestSmallTerminalKeepsWhatMatters(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.resize(80, 24)
	lines := strings.Split(h.view(), "\n")
	require.Len(t, lines, 24)
	require.Contains(t, lines[0], "[live]")
	require.Contains(t, lines[0], "refresh 1s")
	require.Contains(t, lines[0], "PD ok")
	require.NotContains(t, lines[0], "…", "the header fits whole")
	for _, st := range snapshots.RegionStates() {
		require.Regexp(t, regexp.MustCompile(regexp.QuoteMeta(regionStateWord(st))+` \d+`), h.view(), "count of %s", st)
	}
	for _, st := range snapshots.StoreStates() {
		h.requireContains(storeStateWord(st) + " ")
	}
	require.Contains(t, lines[23], "? more keys", "a footer that does not fit says where the rest are")
	require.NotContains(t, lines[23], "…")
	require.Contains(t, lines[23], "q quit")
	for v := range numViews {
		require.Contains(t, lines[1], digit(int(v)+1)+" ", "tab %d on screen", v+1)
	}
	// During an outage the badge, [live] and the rate still fit.
	h.refresh(next(h.src.s, pdDown))
	lines = strings.Split(h.view(), "\n")
	require.Contains(t, lines[0], "PD unreachable 23.0s")
	require.Contains(t, lines[0], "refresh 1s  [live]")
	for _, l := range lines {
		require.LessOrEqual(t, textWidth(stripSGR(l)), 80, l)
	}
}

func digit(i int) string { return string(rune('0' + i)) }

var sgr = regexp.MustCompile("\x1b\\[[0-9;:]*m")

func stripSGR(s string) string { return sgr.ReplaceAllString(s, "") }

// A region without any resolved ts ("-") never sorts below real lags.
func TestUnknownLagSortsAsTheWorst(t *testing.T) {
	h := newHarness(t, next(fixtureState(), func(s *snapshots.State) {
		s.Regions[9].ResolvedLagMs = 0 // region 11, QUEUED, never resolved
	}))
	h.press("2")
	h.requireContains("LAG▼")
	require.Contains(t, h.cursorLine(), "        11 ", "the region without a lag is on top")
	require.Regexp(t, `QUEUED\s+\S+\s+-\s`, h.cursorLine())
	require.Contains(t, secondRow(h.view()), "STALE", "then the worst real lag")
	h.press("S")
	h.requireContains("LAG▲")
	require.NotContains(t, firstRow(h.view()), "QUEUED", "ascending: the least lag first, '-' last")
}

func secondRow(view string) string {
	seen := 0
	for _, line := range strings.Split(view, "\n")[3:] {
		if strings.TrimSpace(line) != "" {
			if seen++; seen == 2 {
				return line
			}
		}
	}
	return ""
}

// Lag is judged against --stale-after: a mark at half of it and at it,
// besides the colour, in every place it is shown.
func TestLagMarks(t *testing.T) {
	require.Equal(t, 0, lagLevel(4999, 10000))
	require.Equal(t, 1, lagLevel(5000, 10000))
	require.Equal(t, 2, lagLevel(10000, 10000))
	require.Equal(t, 0, lagLevel(99999, 0), "a version 1 file has no threshold")
	h := newHarness(t, fixtureState())
	h.requireContains("12.3s !! (sub 1) · worst region 4 on store 1")
	h.press("2")
	require.Contains(t, h.cursorLine(), "12.3s!!")
	h.requireContains(" 9.8s !", " 4.1s  ")
	h.press("5")
	h.requireContains("12.3s!!", " 9.8s !")
}

// Errors carry their age; one older than the region's condition is marked
// "(old)" (and dimmed where there is colour).
func TestErrorsWithTheirAge(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("2")
	// Region 7's error is as old as its condition; region 6's came 15s
	// before its condition began.
	h.requireContains("2.0s ago epoch_", "(old) 45.0s ago")
	// It ages with the view clock while live.
	h.refresh(next(h.src.s, nil))
	h.now = h.src.s.TakenAt.Add(500 * time.Millisecond)
	h.requireContains("3.5s ago epoch_", "(old) 46.5s ago")

	// With conditions (version 2): an error from before the condition began
	// is old, one after it is not.
	s := next(h.src.s, func(s *snapshots.State) {
		s.Regions[4].Since = s.TakenAt.Add(-time.Second) // region 6: its error is 3s old
		s.Regions[9].LastError, s.Regions[9].LastErrorAt = "server_is_busy", s.TakenAt.Add(-time.Second)
		s.Regions[9].Since = s.TakenAt.Add(-2 * time.Second) // region 11
	})
	r6, r11 := &s.Regions[4], &s.Regions[9]
	require.True(t, regionErrorOld(r6))
	require.False(t, regionErrorOld(r11))
	withColour(t, func() {
		h := newHarness(t, s)
		h.press("2")
		v := h.view()
		require.Contains(t, v, "(old) ", "marked in words")
		require.Contains(t, v, h.m.a.theme.Dim.pre+"(old) ", "and dimmed")
	})
}

// Long errors wrap in a detail page instead of being cut.
func TestDetailWrapsLongErrors(t *testing.T) {
	long := "store_failure: store 2 (127.0.0.1:20161): stream failed: rpc error: code = Unavailable desc = " +
		strings.Repeat("connection reset by peer while reading the frame header ", 3) + "END"
	h := newHarness(t, next(fixtureState(), func(s *snapshots.State) { s.Regions[6].LastError = long }))
	h.resize(80, 40)
	h.press(":")
	h.typeText("region 8")
	h.press("enter")
	h.requireContains("Region 8", "END")
	for _, l := range strings.Split(h.view(), "\n") {
		require.LessOrEqual(t, textWidth(l), 80)
		if strings.Contains(l, "connection reset") {
			require.NotContains(t, l, "…", "the error is wrapped, not cut: %s", l)
		}
	}
}

// The PD badge and row: ok with the last answer, or how long PD has been
// unreachable with the last success and the failure rate.
func TestPDHealth(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.requireContains("PD ok  refresh", "PD             ok, last answer 300ms ago")
	h.refresh(next(h.src.s, pdDown))
	h.requireContains("PD unreachable 23.0s  refresh 1s  [live]",
		"PD             NOT ANSWERING for 23.0s (since 11:59:38); last success 11:59:37; 4.0 failed requests/s: GetRegion")
	// It ticks with the view clock between snapshots.
	h.now = h.src.s.TakenAt.Add(800 * time.Millisecond)
	h.requireContains("PD unreachable 23.8s", "NOT ANSWERING for 23.8s")
	h.now = h.src.s.TakenAt.Add(1900 * time.Millisecond)
	h.requireContains("PD unreachable 24.9s", "NOT ANSWERING for 24.9s")

	// A store with no stream whose regions wait for PD is not DOWN: PD is.
	h.press("5")
	h.requireContains("NO ROUTE (PD)")
	require.True(t, noRoute(&h.src.s.Stores[3], h.src.s))
	require.False(t, noRoute(&h.src.s.Stores[0], h.src.s), "store 1 has its stream")
	require.False(t, noRoute(&h.src.s.Stores[3], fixtureState()), "with PD up, store 4 is DOWN")
	h.refresh(next(h.src.s, func(s *snapshots.State) { s.Source.PDError = "" }))
	h.requireContains("PD ok", " DOWN ")
	h.requireNotContains("NO ROUTE")
}

// Stores say what they are doing: a quiet store is SUSPECT before it
// fails, and its history says why its state changed.
func TestStoreSuspectAndHistoryReasons(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.refresh(next(h.src.s, quiet))
	h.press("5")
	require.Contains(t, h.cursorLine(), "SUSPECT")
	require.Contains(t, h.cursorLine(), " 6.0s ")
	h.refresh(next(h.src.s, func(s *snapshots.State) {
		s.Stores[0].Suspect = false
		s.Stores[0].State, s.Stores[0].Failures = snapshots.StoreCooldown, 1
		s.Stores[0].LastError, s.Stores[0].LastErrorAt = "store 1 (127.0.0.1:20160): stream failed: EOF", s.TakenAt
	}))
	h.press("enter")
	h.requireContains("Store 1", "quiet (SUSPECT): no message for 6.0s while 4 regions should advance",
		"state UP -> COOLDOWN: store 1 (127.0.0.1:20160): stream failed: EOF",
		"failure #1: store 1 (127.0.0.1:20160): stream failed: EOF")
}

// Region detail → its store (enter) → its regions (enter: store:N) → esc
// goes back the way it came.
func TestNavigateRegionStoreRegions(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("2", "/")
	h.typeText("region:10")
	h.press("enter", "enter")
	h.requireContains("Region 10", "(enter: the store)")
	h.press("enter")
	h.requireContains("Store 2", "127.0.0.1:20161")
	h.press("esc")
	h.requireContains("Region 10")
	h.press("enter", "enter")
	require.Nil(t, h.m.a.detail)
	require.Equal(t, viewRegions, h.m.a.view)
	h.requireContains(`filter "store:2": 4 of 16 regions match`)
	// From a store's row straight to its regions.
	h.press("5", "j", "j", "enter", "enter")
	h.requireContains(`filter "store:3": 3 of 16 regions match`)
}

// The Overview's culprit lines open what they name.
func TestOverviewCulpritsOpen(t *testing.T) {
	h := newHarness(t, fixtureState())
	require.True(t, strings.HasPrefix(lineWith(h.view(), "pinned 12s"), ">lock"), "the first cause is selected first: why before how much")
	h.press("g")
	require.True(t, strings.HasPrefix(lineWith(h.view(), "Lag "), ">"), "then the headline, above it")
	h.press("enter")
	h.requireContains("Region 4", "subscription 1")
	h.press("esc", "j", "j", "j", "j", "j", "j")
	require.True(t, strings.HasPrefix(lineWith(h.view(), "store 2  COOLDOWN 1.6s left"), ">"), h.view())
	h.press("enter")
	h.requireContains("Store 2")
	h.press("esc", "G")
	require.True(t, strings.HasPrefix(lineWith(h.view(), "force_reload"), ">"))
	h.press("k", "k", "k", "enter")
	require.Equal(t, viewRetries, h.m.a.view)
	h.requireContains(`filter "reason:server_is_busy"`)
}

func lineWith(view, text string) string {
	for _, l := range strings.Split(view, "\n") {
		if strings.Contains(l, text) {
			return l
		}
	}
	return ""
}

// The Events view lists what happened, newest first; enter opens what the
// event names (a store, a region, a fault line's target), or nothing, and
// the status line says why; esc comes back to the event.
func TestEventsView(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("6")
	h.requireContains("[6 Events 6]", "WHAT HAPPENED", "6 events, sorted by TIME▼")
	require.Contains(t, h.cursorLine(), "1 region stale", "newest first")
	h.press("enter")
	require.Equal(t, viewEvents, h.m.a.view, "an event about no one thing opens nothing")
	h.requireContains("nothing to open: the event names no region, store or cause (regions: 1 region stale")
	h.press("j", "enter")
	h.requireContains("Store 2", "[5 Stores 4]")
	h.press("esc", "j", "enter")
	h.requireContains("Store 2") // the fault line "at 5s stop-store 2" names it
	h.press("esc")
	require.Contains(t, h.cursorLine(), "at 5s stop-store 2", "esc comes back to the event")
	h.press("j", "j", "enter")
	h.requireContains("Store 3", "PAUSED") // "store 3 (127.0.0.1:20162)"
	h.press("esc", "/")
	h.typeText("kind:region")
	h.press("enter", "enter")
	h.requireContains("Region 16")
	// Rows are the delivered rows now, on 8.
	h.press("8")
	h.requireContains("[8 Rows 12]", "COMMIT TS")
}

// : goes somewhere by name.
func TestCommandLine(t *testing.T) {
	h := newHarness(t, fixtureState())
	run := func(cmd string) {
		h.t.Helper()
		h.press(":")
		h.typeText(cmd)
		h.press("enter")
	}
	run("store 3")
	h.requireContains("Store 3", "PAUSED")
	run("region 20")
	h.requireContains("Region 20", "subscription 2")
	h.press("esc")
	h.requireContains("Store 3")
	run("regions lag>5s")
	require.Equal(t, viewRegions, h.m.a.view)
	h.requireContains(`filter "lag>5s": 5 of 16 regions match`)
	run("stores")
	require.Equal(t, viewStores, h.m.a.view)
	run("region 999")
	h.requireContains("no region 999 in the current snapshot")
	run("frobnicate")
	h.requireContains("unknown command :frobnicate")
	run("regions lag>")
	h.requireContains("invalid filter")
	// Typed ahead in one read, as through tmux.
	h.update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(":store 2")})
	h.press("enter")
	h.requireContains("Store 2")
	h.press(":", "esc")
	require.False(t, h.m.a.cmdline)
	run("q")
	require.True(t, h.quit)
}

// / on a filter that is there selects it: typing replaces it, an arrow
// keeps it for editing, esc restores it.
func TestFilterSelectedOnReopen(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("2", "/")
	h.typeText("store:2")
	h.press("enter", "/")
	h.requireContains("selected: typing replaces it")
	h.typeText("state:parked")
	h.press("enter")
	h.requireContains(`filter "state:parked": 4 of 16 regions match`)
	h.press("/", "left")
	h.requireNotContains("selected:")
	h.typeText("x")
	h.requireContains("/state:parkexd")
	h.press("esc")
	h.requireContains(`filter "state:parked"`)
	h.press("/", "backspace", "enter")
	h.requireContains("16 regions, sorted by")
}

// < and > move the sort column both ways; S reverses it.
func TestSortColumnBothWays(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("2")
	h.requireContains("LAG▼")
	h.press(">")
	h.requireContains("EVENTS▼")
	h.press("<", "<", "<")
	h.requireContains("STATE▼")
	h.press("S")
	h.requireContains("STATE▲")
	h.press("<", "<", "<", "<")
	h.requireContains("LAST ERROR▲", "sorted by LAST ERROR▲")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// y copies the selected id, key or error with OSC 52.
func TestCopyWithOSC52(t *testing.T) {
	var clip syncBuffer
	h := newHarness(t, fixtureState(), func(o *Options) { o.Clipboard = &clip })
	osc := func(text string) string {
		return "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte(text)) + "\x07"
	}
	h.press("2", "y")
	h.requireContains("copy:", "i region id", "k start key (hex)", "s span")
	h.press("i")
	require.Equal(t, osc("4"), clip.String())
	h.requireContains("copied region id to the clipboard: 4")
	h.press("j", "y", "e")
	require.Equal(t, osc("4")+osc("store_failure: connection refused"), clip.String())
	h.press("y", "x")
	h.requireContains("copy cancelled")
	h.press("y", "s")
	require.True(t, strings.HasSuffix(clip.String(), osc("[t100_r6000, t100_r7000)")), "%q", clip.String())
	// A single choice copies at once; no sequence ever reaches the frame.
	h.press("6", "y")
	require.Contains(t, clip.String(), base64.StdEncoding.EncodeToString([]byte("2026-06-01T11:59:58.000Z state regions: 1 region stale")))
	require.NotContains(t, h.view(), "\x1b]52")
	require.Zero(t, h.m.a.foreignBytes)
}

// The footer lists only the keys that do something where the operator
// is; replay hides the live-only ones.
func TestFooterFollowsThePlace(t *testing.T) {
	footer := func(h *harness) string {
		lines := strings.Split(h.view(), "\n")
		return lines[len(lines)-1]
	}
	h := newHarness(t, fixtureState(), func(o *Options) { o.LogPath = "/var/log/pulltop.log" })
	require.Contains(t, footer(h), "enter open")
	require.Contains(t, footer(h), "l log file")
	require.NotContains(t, footer(h), "/ filter", "the Overview has no filter")
	h.press("2")
	require.Contains(t, footer(h), "R reload")
	require.Contains(t, footer(h), "/ filter")
	h.press("3")
	require.NotContains(t, footer(h), "P pause", "no store to pause from a retry")
	h.press("5")
	require.Contains(t, footer(h), "P pause")
	require.NotContains(t, footer(h), "R reload")
	h.press("enter")
	require.Contains(t, footer(h), "enter its regions")
	require.Contains(t, footer(h), "esc back")
	h.press("?")
	require.Contains(t, footer(h), "esc close")
	h.requireContains("/var/log/pulltop.log   (l opens it in $PAGER)")

	r := newHarness(t, fixtureState(), func(o *Options) {
		o.Controller, o.Replay, o.ReadOnlyReason, o.LogPath = nil, true, "replay of s.json", "/var/log/pulltop.log"
	})
	r.press("2")
	for _, live := range []string{"space freeze", "P pause", "R reload", "l log"} {
		require.NotContains(t, footer(r), live)
	}
	r.press("space")
	require.False(t, r.m.a.frozen, "nothing to freeze in a replay")
	r.press("?")
	r.requireNotContains("refresh slower", "log file in $PAGER")
}

// Replay shows when the snapshot was captured, date and zone, and nothing
// ticks: not the header, not an age.
func TestReplayCapturedAndStill(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	h := newHarness(t, fixtureState(), func(o *Options) {
		o.Controller, o.Replay, o.ReadOnlyReason = nil, true, "replay of s.json"
		now := o.Now
		o.Now = func() time.Time { return now().In(loc) }
	})
	h.press("2")
	h.requireContains("captured 2026-06-01 13:00:00 CET", "[replay]", "2.0s ago epoch_")
	h.requireNotContains("ms old)", "refresh")
	h.now = h.now.Add(time.Hour)
	h.requireContains("2.0s ago epoch_")
	h.requireNotContains("NOT UPDATING")
}

// Help scrolls, and its glossary explains every state and every cause the
// engine can give.
func TestHelpScrollsWithAGlossary(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.resize(100, 24)
	h.press("?")
	h.requireNotContains("GLOSSARY", "incompatible")
	h.press("G")
	h.requireContains("incompatible", "the store cannot serve pulltop")
	h.press("g")
	h.requireContains("Keys")
	for i := 0; i < 200; i++ {
		h.press("j")
	}
	h.requireContains("(old) …")
	h.update(tea.MouseMsg{X: 5, Y: 5, Button: tea.MouseButtonWheelUp, Action: tea.MouseActionPress})
	require.Greater(t, h.m.a.helpScroll, 0)
	for _, c := range snapshots.Causes() {
		require.NotEmpty(t, causeHelp[c], "cause %s has no glossary entry", c)
	}
	for _, st := range snapshots.RegionStates() {
		require.NotEmpty(t, regionStateHelp[st], "state %s", st)
	}
	for _, st := range snapshots.StoreStates() {
		require.NotEmpty(t, storeStateHelp[st], "store state %s", st)
	}
}

// The mouse: a click on a tab switches view, a click on a row selects it,
// the wheel scrolls; a click never answers a dialog.
func TestMouse(t *testing.T) {
	h := newHarness(t, fixtureState())
	click := func(x, y int) {
		h.update(tea.MouseMsg{X: x, Y: y, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress})
	}
	tabs := strings.Split(h.view(), "\n")[1]
	click(strings.Index(tabs, "5 Stores")+2, 1)
	require.Equal(t, viewStores, h.m.a.view)
	h.press("2")
	// Row lines start after header, tabs and column titles: line 3 is the
	// first row.
	click(10, 6)
	require.Equal(t, 3, h.m.a.lists[viewRegions].tbl.cursor)
	require.True(t, strings.HasPrefix(strings.Split(h.view(), "\n")[6], ">"))
	click(10, 2) // the column titles: nothing
	require.Equal(t, 3, h.m.a.lists[viewRegions].tbl.cursor)
	h.update(tea.MouseMsg{X: 10, Y: 10, Button: tea.MouseButtonWheelDown, Action: tea.MouseActionPress})
	require.Equal(t, 6, h.m.a.lists[viewRegions].tbl.cursor)
	h.press("R")
	click(40, 10)
	require.NotNil(t, h.m.a.confirm, "a click does not answer the dialog")
	h.press("n")
	// On the Overview a click selects a culprit line.
	h.press("1")
	y := lineIndex(h.view(), "store 4  DOWN")
	click(20, y)
	h.press("enter")
	h.requireContains("Store 4")
}

func lineIndex(view, text string) int {
	for i, l := range strings.Split(view, "\n") {
		if strings.Contains(l, text) {
			return i
		}
	}
	return -1
}

// A split region shows where it came from, and the history of its parent
// the UI kept.
func TestLineageAndParentHistory(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.refresh(next(h.src.s, func(s *snapshots.State) {
		s.Regions[13].State = snapshots.StateReloadWait
	}))
	h.press(":")
	h.typeText("region 16")
	h.press("enter")
	h.requireContains("lineage        split from 15 at 11:59:30 ← split from 5 at 11:55:00",
		"HISTORY OF REGION 15  before the split at 11:59:30", "state RETRY-WAIT -> RELOAD-WAIT")
	// Once it is gone itself, its detail keeps its lineage.
	h.refresh(next(h.src.s, func(s *snapshots.State) { s.Regions = s.Regions[:14] }))
	h.requireContains("not in the current snapshot", "split from 15")
}

func TestOverviewCompactScrollsToTheSelection(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.resize(80, 16)
	_ = h.view() // the operator saw a frame before pressing a key
	h.press("G")
	h.requireContains(">  force_reload")
	h.press("g")
	h.requireContains(">Lag")
}

// While regions are located and scanned, the Overview says how far it is;
// once they stream, the line goes.
func TestOverviewProgress(t *testing.T) {
	st := fixtureState()
	st.Progress = snapshots.Progress{Phase: snapshots.PhaseLocating, Located: 340_000, Detail: "locating regions in PD: 340k so far"}
	h := newHarness(t, st)
	require.Contains(t, lineWith(h.view(), "Progress"), "locating regions in PD: 340k so far")
	next := fixtureState()
	next.Seq = st.Seq + 1
	next.Progress = snapshots.Progress{Phase: snapshots.PhaseStreaming, Detail: "streaming 9 regions"}
	h.refresh(next)
	require.Empty(t, lineWith(h.view(), "Progress"), h.view())
}
