package tmuxtest

import (
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

// TestSession exercises the helpers on a shell: type, wait, resize, exit.
func TestSession(t *testing.T) {
	s := Start(t, 40, 10, []string{"GREETING=hello world"}, "sh", "-c",
		`echo "$GREETING"; read line; echo "got $line"; stty size; read line; exit 3`)
	s.WaitFor("hello world")
	s.Type("abc")
	s.Send("Enter")
	s.WaitFor("got abc", "10 40")
	s.Resize(30, 8)
	s.Send("Enter")
	if code := s.WaitExit(10 * time.Second); code != 3 {
		t.Fatalf("exit status %d, want 3", code)
	}
}
