package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/internal/tmuxtest"
)

var screenshots = flag.String("screenshots", "",
	"write the screenshots (NAME.txt plain, NAME.ansi coloured) to this directory; scripts/screenshots renders them into docs/screenshots")

// screenshotFaults is the incident the screenshots show, on the embedded
// simulated cluster: first a split storm (with --pd-lag, retries pile up)
// with two stores' streams killed in it (their regions, split siblings
// among them, fail together and the reload aggregator merges adjacent
// spans), then a region that stops resolving without an error (it turns
// stale) and a store that stops (its regions wait in the retry heap, it
// cools down). The test pauses another store. The storm is a list of
// single splits that ends before the silence starts, so it cannot split the
// silenced region away (stop-faults would also end the silence).
func screenshotFaults() string {
	var b strings.Builder
	b.WriteString("# docs/screenshots: the incident the pictures show\n")
	for ms := 0; ms < 2000; ms += 40 {
		fmt.Fprintf(&b, "at %dms split random\n", ms)
	}
	b.WriteString("at 1s kill-stream 1\nat 1500ms kill-stream 2\nat 3s silence-region 4 for 10m\nat 4s stop-store 3\n")
	return b.String()
}

// shotViews says, for each screenshot, what makes it the view its name
// says; it is checked on the capture and again on the files written.
var shotViews = map[string]func(string) bool{
	"overview":      activeView("Overview"),
	"regions":       activeView("Regions"),
	"retries":       activeView("Retries"),
	"reloads":       activeView("Reloads"),
	"reload-detail": func(s string) bool { return activeView("Reloads")(s) && strings.Contains(s, "Reload flush") },
	"stores":        activeView("Stores"),
	"store-detail":  func(s string) bool { return activeView("Stores")(s) && strings.Contains(s, "detail of store") },
	"events":        func(s string) bool { return activeView("Events")(s) && strings.Contains(s, "WHAT HAPPENED") },
	"actions":       activeView("Actions"),
	"rows":          activeView("Rows"),
	"region-detail": func(s string) bool { return activeView("Regions")(s) && strings.Contains(s, "detail of region") },
	"confirm-pause": func(s string) bool { return activeView("Stores")(s) && strings.Contains(s, "[y/N]") },
	"help":          func(s string) bool { return strings.Contains(s, "Keys") && strings.Contains(s, "esc closes") },
}

