package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/internal/tmuxtest"
)

// Issue 18 on the real binary: what an operator who knows k9s, htop and
// TiCDC's lag alerts sees and does, one test per numbered item.

// startOperatorTUI runs pulltop at width×height with a fault script.
func startOperatorTUI(t *testing.T, width, height int, script string, env []string, args ...string) (*tmuxtest.Session, string) {
	t.Helper()
	state := t.TempDir()
	argv := []string{binary, "--log-file", filepath.Join(state, "pulltop.log")}
	if script != "" {
		path := filepath.Join(state, "faults.txt")
		require.NoError(t, os.WriteFile(path, []byte(script), 0o644))
		argv = append(argv, "--script", path)
	}
	argv = append(argv, args...)
	env = append([]string{"XDG_STATE_HOME=" + state, "NO_COLOR=1"}, env...)
	s := tmuxtest.Start(t, width, height, env, argv...)
	s.Timeout = 30 * time.Second
	return s, state
}

// regionRow is one row of the Regions view at 120 columns: REGION SUB
// STORE STATE CAUSE LAG [mark] EVENTS RETRY SPAN… LAST ERROR.
type regionRow struct {
	id, state string
	lagMs     int64
	known     bool
	line      string
}

// The CAUSE column (a word or "-") comes between STATE and LAG.
var regionRowRe = regexp.MustCompile(`^[> ]\s+(\d+)\s+\d+\s+\d+ ([A-Z-]+)\s+(?:[a-z_]+|-)\s+(\S+?)(!!| !|)\s+\d+\s+\d+ `)

func regionRows(screen string) []regionRow {
	var rows []regionRow
	for _, line := range strings.Split(screen, "\n") {
		m := regionRowRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		lag, ok := parseDur(m[3])
		rows = append(rows, regionRow{id: m[1], state: m[2], lagMs: lag, known: ok, line: line})
	}
	return rows
}

// parseDur reads the UI's durations: 850ms, 1.2s, 2m03s, 1h02m.
func parseDur(s string) (int64, bool) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, false
	}
	return d.Milliseconds(), true
}

func waiting(state string) bool {
	switch state {
	case "RETRY-WAIT", "RELOAD-WAIT", "LOCATING", "QUEUED", "PARKED", "REQUESTED":
		return true
	}
	return false
}

// Items 1 and 2: during a PD outage the header says PD is unreachable, the
// Overview says since when, the regions waiting for PD keep their range's
// resolved ts so their lag grows and sorts with the others (never "-" at
// the bottom), the lag is marked against --stale-after, and the store whose
// regions cannot be routed says NO ROUTE (PD), not DOWN.
func TestPDOutageLagNeverHidesInTmux(t *testing.T) {
	s, _ := startOperatorTUI(t, 120, 40, "at 2s pd-down for 40s\nat 3s kill-stream 1\n", nil,
		"--regions", "12", "--stale-after", "4s")
	s.Ready(tab(1), "embedded sim")
	s.WaitForFunc("the header badge", 30*time.Second, func(screen string) bool {
		return strings.Contains(strings.Split(screen, "\n")[0], "PD unreachable")
	})
	screen := s.WaitForFunc("the Overview's PD row and a marked headline", 30*time.Second, func(screen string) bool {
		return strings.Contains(screen, "PD             NOT ANSWERING for") &&
			regexp.MustCompile(`Lag\s+\d+\.\ds !! \(sub 1\) · worst region \d+ on store \d`).MatchString(screen)
	})
	require.Regexp(t, `last \d+\.\ds, peak`, screen, "the sparkline is labelled in seconds")

	s.SendAndWait("2", tab(2), "LAG▼")
	var first []regionRow
	screen = s.WaitForFunc("regions waiting for PD, with their lag", 30*time.Second, func(screen string) bool {
		first = nil
		for _, r := range regionRows(screen) {
			if waiting(r.state) && r.known && r.lagMs >= 4000 && strings.Contains(r.line, "!!") {
				first = append(first, r)
			}
		}
		return len(first) > 0
	})
	rows := regionRows(screen)
	require.NotEmpty(t, rows)
	for i, r := range rows {
		require.True(t, r.known, "no region hides its lag behind '-':\n%s", screen)
		if i > 0 {
			require.LessOrEqual(t, r.lagMs, rows[i-1].lagMs, "LAG▼ is sorted, waiting regions among the others:\n%s", screen)
		}
	}
	// The lag of a waiting region keeps growing.
	w := first[0]
	s.WaitForFunc("region "+w.id+"'s lag growing", 30*time.Second, func(screen string) bool {
		for _, r := range regionRows(screen) {
			if r.id == w.id && r.lagMs >= w.lagMs+1500 {
				return true
			}
		}
		return false
	})

	s.SendAndWait("5", tab(5), "MAX LAG")
	s.WaitForFunc("store 1 has no route while PD is down", 30*time.Second, func(screen string) bool {
		return strings.Contains(storeLine(screen, "1"), "NO ROUTE (PD)")
	})
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}

