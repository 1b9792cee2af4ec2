package ui

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pulltop/pulltop/snapshots"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// render draws the frame: header, tabs, banners, body, status line, footer.
// Every line fits the width and the frame has exactly the terminal's
// height, so the renderer never scrolls or wraps.
func (a *app) render() string {
	if a.width <= 0 || a.height <= 0 {
		return ""
	}
	if a.tooSmall() {
		return a.tooSmallNotice()
	}
	a.ctx.elapsed = a.elapsedMs()
	a.ctx.past = a.past()
	b := a.frame[:0]

	b = a.appendHeader(b)
	b = append(b, '\n')
	b = a.appendTabs(b)
	b = append(b, '\n')
	for _, banner := range a.banners() {
		b = append(b, banner...)
		b = append(b, '\n')
	}

	bodyStart := len(b)
	switch l := a.lists[a.view]; {
	case a.showHelp:
		lines := a.helpLines()
		a.helpScroll = min(a.helpScroll, max(0, len(lines)-a.bodyHeight))
		b = a.appendLines(b, lines, a.helpScroll)
	case a.detail != nil:
		lines := a.detailLines(a.detail)
		a.detail.scroll = min(a.detail.scroll, max(0, len(lines)-a.bodyHeight))
		b = a.appendLines(b, lines, a.detail.scroll)
	case l != nil:
		b = l.appendBody(b, a.theme)
	default:
		a.overview.timeline = a.timelineLine()
		lines := a.overview.lines(a.hist.lagUpTo(a.shownSeq()), a.width, a.bodyHeight)
		// Scrolled only as far as the selected line needs (80×24).
		a.overviewFrom = max(0, a.overview.selLine-a.bodyHeight+2)
		b = a.appendLines(b, lines, a.overviewFrom)
	}
	if a.confirm != nil {
		b = a.overlayDialog(b, bodyStart)
	}

	b = a.appendStatus(b)
	b = append(b, '\n')
	b = append(b, a.footerLine()...)
	b, a.foreignBytes = keepOnlySGR(b)
	a.frame = b
	return string(b)
}

// keepOnlySGR is the last line of defence for the terminal: snapshots are
// cleaned where they enter the UI, and the only escape sequences the UI
// itself writes are lipgloss's colours (SGR, ESC [ … m). Anything else that
// reaches the frame — another escape sequence, a C0 or C1 control, invalid
// UTF-8 — is dropped, in place; dropped counts the bytes (tests expect 0).
func keepOnlySGR(b []byte) (out []byte, dropped int) {
	w := 0
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c >= 0x20 && c < 0x7f || c == '\n':
			b[w] = c
			w++
			i++
			continue
		case c == 0x1b:
			if n := sgrLen(b[i:]); n > 0 {
				w += copy(b[w:], b[i:i+n])
				i += n
				continue
			}
		case c >= 0x80:
			r, size := utf8.DecodeRune(b[i:])
			if !(r == utf8.RuneError && size == 1) && (r < 0x80 || r > 0x9f) {
				w += copy(b[w:], b[i:i+size])
				i += size
				continue
			}
			dropped += size
			i += size
			continue
		}
		dropped++
		i++
	}
	return b[:w], dropped
}

// sgrLen is the length of the SGR sequence at the start of b, 0 if there
// is none.
func sgrLen(b []byte) int {
	if len(b) < 3 || b[1] != '[' {
		return 0
	}
	for i := 2; i < len(b); i++ {
		switch c := b[i]; {
		case c >= '0' && c <= '9' || c == ';' || c == ':':
		case c == 'm':
			return i + 1
		default:
			return 0
		}
	}
	return 0
}

func (a *app) shownSeq() uint64 {
	if a.shown == nil {
		return 0
	}
	return a.shown.Seq
}

// bannerCount is len(banners()) without drawing them, for the layout that
// runs after every message.
func (a *app) bannerCount() int {
	n := 0
	if a.shown != nil && a.shown.EngineError != "" {
		n++
	}
	if a.frozen && a.cursor == nil {
		n++
	}
	if a.cursor != nil {
		n++
	}
	return n
}