// TestScreenshots drives the real binary through an incident in tmux and
// captures every view in a state worth seeing: retries waiting, reload
// spans being merged, a stale region, a paused store, a confirm dialog.
// Each capture is checked to be the view its name says before it is
// written, and each file again after. With -screenshots DIR the files go
// there (scripts/screenshots); otherwise to a temporary directory, so CI
// proves the pipeline still works on the current views.
func TestScreenshots(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the screenshot scenario takes about a minute")
	}
	dir := *screenshots
	if dir == "" {
		dir = t.TempDir()
	} else {
		abs, err := filepath.Abs(dir)
		require.NoError(t, err)
		dir = abs
	}
	state := t.TempDir()
	script := filepath.Join(state, "faults.txt")
	require.NoError(t, os.WriteFile(script, []byte(screenshotFaults()), 0o644))
	// Colours as a modern terminal has them (no NO_COLOR): the pictures are
	// made from these captures.
	s := tmuxtest.Start(t, 120, 40, []string{"XDG_STATE_HOME=" + state, "COLORTERM=truecolor", "TERM=xterm-256color"},
		binary, "--regions", "24", "--seed", "7", "--stale-after", "3s", "--pd-lag", "300ms",
		"--script", script, "--log-file", filepath.Join(state, "pulltop.log"))
	s.Timeout = 30 * time.Second
	shoot := func(name, worth string, cond func(string) bool) {
		t.Helper()
		is := shotViews[name]
		require.NotNil(t, is, "screenshot %s has no view check", name)
		s.Screenshot(dir, name, worth, func(screen string) bool { return is(screen) && (cond == nil || cond(screen)) })
	}

	s.Ready(tab(1), "embedded sim")

	// The split storm's flushes, some of them merges of several requests.
	s.SendAndWait("4", tab(4))
	shoot("reloads", "a flush that merged several requests", func(screen string) bool {
		for _, r := range reloadRows(screen) {
			if r.merged > 1 {
				return true
			}
		}
		return false
	})
	// One of them drawn against its merged span.
	s.SendAndWait("/", "/█")
	// Flushed ones only: a waiting span's detail has no bars yet.
	s.TypeAndWait("state:flushed merged>1", "/state:flushed merged>1█")
	s.SendAndWait("Enter", `filter "state:flushed merged>1"`)
	s.SendAndWait("Enter", "Reload flush", "ABSORBED")
	shoot("reload-detail", "the absorbed spans", nil)
	s.SendAndWaitFunc("Escape", "back on the filtered list", func(screen string) bool {
		return !strings.Contains(screen, "ABSORBED") && strings.Contains(screen, `filter "state:flushed merged>1"`)
	})
	s.SendAndWaitFunc("Escape", "filter cleared", func(screen string) bool {
		return !strings.Contains(screen, `filter "state:flushed merged>1"`)
	})

	// The operator pauses store 2.
	// The first frames come before the first snapshot with stores: a key
	// on an empty list would do nothing.
	s.SendAndWaitFunc("5", "the Stores view with its stores", func(screen string) bool {
		return activeView("Stores")(screen) && storeLineHas(screen, "2", "UP")
	})
	s.SendAndWaitFunc("j", "cursor on store 2", func(screen string) bool { return cursorOn(screen, "2") })
	s.SendAndWait("P", "Pause store 2", "[y/N]")
	s.SendAndWaitFunc("y", "store 2 paused", func(screen string) bool { return storeLineHas(screen, "2", "PAUSED") })
	// Let the incident run a while, so lag and its history have grown:
	// 30 snapshots by the header (15 s), or 15 s if the header stops
	// numbering them.
	since := time.Now()
	s.WaitForFunc("15s of snapshots", 60*time.Second, func(screen string) bool {
		m := snapshotNo.FindStringSubmatch(screen)
		if m == nil {
			return time.Since(since) > 15*time.Second
		}
		n, _ := strconv.Atoi(m[1])
		return n >= 30
	})
	shoot("stores", "store 2 paused and store 3 failing", func(screen string) bool {
		return storeLineHas(screen, "2", "PAUSED") && (storeLineHas(screen, "3", "COOLDOWN") || storeLineHas(screen, "3", "DOWN"))
	})
	// Store 3's detail: what it is doing, and its history with reasons.
	s.SendAndWaitFunc("G", "cursor on store 3", func(screen string) bool { return cursorOn(screen, "3") })
	s.SendAndWait("Enter", "detail of store", "HISTORY")
	shoot("store-detail", "its failures with their reasons", func(screen string) bool { return strings.Contains(screen, "failure #") })
	s.SendAndWaitFunc("Escape", "back on the stores", func(screen string) bool { return !strings.Contains(screen, "detail of store") })
	s.SendAndWaitFunc("k", "cursor on store 2", func(screen string) bool { return cursorOn(screen, "2") })

	s.SendAndWait("2", tab(2))
	shoot("regions", "a stale region and parked ones", func(screen string) bool {
		return strings.Contains(screen, "STALE") && strings.Contains(screen, "PARKED")
	})

	// The stale region's detail: filter the Regions view down to it.
	s.SendAndWait("/", "/█")
	s.TypeAndWait("state:stale", "/state:stale█")
	s.SendAndWait("Enter", `filter "state:stale"`)
	s.WaitForFunc("the stale region under the cursor", 30*time.Second, func(screen string) bool {
		return strings.Contains(screenLineWith(screen, ">"), "STALE")
	})
	s.SendAndWait("Enter", "detail of region")
	shoot("region-detail", "the stale region's history", func(screen string) bool { return strings.Contains(screen, "STALE") })
	s.SendAndWaitFunc("Escape", "back on the filtered list", func(screen string) bool {
		return !strings.Contains(screen, "detail of region") && strings.Contains(screen, `filter "state:stale"`)
	})
	s.SendAndWaitFunc("Escape", "filter cleared", func(screen string) bool { return !strings.Contains(screen, `filter "state:stale"`) })

	s.SendAndWait("1", tab(1))
	shoot("overview", "stale and paused counted", func(screen string) bool {
		// In words, whatever the layout: a paused store and a stale region.
		lower := strings.ToLower(screen)
		return strings.Contains(lower, "paused") && strings.Contains(lower, "stale") && !strings.Contains(screen, "STALE 0")
	})
	s.SendAndWait("3", tab(3))
	shoot("retries", "retries waiting", hasSpanRow)
	s.SendAndWait("6", tab(6))
	shoot("events", "fault lines, store failures and the pause", func(screen string) bool {
		return strings.Contains(screen, "script line") && strings.Contains(screen, "pause-store")
	})
	s.SendAndWait("7", tab(7))
	shoot("actions", "the pause in the action log", func(screen string) bool { return strings.Contains(screen, "pause-store") })
	s.SendAndWait("8", tab(8))
	shoot("rows", "delivered rows", hasSpanRowOrKey)

	// The confirm dialog names its target.
	s.SendAndWait("5", tab(5))
	s.WaitForFunc("cursor still on store 2", 10*time.Second, func(screen string) bool { return cursorOn(screen, "2") })
	s.SendAndWait("P", "Resume store 2", "[y/N]")
	shoot("confirm-pause", "the resume dialog", nil)
	s.SendAndWaitFunc("n", "dialog closed", func(screen string) bool { return !strings.Contains(screen, "[y/N]") })

	s.SendAndWait("?", "esc closes")
	shoot("help", "the keys", nil)
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))

	// Every file shows the view its name says.
	for name, is := range shotViews {
		for _, ext := range []string{".txt", ".ansi"} {
			b, err := os.ReadFile(filepath.Join(dir, name+ext))
			require.NoError(t, err)
			require.True(t, is(tmuxtest.StripColour(string(b))), "%s%s does not show the %s view:\n%s", name, ext, name, b)
		}
	}
}

