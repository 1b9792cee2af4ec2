package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"pulltop/internal/tmuxtest"
)

var screenshots = flag.String("screenshots", "",
	"write a plain-text screenshot of each view to this directory (e.g. ../../../docs/screenshots)")

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
	s.WaitFor("[1 Overview]", "Resolved lag")

	views := []string{"Overview", "Regions", "Retries", "Reloads", "Stores", "Events", "Actions"}
	for k, name := range views {
		key := string(rune('1' + k))
		s.Send(key)
		s.WaitFor("[" + key + " " + name)
	}
	s.Send("Tab")
	s.WaitFor("[1 Overview]")
	s.Send("BTab")
	s.WaitFor("[7 Actions")

	// P + y pauses store 2; the Stores view shows it PAUSED.
	s.Send("5", "j")
	s.WaitForFunc("cursor on store 2", tmuxtest.DefaultTimeout, func(screen string) bool {
		return strings.HasPrefix(screenLine(screen, "127.0.0.1:20161"), ">")
	})
	s.Send("P")
	s.WaitFor("Pause store 2 (127.0.0.1:20161)?", "[y/N]")
	s.Send("y")
	s.WaitForFunc("store 2 PAUSED", tmuxtest.DefaultTimeout, func(screen string) bool {
		return strings.Contains(screenLine(screen, "127.0.0.1:20161"), "PAUSED")
	})
	s.WaitFor("pause store 2: done")

	// R + y force-reloads the top region; the action log records it.
	s.Send("2", "R")
	screen := s.WaitFor("Force reload region", "[y/N]")
	target := regexp.MustCompile(`Force reload region (\d+)`).FindStringSubmatch(screen)[1]
	s.Send("y")
	s.WaitFor("force reload region " + target + ": done")
	s.Send("7")
	s.WaitFor("force-reload", "region "+target+" (subscription 1)", "pause-store")

	// space freezes the view while the cluster keeps changing.
	s.Send("2", "Space")
	s.WaitForMatch(regexp.MustCompile(`FROZEN — [1-9][0-9]* updates behind`))
	s.Send("Space")
	s.WaitForFunc("FROZEN banner gone", tmuxtest.DefaultTimeout, func(screen string) bool {
		return !strings.Contains(screen, "FROZEN")
	})

	// A tiny terminal gets a notice, not a panic; resizing back restores.
	s.Resize(20, 5)
	s.WaitForFunc("too-small notice", tmuxtest.DefaultTimeout, func(screen string) bool {
		flat := strings.Join(strings.Fields(screen), " ")
		return strings.Contains(flat, "terminal too small (have 20×5, need 60×15)")
	})
	s.Resize(120, 40)
	s.WaitFor("[2 Regions", "sorted by")
	if strings.Contains(s.Capture(), "too small") {
		t.Fatal("notice still shown after resizing back")
	}

	s.Send("q")
	if code := s.WaitExit(10 * time.Second); code != 0 {
		t.Fatalf("exit status %d after q, want 0", code)
	}
}

// TestReadOnlyRealTerminal checks that P does nothing but explain itself.
func TestReadOnlyRealTerminal(t *testing.T) {
	tmuxtest.Require(t)
	bin := buildDemo(t)
	s := tmuxtest.Start(t, 120, 40, nil, bin, "--read-only")
	s.WaitFor("[read-only]")
	s.Send("5", "P")
	s.WaitFor("--read-only: operator actions are disabled")
	if strings.Contains(s.Capture(), "[y/N]") {
		t.Fatal("read-only mode opened a confirm dialog")
	}
	s.Send("C-c")
	if code := s.WaitExit(10 * time.Second); code != 0 {
		t.Fatalf("exit status %d after ctrl+c, want 0", code)
	}
}

// TestScreenshots writes docs/screenshots/*.txt when asked:
//
//	go test ./ui/internal/demo -run TestScreenshots -screenshots ../../../docs/screenshots
func TestScreenshots(t *testing.T) {
	if *screenshots == "" {
		t.Skip("pass -screenshots DIR to write the view screenshots")
	}
	tmuxtest.Require(t)
	bin := buildDemo(t)
	s := tmuxtest.Start(t, 120, 40, nil, bin, "--regions", "500", "--stores", "3", "--seed", "7")
	s.WaitFor("[1 Overview]")
	// Let the lag history and error rates fill in a little.
	s.WaitForMatch(regexp.MustCompile(`snapshot #([4-9]|\d\d)`))
	// Some operator actions, so the Actions view has a story to tell.
	s.Send("5", "j", "P")
	s.WaitFor("[y/N]")
	s.Send("y")
	s.WaitFor("pause store 2: done")
	s.Send("2", "R")
	s.WaitFor("[y/N]")
	s.Send("y")
	s.WaitFor(": done")
	err := tmuxtest.CaptureScreens(s, *screenshots, []tmuxtest.Shot{
		{Name: "overview", Keys: []string{"1"}, Want: []string{"[1 Overview]"}},
		{Name: "regions", Keys: []string{"2"}, Want: []string{"[2 Regions", "LAG▼"}},
		{Name: "retries", Keys: []string{"3"}, Want: []string{"[3 Retries", "DUE IN▲"}},
		{Name: "reloads", Keys: []string{"4"}, Want: []string{"[4 Reloads", "AGE▼"}},
		{Name: "stores", Keys: []string{"5"}, Want: []string{"[5 Stores", "PAUSED"}},
		{Name: "events", Keys: []string{"6"}, Want: []string{"[6 Events", "COMMIT TS"}},
		{Name: "actions", Keys: []string{"7"}, Want: []string{"[7 Actions", "pause-store"}},
		{Name: "region-detail", Keys: []string{"2", "Enter"}, Want: []string{"HISTORY"}},
		// "1" leaves the detail: an Escape right before "?" would read as alt+?.
		{Name: "help", Keys: []string{"1", "?"}, Want: []string{"Keys", "(? or esc closes)"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Send("q") // from help, q quits
	if code := s.WaitExit(10 * time.Second); code != 0 {
		t.Fatalf("exit status %d after q, want 0", code)
	}
}