// banners are the full-width warnings between tabs and body. An engine
// error comes first: it means everything below has stopped moving.
func (a *app) banners() []string {
	var out []string
	if a.shown != nil && a.shown.EngineError != "" {
		out = append(out, a.theme.EngineErr.render(fitANSI(
			" ENGINE STOPPED: "+a.shown.EngineError+" (below: its last snapshot)", a.width)))
	}
	if a.cursor != nil {
		out = append(out, a.theme.Frozen.render(fitANSI(a.timelineBanner(), a.width)))
	}
	if a.frozen && a.cursor == nil {
		text := " FROZEN — " + strconv.FormatUint(a.behind, 10) + " updates behind (since " +
			a.frozenAt.Format("15:04:05") + "; space resumes; the engine keeps running)"
		out = append(out, a.theme.Frozen.render(fitANSI(text, a.width)))
	}
	return out
}

// compactWidth: below it the header, the tabs and the Overview use their
// short forms, so an 80×24 terminal keeps what matters (issue 18).
const compactWidth = 100

// appendHeader draws the title line. Its right end — PD's health, the
// refresh rate and the mode — always shows; the source and the snapshot
// are cut first when the line is too narrow.
func (a *app) appendHeader(b []byte) []byte {
	th := a.theme
	compact := a.width < compactWidth
	start := len(b)
	b = th.Title.appendString(b, " pulltop")
	b = append(b, "  "...)
	b = append(b, a.sourceLabel(compact)...)
	if s := a.shown; s != nil {
		switch {
		case a.replay:
			// A postmortem needs the date and the zone, and nothing ticks.
			b = append(b, "  captured "...)
			b = s.TakenAt.In(a.opts.Now().Location()).AppendFormat(b, "2006-01-02 15:04:05 MST")
		case compact:
			b = append(b, "  #"...)
			b = strconv.AppendUint(b, s.Seq, 10)
			b = append(b, ' ')
			b = s.TakenAt.In(a.opts.Now().Location()).AppendFormat(b, "15:04:05")
		default:
			b = append(b, "  snapshot #"...)
			b = strconv.AppendUint(b, s.Seq, 10)
			b = append(b, " at "...)
			b = s.TakenAt.In(a.opts.Now().Location()).AppendFormat(b, "15:04:05")
			b = append(b, " ("...)
			b = appendDur(b, max(0, a.opts.Now().Sub(s.TakenAt).Milliseconds()))
			b = append(b, " old)"...)
		}
		// A live source that stopped publishing is as bad as an engine
		// error, and easy to miss; a replayed file is old by nature.
		age := a.opts.Now().Sub(s.TakenAt)
		if !a.replay && a.received > 1 && !a.frozen && a.cursor == nil && age > 3*a.interval {
			b = th.Warn.appendString(b, " NOT UPDATING")
		}
	}
	// The right end, in a reused buffer; its width is counted as it is
	// written (its text is ASCII, its paint has no width).
	right := a.hdrRight[:0]
	right = append(right, "  "...)
	right, rw := a.appendPDBadge(right)
	rw += 2
	if !a.replay {
		n := len(right)
		right = append(right, "  refresh "...)
		right = append(right, a.interval.String()...)
		rw += len(right) - n
	}
	n := len(right)
	switch {
	case a.cursor != nil:
		// A moment of the timeline: "AT 14:03:07 (−12s)" (its minus
		// sign is one cell of three bytes).
		at := a.atLabel()
		right = append(right, "  "...)
		right = append(right, at...)
		rw -= len(at) - textWidth(at)
	case a.replay:
		right = append(right, "  [replay]"...)
	case a.readOnly:
		right = append(right, "  [read-only]"...)
	default:
		right = append(right, "  [live]"...)
	}
	if a.inflight > 0 {
		right = append(right, " [action running]"...)
	}
	rw += len(right) - n
	a.hdrRight = right
	b = fitTail(b, start, max(0, a.width-rw))
	b = append(b, right...)
	return fitTail(b, start, a.width)
}

