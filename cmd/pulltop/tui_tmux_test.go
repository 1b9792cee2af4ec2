package main

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"pulltop/internal/tmuxtest"
	"pulltop/snapshots"
)

var screenshots = flag.String("screenshots", "",
	"write plain-text screenshots of the real pulltop's views to this directory (e.g. ../../docs/screenshots)")

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

	s.WaitFor("Overview", "embedded sim")
	s.Send("5")
	s.WaitForFunc("store 3 failing while stopped", 15*time.Second, func(screen string) bool {
		return storeRow(screen, "3", "COOLDOWN") || storeRow(screen, "3", "DOWN")
	})
	s.Send("2")
	s.WaitForFunc("all 24 regions initialized after start-store", 30*time.Second, func(screen string) bool {
		return strings.Count(screen, "INITIALIZED") == 24
	})

	// Pause store 1 from the Stores view (the cursor starts on it).
	s.Send("5")
	s.WaitFor("ADDRESS")
	s.Send("P")
	s.WaitFor("Pause store 1")
	s.Send("y")
	s.WaitForFunc("store 1 paused", 10*time.Second, func(screen string) bool { return storeRow(screen, "1", "PAUSED") })
	s.Send("2", "/")
	s.Type("store:1")
	s.Send("Enter")
	s.WaitForFunc("store 1's regions parked", 10*time.Second, func(screen string) bool {
		return strings.Contains(screen, "PARKED") && !strings.Contains(screen, "INITIALIZED")
	})
	// Escape alone (a key right after it would read as Alt+key).
	s.Send("Escape")
	s.WaitForFunc("filter cleared", 5*time.Second, func(screen string) bool { return !strings.Contains(screen, `filter "store:1"`) })
	s.Send("5")
	s.WaitFor("PAUSED")
	s.Send("P")
	s.WaitFor("Resume store 1")
	s.Send("y")
	s.WaitForFunc("store 1 up again", 10*time.Second, func(screen string) bool { return storeRow(screen, "1", "UP") })
	s.Send("2")
	s.WaitForFunc("all initialized after resume", 20*time.Second, func(screen string) bool {
		return strings.Count(screen, "INITIALIZED") == 24
	})

	// Force-reload the selected region and follow it in its detail view.
	s.Send("g", "R")
	s.WaitFor("Force reload region")
	s.Send("y")
	s.WaitFor("force reload region")
	s.Send("Enter")
	s.WaitForFunc("the region through reload-wait back to initialized", 15*time.Second, func(screen string) bool {
		return strings.Contains(screen, "INITIALIZED -> RELOAD-WAIT") && strings.Contains(screen, "-> INITIALIZED")
	})
	s.Send("Escape")

	// Freeze, then thaw.
	s.Send("Space")
	s.WaitFor("FROZEN")
	s.WaitFor("updates behind")
	s.Send("Space")
	s.WaitForFunc("live again", 5*time.Second, func(screen string) bool { return !strings.Contains(screen, "FROZEN") })

	// A tiny terminal gets a notice, never a panic; the views come back.
	s.Resize(20, 5)
	s.WaitForFunc("too-small notice", 5*time.Second, func(screen string) bool { return strings.Contains(screen, "too small") })
	s.Resize(120, 40)
	s.WaitFor("Regions")

	// ctrl+s saves a snapshot under $XDG_STATE_HOME/pulltop and says where.
	s.Send("C-s")
	s.WaitFor(filepath.Join(state, "pulltop"))
	files, err := filepath.Glob(filepath.Join(state, "pulltop", "pulltop-*.json"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	st, err := snapshots.Load(files[0])
	require.NoError(t, err)
	require.Len(t, st.Regions, 24)

	if *screenshots != "" {
		require.NoError(t, tmuxtest.CaptureScreens(s, *screenshots, []tmuxtest.Shot{
			{Name: "overview", Keys: []string{"1"}, Want: []string{"Subscriptions"}},
			{Name: "regions", Keys: []string{"2"}, Want: []string{"REGION"}},
			{Name: "retries", Keys: []string{"3"}, Want: []string{"3 Retries"}},
			{Name: "reloads", Keys: []string{"4"}, Want: []string{"4 Reloads"}},
			{Name: "stores", Keys: []string{"5"}, Want: []string{"ADDRESS"}},
			{Name: "events", Keys: []string{"6"}, Want: []string{"6 Events"}},
			{Name: "actions", Keys: []string{"7"}, Want: []string{"pause-store"}},
			{Name: "help", Keys: []string{"?"}, Want: []string{"help"}},
			{Name: "region-detail", Keys: []string{"?", "2", "g", "Enter"}, Want: []string{"HISTORY"}},
		}))
		s.Send("Escape")
		s.WaitFor("REGION")
	}

	s.Send("q")
	require.Equal(t, 0, s.WaitExit(10*time.Second))
}

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
	s.WaitFor("replay of s.json")
	s.Send("2")
	screen := s.WaitFor("REGION")
	for _, r := range st.Regions {
		require.Contains(t, screen, " "+itoa(r.ID)+" ", "region %d from the file", r.ID)
	}
	s.Send("R")
	s.WaitFor("actions are disabled")
	s.Send("5")
	screen = s.WaitFor("ADDRESS")
	for _, store := range st.Stores {
		require.Contains(t, screen, store.Addr)
	}
	s.Send("P")
	s.WaitFor("actions are disabled")
	s.Send("q")
	require.Equal(t, 0, s.WaitExit(10*time.Second))
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }
