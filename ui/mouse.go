package ui

import tea "github.com/charmbracelet/bubbletea"

// The mouse, as htop and k9s have it: a click selects a row (or an
// Overview line), a click on a tab switches to it, the wheel scrolls. A
// click never confirms or starts an action: those stay on keys with a
// dialog.

// wheelStep is how many rows one wheel notch moves.
const wheelStep = 3

func (a *app) handleMouse(msg tea.MouseMsg) tea.Cmd {
	if a.tooSmall() || a.confirm != nil || a.filtering || a.cmdline {
		return nil
	}
	if a.copying {
		a.copying = false
	}
	ev := tea.MouseEvent(msg)
	switch {
	case ev.IsWheel():
		d := wheelStep
		if ev.Button == tea.MouseButtonWheelUp {
			d = -d
		}
		a.wheel(d)
	case ev.Button == tea.MouseButtonLeft && ev.Action == tea.MouseActionPress:
		a.click(ev.X, ev.Y)
	}
	return nil
}

func (a *app) wheel(d int) {
	switch {
	case a.showHelp:
		a.helpScroll = max(0, a.helpScroll+d)
	case a.detail != nil:
		a.detail.scroll = max(0, a.detail.scroll+d)
	case a.view == viewOverview:
		a.overview.move(d / wheelStep)
	default:
		if l := a.lists[a.view]; l != nil {
			l.move(func(t *table) { t.moveBy(d) })
		}
	}
}

// bodyTop is the screen line where the body starts (after the header,
// the tabs and the banners).
func (a *app) bodyTop() int { return 2 + a.bannerCount() }

func (a *app) click(x, y int) {
	if y == 1 {
		for v := range numViews {
			if r := a.tabX[v]; x >= r[0] && x < r[1] {
				a.switchView(v)
				return
			}
		}
		return
	}
	if a.showHelp || a.detail != nil {
		return
	}
	line := y - a.bodyTop()
	if line < 0 || line >= a.bodyHeight {
		return
	}
	if a.view == viewOverview {
		for _, t := range a.overview.targets {
			if t.line == a.overviewFrom+line {
				a.overview.sel = t.key
				return
			}
		}
		return
	}
	l := a.lists[a.view]
	if l == nil || line == 0 { // the column titles
		return
	}
	if p := l.tbl.offset + line - 1; p < len(l.idx) && line-1 < l.tbl.rows {
		l.move(func(t *table) { t.moveTo(p) })
	}
}