// appendPDBadge is "PD ok" or "PD unreachable 23s", as of the snapshot on
// screen (the outage's length ticks with the view clock while live).
// It returns the cells it took.
func (a *app) appendPDBadge(b []byte) ([]byte, int) {
	s := a.shown
	if s == nil {
		return append(b, "PD ?"...), 4
	}
	if s.Source.PDError == "" {
		return append(b, "PD ok"...), 5
	}
	p := a.theme.FlashError
	b = append(b, p.pre...)
	n := len(b)
	b = append(b, "PD unreachable"...)
	if since := s.Source.PDErrorSince; !since.IsZero() {
		b = append(b, ' ')
		b = appendDur(b, max(0, s.TakenAt.Sub(since).Milliseconds()+a.ctx.elapsed))
	}
	w := len(b) - n
	return append(b, p.post...), w
}

// appendTabs draws the view tabs, recording where each is for the mouse.
// A narrow terminal gets them tighter, without the counts of the idle
// views, then with the idle views' short names: every tab stays on screen.
func (a *app) appendTabs(b []byte) []byte {
	th := a.theme
	start := len(b)
	for form := range 4 {
		b = b[:start]
		b = append(b, ' ')
		x := 1
		for v := range numViews {
			name := viewNames[v]
			if form == 3 && v != a.view {
				name = viewShort[v]
			}
			active := v == a.view
			p := th.TabIdle
			if active {
				p = th.TabActive
			}
			b = append(b, p.pre...)
			n := len(b)
			switch {
			case active:
				b = append(b, '[')
			case form == 0:
				b = append(b, ' ')
			}
			b = strconv.AppendInt(b, int64(v)+1, 10)
			b = append(b, ' ')
			b = append(b, name...)
			if l := a.lists[v]; l != nil && (form == 0 || form == 1 && active) {
				b = append(b, ' ')
				b = strconv.AppendInt(b, int64(l.model.length()), 10)
			}
			switch {
			case active:
				b = append(b, ']')
			case form == 0:
				b = append(b, ' ')
			}
			w := len(b) - n // ASCII
			b = append(b, p.post...)
			a.tabX[v] = [2]int{x, x + w}
			x += w + 1
			b = append(b, ' ')
		}
		if x-1 <= a.width {
			break
		}
	}
	return fitTail(trimSpaces(b), start, a.width)
}

// viewShort are the views' names on a narrow terminal.
var viewShort = [numViews]string{"Ovw", "Reg", "Rtr", "Rld", "Sto", "Evt", "Act", "Row"}

// appendLines appends exactly bodyHeight lines of text from lines[from:].
func (a *app) appendLines(b []byte, lines []string, from int) []byte {
	for k := range a.bodyHeight {
		if i := from + k; i < len(lines) {
			b = append(b, strings.TrimRight(fitANSI(lines[i], a.width), " ")...)
		}
		b = append(b, '\n')
	}
	return b
}