// storeLine is the Stores view's row of a store.
func storeLine(screen, id string) string {
	for _, line := range strings.Split(screen, "\n") {
		f := strings.Fields(strings.TrimPrefix(line, ">"))
		if len(f) > 2 && f[0] == id && strings.HasPrefix(f[1], "127.0.0.1:") {
			return line
		}
	}
	return ""
}

// Item 3: stores say what they are doing. A hung store is SUSPECT (its
// LAST MSG ages) before anything fails; a store whose stream broke has its
// LAST ERROR with its age, and its history says why.
func TestStoresSayWhatTheyDoInTmux(t *testing.T) {
	s, _ := startOperatorTUI(t, 120, 40, "at 3s hang-store 2 for 20s\nat 4s kill-stream 3\n", nil,
		"--regions", "12", "--stale-after", "6s")
	s.Ready(tab(1), "embedded sim")
	s.SendAndWait("5", tab(5), "MAX LAG", "WAITING", "LAST MSG", "LAST ERROR")
	screen := s.WaitForFunc("store 2 suspect, its last message old", 40*time.Second, func(screen string) bool {
		f := strings.Fields(strings.TrimPrefix(storeLine(screen, "2"), ">"))
		if len(f) < 4 || f[2] != "SUSPECT" {
			return false
		}
		for _, w := range f[3:] {
			if d, ok := parseDur(w); ok && d >= 3000 && strings.HasSuffix(w, "s") {
				return true
			}
		}
		return false
	})
	require.Contains(t, storeLine(screen, "1"), " UP ", "store 1 talks")
	s.WaitForFunc("store 3's last error with its age", 30*time.Second, func(screen string) bool {
		return regexp.MustCompile(`\d(ms|s) ago store 3 \(127`).MatchString(storeLine(screen, "3"))
	})
	s.SendAndWaitFunc("G", "cursor on store 3", func(screen string) bool {
		return strings.HasPrefix(storeLine(screen, "3"), ">")
	})
	s.SendAndWait("Enter", "Store 3", "last message", "HISTORY")
	s.WaitForFunc("the failure in the history, with its reason", 20*time.Second, func(screen string) bool {
		return regexp.MustCompile(`failure #\d+: store 3 \(127\.0\.0\.1:\d+\): stream failed`).MatchString(screen)
	})
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}

