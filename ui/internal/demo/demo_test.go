package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pulltop/pulltop/internal/tmuxtest"
)

// buildDemo compiles this program once per test binary.
func buildDemo(t *testing.T) string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	bin := filepath.Join(t.TempDir(), "demo")
	out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// screenLine returns the first screen line containing all of want.
func screenLine(screen string, want ...string) string {
	for _, line := range strings.Split(screen, "\n") {
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(line, w)
		}
		if ok {
			return line
		}
	}
	return ""
}

// TestRealTerminal drives the UI in tmux at 120×40: every view, pausing a
// store, forcing a reload, freezing, a resize to 20×5 and back, and q.
func TestRealTerminal(t *testing.T) {
	tmuxtest.Require(t)
	bin := buildDemo(t)
	s := tmuxtest.Start(t, 120, 40, nil, bin, "--regions", "200", "--stores", "3", "--seed", "3")
	s.Ready("[1 Overview]", "Lag ")

	views := []string{"Overview", "Regions", "Retries", "Reloads", "Stores", "Events", "Actions", "Rows"}
	for k, name := range views[1:] {
		key := string(rune('2' + k))
		s.SendAndWait(key, "["+key+" "+name)
	}
	s.SendAndWait("Tab", "[1 Overview]")
	s.SendAndWait("BTab", "[8 Rows")

	// P + y pauses store 2; the Stores view shows it PAUSED.
	s.SendAndWait("5", "[5 Stores")
	s.SendAndWaitFunc("j", "cursor on store 2", func(screen string) bool {
		return strings.HasPrefix(screenLine(screen, "127.0.0.1:20161"), ">")
	})
	s.SendAndWait("P", "Pause store 2 (127.0.0.1:20161)?", "[y/N]")
	s.SendAndWaitFunc("y", "store 2 PAUSED", func(screen string) bool {
		return strings.Contains(screenLine(screen, "127.0.0.1:20161"), "PAUSED")
	})
	s.WaitFor("pause store 2: done")

	// R + y force-reloads the top region; the action log records it.
	s.SendAndWait("2", "[2 Regions")
	screen := s.SendAndWait("R", "Force reload region", "[y/N]")
	target := regexp.MustCompile(`Force reload region (\d+)`).FindStringSubmatch(screen)[1]
	s.SendAndWait("y", "force reload region "+target+": done")
	s.SendAndWait("7", "[7 Actions", "force-reload", "region "+target+" (subscription 1)", "pause-store")

	// space freezes the view while the cluster keeps changing.
	s.SendAndWait("2", "[2 Regions")
	s.SendAndWait("Space", "FROZEN")
	s.WaitForMatch(regexp.MustCompile(`FROZEN — [1-9][0-9]* updates behind`))
	s.SendAndWaitFunc("Space", "FROZEN banner gone", func(screen string) bool {
		return !strings.Contains(screen, "FROZEN")
	})

	// A tiny terminal gets a notice, not a panic; resizing back restores.
	s.ResizeAndWait(20, 5, "too-small notice", func(screen string) bool {
		flat := strings.Join(strings.Fields(screen), " ")
		return strings.Contains(flat, "terminal too small (have 20×5, need 60×15)")
	})
	s.ResizeAndWait(120, 40, "the Regions view again", func(screen string) bool {
		return strings.Contains(screen, "[2 Regions") && strings.Contains(screen, "sorted by") && !strings.Contains(screen, "too small")
	})

	if code := s.SendAndExit("q", 10*time.Second); code != 0 {
		t.Fatalf("exit status %d after q, want 0", code)
	}
}

// TestReadOnlyRealTerminal checks that P does nothing but explain itself.
func TestReadOnlyRealTerminal(t *testing.T) {
	tmuxtest.Require(t)
	bin := buildDemo(t)
	s := tmuxtest.Start(t, 120, 40, nil, bin, "--read-only")
	s.Ready("[read-only]", "[1 Overview]")
	s.SendAndWait("5", "[5 Stores")
	screen := s.SendAndWait("P", "--read-only: operator actions are disabled")
	if strings.Contains(screen, "[y/N]") {
		t.Fatal("read-only mode opened a confirm dialog")
	}
	if code := s.SendAndExit("C-c", 10*time.Second); code != 0 {
		t.Fatalf("exit status %d after ctrl+c, want 0", code)
	}
}
