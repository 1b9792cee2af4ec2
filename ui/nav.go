package ui

import (
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/pulltop/pulltop/snapshots"
)

// Navigation is one stack of places (issue 27). A place is a view, the
// filter and the cursor of its list, and the detail page open over it.
// The top of the stack is what is on screen: a.view, a.detail, and the
// view's list (its filter and cursor) or the Overview's selection; a.back
// holds the places under it, oldest first. Everything that goes somewhere
// pushes — enter on a row, a line or a detail, a : command, a view key
// (1–8, tab), a click on a tab — and esc pops, so esc retraces the path
// the operator took, each place coming back with its filter and cursor.
//
// esc, precisely (the README's key table says the same):
//   - first it closes what is open over the page: help, the command line,
//     the filter being typed (which goes back to what it was before /),
//     the y prompt;
//   - then it undoes a filter typed on this page: the page gets back the
//     filter it was opened with (none for a plain view switch);
//   - then it pops: back to the page before, with its filter and cursor;
//   - on the first page it clears the filter; with nothing to undo or go
//     back to it says so.
//
// The header and the tabs show the top: a store's detail is under the
// Stores tab, a region's under Regions, a reload's under Reloads,
// wherever it was opened from.

// maxBack bounds the way back; an operator hopping region → store →
// region … for an hour must not grow it without end.
const maxBack = 32

// place is one entry of the navigation stack.
type place struct {
	view   viewID
	detail *detailView // nil: the view itself
	// filter is the view's list filter on that page; opened is the one
	// the page was opened with (esc undoes a filter typed over it).
	filter, opened string
	// cur is the list's cursor there; ovSel the Overview's selection.
	cur   listMark
	ovSel string
}

// listMark is where a list's cursor was: the row it was on and its line.
type listMark struct {
	sel            rowID
	hasSel         bool
	cursor, offset int
}

func (l *listView) mark() listMark {
	return listMark{sel: l.sel, hasSel: l.hasSel, cursor: l.tbl.cursor, offset: l.tbl.offset}
}

// restoreMark puts the cursor back on the marked row (followed by its ID
// into the current snapshot, at the same screen line) once derived.
func (l *listView) restoreMark(m listMark) {
	l.sel, l.hasSel = m.sel, m.hasSel
	l.tbl.cursor, l.tbl.offset = m.cursor, m.offset
	l.dirty = true
}

// here is the top of the stack: the page on screen.
func (a *app) here() place {
	p := place{view: a.view, detail: a.detail, opened: a.opened, ovSel: a.overview.sel}
	if l := a.lists[a.view]; l != nil {
		p.filter, p.cur = l.filter.raw, l.mark()
	}
	return p
}

// samePage: going to p from here would change nothing on screen.
func (a *app) samePage(p place) bool {
	if p.view != a.view || !sameDetail(p.detail, a.detail) {
		return false
	}
	l := a.lists[a.view]
	return l == nil || p.detail != nil || p.filter == l.filter.raw
}

func sameDetail(x, y *detailView) bool {
	switch {
	case x == nil || y == nil:
		return x == y
	case x.flush != nil || y.flush != nil:
		return x == y
	}
	return x.store == y.store && x.sub == y.sub && x.id == y.id
}

// push goes to p, keeping the page on screen for esc. Going to the page
// already on screen pushes nothing.
func (a *app) push(p place) {
	if a.samePage(p) {
		return
	}
	a.back = append(a.back, a.here())
	if len(a.back) > maxBack {
		a.back = append(a.back[:0], a.back[len(a.back)-maxBack:]...)
	}
	a.show(p, false)
}

// pop goes back one page; false on the first page.
func (a *app) pop() bool {
	n := len(a.back)
	if n == 0 {
		return false
	}
	p := a.back[n-1]
	a.back = a.back[:n-1]
	a.show(p, true)
	return true
}