// Item 4: errors carry their age, an error from before the region streams
// again is "(old)", a detail page wraps a long error instead of cutting it,
// and y copies it (OSC 52, into tmux's buffer).
func TestErrorsWithAgeWrapAndCopyInTmux(t *testing.T) {
	// The sim lays 12 regions out round robin: region 3 is on store 3,
	// away from the store that stops.
	s, _ := startOperatorTUI(t, 120, 40, "at 2s congest-region 3 for 1s\nat 2s stop-store 1\n", nil,
		"--regions", "12", "--election-timeout", "5m")
	s.EnableClipboard()
	s.Ready(tab(1), "embedded sim")
	s.SendAndWait("2", tab(2), "LAST ERROR")
	s.SendAndWait("/", "/█")
	s.TypeAndWait("error:congested", "/error:congested█")
	s.SendAndWait("Enter", `filter "error:congested"`)
	s.WaitForFunc("a region streaming again, its error marked old", 40*time.Second, func(screen string) bool {
		for _, r := range regionRows(screen) {
			// The filter keeps the congested ones; the column may be too
			// narrow for more than the mark and the age.
			if r.state == "INITIALIZED" && regexp.MustCompile(`\(old\) \d\S* ago`).MatchString(r.line) {
				return true
			}
		}
		return false
	})
	// The stopped store's regions fail again and again: their error is
	// fresh, with its age.
	s.SendAndWait("/", "selected: typing replaces it")
	s.TypeAndWait("store:1", "/store:1█")
	s.SendAndWait("Enter", `filter "store:1"`)
	s.WaitForFunc("the top region failing, its error fresh", 40*time.Second, func(screen string) bool {
		rows := regionRows(screen)
		return len(rows) > 0 && strings.HasPrefix(rows[0].line, ">") &&
			regexp.MustCompile(` \d\S* ago st`).MatchString(rows[0].line) && !strings.Contains(rows[0].line, "(old)")
	})
	s.SendAndWait("y", "copy:", "e last error")
	s.SendAndWait("e", "copied last error to the clipboard")
	clip := s.Clipboard()
	require.True(t, strings.HasPrefix(clip, "store_failure: store 1 (127.0.0.1:"), "clipboard: %q", clip)

	screen := s.SendAndWait("Enter", "detail of region", "last error")
	// The whole error, over as many lines as it needs, nothing cut.
	var wrapped []string
lines:
	for _, l := range strings.Split(screen, "\n") {
		switch {
		case strings.HasPrefix(l, "   last error     "):
			wrapped = append(wrapped, l)
		case len(wrapped) > 0 && strings.HasPrefix(l, "                  "):
			wrapped = append(wrapped, l)
		case len(wrapped) > 0:
			break lines
		}
	}
	require.Greater(t, len(wrapped), 1, "a long error takes more than a line:\n%s", screen)
	text := strings.Join(strings.Fields(strings.Join(wrapped, " ")), " ")
	require.NotContains(t, text, "…")
	require.Contains(t, text, "store_failure: store 1 (127.0.0.1:")
	require.Regexp(t, `at \d\d:\d\d:\d\d \(\S+ ago\)`, text, "with when it happened")
	// The text may have moved on (another failure) between the copy and
	// the detail; its start is the same.
	require.Contains(t, text, strings.Join(strings.Fields(clip), " ")[:40], "the detail shows the error the clipboard has")
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}

// Item 5: the Overview names the culprits and enter opens them: the store
// in COOLDOWN with its time left, the worst-lag region, errors by reason
// with their stores and the last minute.
func TestOverviewCulpritsInTmux(t *testing.T) {
	s, _ := startOperatorTUI(t, 120, 40, "at 2s stop-store 3\n", nil,
		"--regions", "12", "--election-timeout", "5m", "--stale-after", "3s")
	s.Ready(tab(1), "embedded sim")
	screen := s.WaitForFunc("store 3 cooling down with its time left", 40*time.Second, func(screen string) bool {
		return regexp.MustCompile(`store 3  COOLDOWN \d[\d.]*m?s left`).MatchString(screen)
	})
	require.Contains(t, screen, "PER MIN  STORES (last minute)")
	require.Regexp(t, `store_failure\s+\d+\s+\S+\s+\d+  3`, screen, "errors by reason name the store")
	m := regexp.MustCompile(`worst region (\d+) on store (\d+)`).FindStringSubmatch(screen)
	require.NotNil(t, m, screen)

	// The headline is the first line: enter opens the worst region.
	s.SendAndWaitFunc("g", "the headline selected", func(screen string) bool {
		return strings.HasPrefix(lineContaining(screen, "worst region"), ">")
	})
	s.SendAndWait("Enter", "detail of region", "(enter: the store)")
	s.SendAndWaitFunc("Escape", "back on the Overview", func(screen string) bool {
		return !strings.Contains(screen, "detail of region") && strings.Contains(screen, "Cluster")
	})
	storeLine3 := regexp.MustCompile(`(?m)^>\s+store 3  [A-Z]`)
	for !storeLine3.MatchString(s.Capture()) {
		// Down past the causes board, one line at a time, each seen.
		before := s.Capture()
		sel := lineContaining(before, ">")
		s.SendAndWaitFunc("j", "the selection moved", func(screen string) bool {
			return lineContaining(screen, ">") != sel || storeLine3.MatchString(screen)
		})
	}
	s.SendAndWait("Enter", "Store 3", "enter: its regions")
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}

func lineContaining(screen, text string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, text) {
			return l
		}
	}
	return ""
}

