package ui

import (
	"errors"
	"slices"
	"strconv"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/pulltop/pulltop/snapshots"
)

// Operator actions change a production cluster's change feed, so each one
// goes through a dialog that names its target by ID (never "the selected
// row": rows move, k9s #1121 / bpytop #381), and runs from a tea.Cmd,
// because the engine answers through its event loop.

// confirmDialog is a pending action waiting for y.
type confirmDialog struct {
	prompt string       // names the target and the effect
	what   string       // for the flash line: "pause store 2"
	run    func() error // the Controller call
}

// answerConfirm runs the action on y; any other key cancels, so a stray
// keypress can never pause a store.
func (a *app) answerConfirm(msg tea.KeyMsg) tea.Cmd {
	c := a.confirm
	a.confirm = nil
	if !key.Matches(msg, a.keys.Confirm) {
		a.setFlash("cancelled: "+c.what, false)
		return nil
	}
	a.inflight++
	a.setFlash(c.what+"…", false)
	what, run := c.what, c.run
	return func() tea.Msg { return actionDoneMsg{what: what, err: run()} }
}

// askPause opens the pause (or resume) dialog for the store the operator is
// looking at: the selected store, or the store of the selected region.
func (a *app) askPause() {
	id, ok := a.targetStore()
	if !ok {
		a.setFlash("P acts on a store: select one in Stores (5) or a region in Regions (2)", true)
		return
	}
	st := findStore(a.shown, id)
	if st == nil {
		a.setFlash("store "+strconv.FormatUint(id, 10)+" is not in the current snapshot", true)
		return
	}
	name := "store " + strconv.FormatUint(st.ID, 10) + " (" + st.Addr + ")"
	ctrl := a.opts.Controller
	if st.State == snapshots.StorePaused {
		parked := 0
		t := a.shown.RegionTable()
		for i := range t.Len() {
			if r := t.Static(i); r.StoreID == id && r.State == snapshots.StateParked {
				parked++
			}
		}
		a.confirm = &confirmDialog{
			prompt: "Resume " + name + "? Its " + strconv.Itoa(parked) +
				" parked regions will be dispatched again. [y/N]",
			what: "resume store " + strconv.FormatUint(id, 10),
			run:  func() error { return ctrl.ResumeStore(id) },
		}
		return
	}
	a.confirm = &confirmDialog{
		prompt: "Pause " + name + "? Its " + strconv.Itoa(st.Regions) +
			" regions will be parked. [y/N]",
		what: "pause store " + strconv.FormatUint(id, 10),
		run:  func() error { return ctrl.PauseStore(id) },
	}
}

func (a *app) targetStore() (uint64, bool) {
	if a.shown == nil {
		return 0, false
	}
	if d := a.detail; d != nil {
		if d.store {
			return d.id, true
		}
		if r := findRegion(a.shown, d.sub, d.id); r != nil {
			return r.StoreID, true
		}
		return 0, false
	}
	l := a.lists[a.view]
	if l == nil {
		return 0, false
	}
	i, ok := l.selected()
	if !ok {
		return 0, false
	}
	switch a.view {
	case viewStores:
		return a.shown.Stores[i].ID, true
	case viewRegions:
		return a.shown.RegionTable().Static(int(i)).StoreID, true
	}
	return 0, false
}

// askReload opens the force-reload dialog: for the region or flush in detail, the
// selected region, the selected reload span, or — in Regions with a filter
// on — the span covering every matching region.
func (a *app) askReload() {
	s := a.shown
	if s == nil {
		return
	}
	if d := a.detail; d != nil && d.flush != nil {
		start, end := d.flush.span()
		a.askReloadSpan(d.sub, start, end)
		return
	}
	if d := a.detail; d != nil && !d.store {
		a.askReloadRegion(d.sub, d.id)
		return
	}
	l := a.lists[a.view]
	if l == nil || a.detail != nil {
		a.setFlash("R acts on a region or span: select one in Regions (2), Retries (3) or Reloads (4)", true)
		return
	}
	i, ok := l.selected()
	switch {
	case a.view == viewRegions && l.filter.active():
		a.askReloadFiltered(l)
	case !ok:
		a.setFlash("nothing selected", true)
	case a.view == viewRegions:
		r := s.RegionTable().Static(int(i))
		a.askReloadRegion(r.Subscription, r.ID)
	case a.view == viewRetries:
		r := l.model.(*retriesView).row(i)
		if r.region() == 0 {
			// A range retry (a failed PD lookup) names no region.
			start, end := r.span()
			a.askReloadSpan(r.sub(), start, end)
			return
		}
		a.askReloadRegion(r.sub(), r.region())
	case a.view == viewReloads:
		// A waiting span, or a flushed one to reload again.
		r := l.model.(*reloadsView).row(i)
		start, end := r.span()
		a.askReloadSpan(r.sub(), start, end)
	default:
		a.setFlash("R acts on a region or span: select one in Regions (2), Retries (3) or Reloads (4)", true)
	}
}

func (a *app) askReloadSpan(sub uint64, start, end string) {
	ctrl := a.opts.Controller
	span := a.names.spanName(start, end)
	a.confirm = &confirmDialog{
		prompt: "Force reload span " + span + " of subscription " + strconv.FormatUint(sub, 10) +
			"? Every region in it will be deregistered and reloaded. [y/N]",
		what: "force reload span " + span,
		run:  func() error { return ctrl.ForceReloadSpan(sub, start, end) },
	}
}

func (a *app) askReloadRegion(sub, id uint64) {
	ctrl := a.opts.Controller
	span := ""
	if r := findRegion(a.shown, sub, id); r != nil {
		span = " " + a.names.spanName(r.Start, r.End)
	}
	a.confirm = &confirmDialog{
		prompt: "Force reload region " + strconv.FormatUint(id, 10) + span + " of subscription " +
			strconv.FormatUint(sub, 10) + "? It will be deregistered and reloaded. [y/N]",
		what: "force reload region " + strconv.FormatUint(id, 10),
		run:  func() error { return ctrl.ForceReloadRegion(sub, id) },
	}
}

// askReloadFiltered offers to reload exactly the regions the filter
// matches, counted in the dialog. Each is reloaded on its own range and
// only ranges that touch are merged: a covering span would also reload
// every region between the matches (store:2 matched 21 regions and
// reloaded 61).
func (a *app) askReloadFiltered(l *listView) {
	s, ctrl := a.shown, a.opts.Controller
	if len(l.idx) == 0 {
		a.setFlash("the filter matches no region", true)
		return
	}
	bySub := map[uint64][]uint64{}
	var subs []uint64
	t := s.RegionTable()
	for _, i := range l.idx {
		r := t.Static(int(i))
		if bySub[r.Subscription] == nil {
			subs = append(subs, r.Subscription)
		}
		bySub[r.Subscription] = append(bySub[r.Subscription], r.ID)
	}
	slices.Sort(subs)
	for _, ids := range bySub {
		slices.Sort(ids)
	}
	n := strconv.Itoa(len(l.idx))
	where := "subscription " + strconv.FormatUint(subs[0], 10)
	if len(subs) > 1 {
		where = strconv.Itoa(len(subs)) + " subscriptions"
	}
	a.confirm = &confirmDialog{
		prompt: "Force reload the " + n + " regions matching \"" + l.filter.raw + "\" (" + where +
			")? Each will be deregistered and reloaded; no other region is touched. [y/N]",
		what: "force reload " + n + " regions",
		run: func() error {
			var errs []error
			for _, sub := range subs {
				if err := ctrl.ForceReloadRegions(sub, bySub[sub]); err != nil {
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		},
	}
}