// show puts p on screen. Returning (esc) restores its list's filter and
// cursor; arriving anew with another filter starts the list at its top.
func (a *app) show(p place, returning bool) {
	a.view, a.detail, a.opened = p.view, p.detail, p.opened
	if l := a.lists[p.view]; l != nil {
		switch {
		case returning:
			l.setFilter(p.filter)
			l.restoreMark(p.cur)
		case p.filter != l.filter.raw:
			l.setFilter(p.filter)
			l.restoreMark(listMark{})
		case l.stickyTop && l.tbl.cursor == 0:
			// A log left with the cursor on its top row opens on the
			// newest again; esc, returning, puts it back on its row.
			l.restoreMark(listMark{})
		}
		if l.filter.err != "" && !returning {
			a.setFlash("invalid filter: "+l.filter.err, true)
		}
	}
	if p.view == viewOverview && returning {
		a.overview.sel = p.ovSel
	}
	a.layout()
	a.deriveVisible()
}

// escape is esc on a page (help, the command line, a filter being typed
// and the y prompt were closed before it gets here).
func (a *app) escape() {
	if l := a.lists[a.view]; l != nil && a.detail == nil && l.filter.raw != a.opened {
		// A filter typed on this page: undone first.
		l.setFilter(a.opened)
		a.deriveVisible()
		return
	}
	if a.pop() {
		return
	}
	if a.detail != nil {
		a.detail = nil // the way back was longer than maxBack
		return
	}
	if l := a.lists[a.view]; l != nil && a.detail == nil && l.filter.active() {
		l.setFilter("")
		a.opened = ""
		a.deriveVisible()
		return
	}
	a.setFlash("nothing to go back to: this is the first page (1–8 switch views, q quits)", false)
}

// switchView is a view key (1–8, tab) or a click on a tab: the view with
// the filter its list has.
func (a *app) switchView(v viewID) {
	v = (v + numViews) % numViews
	p := place{view: v}
	if l := a.lists[v]; l != nil {
		p.filter, p.opened = l.filter.raw, l.filter.raw
	}
	a.push(p)
}

// homeView is the tab a detail page belongs under.
func homeView(d *detailView) viewID {
	switch {
	case d.flush != nil:
		return viewReloads
	case d.store:
		return viewStores
	}
	return viewRegions
}

// pushDetail opens d under its own tab, keeping the page it replaces for
// esc. The view under it keeps its filter.
func (a *app) pushDetail(d *detailView) {
	p := place{view: homeView(d), detail: d}
	if l := a.lists[p.view]; l != nil {
		p.filter, p.opened = l.filter.raw, l.filter.raw
	}
	a.push(p)
}

// openStore shows a store's detail.
func (a *app) openStore(id uint64) {
	a.pushDetail(&detailView{store: true, id: id})
}

// openRegion shows a region's detail.
func (a *app) openRegion(sub, id uint64) {
	a.pushDetail(&detailView{sub: sub, id: id})
}

// openRegionByID shows region id of whichever subscription has it (the
// first); false when the snapshot has no such region.
func (a *app) openRegionByID(id uint64) bool {
	if a.shown == nil {
		return false
	}
	t := a.shown.RegionTable()
	for i := range t.Len() {
		if r := t.Static(i); r.ID == id {
			a.openRegion(r.Subscription, r.ID)
			return true
		}
	}
	return false
}

// showRegionsOf goes to the Regions view filtered to a store's regions.
func (a *app) showRegionsOf(storeID uint64) {
	a.showFiltered(viewRegions, "store:"+strconv.FormatUint(storeID, 10))
}

// showFiltered goes to view v with filter on (the page's own filter:
// esc goes back, it does not clear it).
func (a *app) showFiltered(v viewID, filter string) {
	a.push(place{view: v, filter: filter, opened: filter})
}

// detailEnter is enter on a detail page: to the related thing.
func (a *app) detailEnter() {
	d := a.detail
	switch {
	case d.flush != nil:
	case d.store:
		a.showRegionsOf(d.id)
	default:
		r := findRegion(a.shown, d.sub, d.id)
		if r == nil {
			a.setFlash("region "+strconv.FormatUint(d.id, 10)+" is not in the current snapshot; no store to open", false)
			return
		}
		a.openStore(r.StoreID)
	}
}

