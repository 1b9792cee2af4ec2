// Package tmuxtest runs a terminal program inside a detached tmux session,
// so tests can type at it and read its screen as an operator would see it:
// a real terminal, real resizes, real exit status. It is used by the UI's
// demo test and is meant for the full pulltop binary's test too.
//
// Every session gets its own tmux server (a private socket), so tests never
// touch the user's tmux and cleanup kills only what the test started.
// Waiting is always "poll the screen until the text appears or a deadline
// passes", never a fixed sleep.
package tmuxtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// DefaultTimeout bounds every wait unless a test gives its own.
const DefaultTimeout = 15 * time.Second

// pollEvery is how often the screen is captured while waiting.
const pollEvery = 25 * time.Millisecond

var sessions atomic.Int64

// Require returns the tmux binary, or skips the test when there is none.
// On CI (CI=true) a missing tmux fails the test instead: there the
// real-terminal test must run.
func Require(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("tmux")
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("tmux not found (%v), and CI=true: the real-terminal test must run on CI; install tmux", err)
	}
	t.Skipf("tmux not found (%v): skipping the real-terminal test (it is required when CI=true)", err)
	return ""
}

// Session is one program running in a tmux window.
type Session struct {
	t      testing.TB
	tmux   string
	socket string
	name   string
	dir    string
}

// Start runs argv in a new detached tmux session of width×height cells.
// env entries ("K=V") are added to the program's environment. The session
// and its server are killed when the test ends.
func Start(t testing.TB, width, height int, env []string, argv ...string) *Session {
	t.Helper()
	if len(argv) == 0 {
		t.Fatal("tmuxtest.Start: no command")
	}
	s := &Session{
		t:      t,
		tmux:   Require(t),
		socket: fmt.Sprintf("tmuxtest-%d-%d", os.Getpid(), sessions.Add(1)),
		name:   "main",
		dir:    t.TempDir(),
	}
	// The program runs from a script so that its arguments need no tmux
	// quoting, and so that its exit status lands in a file the test can
	// wait for after the window is gone.
	var script strings.Builder
	script.WriteString("#!/bin/sh\n")
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&script, "export %s=%s\n", k, shellQuote(v))
	}
	for i, arg := range argv {
		if i > 0 {
			script.WriteByte(' ')
		}
		script.WriteString(shellQuote(arg))
	}
	fmt.Fprintf(&script, "\necho $? > %s.tmp && mv %s.tmp %s\n",
		shellQuote(s.exitFile()), shellQuote(s.exitFile()), shellQuote(s.exitFile()))
	scriptPath := filepath.Join(s.dir, "run.sh")
	if err := os.WriteFile(scriptPath, []byte(script.String()), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Only this test's server: its socket is private.
		_ = exec.Command(s.tmux, "-L", s.socket, "kill-server").Run()
	})
	s.run("-f", "/dev/null", "new-session", "-d", "-s", s.name,
		"-x", strconv.Itoa(width), "-y", strconv.Itoa(height), "sh "+shellQuote(scriptPath))
	// Keep the window at the size the test asks for, whatever clients do.
	s.run("set-option", "-g", "window-size", "manual")
	return s
}

func (s *Session) exitFile() string { return filepath.Join(s.dir, "exit-status") }

// run runs one tmux command against this session's server.
func (s *Session) run(args ...string) string {
	s.t.Helper()
	out, err := s.command(args...)
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (s *Session) command(args ...string) (string, error) {
	cmd := exec.Command(s.tmux, append([]string{"-u", "-L", s.socket}, args...)...)
	// A UTF-8 locale, so capture-pane keeps ▲, — and box drawing.
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "LANG=C.UTF-8")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// Send sends keys as tmux key names: "q", "Enter", "Space", "Escape",
// "C-c", "BTab" (shift+tab), "PageDown", "Up"…
func (s *Session) Send(keys ...string) {
	s.t.Helper()
	s.run(append([]string{"send-keys", "-t", s.name}, keys...)...)
}

// Type sends text literally, character by character.
func (s *Session) Type(text string) {
	s.t.Helper()
	s.run("send-keys", "-t", s.name, "-l", text)
}

// Capture returns the visible screen as plain text (no colours), lines
// without trailing spaces, and no trailing empty lines.
func (s *Session) Capture() string {
	s.t.Helper()
	out, err := s.command("capture-pane", "-p", "-t", s.name)
	if err != nil {
		if s.Exited() {
			return ""
		}
		s.t.Fatalf("tmux capture-pane: %v\n%s", err, out)
	}
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n") + "\n"
}

// WaitFor polls the screen until it contains every want, and returns it.
func (s *Session) WaitFor(want ...string) string {
	s.t.Helper()
	return s.WaitForFunc(fmt.Sprintf("screen to show %q", want), DefaultTimeout, func(screen string) bool {
		for _, w := range want {
			if !strings.Contains(screen, w) {
				return false
			}
		}
		return true
	})
}

// WaitForMatch polls until the screen matches re.
func (s *Session) WaitForMatch(re *regexp.Regexp) string {
	s.t.Helper()
	return s.WaitForFunc("screen to match "+re.String(), DefaultTimeout, re.MatchString)
}

// WaitForFunc polls the screen until cond holds or timeout passes; then it
// fails the test with the last screen and what it waited for.
func (s *Session) WaitForFunc(what string, timeout time.Duration, cond func(screen string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var screen string
	for {
		screen = s.Capture()
		if cond(screen) {
			return screen
		}
		if s.Exited() {
			s.t.Fatalf("program exited (status %s) while waiting for %s; last screen:\n%s", s.status(), what, screen)
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out after %v waiting for %s; last screen:\n%s", timeout, what, screen)
		}
		time.Sleep(pollEvery)
	}
}

// Resize sets the window to width×height; the program gets SIGWINCH as
// with a real terminal.
func (s *Session) Resize(width, height int) {
	s.t.Helper()
	s.run("resize-window", "-t", s.name, "-x", strconv.Itoa(width), "-y", strconv.Itoa(height))
}

// Exited reports whether the program has ended.
func (s *Session) Exited() bool {
	_, err := os.Stat(s.exitFile())
	return err == nil
}

func (s *Session) status() string {
	b, err := os.ReadFile(s.exitFile())
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// WaitExit waits for the program to end and returns its exit status.
func (s *Session) WaitExit(timeout time.Duration) int {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for !s.Exited() {
		if time.Now().After(deadline) {
			s.t.Fatalf("program still running after %v; screen:\n%s", timeout, s.Capture())
		}
		time.Sleep(pollEvery)
	}
	code, err := strconv.Atoi(s.status())
	if err != nil {
		s.t.Fatalf("bad exit status %q: %v", s.status(), err)
	}
	return code
}

// Shot is one screen to capture: keys to press, then text to wait for
// before the screen is written to Name+".txt".
type Shot struct {
	Name string
	Keys []string
	Want []string
}

// CaptureScreens presses each shot's keys, waits for its text, and writes
// the screen as plain text to dir/<name>.txt. The docs' screenshots come
// from here, so they are regenerated from a real terminal, not drawn.
func CaptureScreens(s *Session, dir string, shots []Shot) error {
	s.t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var errs []error
	for _, shot := range shots {
		if len(shot.Keys) > 0 {
			s.Send(shot.Keys...)
		}
		screen := s.WaitFor(shot.Want...)
		if err := os.WriteFile(filepath.Join(dir, shot.Name+".txt"), []byte(screen), 0o644); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
