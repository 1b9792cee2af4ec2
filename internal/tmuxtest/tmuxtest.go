// Package tmuxtest runs a terminal program inside a detached tmux session,
// so tests can type at it and read its screen as an operator would see it:
// a real terminal, real resizes, real exit status. The UI demo's tests and
// the real pulltop binary's tests (and scripts/screenshots) use it.
//
// Every session gets its own tmux server (a private socket), so tests never
// touch the user's tmux and cleanup kills only what the test started.
// Waiting is always "poll the screen until the text appears or a deadline
// passes", never a fixed sleep.
//
// Input goes only through SendAndWait, TypeAndWait and ResizeAndWait, each
// with the evidence that it took effect, and only after Ready has seen the
// first frame: a test cannot capture or press the next key while the
// program is still on the previous screen.
package tmuxtest

import (
	"bytes"
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

	// Timeout bounds SendAndWait, TypeAndWait and WaitFor (DefaultTimeout
	// when zero).
	Timeout time.Duration
	// ready: a wait has seen the program's screen, so it reads its input.
	ready bool
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

// Ready waits for the program's first frame (every want on screen) and
// returns it. Keys can be sent only after it: a key that reaches the
// terminal before the program reads it is lost, or read as part of an
// escape sequence. Any other successful wait also counts as a first frame.
func (s *Session) Ready(want ...string) string {
	s.t.Helper()
	return s.WaitFor(want...)
}

// SendAndWait sends one key (a tmux key name: "q", "Enter", "Space",
// "Escape", "C-c", "BTab", "PageDown", "Up"…) and waits until the screen
// shows every want, the evidence that the key took effect. It returns that
// screen, or fails the test with the last capture when the evidence never
// appears.
//
// One key at a time, and nothing before the evidence of the previous one:
// keys that arrive in the same read are parsed together (an Escape followed
// by a key is Alt+key), and a view that has not switched yet would get the
// next key. The evidence must be something the key changes: if it is on
// screen before the key is sent, it proves nothing and the test fails.
func (s *Session) SendAndWait(key string, want ...string) string {
	s.t.Helper()
	if len(want) == 0 {
		s.t.Fatalf("tmuxtest: SendAndWait(%q) without evidence: say what the screen shows once the key took effect", key)
	}
	return s.SendAndWaitFunc(key, fmt.Sprintf("screen to show %q", want), containsAll(want))
}

// SendAndWaitFunc is SendAndWait with a condition on the screen; what
// describes it for the failure message.
func (s *Session) SendAndWaitFunc(key, what string, cond func(screen string) bool) string {
	s.t.Helper()
	s.beforeInput(fmt.Sprintf("key %q", key), what, cond)
	s.run("send-keys", "-t", s.name, key)
	return s.WaitForFunc(fmt.Sprintf("%s after key %q", what, key), s.timeout(), cond)
}

// TypeAndWait types text literally (into a filter or a prompt, where a run
// of characters is one input) and waits until the screen shows every want.
func (s *Session) TypeAndWait(text string, want ...string) string {
	s.t.Helper()
	if len(want) == 0 {
		s.t.Fatalf("tmuxtest: TypeAndWait(%q) without evidence: say what the screen shows once the text arrived", text)
	}
	what := fmt.Sprintf("screen to show %q", want)
	cond := containsAll(want)
	s.beforeInput(fmt.Sprintf("text %q", text), what, cond)
	s.run("send-keys", "-t", s.name, "-l", text)
	return s.WaitForFunc(fmt.Sprintf("%s after typing %q", what, text), s.timeout(), cond)
}

// SendAndExit sends the key that ends the program and returns its exit
// status, failing the test if it still runs after timeout.
func (s *Session) SendAndExit(key string, timeout time.Duration) int {
	s.t.Helper()
	if !s.ready {
		s.t.Fatalf("tmuxtest: key %q sent before the program's first frame: call Ready first", key)
	}
	s.run("send-keys", "-t", s.name, key)
	return s.WaitExit(timeout)
}

// beforeInput refuses input before the first frame, and evidence that is
// already on screen (it could not tell whether the input took effect).
func (s *Session) beforeInput(input, what string, cond func(string) bool) {
	s.t.Helper()
	if !s.ready {
		s.t.Fatalf("tmuxtest: %s sent before the program's first frame: call Ready first", input)
	}
	if screen := s.Capture(); cond(screen) {
		s.t.Fatalf("tmuxtest: the evidence for %s (%s) is on screen before it is sent, so it cannot show that the input took effect; wait for something the input changes. Screen:\n%s",
			input, what, screen)
	}
}

func (s *Session) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultTimeout
}

