package ui

import (
	"testing"

	"github.com/charmbracelet/x/exp/golden"
)

// TestGoldenViews pins every view at 120×40 on the fixture; regenerate with
// go test ./ui -run TestGolden -update and review the diff.
func TestGoldenViews(t *testing.T) {
	for k, name := range []string{"overview", "regions", "retries", "reloads", "stores", "events", "actions"} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, fixtureState())
			h.press(string(rune('1' + k)))
			golden.RequireEqual(t, []byte(h.view()))
		})
	}
}

// TestGolden80x24 pins the screens an operator on a classic 80×24
// terminal reads in an incident (issue 27): the Overview with three causes
// (each cause's evidence on a second line, the errors summed up, the
// footer ending in "? more keys"), Stores during a cooldown (STATE,
// COOLDOWN and LAST MSG kept), and a region's detail.
func TestGolden80x24(t *testing.T) {
	for _, c := range []struct {
		name string
		keys []string
	}{
		{"overview_three_causes", nil},
		{"stores_cooldown", []string{"5"}},
		{"region_detail", []string{":", "region 4", "enter"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := fixtureState()
			s.Causes = s.Causes[:3]
			h := newHarness(t, s)
			h.resize(80, 24)
			for _, k := range c.keys {
				if len(k) > 1 && k != "enter" {
					h.typeText(k)
					continue
				}
				h.press(k)
			}
			golden.RequireEqual(t, []byte(h.view()))
		})
	}
}