// appendStatus is the line above the footer: the filter being typed, or
// the filter and its match count, and the flash message of the last action.
func (a *app) appendStatus(b []byte) []byte {
	th := a.theme
	var left string
	l := a.lists[a.view]
	switch {
	case a.cmdline:
		left = " " + a.cmdInput.viewWith(':', a.theme.Cursor) + "   store N · region N · regions FILTER · stores · events · q"
	case a.copying:
		left = a.copyPrompt()
	case a.filtering && l != nil:
		left = " " + a.filterInput.view(a.theme.Cursor) + "  " + a.matchText(l)
		if l.filter.err != "" {
			left += "  " + th.FlashError.render("invalid filter: "+l.filter.err)
		}
	case a.detail != nil:
		left = " detail of " + a.detail.title() + "; esc: back"
		switch d := a.detail; {
		case d.flush != nil:
		case d.store:
			left += "; enter: its regions"
		default:
			left += "; enter: its store"
		}
		actions := ""
		switch {
		case a.readOnly:
		case a.detail.flush != nil:
			actions = "; R reloads the merged span again"
		default:
			actions = "; P pauses the store"
			if !a.detail.store {
				actions += ", R reloads the region"
			}
		}
		// The actions go only where they fit whole (80×24): the footer
		// names P and R too.
		if ansi.StringWidth(left+actions) <= a.width {
			left += actions
		}
	case l != nil && l.filter.active():
		left = " filter " + strconv.Quote(l.filter.raw) + ": " + a.matchText(l) + "  (" + a.escSays(l) + ")"
		if l.filter.err != "" {
			left += "  " + th.FlashError.render("invalid filter: "+l.filter.err)
		}
	case l != nil:
		col := l.tbl.cols[l.tbl.sortCol].title
		dir := "▲"
		if l.tbl.sortDesc {
			dir = "▼"
		}
		left = " " + strconv.Itoa(l.total) + " " + l.model.noun() + ", sorted by " + col + dir
	}
	var right string
	if a.flash != "" && a.opts.Now().Sub(a.flashAt) < flashFor {
		p := th.FlashOK
		if a.flashErr {
			p = th.FlashError
		}
		right = p.render(a.flash) + " "
	}
	return append(b, joinEnds(left, right, a.width)...)
}

// escSays is what esc does to a filtered list (nav.go's escape).
func (a *app) escSays(l *listView) string {
	switch {
	case l.filter.raw != a.opened:
		if a.opened == "" {
			return "esc clears"
		}
		return "esc: back to " + strconv.Quote(a.opened)
	case len(a.back) > 0:
		return "esc: back"
	}
	return "esc clears"
}

func (a *app) matchText(l *listView) string {
	return strconv.Itoa(len(l.idx)) + " of " + strconv.Itoa(l.total) + " " + l.model.noun() + " match"
}

// footerLine is the short help: only the keys that do something where the
// operator is (issue 18), generated from the KeyMap and cached per place
// and width (bubbles/help renders with lipgloss, too slow for every frame).
func (a *app) footerLine() string {
	place := a.footerPlace()
	if a.footer == "" || a.footerSize != a.width || a.footerFor != place {
		a.footer = a.makeFooter(a.footerKeys())
		a.footerSize, a.footerFor = a.width, place
	}
	return a.footer
}

// makeFooter lays keys out on one line. When they do not all fit, the
// line ends in "? more keys" instead of a cut (issue 27): the keys that
// fit, most useful first, and where the rest are.
func (a *app) makeFooter(keys []key.Binding) string {
	h := a.help
	h.Width = 0 // measured here, never cut by bubbles/help
	line := " " + h.ShortHelpView(keys)
	if ansi.StringWidth(line) <= a.width {
		return line
	}
	more := withDesc(a.keys.Help, "more keys")
	var fit []key.Binding
	for _, k := range keys {
		if !k.Enabled() || k.Help().Key == more.Help().Key {
			continue // ? ends the line
		}
		try := append(append(fit[:len(fit):len(fit)], k), more)
		if ansi.StringWidth(" "+h.ShortHelpView(try)) > a.width {
			break
		}
		fit = append(fit, k)
	}
	return fitANSI(" "+h.ShortHelpView(append(fit, more)), a.width)
}

// footerPlace identifies what the footer depends on: a view, or a mode
// over it (numbers past the views).
func (a *app) footerPlace() int {
	switch {
	case a.cmdline:
		return 100
	case a.filtering:
		return 101
	case a.copying:
		return 102
	case a.showHelp:
		return 103
	case a.detail != nil:
		d := a.detail
		switch {
		case d.flush != nil:
			return 104
		case d.store:
			return 106
		}
		return 107
	}
	return int(a.view)
}

