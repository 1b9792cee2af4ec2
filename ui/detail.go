package ui

import (
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/pulltop/pulltop/snapshots"
)

// detailView is the drill-down (enter) on one region or one store: every
// field of its current row, where it waits (retry heap, reload span), and
// the history the UI has accumulated for it. It follows the object by ID,
// so it stays on the same region while snapshots come and go.
type detailView struct {
	store  bool   // a store; otherwise a region
	sub    uint64 // regions only
	id     uint64
	scroll int
	// flush, when set, is a row of the Reloads view (detail_reload.go).
	flush *flushDetail

	// Looking the object up is O(regions); it is done once per snapshot,
	// not per frame.
	cachedFor   *snapshots.State
	region      *snapshots.Region
	storeCounts map[string]int
	// lineage is the region's, kept once it is gone from the snapshot.
	lineage []snapshots.Origin
}

// lookup finds the object in s, reusing the last answer for the same s.
func (d *detailView) lookup(s *snapshots.State) {
	if d.cachedFor == s {
		return
	}
	d.cachedFor = s
	if !d.store {
		d.region = findRegion(s, d.sub, d.id)
		return
	}
	d.storeCounts = map[string]int{}
	if s == nil {
		return
	}
	t := s.RegionTable()
	for i := range t.Len() {
		if r := t.Static(i); r.StoreID == d.id {
			d.storeCounts[r.State]++
		}
	}
}

func (d *detailView) title() string {
	if d.flush != nil {
		return d.flush.title()
	}
	if d.store {
		return "store " + strconv.FormatUint(d.id, 10)
	}
	return "region " + strconv.FormatUint(d.id, 10) + " (subscription " + strconv.FormatUint(d.sub, 10) + ")"
}

// findRegion returns the region in s, or nil.
func findRegion(s *snapshots.State, sub, id uint64) *snapshots.Region {
	if s == nil {
		return nil
	}
	t := s.RegionTable()
	for i := range t.Len() {
		if r := t.Static(i); r.ID == id && r.Subscription == sub {
			row := new(snapshots.Region)
			t.Row(i, row)
			return row
		}
	}
	return nil
}

func findStore(s *snapshots.State, id uint64) *snapshots.Store {
	if s == nil {
		return nil
	}
	for i := range s.Stores {
		if st := &s.Stores[i]; st.ID == id {
			return st
		}
	}
	return nil
}

// lines renders the detail body.
func (a *app) detailLines(d *detailView) []string {
	if d.flush != nil {
		return a.flushDetailLines(d.flush)
	}
	if d.store {
		return a.storeDetailLines(d)
	}
	return a.regionDetailLines(d)
}

