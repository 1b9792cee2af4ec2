package ui

import (
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/pulltop/pulltop/snapshots"
)

// Navigation between related things (issue 18): a region's detail leads to
// its store's (enter), a store's detail to its regions (enter: the Regions
// view filtered store:N), an event to what it is about; esc goes back the
// way the operator came, one page at a time.

// maxBack bounds the way back; an operator hopping region → store →
// region … for an hour must not grow it without end.
const maxBack = 32

// pushDetail opens d, keeping the page it replaces for esc.
func (a *app) pushDetail(d *detailView) {
	if a.detail != nil {
		a.back = append(a.back, a.detail)
		if len(a.back) > maxBack {
			a.back = a.back[len(a.back)-maxBack:]
		}
	}
	a.detail = d
}

// popDetail goes back one page: the previous detail, or the list.
func (a *app) popDetail() {
	if n := len(a.back); n > 0 {
		a.detail = a.back[n-1]
		a.back = a.back[:n-1]
		return
	}
	a.detail = nil
}

// clearDetails leaves every detail page (a view switch).
func (a *app) clearDetails() {
	a.detail = nil
	a.back = a.back[:0]
}

// openStore shows a store's detail, over whatever is on screen.
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

// showRegionsOf switches to the Regions view filtered to a store's regions.
func (a *app) showRegionsOf(storeID uint64) {
	a.showFiltered(viewRegions, "store:"+strconv.FormatUint(storeID, 10))
}

// showFiltered switches to view v with filter on.
func (a *app) showFiltered(v viewID, filter string) {
	l := a.lists[v]
	l.setFilter(filter)
	a.switchView(v)
	if l.filter.err != "" {
		a.setFlash("invalid filter: "+l.filter.err, true)
	}
}

// detailEnter is enter on a detail page: to the related thing.
func (a *app) detailEnter() {
	d := a.detail
	switch {
	case d.entry != nil:
		if !a.openSubject(d.entry.Subject) {
			a.setFlash("nothing to open for "+orDash(d.entry.Subject), false)
		}
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

// openLogEntry is enter on an event: what it is about, when that is a
// store, a region or a cause; the entry itself otherwise.
func (a *app) openLogEntry(e *snapshots.LogEntry) {
	entry := *e
	if a.openSubject(e.Subject) {
		return
	}
	a.pushDetail(&detailView{entry: &entry})
}

// openSubject opens "store 2", "region 60" or "cause lock"; false for
// anything else.
func (a *app) openSubject(subject string) bool {
	kind, rest, _ := strings.Cut(subject, " ")
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
