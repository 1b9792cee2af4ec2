package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
)

// Issue 13, in a real terminal: a lock fault; the causes board names lock;
// enter lists the locked region; its detail names the transaction; [ moves
// the header to AT …, ] back to [live].
func TestCausesBoardAndTimelineInTmux(t *testing.T) {
	script := filepath.Join(t.TempDir(), "lock.txt")
	require.NoError(t, os.WriteFile(script, []byte("at 2s lock region 4 for 1h\n"), 0o644))
	s, _ := startTUI(t, "--regions", "9", "--stale-after", "2s", "--script", script)

	s.Ready(tab(1), "embedded sim")
	s.WaitForFunc("the causes board names lock", 30*time.Second, func(screen string) bool {
		return boardRow(screen, "lock") != ""
	})
	s.SendAndWait("Enter", tab(2), `filter "cause:lock"`)
	// The lock holds its resolved-ts batch (its store's regions) too;
	// narrow to the locked region itself.
	// / selects the filter there (issue 18): End keeps it for editing.
	s.SendAndWait("/", "cause:lock█", "selected: typing replaces it")
	s.SendAndWaitFunc("End", "the filter kept for editing", func(screen string) bool {
		return strings.Contains(screen, "/cause:lock█") && !strings.Contains(screen, "selected:")
	})
	s.TypeAndWait(" region:4", "cause:lock region:4█")
	s.SendAndWaitFunc("Enter", "region 4 listed", func(screen string) bool {
		return strings.Contains(screen, `filter "cause:lock region:4": 1 of 9`) && listRow(screen, "4", "lock")
	})
	screen := s.SendAndWait("Enter", "Region 4", "cause          lock since")
	require.Regexp(t, regexp.MustCompile(`by txn \d{15,}`), screen, "the detail names the transaction")
	require.Contains(t, screen, "no commit or rollback")

	s.SendAndWait("[", "AT ", "behind the newest")
	require.NotContains(t, s.Capture(), "[live]")
	s.SendAndWaitFunc("]", "live again", func(screen string) bool {
		return strings.Contains(screen, "[live]") && !strings.Contains(screen, "behind the newest")
	})
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}

// atLabel is the header's moment when it shows the past.
var atLabel = regexp.MustCompile(`AT \d\d:\d\d:\d\d \(−[^)]*\)`)

// boardRow is the causes board's line for cause, or "".
func boardRow(screen, cause string) string {
	for _, line := range strings.Split(screen, "\n") {
		f := strings.Fields(strings.TrimPrefix(line, ">"))
		if len(f) >= 2 && f[0] == cause && strings.Contains(line, "region ") {
			return line
		}
	}
	return ""
}

// listRow reports whether the Regions list shows region id with cause.
func listRow(screen, id, cause string) bool {
	for _, line := range strings.Split(screen, "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), ">"))
		if len(f) >= 5 && f[0] == id && f[4] == cause {
			return true
		}
	}
	return false
}

// headless --snapshot saves the timeline; replay scrubs it in a real
// terminal, and ] past the newest is the file's own snapshot again.
func TestReplayScrubsTimelineInTmux(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "stop.txt")
	require.NoError(t, os.WriteFile(script, []byte("at 3s stop-store 2\n"), 0o644))
	path := filepath.Join(dir, "s.json")
	_, stderr, code := runPulltop(t, "headless", "--duration", "6s", "--interval", "500ms", "--regions", "9",
		"--script", script, "--snapshot", path)
	require.Equal(t, 0, code, stderr)
	st, err := snapshots.Load(path)
	require.NoError(t, err)
	require.NotNil(t, st.History)
	require.GreaterOrEqual(t, len(st.History.Frames), 10)

	s, _ := startTUI(t, "replay", path)
	s.Ready("replay of s.json", tab(1), "[replay]", "Timeline ")
	s.SendAndWait("{", "AT ", "behind the newest")
	s.WaitFor("the oldest moment kept")
	// At the start nothing had failed yet; the store stopped later.
	s.SendAndWaitFunc("5", "the Stores view at the oldest moment", func(screen string) bool {
		return strings.Contains(screen, tab(5)) && storeRow(screen, "2", "UP")
	})
	oldest := atLabel.FindString(s.Capture())
	require.NotEmpty(t, oldest)
	s.SendAndWaitFunc("]", "one refresh later", func(screen string) bool {
		at := atLabel.FindString(screen)
		return at != "" && at != oldest
	})
	s.SendAndWaitFunc("}", "back at the file's snapshot", func(screen string) bool {
		return strings.Contains(screen, "[replay]") && !strings.Contains(screen, "behind the newest")
	})
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}

