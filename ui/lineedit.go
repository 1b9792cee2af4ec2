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
	// selected: the whole value is selected (as / opens on a filter that
	// is already there); typing replaces it, deleting clears it, moving
	// the cursor keeps it for editing.
	selected bool
}

func (e *lineEdit) set(s string) {
	e.value = []rune(s)
	e.pos = len(e.value)
	e.selected = false
}

// selectAll selects the whole value, if there is one.
func (e *lineEdit) selectAll() { e.selected = len(e.value) > 0 }

func (e *lineEdit) String() string { return string(e.value) }

// update applies one key; it reports whether the value changed.
func (e *lineEdit) update(msg tea.KeyMsg) bool {
	if e.selected {
		e.selected = false
		switch msg.Type {
		case tea.KeyRunes, tea.KeySpace:
			e.value, e.pos = e.value[:0], 0
			e.update(msg)
			return true
		case tea.KeyBackspace, tea.KeyDelete, tea.KeyCtrlU, tea.KeyCtrlW:
			e.value, e.pos = e.value[:0], 0
			return true
		}
	}
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
	return e.viewWith('/', cur)
}

// viewWith is view with another prompt (':' for the command line). A
// selected value is reversed and marked in words too: without colour the
// operator must still know that typing replaces it.
func (e *lineEdit) viewWith(prompt rune, cur paint) string {
	p := string(prompt)
	if e.selected {
		return p + cur.render(string(e.value)) + "█  (selected: typing replaces it, ← → edit it)"
	}
	if e.pos >= len(e.value) {
		return p + string(e.value) + "█"
	}
	return p + string(e.value[:e.pos]) + cur.render(string(e.value[e.pos])) + string(e.value[e.pos+1:])
}