func containsAll(want []string) func(string) bool {
	return func(screen string) bool {
		for _, w := range want {
			if !strings.Contains(screen, w) {
				return false
			}
		}
		return true
	}
}

// Capture returns the visible screen as plain text (no colours), lines
// without trailing spaces, and no trailing empty lines.
func (s *Session) Capture() string {
	s.t.Helper()
	return tidy(s.capture(false))
}

// CaptureColour returns the visible screen with its colours and attributes
// as SGR escape sequences (tmux capture-pane -e), as a terminal would draw
// it.
func (s *Session) CaptureColour() string {
	s.t.Helper()
	return s.capture(true)
}

func (s *Session) capture(colour bool) string {
	s.t.Helper()
	args := []string{"capture-pane", "-p", "-t", s.name}
	if colour {
		args = append(args, "-e")
	}
	out, err := s.command(args...)
	if err != nil {
		if s.Exited() {
			return ""
		}
		s.t.Fatalf("tmux capture-pane: %v\n%s", err, out)
	}
	return out
}

// tidy drops trailing spaces and trailing empty lines.
func tidy(screen string) string {
	lines := strings.Split(screen, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n") + "\n"
}

// escapes matches the sequences capture-pane -e writes (SGR, and OSC 8
// hyperlinks should a program draw one).
var escapes = regexp.MustCompile("\x1b\\[[0-9;:?]*[A-Za-z]|\x1b\\][^\x07\x1b]*(\x07|\x1b\\\\)")

// StripColour turns a CaptureColour screen into Capture's plain text.
func StripColour(screen string) string { return tidy(escapes.ReplaceAllString(screen, "")) }

// WaitFor polls the screen until it contains every want, and returns it.
func (s *Session) WaitFor(want ...string) string {
	s.t.Helper()
	return s.WaitForFunc(fmt.Sprintf("screen to show %q", want), s.timeout(), containsAll(want))
}

// WaitForMatch polls until the screen matches re.
func (s *Session) WaitForMatch(re *regexp.Regexp) string {
	s.t.Helper()
	return s.WaitForFunc("screen to match "+re.String(), s.timeout(), re.MatchString)
}

// WaitForFunc polls the screen until cond holds or timeout passes; then it
// fails the test with the last screen and what it waited for. A screen
// that satisfies cond is the program's first frame as far as Ready goes.
func (s *Session) WaitForFunc(what string, timeout time.Duration, cond func(screen string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var screen string
	for {
		screen = s.Capture()
		if cond(screen) {
			s.ready = true
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

// Screenshot waits until the screen is settled (two captures in a row
// alike) and cond holds on it, the evidence that it is the screen name
// promises, then writes it to dir/name.txt as plain text and dir/name.ansi
// with its colours (FlattenColour: ready for a picture renderer), both from
// the same capture. It returns the plain text.
// It fails the test with the last capture when cond never holds.
func (s *Session) Screenshot(dir, name, what string, cond func(plain string) bool) string {
	s.t.Helper()
	var plain, colour string
	prev := ""
	s.WaitForFunc(what+" (settled) for screenshot "+name, s.timeout(), func(string) bool {
		colour = s.CaptureColour()
		plain = StripColour(colour)
		settled := colour == prev
		prev = colour
		return settled && cond(plain)
	})
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.t.Fatal(err)
	}
	for file, text := range map[string]string{name + ".txt": plain, name + ".ansi": FlattenColour(colour)} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
	return plain
}

// ResizeAndWait sets the window to width×height (the program gets SIGWINCH
// as with a real terminal) and waits for cond on the redrawn screen.
func (s *Session) ResizeAndWait(width, height int, what string, cond func(screen string) bool) string {
	s.t.Helper()
	s.beforeInput(fmt.Sprintf("resize to %d×%d", width, height), what, cond)
	s.run("resize-window", "-t", s.name, "-x", strconv.Itoa(width), "-y", strconv.Itoa(height))
	return s.WaitForFunc(fmt.Sprintf("%s after resizing to %d×%d", what, width, height), s.timeout(), cond)
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

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
