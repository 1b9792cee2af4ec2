package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
)

// Issue 24's incident stories on the real binary: the culprit is named on
// the Overview's causes board, and no capture taken during the story (they
// are taken back to back, so every refresh is seen under ordinary load)
// shows a cause the story cannot have.

// boardCauses are the causes the Overview's board lists on a screen.
func boardCauses(screen string) []string {
	var causes []string
	inBoard := false
	for _, line := range strings.Split(screen, "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), ">"))
		switch {
		case len(f) >= 2 && f[0] == "CAUSE" && f[1] == "REGIONS":
			inBoard = true
		case inBoard && len(f) >= 2 && slices.Contains(snapshots.Causes(), f[0]):
			causes = append(causes, f[0])
		case inBoard && len(f) == 0:
			inBoard = false
		}
	}
	return causes
}

// story runs the TUI with script and waits until the board names want,
// failing on any capture whose board names a cause outside allowed.
func story(t *testing.T, script string, want string, within time.Duration, allowed ...string) {
	storyWatched(t, script, want, within, 0, allowed...)
}

// storyWatched is story that keeps capturing for watch after want is
// named: a wrong cause at a later transition (a hang ending, a kill
// landing on a hung store) fails it too.
func storyWatched(t *testing.T, script string, want string, within, watch time.Duration, allowed ...string) {
	path := filepath.Join(t.TempDir(), "story.txt")
	require.NoError(t, os.WriteFile(path, []byte(script), 0o644))
	s, _ := startTUI(t, "--regions", "24", "--script", path)
	s.Ready(tab(1), "embedded sim")
	var wrong []string
	var namedAt time.Time
	s.WaitForFunc("the board names "+want, within+watch, func(screen string) bool {
		causes := boardCauses(screen)
		for _, c := range causes {
			if c != want && !slices.Contains(allowed, c) {
				wrong = append(wrong, c)
			}
		}
		if namedAt.IsZero() && slices.Contains(causes, want) {
			namedAt = time.Now()
		}
		return !namedAt.IsZero() && time.Since(namedAt) >= watch
	})
	require.Empty(t, wrong, "causes the story cannot have, seen on the board")
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}

// A slow store: its stream is up, its resolved ts arrives 1.5s late. It
// used to read "every region healthy" with store 3 UP.
func TestStorySlowStoreInTmux(t *testing.T) {
	story(t, "at 2s slow-store 3 1500ms for 60s\n", "store_slow", 30*time.Second, "lagging", "scan_pending")
}

// A stream killed every 4s: the store flaps, and the board says so
// between the failures too (it used to alternate store_cooling and
// "every region healthy").
func TestStoryFlappingStoreInTmux(t *testing.T) {
	story(t, "every 4s kill-stream 2\n", "store_flapping", 30*time.Second, "store_cooling", "scan_pending", "lagging")
}

// A lock: named while its lag climbs (min(3s, stale-after/2)), not at
// --stale-after, and never as silent or a store's trouble — its
// batch-mates are the lock's too.
func TestStoryLockInTmux(t *testing.T) {
	story(t, "at 2s lock region random for 60s\n", "lock", 20*time.Second, "lagging", "scan_pending")
}

// A PD outage: named as PD's, never as the stores' stall.
func TestStoryPDDownInTmux(t *testing.T) {
	story(t, "at 2s pd-down for 30s\n", "pd_unreachable", 20*time.Second, "lagging", "scan_pending")
}

// A drained store (its leaders moved away, then it stops gracefully)
// reads as a drain, not a crash (issue 24 item 6).
func TestStoryDrainStoreInTmux(t *testing.T) {
	storyWatched(t, "at 2s drain-store 2\n", "store_draining", 20*time.Second, 10*time.Second,
		"region_churn", "scan_pending", "lagging", "store_removed")
}

// A removed store (Offline, then Tombstone in PD) reads as removed or
// draining, never as a crash.
func TestStoryRemoveStoreInTmux(t *testing.T) {
	storyWatched(t, "at 2s remove-store 2\n", "store_removed", 20*time.Second, 5*time.Second,
		"store_draining", "region_churn", "scan_pending", "lagging")
}

// A stream killed every 4s on one store and another store hung for 20s,
// no lock in the script: the hung store is named stalled, the killed one
// cooling or flapping, and no refresh names a lock (it used to name one
// on the hung store's regions).
func TestStoryKillAndHangInTmux(t *testing.T) {
	storyWatched(t, "every 4s kill-stream 2\nat 3s hang-store 1 for 20s\n", "store_stalled", 20*time.Second, 20*time.Second,
		"store_cooling", "store_flapping", "scan_pending", "lagging")
}