// snapshotNo is the header's snapshot sequence (two a second).
var snapshotNo = regexp.MustCompile(`snapshot #(\d+) `)

var activeTab = regexp.MustCompile(`\[(\d) ([A-Za-z]+)`)

// activeView says whether the header's active tab (the bracketed one) is
// the named view.
func activeView(name string) func(string) bool {
	return func(screen string) bool {
		lines := strings.SplitN(screen, "\n", 3)
		if len(lines) < 2 {
			return false
		}
		m := activeTab.FindAllStringSubmatch(lines[1], -1)
		return len(m) == 1 && m[0][2] == name
	}
}

// storeLineHas reports whether the Stores view's row of the store (the
// line whose first field is its id) says word, wherever the column is.
func storeLineHas(screen, id, word string) bool {
	for _, line := range strings.Split(screen, "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), ">"))
		if len(f) > 1 && f[0] == id {
			for _, w := range f[1:] {
				if w == word {
					return true
				}
			}
		}
	}
	return false
}

// cursorOn reports whether the Stores view's cursor is on the store.
func cursorOn(screen, id string) bool {
	f := strings.Fields(screenLineWith(screen, ">"))
	return len(f) >= 2 && f[0] == ">" && f[1] == id
}

// screenLineWith returns the first line that starts (after spaces) with
// prefix.
func screenLineWith(screen, prefix string) string {
	for _, line := range strings.Split(screen, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), prefix) {
			return line
		}
	}
	return ""
}

// spanRow matches a table row's key span, "[t100_r5592404, t100_r8388606)".
var spanRow = regexp.MustCompile(`\[[^\]\n]*, [^\]\n]*\)`)

// hasSpanRow reports whether the view's table has a row with a span (the
// header's two lines and the column titles are skipped).
func hasSpanRow(screen string) bool {
	lines := strings.Split(screen, "\n")
	if len(lines) < 4 {
		return false
	}
	return spanRow.MatchString(strings.Join(lines[3:], "\n"))
}

// hasSpanRowOrKey: the Rows view shows rows by key, "t100_r123".
func hasSpanRowOrKey(screen string) bool {
	lines := strings.Split(screen, "\n")
	return len(lines) > 4 && regexp.MustCompile(`t1\d\d_r\d+`).MatchString(strings.Join(lines[3:], "\n"))
}
