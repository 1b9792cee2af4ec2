package ui

import "github.com/charmbracelet/bubbles/key"

// KeyMap is every binding the UI answers to. The help overlay and the footer
// are generated from it, so a binding that is disabled (read-only mode, no
// save function) disappears from both.
type KeyMap struct {
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	HalfUp   key.Binding
	HalfDown key.Binding
	Top      key.Binding
	Bottom   key.Binding

	NextView key.Binding
	PrevView key.Binding
	Views    key.Binding // 1–8
	Detail   key.Binding
	Back     key.Binding

	Filter      key.Binding
	Sort        key.Binding // next sort column (s, >)
	SortPrev    key.Binding // previous sort column (<)
	SortReverse key.Binding
	Command     key.Binding // : command line
	Copy        key.Binding // y: copy id, key or error (OSC 52)
	Pager       key.Binding // l: the log file in $PAGER

	Freeze key.Binding

	// The timeline: one refresh back / forward, a minute back / forward.
	TimeBack          key.Binding
	TimeForward       key.Binding
	TimeBackMinute    key.Binding
	TimeForwardMinute key.Binding

	Slower  key.Binding
	Faster  key.Binding
	Save    key.Binding
	Pause   key.Binding
	Reload  key.Binding
	Help    key.Binding
	Quit    key.Binding
	ForceQ  key.Binding
	Confirm key.Binding

	// ReadOnlyAction catches P and R while they are disabled, so the
	// operator is told why nothing happens. It never shows in help.
	ReadOnlyAction key.Binding
}

// DefaultKeyMap returns the conventional bindings (reference/tui.md §2.3),
// k9s's : and <> and htop's mouse included. readOnly disables the operator
// actions; canSave enables ctrl+s.
func DefaultKeyMap(readOnly, canSave bool) KeyMap {
	km := KeyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		HalfUp:   key.NewBinding(key.WithKeys("ctrl+u"), key.WithHelp("ctrl+u", "half page up")),
		HalfDown: key.NewBinding(key.WithKeys("ctrl+d"), key.WithHelp("ctrl+d", "half page down")),
		Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
		Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),

		NextView: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next view")),
		PrevView: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous view")),
		Views:    key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6", "7", "8"), key.WithHelp("1-8", "views")),
		Detail:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),

		Filter:      key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Sort:        key.NewBinding(key.WithKeys(">", "s"), key.WithHelp("</>", "sort")),
		SortPrev:    key.NewBinding(key.WithKeys("<"), key.WithHelp("<", "previous sort column")),
		SortReverse: key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "reverse")),
		Command:     key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "command")),
		Copy:        key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy")),
		Pager:       key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "log file")),

		Freeze: key.NewBinding(key.WithKeys(" "), key.WithHelp("space", "freeze")),

		TimeBack:          key.NewBinding(key.WithKeys("["), key.WithHelp("[", "a refresh back in time")),
		TimeForward:       key.NewBinding(key.WithKeys("]"), key.WithHelp("]", "a refresh forward (past the newest: live)")),
		TimeBackMinute:    key.NewBinding(key.WithKeys("{"), key.WithHelp("{", "a minute back")),
		TimeForwardMinute: key.NewBinding(key.WithKeys("}"), key.WithHelp("}", "a minute forward")),
		Slower:            key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+", "refresh slower")),
		Faster:            key.NewBinding(key.WithKeys("-", "_"), key.WithHelp("-", "refresh faster")),
		Save:              key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "save snapshot")),
		Pause:             key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "pause/resume")),
		Reload:            key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "reload")),
		Help:              key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:              key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQ:            key.NewBinding(key.WithKeys("ctrl+c")),
		Confirm: key.NewBinding(key.WithKeys("y", "Y"),
			key.WithHelp("y", "confirm")),

		ReadOnlyAction: key.NewBinding(key.WithKeys("P", "R")),
	}
	km.Pause.SetEnabled(!readOnly)
	km.Reload.SetEnabled(!readOnly)
	km.ReadOnlyAction.SetEnabled(readOnly)
	km.Save.SetEnabled(canSave)
	return km
}

// FullHelp is the ? overlay, one column per group. It has room for longer
// descriptions than the footer. Disabled bindings (read-only, replay)
// are left out by the help renderer.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.HalfUp, k.HalfDown, k.Top, k.Bottom},
		{k.NextView, k.PrevView, withDesc(k.Views, "views (Overview … Rows)"), withDesc(k.Detail, "open / go to related"),
			withDesc(k.Back, "back the way you came (a typed filter first)"), withDesc(k.Command, "command (:store 2)")},
		{k.Filter, withHelpKeys(k.Sort, "> s", "next sort column"), withDesc(k.SortPrev, "previous sort column"), withDesc(k.SortReverse, "reverse sort"),
			withDesc(k.Freeze, "freeze / resume view"), k.Slower, k.Faster},
		{withDesc(k.Pause, "pause/resume store"), withDesc(k.Reload, "force reload region/span"),
			withDesc(k.Copy, "copy id, key or error"), withDesc(k.Pager, "log file in $PAGER"), k.Save, k.Help, k.Quit},
		{k.TimeBack, k.TimeForward, k.TimeBackMinute, k.TimeForwardMinute},
	}
}

// withHelpKeys is b with another key label and description.
func withHelpKeys(b key.Binding, keys, desc string) key.Binding {
	b.SetHelp(keys, desc)
	return b
}

// withDesc is b with another description (enabled state kept).
func withDesc(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
}