// footerKeys are the keys that work in the current place.
func (a *app) footerKeys() []key.Binding {
	km := &a.keys
	switch {
	case a.cmdline:
		return []key.Binding{withDesc(km.Detail, "run"), withDesc(km.Back, "cancel")}
	case a.filtering:
		return []key.Binding{withDesc(km.Detail, "apply"), withDesc(km.Back, "cancel")}
	case a.copying:
		return nil // the status line lists the choices
	case a.showHelp:
		return []key.Binding{withHelpKeys(km.Down, "↑/↓", "scroll"), withDesc(km.Back, "close"), km.Quit}
	case a.detail != nil:
		d := a.detail
		out := []key.Binding{withDesc(km.Back, "back"), km.Quit}
		switch {
		case d.flush != nil:
			out = append(out, km.Reload)
		case d.store:
			out = append(out, withDesc(km.Detail, "its regions"), km.Pause, km.Copy)
		default:
			out = append(out, withDesc(km.Detail, "its store"), km.Pause, km.Reload, km.Copy)
		}
		return append(out, withHelpKeys(km.Down, "↑/↓", "scroll"), km.Command, km.Help)
	case a.view == viewOverview:
		return []key.Binding{km.Help, km.Quit, km.Views, withHelpKeys(km.Down, "↑/↓", "select"), withDesc(km.Detail, "open"),
			km.Command, km.Freeze, km.Pager}
	}
	// Most useful first: a narrow footer keeps the first that fit and
	// ends in "? more keys" (S, ctrl+s and the rest are in ?). The
	// actions of the view come before sorting.
	out := []key.Binding{km.Help, km.Quit, km.Views, km.Filter, km.Detail}
	switch a.view {
	case viewRegions:
		out = append(out, km.Pause, km.Reload)
	case viewStores:
		out = append(out, km.Pause)
	case viewReloads:
		out = append(out, km.Reload)
	}
	return append(out, km.Sort, km.Copy, km.Command, km.Freeze)
}

func (a *app) helpLines() []string {
	th := a.theme
	sec := func(name string) string { return "  " + th.Section.render(name) }
	out := []string{
		" " + th.Title.render("Keys") + "   (? or esc closes; ↑/↓, pgup/pgdn, g/G scroll)",
	}
	if a.readOnly {
		out = append(out, "  "+th.Warn.render("Read-only: "+a.opts.ReadOnlyReason))
	}
	out = append(out, "")
	out = append(out, a.fullHelp(a.width-2)...)
	out = append(out, "",
		sec("Views")+"   1 Overview  2 Regions  3 Retries  4 Reloads  5 Stores  6 Events (what happened)  7 Actions  8 Rows (delivered)",
		sec("Command")+" :store 2  :region 60  :regions lag>5s  :stores state:down  :events store  :q   (any view name, with a filter)",
		sec("Mouse")+"   click selects a row or an Overview line, click on a tab switches to it, the wheel scrolls",
		sec("Filter")+"  text  !text (inverse)  field:value (text: contains, number: equal, duration: at least)",
		"          field>value  field<value  (lag>5s, retries>3); terms are AND-ed; the filter stays across refreshes",
		"          regions: region sub store state cause lag events retries key error leader",
		"          stores: store addr state cause lag waiting quiet error failures    events: kind subject text ago",
		"          retries: outcome store reason attempt due ago",
		"          reloads: state merged regions reason age  (state:flushed merged>1)",
		sec("Freeze")+"  space stops taking new snapshots into the view; the engine keeps running",
	)
	if a.opts.LogPath != "" && !a.replay {
		out = append(out, sec("Log")+"     "+a.opts.LogPath+"   (l opens it in $PAGER)")
	}
	out = append(out, "", " "+th.Title.render("Glossary"), "")
	out = append(out, "  "+th.ColHeader.render("REGION STATES"))
	for _, st := range snapshots.RegionStates() {
		out = append(out, "  "+fit(regionStateWord(st), 13)+" "+regionStateHelp[st])
	}
	out = append(out, "", "  "+th.ColHeader.render("STORE STATES"))
	for _, st := range snapshots.StoreStates() {
		out = append(out, "  "+fit(storeStateWord(st), 13)+" "+storeStateHelp[st])
	}
	out = append(out,
		"  "+fit("SUSPECT", 13)+" up, but its stream has said nothing for half of --stale-after while its regions should advance",
		"  "+fit("NO ROUTE (PD)", 13)+" PD does not answer, so its regions cannot be located and no stream is open: PD's outage, not the store's",
		"", "  "+th.ColHeader.render("CAUSES")+"  why a region is not healthy, decided by the engine from what it saw")
	for _, c := range snapshots.Causes() {
		out = append(out, "  "+fit(c, 15)+" "+causeHelp[c])
	}
	out = append(out, "", "  "+th.ColHeader.render("MARKS"),
		"  "+fit("5.2s !", 13)+" lag at half of --stale-after or more (yellow); "+"12.0s !! at --stale-after or more (red)",
		"  "+fit("-", 13)+" no resolved ts yet: sorts as the worst lag, never below real values",
		"  "+fit("12s ago …", 13)+" an error and how long ago it happened",
		"  "+fit("(old) …", 13)+" an error from before the current state (dimmed): history, not the cause",
		"  "+fit(">", 13)+" the selected row or line (enter opens it)",
	)
	return out
}

