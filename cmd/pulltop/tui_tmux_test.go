package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/internal/tmuxtest"
	"github.com/pulltop/pulltop/snapshots"
)

// startTUI runs the real pulltop binary in tmux at 120×40 with its state
// and logs in a temporary directory.
func startTUI(t *testing.T, args ...string) (*tmuxtest.Session, string) {
	t.Helper()
	state := t.TempDir()
	argv := append([]string{binary}, args...)
	if len(args) == 0 || args[0] != "replay" {
		argv = append(argv, "--log-file", filepath.Join(state, "pulltop.log"))
	}
	s := tmuxtest.Start(t, 120, 40, []string{"XDG_STATE_HOME=" + state, "NO_COLOR=1"}, argv...)
	return s, state
}

// The operator's path through an incident, in a real terminal (issue 5):
// a store stops and comes back, regions initialize; pause a store and see
// it PAUSED with its regions parked; resume; force-reload a region and see
// it go through reload-wait back to initialized; freeze; resize to 20×5 and
// back; save a snapshot; quit with status 0.
func TestTUIInTmux(t *testing.T) {
	script := filepath.Join(t.TempDir(), "faults.txt")
	require.NoError(t, os.WriteFile(script, []byte("at 1s stop-store 3\nat 4s start-store 3\n"), 0o644))
	s, state := startTUI(t, "--regions", "24", "--script", script)

	s.Ready(tab(1), "embedded sim")
	s.SendAndWait("5", tab(5))
	s.WaitForFunc("store 3 failing while stopped", 15*time.Second, func(screen string) bool {
		return storeRow(screen, "3", "COOLDOWN") || storeRow(screen, "3", "DOWN")
	})
	s.SendAndWait("2", tab(2))
	s.WaitForFunc("all 24 regions initialized after start-store", 30*time.Second, func(screen string) bool {
		return strings.Count(screen, "INITIALIZED") == 24
	})

	// Pause store 1 from the Stores view (the cursor starts on it).
	s.SendAndWait("5", tab(5), "ADDRESS")
	s.SendAndWait("P", "Pause store 1", "[y/N]")
	s.SendAndWaitFunc("y", "store 1 paused", func(screen string) bool { return storeRow(screen, "1", "PAUSED") })
	s.SendAndWait("2", tab(2))
	s.SendAndWait("/", "/█")
	s.TypeAndWait("store:1", "/store:1█")
	s.SendAndWait("Enter", `filter "store:1"`)
	s.WaitForFunc("store 1's regions parked", 10*time.Second, func(screen string) bool {
		return strings.Contains(screen, "PARKED") && !strings.Contains(screen, "INITIALIZED")
	})
	s.SendAndWaitFunc("Escape", "filter cleared", func(screen string) bool { return !strings.Contains(screen, `filter "store:1"`) })
	s.SendAndWait("5", tab(5), "PAUSED")
	s.SendAndWait("P", "Resume store 1", "[y/N]")
	s.SendAndWaitFunc("y", "store 1 up again", func(screen string) bool { return storeRow(screen, "1", "UP") })
	s.SendAndWait("2", tab(2))
	s.WaitForFunc("all initialized after resume", 20*time.Second, func(screen string) bool {
		return strings.Count(screen, "INITIALIZED") == 24
	})

	// Force-reload the selected region and follow it in its detail view.
	screen := s.SendAndWait("R", "Force reload region", "[y/N]")
	target := regexp.MustCompile(`Force reload region (\d+)`).FindStringSubmatch(screen)[1]
	s.SendAndWait("y", "force reload region "+target)
	s.SendAndWait("Enter", "detail of region "+target)
	s.WaitForFunc("the region through reload-wait back to initialized", 15*time.Second, func(screen string) bool {
		return strings.Contains(screen, "INITIALIZED -> RELOAD-WAIT") && strings.Contains(screen, "-> INITIALIZED")
	})
	s.SendAndWaitFunc("Escape", "back on the Regions list", func(screen string) bool {
		return !strings.Contains(screen, "detail of region") && strings.Contains(screen, tab(2))
	})

	// Freeze, then thaw.
	s.SendAndWait("Space", "FROZEN")
	s.WaitFor("updates behind")
	s.SendAndWaitFunc("Space", "live again", func(screen string) bool { return !strings.Contains(screen, "FROZEN") })

	// A tiny terminal gets a notice, never a panic; the views come back.
	s.ResizeAndWait(20, 5, "too-small notice", func(screen string) bool { return strings.Contains(screen, "too small") })
	s.ResizeAndWait(120, 40, "the Regions view again", func(screen string) bool { return strings.Contains(screen, tab(2)) })

	// ctrl+s saves a snapshot under $XDG_STATE_HOME/pulltop and says where.
	s.SendAndWait("C-s", filepath.Join(state, "pulltop"))
	files, err := filepath.Glob(filepath.Join(state, "pulltop", "pulltop-*.json"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	st, err := snapshots.Load(files[0])
	require.NoError(t, err)
	require.Len(t, st.Regions, 24)

	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}

// tab is the header's marker of view n as the active view: "[2 Regions".
func tab(n int) string {
	return "[" + strconv.Itoa(n) + " " + viewNames[n-1]
}

var viewNames = []string{"Overview", "Regions", "Retries", "Reloads", "Stores", "Events", "Actions", "Rows"}

// storeRow reports whether the Stores view shows the store in that state.
func storeRow(screen, id, state string) bool {
	for _, line := range strings.Split(screen, "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), ">"))
		if len(f) >= 3 && f[0] == id && f[2] == state {
			return true
		}
	}
	return false
}

// Replay shows the file's regions and stores; P and R explain instead of
// acting (issue 6).
func TestReplayInTmux(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	_, stderr, code := runPulltop(t, "headless", "--duration", "2s", "--regions", "12", "--snapshot", path)
	require.Equal(t, 0, code, stderr)
	st, err := snapshots.Load(path)
	require.NoError(t, err)

	s, _ := startTUI(t, "replay", path)
	s.Ready("replay of s.json", tab(1))
	screen := s.SendAndWait("2", tab(2), "REGION")
	for _, r := range st.Regions {
		require.Contains(t, screen, " "+itoa(r.ID)+" ", "region %d from the file", r.ID)
	}
	s.SendAndWait("R", "actions are disabled")
	screen = s.SendAndWait("5", tab(5), "ADDRESS")
	for _, store := range st.Stores {
		require.Contains(t, screen, store.Addr)
	}
	// R's explanation stays a few seconds; P's must be its own.
	s.WaitForFunc("R's explanation gone", 15*time.Second, func(screen string) bool {
		return !strings.Contains(screen, "actions are disabled")
	})
	s.SendAndWaitFunc("P", "P explains instead of asking", func(screen string) bool {
		return strings.Contains(screen, "actions are disabled") && !strings.Contains(screen, "[y/N]")
	})
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }
