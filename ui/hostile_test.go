package ui

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pulltop/pulltop/snapshots"
	"github.com/pulltop/pulltop/snapshots/snapshotstest"
)

// overwriteStrings sets every string already reachable from v to text,
// keeping the shape (rows, numbers) of the fixture; map keys get a suffix.
func overwriteStrings(v reflect.Value, text string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Pointer:
		if !v.IsNil() {
			overwriteStrings(v.Elem(), text)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				overwriteStrings(v.Field(i), text)
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			overwriteStrings(v.Index(i), text)
		}
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for i, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			overwriteStrings(e, text)
			nk := reflect.New(v.Type().Key()).Elem()
			nk.Set(k)
			if nk.Kind() == reflect.String {
				nk.SetString(text + strings.Repeat("k", i))
			}
			m.SetMapIndex(nk, e)
		}
		v.Set(m)
	}
}

// TestHostileStringsNeverReachTheTerminal is issue 15's acceptance test for
// the UI: a snapshot whose every string carries OSC 0, OSC 52, CSI 2J, C1
// controls and a bidi override, drawn through every view, detail, banner,
// dialog and flash, in plain and in colour: no byte of it may drive the
// terminal, and the frame's last-resort filter must have had nothing to do
// (the cleaning where the snapshot enters the UI did it all).
func TestHostileStringsNeverReachTheTerminal(t *testing.T) {
	shapes := map[string]func() *snapshots.State{
		// The fixture's rows, every string replaced.
		"fixture": func() *snapshots.State {
			s := fixtureState()
			s.EngineError = "x"
			s.Source.PDError = "x"
			overwriteStrings(reflect.ValueOf(s), snapshotstest.Hostile)
			return s
		},
		// Every field of the schema, including those no view draws yet.
		"every_field": func() *snapshots.State {
			s := snapshotstest.HostileState(snapshotstest.Hostile)
			s.TakenAt = fixtureNow
			s.Seq = 1
			return s
		},
	}
	for name, shape := range shapes {
		for _, colour := range []bool{false, true} {
			t.Run(name+map[bool]string{false: "/plain", true: "/colour"}[colour], func(t *testing.T) {
				run := func() { driveEveryScreen(t, shape(), colour) }
				if colour {
					withColour(t, run)
				} else {
					run()
				}
			})
		}
	}
}

func driveEveryScreen(t *testing.T, s *snapshots.State, colour bool) {
	hostileErr := errors.New(snapshotstest.Hostile)
	h := newHarness(t, s, func(o *Options) {
		o.SaveSnapshot = func(*snapshots.State) (string, error) { return "", hostileErr }
		o.SourceLabel = "replay " + snapshotstest.Hostile
	})
	h.ctrl.err = hostileErr
	h.refresh(next(s, nil)) // live: countdowns and NOT UPDATING markers
	screens := 0
	check := func(step string) {
		t.Helper()
		out := h.view()
		if why := snapshotstest.Unsafe(out, colour); why != "" {
			t.Fatalf("%s: %s\n%s", step, why, out)
		}
		if n := h.m.a.foreignBytes; n != 0 {
			t.Fatalf("%s: the frame filter dropped %d bytes: something reached the frame uncleaned", step, n)
		}
		screens++
	}
	for v := range numViews {
		key := string(rune('1' + v))
		h.press(key)
		check("view " + key)
		if v == viewOverview {
			continue
		}
		h.press("j", "enter")
		check("detail from view " + key)
		h.press("esc", "/")
		h.typeText("x")
		check("filter in view " + key)
		h.press("enter", "R")
		check("reload dialog in view " + key)
		h.press("n")
		check("cancelled in view " + key)
		h.press("P")
		check("pause dialog in view " + key)
		h.press("y")
		check("action failed in view " + key)
		h.press("esc")
	}
	h.press("4", "G", "enter") // the oldest flush: its absorbed-spans picture
	check("flush detail")
	h.press("esc", "3", "G", "enter")
	check("detail of a fired retry")
	h.press("esc")
	h.press("2", "k", "R")
	check("reload region dialog")
	h.press("y")
	check("reload failed")
	h.press("ctrl+s")
	check("save failed")
	h.press("space")
	h.refresh(next(h.src.s, nil))
	check("frozen")
	h.press("space", "?")
	check("help")
	h.press("?")
	h.now = h.now.Add(time.Minute) // NOT UPDATING
	check("stale source")
	h.resize(60, 15)
	check("small")
	h.resize(200, 60)
	check("wide")
	if screens < 40 {
		t.Fatalf("only %d screens drawn", screens)
	}
}

// The frame filter itself: colour passes, anything else is dropped.
func TestKeepOnlySGR(t *testing.T) {
	in := "ok \x1b[1;38;5;203mred\x1b[0m \x1b]0;t\x07\x1b[2J\u009b1m é\xff\n"
	out, dropped := keepOnlySGR([]byte(in))
	want := "ok \x1b[1;38;5;203mred\x1b[0m ]0;t[2J1m é\n"
	if string(out) != want {
		t.Fatalf("got %q, want %q", out, want)
	}
	if dropped != len(in)-len(want) {
		t.Fatalf("dropped %d, want %d", dropped, len(in)-len(want))
	}
}