func (a *app) regionDetailLines(d *detailView) []string {
	s, th, names := a.shown, a.theme, a.names
	var out []string
	kv := func(k, v string) { out = append(out, "   "+th.Section.render(fit(k, 14))+" "+v) }
	out = append(out, " "+th.Title.render("Region "+strconv.FormatUint(d.id, 10))+
		"  subscription "+strconv.FormatUint(d.sub, 10)+"   (esc: back)")
	d.lookup(s)
	r := d.region
	if r == nil {
		out = append(out, "   not in the current snapshot: split, merged away or unsubscribed. History below.")
	} else {
		init := "not initialized"
		if r.Initialized {
			init = "initialized"
		}
		kv("state", th.RegionState(r.State).render(regionStateWord(r.State))+"  ("+init+")")
		kv("cause", a.causeSince(r.Cause, r.Since))
		for _, line := range wrapText(r.Diagnosis, a.width-19) {
			kv("", line)
		}
		store := "store " + strconv.FormatUint(r.StoreID, 10)
		if st := findStore(s, r.StoreID); st != nil {
			store += "  " + st.Addr + "  " + storeLabel(st, s)
		}
		past := a.past()
		if past {
			kv("store", store+"   (leader, epoch, resolved ts and events are not kept in the timeline)")
		} else {
			kv("store", store+"   leader peer "+strconv.FormatUint(r.LeaderPeer, 10)+"   (enter: the store)")
			kv("epoch", "version "+strconv.FormatUint(r.EpochVersion, 10)+", conf ver "+strconv.FormatUint(r.EpochConfVer, 10))
			if p := s.Source.ScanPriority; p != "" {
				kv("scan priority", p+"   (asked on every initial scan; ignored where unsupported)")
			}
		}
		kv("span", names.spanName(r.Start, r.End))
		kv("", "start "+hexOr(r.Start, "(keyspace start)"))
		kv("", "end   "+hexOr(r.End, "(keyspace end)"))
		lag := "-"
		if lagKnown(r) {
			lag = th.lagText(r.ResolvedLagMs, s.Source.StaleAfterMs)
		}
		if past {
			kv("lag", lag)
		} else {
			kv("resolved ts", strconv.FormatUint(r.ResolvedTs, 10)+"   lag "+lag)
			kv("events", strconv.FormatUint(r.Events, 10))
		}
		kv("retries", strconv.Itoa(r.RetryAttempts)+" attempts")
		for k, line := range wrapText(a.errorWithAge(r.LastError, r.LastErrorAt, r.Since), a.width-19) {
			kv(map[bool]string{true: "last error"}[k == 0], line)
		}
		kv("retry heap", a.pendingRetry(r))
		kv("reload", a.pendingReload(r))
	}
	lineage := d.lineage
	if r != nil {
		lineage = r.Lineage
		d.lineage = lineage // kept for when it is gone
	}
	if len(lineage) > 0 {
		kv("lineage", a.lineageText(lineage))
	}
	if strip := a.regionStrip(d.sub, d.id, a.width); strip != nil {
		out = append(out, "")
		out = append(out, " "+th.ColHeader.render("TIMELINE")+"  its state over the timeline kept ("+a.rec.Window().String()+")")
		out = append(out, strip...)
	}
	out = append(out, "")
	out = append(out, " "+th.ColHeader.render("HISTORY")+"  newest first; changes this UI has seen, up to "+
		strconv.Itoa(regionHistoryLen))
	if t := a.hist.region(d.sub, d.id); t != nil {
		out = a.appendChanges(out, a.hist.regionChanges(t, a.shownSeq()))
	} else {
		out = append(out, "   none")
	}
	// The history of the regions it came from: a split or merge gives the
	// range a new id, not a new past.
	for _, o := range lineage {
		t := a.hist.region(d.sub, o.From)
		if t == nil {
			continue
		}
		out = append(out, "")
		out = append(out, " "+th.ColHeader.render("HISTORY OF REGION "+strconv.FormatUint(o.From, 10))+
			"  before the "+o.Kind+" at "+o.At.In(a.opts.Now().Location()).Format("15:04:05"))
		out = a.appendChanges(out, a.hist.regionChanges(t, a.shownSeq()))
	}
	return out
}

// lineageText is "split from 70 at 00:28:20 ← split from 8 at 00:27:01".
func (a *app) lineageText(lineage []snapshots.Origin) string {
	loc := a.opts.Now().Location()
	var b strings.Builder
	for i, o := range lineage {
		if i > 0 {
			b.WriteString(" ← ")
		}
		b.WriteString(o.Phrase())
		b.WriteString(" at ")
		b.WriteString(o.At.In(loc).Format("15:04:05"))
	}
	return b.String()
}

func (a *app) storeDetailLines(d *detailView) []string {
	s, th := a.shown, a.theme
	var out []string
	kv := func(k, v string) { out = append(out, "   "+th.Section.render(fit(k, 14))+" "+v) }
	out = append(out, " "+th.Title.render("Store "+strconv.FormatUint(d.id, 10))+"   (esc: back; enter: its regions)")
	st := findStore(s, d.id)
	if st == nil {
		out = append(out, "   not in the current snapshot.")
	} else {
		kv("address", st.Addr)
		state := th.StoreState(st.State).render(storeStateWord(st.State))
		switch label := storeLabel(st, s); {
		case label == "SUSPECT":
			state += "  " + th.Warn.render("SUSPECT") + ": its stream has said nothing for half of --stale-after"
		case label != storeStateWord(st.State):
			state += "  " + th.Warn.render(label) + ": PD does not answer, so its regions cannot be located"
		}
		kv("state", state)
		if st.Condition != "" {
			kv("condition", a.causeSince(st.Condition, st.Since))
			for _, line := range wrapText(st.Diagnosis, a.width-19) {
				kv("", line)
			}
		}
		kv("cooldown", cooldownText(st, a.ctx.elapsed))
		kv("max lag", th.lagText(st.MaxLagMs, s.Source.StaleAfterMs))
		kv("waiting", strconv.Itoa(st.Waiting)+" regions not initialized")
		lastMsg := "never"
		if !st.LastMsgAt.IsZero() {
			lastMsg = fmtDur(max(0, s.TakenAt.Sub(st.LastMsgAt).Milliseconds()+a.ctx.elapsed)) + " ago"
		}
		kv("last message", lastMsg)
		for k, line := range wrapText(a.errorWithAge(st.LastError, st.LastErrorAt, st.Since), a.width-19) {
			kv(map[bool]string{true: "last error"}[k == 0], line)
		}
		kv("failures", strconv.Itoa(st.Failures))
		kv("streams", strconv.Itoa(st.Streams))
		kv("regions", strconv.Itoa(st.Regions))
		d.lookup(s)
		kv("by state", countWords(d.storeCounts, snapshots.RegionStates(), regionStateWord))
	}
	out = append(out, "")
	out = append(out, " "+th.ColHeader.render("HISTORY")+"  newest first; changes this UI has seen")
	if t := a.hist.stores[d.id]; t != nil {
		out = a.appendChanges(out, t.hist.newestFirst(a.shownSeq()))
	} else {
		out = append(out, "   none")
	}
	return out
}