// openLogEntry is enter on an event: what the event names — a store, a
// region, a cause's regions, PD's line on the Overview. An event that
// names none of them (a fault-script line whose target the script left
// to `random`, the engine starting) opens nothing, and the status line
// says so, with the event's text in full.
func (a *app) openLogEntry(e *snapshots.LogEntry) {
	if a.openSubject(e.Subject) {
		return
	}
	if e.Kind == snapshots.LogFault {
		// "script line 3" names a line of the script; the line's text may
		// name its target ("at 5s stop-store 2", "… random → region 24").
		if what, id, ok := faultTarget(e.Text); ok && a.openSubject(what+" "+strconv.FormatUint(id, 10)) {
			return
		}
	}
	a.setFlash("nothing to open: the event names no region, store or cause ("+orDash(e.Subject)+": "+e.Text+")", false)
}

// faultTarget finds the region or store a fault-script line's text names:
// the first "region N", "store N", "silence-region N", "stop-store N",
// "kill-stream N" and the like. "region random" names none.
func faultTarget(text string) (what string, id uint64, ok bool) {
	words := strings.Fields(text)
	for i := 0; i+1 < len(words); i++ {
		w := strings.ToLower(words[i])
		switch {
		case w == "region" || strings.HasSuffix(w, "-region"):
			what = "region"
		case w == "store" || strings.HasSuffix(w, "-store") || w == "kill-stream":
			what = "store"
		default:
			continue
		}
		n, err := strconv.ParseUint(strings.Trim(words[i+1], ".,;:()[]"), 10, 64)
		if err == nil && n != 0 {
			return what, n, true
		}
	}
	return "", 0, false
}

// openSubject opens "store 2", "region 60", "cause lock" or "pd"; false
// for anything else.
func (a *app) openSubject(subject string) bool {
	// "store 3 (127.0.0.1:20162)": the id is the word after the kind.
	kind, rest, _ := strings.Cut(subject, " ")
	if kind != "cause" {
		rest, _, _ = strings.Cut(rest, " ")
	}
	switch kind {
	case "store":
		if id, err := strconv.ParseUint(rest, 10, 64); err == nil {
			a.openStore(id)
			return true
		}
	case "region":
		if id, err := strconv.ParseUint(rest, 10, 64); err == nil {
			if !a.openRegionByID(id) {
				// Gone (split or merged away): its detail still has
				// the history the UI kept.
				a.openRegion(1, id)
			}
			return true
		}
	case "cause":
		if rest != "" {
			a.showFiltered(viewRegions, "cause:"+rest)
			return true
		}
	case "pd":
		a.switchView(viewOverview)
		return true
	}
	return false
}

// overviewNav moves the Overview's selection among the lines that name a
// culprit (the worst lag, a store, an error reason); enter opens it.
func (a *app) overviewNav(msg tea.KeyMsg) {
	km, v := &a.keys, a.overview
	switch {
	case key.Matches(msg, km.Up):
		v.move(-1)
	case key.Matches(msg, km.Down):
		v.move(1)
	case key.Matches(msg, km.Top):
		v.move(-len(v.targets))
	case key.Matches(msg, km.Bottom):
		v.move(len(v.targets))
	case key.Matches(msg, km.Back):
		a.escape()
	case key.Matches(msg, km.Detail):
		i := v.selected()
		if i < 0 {
			a.setFlash("nothing to open: no lag, no store in trouble, no errors", false)
			return
		}
		a.openTarget(v.targets[i])
	}
}

func (a *app) openTarget(t ovTarget) {
	switch {
	case t.region != 0:
		if t.sub == 0 || !a.regionShown(t.sub, t.region) {
			if !a.openRegionByID(t.region) {
				a.setFlash("region "+strconv.FormatUint(t.region, 10)+" is not in the current snapshot", true)
			}
			return
		}
		a.openRegion(t.sub, t.region)
	case t.store != 0:
		a.openStore(t.store)
	default:
		a.showFiltered(t.view, t.filter)
	}
}

func (a *app) regionShown(sub, id uint64) bool { return findRegion(a.shown, sub, id) != nil }
