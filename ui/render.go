package ui

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
		b = a.appendLines(b, a.helpLines(), 0)
	case a.detail != nil:
		lines := a.detailLines(a.detail)
		a.detail.scroll = min(a.detail.scroll, max(0, len(lines)-a.bodyHeight))
		b = a.appendLines(b, lines, a.detail.scroll)
	case l != nil:
		b = l.appendBody(b, a.theme)
	default:
		a.overview.timeline = a.timelineLine()
		b = a.appendLines(b, a.overview.lines(a.hist.lagUpTo(a.shownSeq()), a.width), 0)
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

func (a *app) appendHeader(b []byte) []byte {
	th := a.theme
	start := len(b)
	b = th.Title.appendString(b, " pulltop")
	b = append(b, "  "...)
	b = append(b, a.sourceLabel()...)
	if s := a.shown; s != nil {
		b = append(b, "  snapshot #"...)
		b = strconv.AppendUint(b, s.Seq, 10)
		b = append(b, " at "...)
		b = s.TakenAt.In(a.opts.Now().Location()).AppendFormat(b, "15:04:05")
		b = append(b, " ("...)
		age := a.opts.Now().Sub(s.TakenAt).Milliseconds()
		b = appendDur(b, max(0, age))
		b = append(b, " old)"...)
		// A live source that stopped publishing is as bad as an engine
		// error, and easy to miss; a replayed file is old by nature.
		if a.received > 1 && !a.frozen && a.cursor == nil && time.Duration(age)*time.Millisecond > 3*a.interval {
			b = th.Warn.appendString(b, " NOT UPDATING")
		}
	}
	b = append(b, "  refresh "...)
	b = append(b, a.interval.String()...)
	mode := "  [live]"
	switch {
	case a.cursor != nil:
		mode = "  " + a.atLabel()
	case a.readOnly:
		mode = "  [read-only]"
	}
	if a.inflight > 0 {
		mode += " [action running]"
	}
	b = append(b, mode...)
	return fitTail(b, start, a.width)
}

func (a *app) appendTabs(b []byte) []byte {
	th := a.theme
	start := len(b)
	b = append(b, ' ')
	for v := range numViews {
		label := strconv.Itoa(int(v)+1) + " " + viewNames[v]
		if l := a.lists[v]; l != nil {
			label += " " + strconv.Itoa(l.model.length())
		}
		if v == a.view {
			b = th.TabActive.appendString(b, "["+label+"]")
		} else {
			b = th.TabIdle.appendString(b, " "+label+" ")
		}
		b = append(b, ' ')
	}
	return fitTail(trimSpaces(b), start, a.width)
}

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
	case a.filtering && l != nil:
		left = " " + a.filterInput.view(a.theme.Cursor) + "  " + a.matchText(l)
		if l.filter.err != "" {
			left += "  " + th.FlashError.render("invalid filter: "+l.filter.err)
		}
	case a.detail != nil:
		left = " detail of " + a.detail.title() + "; esc: back"
		switch {
		case a.readOnly:
		case a.detail.flush != nil:
			left += "; R reloads the merged span again"
		default:
			left += "; P pauses the store"
			if !a.detail.store {
				left += ", R reloads the region"
			}
		}
	case l != nil && l.filter.active():
		left = " filter " + strconv.Quote(l.filter.raw) + ": " + a.matchText(l) + "  (esc clears)"
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

func (a *app) matchText(l *listView) string {
	return strconv.Itoa(len(l.idx)) + " of " + strconv.Itoa(l.total) + " " + l.model.noun() + " match"
}

// footerLine is the short help, generated from the KeyMap and cached per
// width (bubbles/help renders with lipgloss, too slow for every frame).
func (a *app) footerLine() string {
	if a.footer == "" || a.footerSize != a.width {
		a.help.Width = a.width - 1
		a.footer = " " + a.help.ShortHelpView(a.keys.ShortHelp())
		a.footerSize = a.width
	}
	return a.footer
}

func (a *app) helpLines() []string {
	out := []string{
		" " + a.theme.Title.render("Keys") + "   (? or esc closes)",
		"",
	}
	out = append(out, a.fullHelp(a.width-2)...)
	out = append(out, "",
		"  "+a.theme.Section.render("Filter")+"  text  !text (inverse)  field:value (text: contains, number: equal, duration: at least)",
		"          field>value  field<value  (lag>5s, retries>3); terms are AND-ed; the filter stays across refreshes",
		"          regions: region sub store state lag events retries key error leader    stores: store addr state failures",
		"          retries: outcome store reason attempt due ago    reloads: state merged regions reason age  (state:flushed merged>1)",
		"  "+a.theme.Section.render("Freeze")+"  space stops taking new snapshots into the view; the engine keeps running",
	)
	if a.readOnly {
		out = append(out, "", "  "+a.theme.Warn.render("Read-only: "+a.opts.ReadOnlyReason))
	}
	return out
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
	if plainASCII(string(line)) && len(line) <= w {
		return b
	}
	if ansi.StringWidth(string(line)) <= w {
		return b
	}
	cut := ansi.Truncate(string(line), w, ellipsis)
	return append(b[:start], cut...)
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