// appendChanges appends changes (newest first) as the detail's lines.
func (a *app) appendChanges(out []string, changes []change) []string {
	loc := a.opts.Now().Location()
	for _, c := range changes {
		out = append(out, "   "+c.at.In(loc).Format("15:04:05.000")+"  "+c.describe())
	}
	return out
}

func (a *app) pendingRetry(r *snapshots.Region) string {
	for _, rt := range a.shown.Retries {
		if rt.RegionID == r.ID && rt.Subscription == r.Subscription {
			due := rt.DueInMs - a.ctx.elapsed
			when := "due now"
			if due > 0 {
				when = "due in " + fmtDur(due)
			}
			return rt.Reason + ", attempt " + strconv.Itoa(rt.Attempt) + ", " + when
		}
	}
	return "not waiting"
}

func (a *app) pendingReload(r *snapshots.Region) string {
	for _, rl := range a.shown.Reloads {
		if rl.Subscription == r.Subscription && spanCovers(rl.Start, rl.End, r.Start) {
			return "waiting in " + a.names.spanName(rl.Start, rl.End) + ", merged from " +
				strconv.Itoa(rl.MergedFrom) + ", queued " + fmtDur(rl.QueuedMsAgo+a.ctx.elapsed) + " ago (" + rl.Reason + ")"
		}
	}
	return "not waiting"
}

// spanCovers reports whether key lies in [start, end). Keys are lowercase
// hex of memcomparable keys, whose string order is the key order; the empty
// end is the end of the keyspace.
func spanCovers(start, end, key string) bool {
	return strings.ToLower(key) >= strings.ToLower(start) && (end == "" || strings.ToLower(key) < strings.ToLower(end))
}

func hexOr(h, empty string) string {
	if h == "" {
		return empty
	}
	return h
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// causeSince is "lock since 11:59:48 (12s)": the cause and since when, as
// of the snapshot on screen.
func (a *app) causeSince(cause string, since time.Time) string {
	if cause == "" {
		return "- (not diagnosed: a snapshot from before causes)"
	}
	if since.IsZero() {
		return cause
	}
	return cause + " since " + a.clockAge(since)
}

// clockAge is "11:59:48 (12s ago)" as of the snapshot on screen.
func (a *app) clockAge(t time.Time) string {
	age := a.shown.TakenAt.Sub(t).Milliseconds() + a.ctx.elapsed
	return t.In(a.opts.Now().Location()).Format("15:04:05") + " (" + fmtDur(max(age, 0)) + " ago)"
}

// errorWithAge is the last error with when it happened, marked when it is
// older than the current condition: then it is history, not the cause.
func (a *app) errorWithAge(text string, at, since time.Time) string {
	if text == "" {
		return "-"
	}
	if at.IsZero() {
		return text
	}
	out := text + "  at " + a.clockAge(at)
	if !since.IsZero() && at.Before(since) {
		out += "  [before the current condition: not its cause]"
	}
	return out
}

// wrapText breaks text into lines of at most width cells, at spaces where
// it can; nil for "".
func wrapText(text string, width int) []string {
	if text == "" {
		return nil
	}
	width = max(width, 20)
	return strings.Split(ansi.Wrap(text, width, ""), "\n")
}
