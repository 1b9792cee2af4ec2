package ui

import (
	"unicode"

	tea "github.com/charmbracelet/bubbletea"
)

// lineEdit is the one-line editor for the filter. bubbles/textinput would
// do, but it imports a clipboard package this module does not carry; a
// filter needs only typing, deleting and moving, and none of its blinking.
type lineEdit struct {
	value []rune
	pos   int
}

func (e *lineEdit) set(s string) {
	e.value = []rune(s)
	e.pos = len(e.value)
}

func (e *lineEdit) String() string { return string(e.value) }

// update applies one key; it reports whether the value changed.
func (e *lineEdit) update(msg tea.KeyMsg) bool {
	switch msg.Type {
	case tea.KeyRunes, tea.KeySpace:
		runes := msg.Runes
		if msg.Type == tea.KeySpace {
			runes = []rune{' '}
		}
		clean := make([]rune, 0, len(runes))
		for _, r := range runes {
			if unicode.IsPrint(r) {
				clean = append(clean, r)
			}
		}
		e.value = append(e.value[:e.pos], append(clean, e.value[e.pos:]...)...)
		e.pos += len(clean)
		return len(clean) > 0
	case tea.KeyBackspace:
		if e.pos == 0 {
			return false
		}
		e.value = append(e.value[:e.pos-1], e.value[e.pos:]...)
		e.pos--
		return true
	case tea.KeyDelete:
		if e.pos >= len(e.value) {
			return false
		}
		e.value = append(e.value[:e.pos], e.value[e.pos+1:]...)
		return true
	case tea.KeyLeft:
		e.pos = max(0, e.pos-1)
	case tea.KeyRight:
		e.pos = min(len(e.value), e.pos+1)
	case tea.KeyHome, tea.KeyCtrlA:
		e.pos = 0
	case tea.KeyEnd, tea.KeyCtrlE:
		e.pos = len(e.value)
	case tea.KeyCtrlU:
		changed := e.pos > 0
		e.value = append([]rune(nil), e.value[e.pos:]...)
		e.pos = 0
		return changed
	case tea.KeyCtrlW:
		start := e.pos
		for start > 0 && e.value[start-1] == ' ' {
			start--
		}
		for start > 0 && e.value[start-1] != ' ' {
			start--
		}
		changed := start < e.pos
		e.value = append(e.value[:start], e.value[e.pos:]...)
		e.pos = start
		return changed
	}
	return false
}

// view draws "/value" with the cursor as a block at the end, or as the
// reversed character under it (paint; the block at the end is what the
// operator needs when typing without colour).
func (e *lineEdit) view(cur paint) string {
	if e.pos >= len(e.value) {
		return "/" + string(e.value) + "█"
	}
	return "/" + string(e.value[:e.pos]) + cur.render(string(e.value[e.pos])) + string(e.value[e.pos+1:])
}