// Item 6: region detail → its store → back with esc → its store's regions
// (store:N); a region split off another says so and keeps its parent's
// history.
func TestNavigateAndLineageInTmux(t *testing.T) {
	s, _ := startOperatorTUI(t, 120, 40, "at 3s split region 3\n", nil, "--regions", "8")
	s.Ready(tab(1), "embedded sim")
	s.SendAndWait("6", tab(6), "WHAT HAPPENED")
	s.SendAndWait("/", "/█")
	s.TypeAndWait("split from 3", "/split from 3█")
	s.SendAndWait("Enter", `filter "split from 3"`)
	screen := s.WaitForFunc("the split in the event log", 40*time.Second, func(screen string) bool {
		return regexp.MustCompile(`region \d+ split from 3`).MatchString(screen)
	})
	child := regexp.MustCompile(`region (\d+) split from 3`).FindStringSubmatch(screen)[1]
	s.SendAndWait("Enter", "Region "+child+"  subscription", "lineage        split from 3 at")
	s.WaitForFunc("the parent's history", 20*time.Second, func(screen string) bool {
		return strings.Contains(screen, "HISTORY OF REGION 3  before the split")
	})
	screen = s.Capture()
	store := regexp.MustCompile(`store          store (\d+) `).FindStringSubmatch(screen)
	require.NotNil(t, store, screen)
	s.SendAndWait("Enter", "Store "+store[1]+"   (esc: back; enter: its regions)")
	s.SendAndWait("Escape", "Region "+child+"  subscription")
	s.SendAndWait("Enter", "Store "+store[1]+"   (esc")
	s.SendAndWait("Enter", tab(2), `filter "store:`+store[1]+`"`)
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}

// Item 7: the Events view is what happened (fault-script lines as they
// fire, a store failing); Rows are the delivered rows; l opens the log
// file in $PAGER, whose path help shows.
func TestEventLogRowsAndPagerInTmux(t *testing.T) {
	s, state := startOperatorTUI(t, 120, 40, "at 2s busy-store 1 for 2s\nat 3s kill-stream 2\n", []string{"PAGER=less"},
		"--regions", "12")
	s.Ready(tab(1), "embedded sim")
	s.SendAndWait("6", tab(6), "WHAT HAPPENED")
	s.WaitForFunc("the fault lines and the store's failure", 40*time.Second, func(screen string) bool {
		return strings.Contains(screen, "script line 1") && strings.Contains(screen, "at 2s busy-store 1 for 2s") &&
			strings.Contains(screen, "at 3s kill-stream 2") && regexp.MustCompile(`store\s+store 2\s+`).MatchString(screen)
	})
	s.SendAndWait("8", tab(8), "COMMIT TS")
	logPath := filepath.Join(state, "pulltop.log")
	s.SendAndWait("?", "esc closes", logPath, "(l opens it in $PAGER)")
	s.SendAndWaitFunc("Escape", "help closed", func(screen string) bool { return !strings.Contains(screen, "esc closes") })
	s.SendAndWaitFunc("l", "the log in less", func(screen string) bool {
		return strings.Contains(screen, "pulltop started") && !strings.Contains(screen, "COMMIT TS")
	})
	s.SendAndWait("q", tab(8), "COMMIT TS")
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}