var regionStateHelp = map[string]string{
	snapshots.StateQueued:      "waiting for its range lock or a scan slot on its store",
	snapshots.StateLocating:    "asking PD where it is",
	snapshots.StateParked:      "its store is cooling down after failures, or paused by the operator",
	snapshots.StateRequested:   "sent to its store; the initial scan is running",
	snapshots.StateInitialized: "streaming; its resolved ts advances",
	snapshots.StateRetryWait:   "failed; waiting in the retry heap for its backoff",
	snapshots.StateReloadWait:  "its range waits in the reload aggregator to be looked up again",
	snapshots.StateStale:       "initialized, but its resolved ts has not moved for --stale-after",
}

var storeStateHelp = map[string]string{
	snapshots.StoreUp:       "its stream works (or nothing was asked of it)",
	snapshots.StoreCooldown: "its stream failed; new requests wait out a backoff (200ms, doubling, up to 5s)",
	snapshots.StorePaused:   "paused by the operator (P): its regions are parked until resumed",
	snapshots.StoreDown:     "its stream failed and has not worked since the cooldown ended",
}

var causeHelp = map[string]string{
	snapshots.CauseHealthy:       "streaming and advancing",
	snapshots.CauseLock:          "its resolved ts is pinned by an uncommitted transaction seen on the stream",
	snapshots.CauseStoreDown:     "its store's stream failed and does not come back",
	snapshots.CauseStoreStalled:  "its store's regions stopped advancing together (a hung or overloaded store)",
	snapshots.CauseStorePaused:   "the operator paused its store",
	snapshots.CauseStoreCooling:  "its store is in cooldown after failures",
	snapshots.CauseStoreBusy:     "its store answers ServerIsBusy, Congested or RegionNotFound (raftstore busy)",
	snapshots.CausePDUnreachable: "PD does not answer: no lookups, no TSO, resolved ts stops",
	snapshots.CauseRegionChurn:   "repeated EpochNotMatch / NotLeader: splits, merges, leader moves",
	snapshots.CauseScanPending:   "waiting for a scan slot, or in its initial scan",
	snapshots.CauseSilent:        "stalled with no evidence of any of the above (TiCDC #5096)",
	snapshots.CauseIncompatible:  "the store cannot serve pulltop (its version or protocol)",
	snapshots.CauseStoreSlow:     "its stream is up, but its resolved ts arrives late against PD time and the other stores",
	snapshots.CauseStoreFlapping: "its stream failed again and again within a short window (count and window shown)",
	snapshots.CauseStoreDraining: "PD lists it Offline, or its leaders moved away: a drain, not a crash",
	snapshots.CauseStoreRemoved:  "PD lists it Tombstone (or no longer lists it): removed from the cluster",
	snapshots.CauseLagging:       "lag past min(3s, stale-after/2) with nothing else known yet",
}

