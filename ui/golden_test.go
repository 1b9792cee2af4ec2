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
