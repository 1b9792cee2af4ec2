package ui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"

	"github.com/pulltop/pulltop/snapshots"
)

// paint is a style reduced to the escape sequences around its text. Rows
// are painted with it instead of lipgloss.Style.Render, which allocates and
// re-measures the text on every call; painting is two appends. Under the
// Ascii profile (NO_COLOR, goldens, pipes) both sequences are empty, which
// is why nothing may carry meaning by paint alone: the cursor is also a '>'
// and every state is also a word.
type paint struct{ pre, post string }

func newPaint(s lipgloss.Style) paint {
	r := s.Render("X")
	i := strings.IndexByte(r, 'X')
	if i < 0 {
		return paint{}
	}
	return paint{pre: r[:i], post: r[i+1:]}
}

func (p paint) appendString(dst []byte, s string) []byte {
	dst = append(dst, p.pre...)
	dst = append(dst, s...)
	return append(dst, p.post...)
}

func (p paint) render(s string) string {
	if p.pre == "" && p.post == "" {
		return s
	}
	return p.pre + s + p.post
}

// Theme holds every style the UI draws with, built once in New (after the
// colour profile is known) and never per frame.
type Theme struct {
	Title      paint
	TabActive  paint
	TabIdle    paint
	ColHeader  paint
	Cursor     paint
	Frozen     paint
	EngineErr  paint
	Warn       paint
	FlashOK    paint
	FlashError paint
	Section    paint
	// Dim is for history next to the present (an error older than the
	// current state); LagWarn and LagBad grade lag against --stale-after.
	Dim     paint
	LagWarn paint
	LagBad  paint

	// Dialog frames the confirm dialog; it is drawn rarely enough for
	// lipgloss.
	Dialog lipgloss.Style

	regionState map[string]paint
	storeState  map[string]paint
}

// NewTheme builds the default theme for the current lipgloss colour profile.
func NewTheme() *Theme {
	red := lipgloss.AdaptiveColor{Light: "#C00000", Dark: "#FF5F5F"}
	yellow := lipgloss.AdaptiveColor{Light: "#8A6D00", Dark: "#FFD75F"}
	green := lipgloss.AdaptiveColor{Light: "#007A00", Dark: "#87D787"}
	blue := lipgloss.AdaptiveColor{Light: "#0050A0", Dark: "#5FAFFF"}
	magenta := lipgloss.AdaptiveColor{Light: "#8700AF", Dark: "#D787FF"}
	grey := lipgloss.AdaptiveColor{Light: "#707070", Dark: "#8A8A8A"}

	fg := func(c lipgloss.TerminalColor) paint { return newPaint(lipgloss.NewStyle().Foreground(c)) }
	t := &Theme{
		Title:      newPaint(lipgloss.NewStyle().Bold(true)),
		TabActive:  newPaint(lipgloss.NewStyle().Bold(true).Reverse(true)),
		TabIdle:    fg(grey),
		ColHeader:  newPaint(lipgloss.NewStyle().Bold(true).Underline(true)),
		Cursor:     newPaint(lipgloss.NewStyle().Reverse(true)),
		Frozen:     newPaint(lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("0")).Background(yellow)),
		EngineErr:  newPaint(lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("15")).Background(red)),
		Warn:       fg(yellow),
		FlashOK:    fg(green),
		FlashError: newPaint(lipgloss.NewStyle().Bold(true).Foreground(red)),
		Section:    newPaint(lipgloss.NewStyle().Bold(true)),
		Dim:        newPaint(lipgloss.NewStyle().Faint(true)),
		LagWarn:    fg(yellow),
		LagBad:     newPaint(lipgloss.NewStyle().Bold(true).Foreground(red)),
		Dialog: lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).
			BorderForeground(yellow).Padding(0, 1),
		regionState: map[string]paint{
			snapshots.StateQueued:      fg(grey),
			snapshots.StateLocating:    fg(blue),
			snapshots.StateParked:      fg(magenta),
			snapshots.StateRequested:   fg(blue),
			snapshots.StateInitialized: fg(green),
			snapshots.StateRetryWait:   fg(yellow),
			snapshots.StateReloadWait:  fg(yellow),
			snapshots.StateStale:       newPaint(lipgloss.NewStyle().Bold(true).Foreground(red)),
		},
		storeState: map[string]paint{
			snapshots.StoreUp:       fg(green),
			snapshots.StoreCooldown: fg(yellow),
			snapshots.StorePaused:   newPaint(lipgloss.NewStyle().Bold(true).Foreground(magenta)),
			snapshots.StoreDown:     newPaint(lipgloss.NewStyle().Bold(true).Foreground(red)),
		},
	}
	return t
}

// RegionState is the paint for a region state (empty for unknown states).
func (t *Theme) RegionState(state string) paint { return t.regionState[state] }

// StoreState is the paint for a store state.
func (t *Theme) StoreState(state string) paint { return t.storeState[state] }