// fullHelp lays the KeyMap's help groups out in as few rows as fit: all
// four side by side on a wide terminal, two by two, or one under another.
func (a *app) fullHelp(width int) []string {
	groups := a.keys.FullHelp()
	full := a.help
	full.Width = 0 // measure, never truncate: the layout below decides
	var lines []string
	for _, perRow := range []int{len(groups), 2, 1} {
		lines = lines[:0]
		fits := true
		for i := 0; i < len(groups); i += perRow {
			block := full.FullHelpView(groups[i:min(i+perRow, len(groups))])
			if lipgloss.Width(block) > width {
				fits = false
			}
			for _, line := range strings.Split(block, "\n") {
				lines = append(lines, "  "+line)
			}
			lines = append(lines, "")
		}
		if fits {
			break
		}
	}
	return lines
}

// overlayDialog draws the confirm dialog over the middle of the body. It
// replaces whole lines, so no escape sequence of a row is cut in half.
func (a *app) overlayDialog(b []byte, bodyStart int) []byte {
	body := strings.Split(strings.TrimSuffix(string(b[bodyStart:]), "\n"), "\n")
	boxWidth := min(a.width-4, 72)
	box := a.theme.Dialog.Width(boxWidth - 2).Render(a.confirm.prompt + "\n\ny: confirm   any other key: cancel")
	lines := strings.Split(box, "\n")
	top := max(0, (len(body)-len(lines))/2)
	pad := strings.Repeat(" ", max(0, (a.width-lipgloss.Width(box))/2))
	for k, line := range lines {
		if top+k < len(body) {
			body[top+k] = pad + line
		}
	}
	b = b[:bodyStart]
	for _, line := range body {
		b = append(b, line...)
		b = append(b, '\n')
	}
	return b
}

// tooSmallNotice says why there is nothing else, wrapped to whatever width
// there is (even 20×5).
func (a *app) tooSmallNotice() string {
	text := "terminal too small (have " + strconv.Itoa(a.width) + "×" + strconv.Itoa(a.height) +
		", need " + strconv.Itoa(minWidth) + "×" + strconv.Itoa(minHeight) + "); q quits"
	lines := wrapWords(text, max(1, a.width))
	if len(lines) > a.height {
		lines = lines[:a.height]
	}
	return strings.Join(lines, "\n")
}

func wrapWords(text string, w int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case textWidth(line)+1+textWidth(word) <= w:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
		for textWidth(line) > w {
			lines = append(lines, ansi.Truncate(line, w, ""))
			line = ansi.TruncateLeft(line, w, "")
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// fitANSI cuts a line that may hold escape sequences to w cells.
func fitANSI(s string, w int) string {
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, ellipsis)
}

// fitTail cuts b[start:] to w cells, in place when it already fits.
func fitTail(b []byte, start, w int) []byte {
	line := b[start:]
	if len(line) <= w && plainASCIIBytes(line) {
		return b
	}
	if ansi.StringWidth(string(line)) <= w {
		return b
	}
	cut := ansi.Truncate(string(line), w, ellipsis)
	return append(b[:start], cut...)
}

// plainASCIIBytes is plainASCII for a byte slice, without a conversion.
func plainASCIIBytes(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// joinEnds puts left and right on one line of w cells, right-aligned,
// cutting left first: the flash is the newer news.
func joinEnds(left, right string, w int) string {
	lw, rw := ansi.StringWidth(left), ansi.StringWidth(right)
	if rw > w {
		return ansi.Truncate(right, w, ellipsis)
	}
	if lw+rw+1 > w {
		left = ansi.Truncate(left, max(0, w-rw-1), ellipsis)
		lw = ansi.StringWidth(left)
	}
	if right == "" {
		return left
	}
	return left + strings.Repeat(" ", max(1, w-lw-rw)) + right
}