// Item 8 at 80×24: the compact header keeps [live], the refresh rate and
// PD's badge; every state count and the footer are on screen; < > and S
// sort; : goes somewhere; / selects the filter there; the footer follows
// the view; the mouse switches tabs, selects rows and scrolls; help
// scrolls to its glossary.
func TestKeysMouseAndSmallTerminalInTmux(t *testing.T) {
	s, _ := startOperatorTUI(t, 80, 24, "", nil, "--regions", "24")
	screen := s.Ready(tab(1), "[live]")
	s.WaitForFunc("every region state counted", 20*time.Second, func(screen string) bool {
		return strings.Contains(screen, "INITIALIZED 24")
	})
	screen = s.Capture()
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	require.Contains(t, lines[0], "refresh 1s  [live]")
	require.Contains(t, lines[0], "PD ok")
	for _, w := range []string{"QUEUED", "LOCATING", "PARKED", "REQUESTED", "INITIALIZED", "RETRY-WAIT", "RELOAD-WAIT", "STALE"} {
		require.Regexp(t, w+` \d+`, screen)
	}
	require.Len(t, lines, 24, screen)
	require.Contains(t, lines[23], "q quit")
	require.Contains(t, lines[23], "? more keys", "a footer too long for 80 columns says where the rest are")
	require.Contains(t, lines[23], "enter open")
	require.NotContains(t, lines[23], "/ filter", "no filter on the Overview")

	// A click on a tab switches to it.
	tabs := lines[1]
	s.ClickAndWait(strings.Index(tabs, "2 Regions")+1, 1, "the Regions tab", func(screen string) bool {
		return strings.Contains(screen, "[2 Regions") && strings.Contains(screen, "LAG▼")
	})
	screen = s.Capture()
	require.Contains(t, strings.Split(screen, "\n")[23], "/ filter")
	// At 80 columns EVENTS, RETRY and SUB are not on screen: the sort
	// skips them.
	s.SendAndWait(">", "SPAN▼")
	s.SendAndWait("<", "LAG▼")
	s.SendAndWait("S", "LAG▲")
	// By region, so rows stay where they are while lags change.
	s.SendAndWait("<", "CAUSE▲")
	s.SendAndWait("<", "STATE▲")
	s.SendAndWait("<", "STORE▲")
	s.SendAndWait("<", "REGION▲")
	// A click selects a row; the wheel scrolls.
	s.ClickAndWait(10, 6, "the fourth row selected", func(screen string) bool {
		return strings.HasPrefix(strings.Split(screen, "\n")[6], ">")
	})
	s.WheelAndWait(10, 10, true, "three rows down", func(screen string) bool {
		return strings.HasPrefix(strings.Split(screen, "\n")[9], ">")
	})

	s.SendAndWait("/", "/█")
	s.TypeAndWait("store:1", "/store:1█")
	s.SendAndWait("Enter", `filter "store:1"`)
	s.SendAndWait("/", "selected: typing replaces it")
	s.TypeAndWait("store:2", "/store:2█")
	s.SendAndWait("Enter", `filter "store:2"`)

	s.SendAndWait(":", ":█")
	s.TypeAndWait("stores", ":stores█")
	s.SendAndWait("Enter", "[5 Stores", "MAX LAG")
	s.SendAndWait(":", ":█")
	s.TypeAndWait("region 1", ":region 1█")
	s.SendAndWait("Enter", "Region 1  subscription")
	s.SendAndWait("Escape", "[5 Stores", "MAX LAG")

	s.SendAndWait("?", "esc closes")
	s.SendAndWait("G", "incompatible", "lagging", "MARKS")
	s.SendAndWait("g", "Keys   (")
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}

// Item 9: a replay says when it was captured, date and zone, nothing in
// it ticks, and the keys that only make sense live are gone.
func TestReplayCapturedInTmux(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	_, stderr, code := runPulltop(t, "headless", "--duration", "2s", "--regions", "8", "--snapshot", path)
	require.Equal(t, 0, code, stderr)
	s := tmuxtest.Start(t, 120, 40, []string{"NO_COLOR=1", "TZ=UTC", "XDG_STATE_HOME=" + t.TempDir()}, binary, "replay", path)
	screen := s.Ready("replay of s.json", "[replay]")
	require.Regexp(t, `captured \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC`, screen)
	require.NotContains(t, screen, "refresh")
	footer := func(screen string) string { l := strings.Split(screen, "\n"); return l[len(l)-1] }
	s.SendAndWait("2", tab(2), "REGION")
	screen = s.Capture()
	for _, live := range []string{"space freeze", "P pause", "R reload", "l log"} {
		require.NotContains(t, footer(screen), live)
	}
	// Nothing in the header ticks: no age, no refresh rate (the unit test
	// moves the clock and checks the frame).
	require.NotRegexp(t, `\(\d+(ms|\.\ds) old\)`, strings.Split(screen, "\n")[0])
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}

func TestParseDur(t *testing.T) {
	for in, want := range map[string]int64{"850ms": 850, "1.2s": 1200, "2m03s": 123000, "1h02m": 3720000} {
		got, ok := parseDur(in)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	_, ok := parseDur("-")
	require.False(t, ok)
}

// At start-up the Overview says how far the engine is: 50k regions scanned
// one at a time per store take seconds, during which the Progress line
// counts them (it goes once every region streams: TestOverviewProgress).
func TestOverviewProgressInTmux(t *testing.T) {
	s, _ := startOperatorTUI(t, 120, 40, "", nil, "--regions", "50000", "--scans-per-store", "1")
	progress := regexp.MustCompile(`Progress\s+(locating regions in PD: [\d.]+k? so far|initial scans [\d.]+k?/50k)`)
	s.WaitForFunc("the Progress line during the initial scans", 30*time.Second, progress.MatchString)
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}
