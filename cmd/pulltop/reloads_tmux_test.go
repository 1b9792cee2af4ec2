package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
)

// reloadRow is one row of the Reloads view as the operator reads it.
type reloadRow struct {
	state  string
	merged int
	span   string
}

// reloadRows parses the Reloads view's rows: AGE STATE SUB REASON MERGED
// REGIONS SPAN at 120 columns (reasons are one comma-joined word).
func reloadRows(screen string) []reloadRow {
	var rows []reloadRow
	for _, line := range strings.Split(screen, "\n") {
		f := strings.Fields(strings.TrimPrefix(line, ">"))
		if len(f) < 8 || (f[1] != "waiting" && f[1] != "flushed") {
			continue
		}
		merged, err := strconv.Atoi(f[4])
		if err != nil {
			continue
		}
		rows = append(rows, reloadRow{state: f[1], merged: merged, span: strings.Join(f[6:], " ")})
	}
	return rows
}

// The operator's view of reload merging under a split storm (issue 17): the
// Reloads view shows recent flushes, among them ones that merged more than
// one request; enter on one draws its absorbed spans against the merged
// span; the Retries view shows retries that fired, with their outcome.
func TestReloadsViewUnderSplitStormInTmux(t *testing.T) {
	script := filepath.Join(t.TempDir(), "storm.txt")
	require.NoError(t, os.WriteFile(script, []byte("every 20ms split random\nat 2s kill-stream 1\nat 4s kill-stream 2\n"), 0o644))
	s, _ := startTUI(t, "--regions", "24", "--pd-lag", "300ms", "--script", script)
	s.Ready(tab(1), "embedded sim")

	s.SendAndWait("4", "[4 Reloads", "STATE", "MERGED")
	// Only flushes that merged several requests: a filter, so they stay on
	// screen however many single ones come after them.
	s.SendAndWait("/", "/█")
	s.TypeAndWait("state:flushed merged>1", "/state:flushed merged>1█")
	s.SendAndWait("Enter", `filter "state:flushed merged>1"`)
	s.WaitForFunc("a flush that merged more than one request", 60*time.Second, func(screen string) bool {
		rows := reloadRows(screen)
		return len(rows) > 0 && rows[0].state == "flushed" && rows[0].merged > 1
	})

	// Freeze, so the row read is the row enter opens.
	screen := s.SendAndWait("Space", "FROZEN")
	rows := reloadRows(screen)
	require.NotEmpty(t, rows, screen)
	for _, r := range rows {
		require.Equal(t, "flushed", r.state, screen)
		require.Greater(t, r.merged, 1, "the filter keeps merges only:\n%s", screen)
	}
	top := rows[0]
	if !strings.HasPrefix(firstReloadLine(screen), ">") {
		s.SendAndWaitFunc("g", "the cursor on the top row", func(screen string) bool {
			return strings.HasPrefix(firstReloadLine(screen), ">")
		})
	}
	detail := s.SendAndWait("Enter", "Reload flush", "ABSORBED", "merged span")
	require.Contains(t, detail, "merged span    "+top.span, "the detail is of the selected flush")
	require.Contains(t, detail, "merged from    "+strconv.Itoa(top.merged)+" requests")
	// The picture: one bar per absorbed span, and the merged span's own.
	var bars []string
	for _, line := range strings.Split(detail, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && strings.ContainsAny(f[1], "█·") && strings.Trim(f[1], "█·") == "" {
			bars = append(bars, f[1])
			require.Contains(t, f[1], "█", "every absorbed span has at least one cell: %q", line)
		}
	}
	require.Len(t, bars, top.merged+1, "%d absorbed bars and the merged one:\n%s", top.merged, detail)
	require.NotContains(t, bars[len(bars)-1], "·", "the merged span's bar is full")
	require.Regexp(t, `(?m)^\s+merged\s+█+\s+\[`, detail)

	// Back to the list, thaw, and the fired retries with their outcome.
	s.SendAndWaitFunc("Escape", "the list again", func(screen string) bool { return !strings.Contains(screen, "ABSORBED") })
	s.SendAndWaitFunc("Space", "live again", func(screen string) bool { return !strings.Contains(screen, "FROZEN") })
	s.SendAndWait("3", "[3 Retries", "OUTCOME")
	s.WaitForFunc("retries that fired and sent their range to reload", 30*time.Second, func(screen string) bool {
		for _, line := range strings.Split(screen, "\n") {
			if f := strings.Fields(strings.TrimPrefix(line, ">")); len(f) > 3 && f[1] == "ago" && f[2] == "reload" {
				return true
			}
		}
		return false
	})

	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}

// firstReloadLine is the first row of the Reloads view, as drawn.
func firstReloadLine(screen string) string {
	for _, line := range strings.Split(screen, "\n") {
		f := strings.Fields(strings.TrimPrefix(line, ">"))
		if len(f) >= 8 && (f[1] == "waiting" || f[1] == "flushed") {
			return line
		}
	}
	return ""
}

// Headless --snapshot carries the recent flushes and fired retries, and
// replay shows them (issue 17).
func TestHeadlessSnapshotCarriesRecentFlushesAndReplayShowsThem(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "storm.txt")
	require.NoError(t, os.WriteFile(script, []byte("every 20ms split random\n"), 0o644))
	path := filepath.Join(dir, "s.json")
	_, stderr, code := runPulltop(t, "headless", "--duration", "3s", "--regions", "16", "--pd-lag", "300ms",
		"--script", script, "--snapshot", path)
	require.Equal(t, 0, code, stderr)
	st, err := snapshots.Load(path)
	require.NoError(t, err)
	require.NotEmpty(t, st.RecentReloads, "the snapshot file carries recent flushes")
	require.NotEmpty(t, st.RecentRetries, "the snapshot file carries fired retries")
	require.LessOrEqual(t, uint64(len(st.RecentRetries)), st.Totals.RetriesFired)
	for _, r := range st.RecentReloads {
		require.NotEmpty(t, r.Absorbed, "flush %+v", r)
	}

	s, _ := startTUI(t, "replay", path)
	s.Ready("replay of s.json", tab(1))
	screen := s.SendAndWait("4", "[4 Reloads", "STATE")
	require.Contains(t, screen, " flushed ")
	screen = s.SendAndWait("3", "[3 Retries", "OUTCOME")
	require.Regexp(t, ` ago (reload|relock|relocate|superseded) `, screen)
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}