// A version 1 snapshot (saved before causes and timelines) still opens,
// says it is not diagnosed, and [ says there is no timeline.
func TestReplayVersion1InTmux(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.json")
	require.NoError(t, os.WriteFile(path, []byte(version1Snapshot), 0o644))
	s, _ := startTUI(t, "replay", path)
	s.Ready("replay of v1.json", tab(1), "not diagnosed")
	s.SendAndWait("[", "this snapshot has no timeline")
	s.SendAndWait("2", tab(2), "INITIALIZED", "RETRY-WAIT")
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}

// version1Snapshot is a snapshot as round 1 wrote it.
const version1Snapshot = `{
  "version": 1,
  "taken_at": "2026-11-25T20:30:00Z",
  "source": {"pd": ["127.0.0.1:2379"], "cluster_id": 7, "embedded_sim": true},
  "totals": {"regions": 2, "initialized": 1, "stale": 0, "events": 10, "events_per_sec": 1.5,
    "resolved_lag_max_ms": 800, "errors_by_reason": {"not_leader": 1}, "retries_fired": 1,
    "reloads_flushed": 0, "reload_spans_merged": 0},
  "subscriptions": [{"id": 1, "start": "74", "end": "75", "resolved_ts": 4000, "resolved_lag_ms": 800, "initialized": true}],
  "stores": [{"id": 1, "addr": "127.0.0.1:20160", "state": "up", "cooldown_ms_left": 0, "failures": 0, "streams": 1, "regions": 2}],
  "regions": [
    {"id": 2, "subscription": 1, "start": "74", "end": "7480", "store_id": 1, "leader_peer": 3, "epoch_version": 1,
     "epoch_conf_ver": 1, "state": "initialized", "initialized": true, "resolved_ts": 4000, "resolved_lag_ms": 800,
     "events": 10, "last_error": "", "retry_attempts": 0},
    {"id": 4, "subscription": 1, "start": "7480", "end": "75", "store_id": 1, "leader_peer": 5, "epoch_version": 1,
     "epoch_conf_ver": 1, "state": "retry-wait", "initialized": false, "resolved_ts": 0, "resolved_lag_ms": 0,
     "events": 0, "last_error": "not_leader: not leader", "retry_attempts": 1}
  ],
  "retries": [{"subscription": 1, "region_id": 4, "start": "7480", "end": "75", "reason": "not_leader", "attempt": 1, "due_in_ms": 40}],
  "reloads": [],
  "actions": [],
  "seq": 9
}
`

// --history: the snapshot carries the timeline unless it is 0; a
// negative one is a usage error.
func TestHeadlessHistoryFlag(t *testing.T) {
	dir := t.TempDir()
	with, without := filepath.Join(dir, "with.json"), filepath.Join(dir, "without.json")
	_, stderr, code := runPulltop(t, "headless", "--duration", "2s", "--interval", "500ms", "--regions", "8", "--snapshot", with)
	require.Equal(t, 0, code, stderr)
	st, err := snapshots.Load(with)
	require.NoError(t, err)
	require.NotNil(t, st.History)
	require.GreaterOrEqual(t, len(st.History.Frames), 4)
	require.Equal(t, int64(15*time.Minute/time.Millisecond), st.Source.HistoryMs)
	rec, err := snapshots.NewRecorderFrom(st.History)
	require.NoError(t, err)
	c := rec.Cursor()
	c.Step(-100)
	require.Equal(t, st.History.Frames[0].Seq, c.State(st).Seq)

	_, stderr, code = runPulltop(t, "headless", "--duration", "1s", "--regions", "8", "--history", "0", "--snapshot", without)
	require.Equal(t, 0, code, stderr)
	st, err = snapshots.Load(without)
	require.NoError(t, err)
	require.Nil(t, st.History)

	_, stderr, code = runPulltop(t, "headless", "--duration", "1s", "--history", "-1m")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "--history -1m0s: must be 0 (no timeline) or positive")
}
