package ui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"go.uber.org/goleak"

	"github.com/pulltop/pulltop/snapshots"
)

func TestMain(m *testing.M) {
	// Goldens are plain text: pin the profile so NO_COLOR, CLICOLOR_FORCE
	// or a CI terminal cannot change them (reference/tui.md §1.1).
	lipgloss.SetColorProfile(termenv.Ascii)
	lipgloss.SetHasDarkBackground(true)
	goleak.VerifyTestMain(m)
}

// key turns a key name into the message bubbletea would send: named keys
// ("enter", "ctrl+s", "space", "shift+tab", …) or runes ("P", "j", "/").
func keyPress(name string) tea.KeyMsg {
	names := map[string]tea.KeyType{
		"enter": tea.KeyEnter, "esc": tea.KeyEsc, "tab": tea.KeyTab, "shift+tab": tea.KeyShiftTab,
		"up": tea.KeyUp, "down": tea.KeyDown, "left": tea.KeyLeft, "right": tea.KeyRight,
		"pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown, "home": tea.KeyHome, "end": tea.KeyEnd,
		"ctrl+u": tea.KeyCtrlU, "ctrl+d": tea.KeyCtrlD, "ctrl+s": tea.KeyCtrlS, "ctrl+c": tea.KeyCtrlC,
		"ctrl+w": tea.KeyCtrlW, "backspace": tea.KeyBackspace, "space": tea.KeySpace,
	}
	if t, ok := names[name]; ok {
		if t == tea.KeySpace {
			return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
		}
		return tea.KeyMsg{Type: t}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(name)}
}

// harness drives a Model the way bubbletea would, minus the terminal.
type harness struct {
	t    testing.TB
	m    Model
	src  *fakeSource
	ctrl *fakeController
	quit bool
	now  time.Time
}

type harnessOpt func(*Options)

func readOnly(reason string) harnessOpt {
	return func(o *Options) { o.Controller = nil; o.ReadOnlyReason = reason }
}

func newHarness(t testing.TB, s *snapshots.State, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, src: &fakeSource{s: s}, ctrl: &fakeController{}, now: fixtureNow}
	o := Options{
		Source:     h.src,
		Controller: h.ctrl,
		Now:        func() time.Time { return h.now },
		SaveSnapshot: func(s *snapshots.State) (string, error) {
			return "/state/pulltop/pulltop-20260601-120000.json", nil
		},
	}
	for _, f := range opts {
		f(&o)
	}
	h.m = New(o)
	h.resize(120, 40)
	return h
}

func (h *harness) resize(w, height int) {
	h.update(tea.WindowSizeMsg{Width: w, Height: height})
}

// update sends msg and runs whatever command comes back, feeding its
// message in again, as bubbletea would. Ticks are never run: the tests
// send tickMsg themselves (see refresh).
func (h *harness) update(msg tea.Msg) {
	h.t.Helper()
	m, cmd := h.m.Update(msg)
	h.m = m.(Model)
	h.run(cmd)
}

func (h *harness) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	select {
	case msg := <-done:
		switch msg := msg.(type) {
		case tea.QuitMsg:
			h.quit = true
		case tea.BatchMsg:
			for _, c := range msg {
				h.run(c)
			}
		case nil:
		default:
			h.update(msg)
		}
	case <-time.After(5 * time.Second):
		h.t.Fatalf("command did not return within 5s")
	}
}

// press sends keys in order.
func (h *harness) press(keys ...string) {
	h.t.Helper()
	for _, k := range keys {
		h.update(keyPress(k))
	}
}

// typeText types each rune of text (for the filter).
func (h *harness) typeText(text string) {
	for _, r := range text {
		if r == ' ' {
			h.press("space")
		} else {
			h.press(string(r))
		}
	}
}

// refresh makes s the source's snapshot and delivers a refresh tick; the
// tick's re-arm command is dropped (it would sleep).
func (h *harness) refresh(s *snapshots.State) {
	h.src.set(s)
	m, _ := h.m.Update(tickMsg{})
	h.m = m.(Model)
}

func (h *harness) view() string { return h.m.View() }

// requireContains fails unless the screen contains every want.
func (h *harness) requireContains(want ...string) {
	h.t.Helper()
	v := h.view()
	for _, w := range want {
		if !strings.Contains(v, w) {
			h.t.Fatalf("screen lacks %q:\n%s", w, v)
		}
	}
}

func (h *harness) requireNotContains(unwanted ...string) {
	h.t.Helper()
	v := h.view()
	for _, w := range unwanted {
		if strings.Contains(v, w) {
			h.t.Fatalf("screen has %q:\n%s", w, v)
		}
	}
}

// cursorLine is the line the text cursor is on.
func (h *harness) cursorLine() string {
	for _, line := range strings.Split(h.view(), "\n") {
		if strings.HasPrefix(line, "> ") {
			return line
		}
	}
	return ""
}
