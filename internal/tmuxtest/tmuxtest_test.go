package tmuxtest

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"abc":       "abc",
		"a b":       "'a b'",
		"it's":      `'it'\''s'`,
		"":          "''",
		"--x=1,2":   "--x=1,2",
		"$HOME":     "'$HOME'",
		"/tmp/a.sh": "/tmp/a.sh",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStripColour(t *testing.T) {
	in := "\x1b[1m\x1b[7m[2 Regions]\x1b[0m  \x1b[38;2;135;215;135mUP\x1b[39m   \n\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\n\n\n"
	if got, want := StripColour(in), "[2 Regions]  UP\nlink\n"; got != want {
		t.Fatalf("StripColour = %q, want %q", got, want)
	}
}

// TestSession exercises the helpers on a shell: type, wait, resize, exit.
func TestSession(t *testing.T) {
	s := Start(t, 40, 10, []string{"GREETING=hello world"}, "sh", "-c",
		`echo "$GREETING"; read line; echo "got $line"; stty size; read line; exit 3`)
	s.Ready("hello world")
	s.TypeAndWait("abc", "abc")
	s.SendAndWait("Enter", "got abc", "10 40")
	s.ResizeAndWait(30, 8, "the window at 30 columns", func(string) bool { return s.width() == 30 })
	if code := s.SendAndExit("Enter", 10*time.Second); code != 3 {
		t.Fatalf("exit status %d, want 3", code)
	}
}

func (s *Session) width() int {
	var w int
	_, _ = fmt.Sscan(strings.TrimSpace(s.run("display-message", "-p", "-t", s.name, "#{window_width}")), &w)
	return w
}

// TestScreenshot writes the plain and coloured text of one settled frame.
func TestScreenshot(t *testing.T) {
	s := Start(t, 40, 5, nil, "sh", "-c", `printf '\033[1mbold\033[0m plain\n'; read line`)
	s.Ready("bold plain")
	dir := t.TempDir()
	plain := s.Screenshot(dir, "shot", "the bold word", func(p string) bool { return strings.HasPrefix(p, "bold plain") })
	if plain != "bold plain\n" {
		t.Fatalf("plain screenshot %q", plain)
	}
	colour := readFile(t, dir+"/shot.ansi")
	if !strings.Contains(colour, "\x1b[0;1mbold") {
		t.Fatalf("coloured screenshot lost the bold attribute: %q", colour)
	}
	if got := readFile(t, dir+"/shot.txt"); got != plain {
		t.Fatalf("shot.txt %q, want %q", got, plain)
	}
}

// The helpers refuse what loses keys or proves nothing, and say why with
// the screen they saw.
func TestHelpersRefuseUnprovenSteps(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		steps      func(s *Session)
	}{
		{"key before the first frame", "before the program's first frame", func(s *Session) {
			s.SendAndWait("Enter", "got")
		}},
		{"evidence already on screen", "is on screen before it is sent", func(s *Session) {
			s.Ready("ready>")
			s.SendAndWait("Enter", "ready>")
		}},
		{"no evidence at all", "without evidence", func(s *Session) {
			s.Ready("ready>")
			s.SendAndWait("Enter")
		}},
		{"evidence that never appears", "timed out", func(s *Session) {
			s.Ready("ready>")
			s.Timeout = 300 * time.Millisecond
			s.SendAndWait("Enter", "never printed")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &fatalRecorder{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				s := Start(rec, 40, 10, nil, "sh", "-c", `echo 'ready>'; read line; echo got; read line`)
				tc.steps(s)
			}()
			<-done
			if !strings.Contains(rec.msg, tc.want) {
				t.Fatalf("failure message %q, want it to contain %q", rec.msg, tc.want)
			}
			if tc.want == "timed out" && !strings.Contains(rec.msg, "ready>") {
				t.Fatalf("failure message %q does not show the last screen", rec.msg)
			}
		})
	}
}

// fatalRecorder records the first Fatalf and ends the goroutine, as
// testing.T does, without failing the real test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	if r.msg == "" {
		r.msg = fmt.Sprintf(format, args...)
	}
	runtime.Goexit()
}
func (r *fatalRecorder) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFlattenColour(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain text stays plain", "abc\ndef", "abc\ndef"},
		{"reverse becomes swapped default colours",
			"\x1b[1;7m[2 Regions]\x1b[0m x",
			"\x1b[0;1;38;2;23;23;23;48;2;196;196;196m[2 Regions]\x1b[0m x"},
		{"reverse of a coloured run",
			"\x1b[38;2;255;95;95m\x1b[7mDOWN\x1b[27m!\x1b[39m",
			"\x1b[0;38;2;23;23;23;48;2;255;95;95mDOWN\x1b[0;38;2;255;95;95m!\x1b[0m"},
		{"palette colours become RGB", "\x1b[31ma\x1b[38;5;196mb\x1b[48;5;240mc\x1b[0m",
			"\x1b[0;38;2;215;78;111ma\x1b[0;38;2;255;0;0mb\x1b[0;38;2;255;0;0;48;2;88;88;88mc\x1b[0m"},
		{"a style is restated on the next line", "\x1b[4mab\ncd\x1b[24m",
			"\x1b[0;4mab\x1b[0m\n\x1b[0;4mcd\x1b[0m"},
		{"faint is dimmer", "\x1b[2mx", "\x1b[0;38;2;109;109;109mx\x1b[0m"},
		{"hyperlinks and cursor moves drop", "\x1b]8;;http://x\x1b\\a\x1b]8;;\x07\x1b[2Kb", "ab"},
	} {
		if got := FlattenColour(tc.in); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
