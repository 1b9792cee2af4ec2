package tmuxtest

import (
	"fmt"
	"strings"
)

// Mouse and clipboard, for programs that use them (issue 18): a click or a
// wheel notch is sent as the SGR mouse report a terminal in mouse mode
// (1006) would send, straight into the program's input; the clipboard is
// tmux's paste buffer, which OSC 52 fills once set-clipboard is on.

// ClickAndWait clicks the left button at cell (col, row), both from 0 as
// in Capture's lines, and waits for cond.
func (s *Session) ClickAndWait(col, row int, what string, cond func(screen string) bool) string {
	s.t.Helper()
	return s.mouseAndWait(fmt.Sprintf("click at %d,%d", col, row), fmt.Sprintf("\x1b[<0;%d;%dM\x1b[<0;%d;%dm", col+1, row+1, col+1, row+1), what, cond)
}

// WheelAndWait turns the wheel one notch (down or up) over cell (col, row)
// and waits for cond.
func (s *Session) WheelAndWait(col, row int, down bool, what string, cond func(screen string) bool) string {
	s.t.Helper()
	button := 64
	if down {
		button = 65
	}
	return s.mouseAndWait(fmt.Sprintf("wheel at %d,%d", col, row), fmt.Sprintf("\x1b[<%d;%d;%dM", button, col+1, row+1), what, cond)
}

func (s *Session) mouseAndWait(input, seq, what string, cond func(string) bool) string {
	s.t.Helper()
	s.beforeInput(input, what, cond)
	s.run("send-keys", "-t", s.name, "-l", seq)
	return s.WaitForFunc(fmt.Sprintf("%s after %s", what, input), s.timeout(), cond)
}

// EnableClipboard lets the program set tmux's paste buffer with OSC 52
// (set-clipboard on), so Clipboard can read what it copied.
func (s *Session) EnableClipboard() {
	s.t.Helper()
	s.run("set-option", "-s", "set-clipboard", "on")
}

// Clipboard returns tmux's newest paste buffer; "" when there is none.
func (s *Session) Clipboard() string {
	s.t.Helper()
	out, err := s.command("show-buffer")
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(out, "\n")
}
