package ui

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pulltop/pulltop/snapshots"
)

// flushDetail is the drill-down (enter) on a row of the Reloads view: a
// recent flush with the spans it absorbed drawn against the span they were
// merged into, or a span still waiting. It follows the row by (subscription,
// start key, flush time) across snapshots, and keeps the row as last seen,
// so a flush that has left the engine's history still shows.
type flushDetail struct {
	sub   uint64
	start string
	at    time.Time // zero for a span still waiting

	flushed   snapshots.RecentReload
	waiting   snapshots.Reload
	cachedFor *snapshots.State
	gone      bool // not in the snapshot on screen
	takenAt   time.Time
}

// reloadDetail opens the detail of row i of the Reloads view.
func (a *app) reloadDetail(v *reloadsView, i int32) *detailView {
	r := v.row(i)
	d := &flushDetail{sub: r.sub(), cachedFor: v.s, takenAt: v.s.TakenAt}
	if r.waiting != nil {
		d.start, d.waiting = r.waiting.Start, *r.waiting
	} else {
		d.start, d.at, d.flushed = r.flushed.Start, r.flushed.At, *r.flushed
	}
	return &detailView{sub: d.sub, flush: d}
}

func (d *flushDetail) isWaiting() bool { return d.at.IsZero() }

// lookup refreshes the row from s, once per snapshot. PD's answer arrives
// after the flush, so a flush's row changes while it is shown.
func (d *flushDetail) lookup(s *snapshots.State) {
	if s == nil || d.cachedFor == s {
		return
	}
	d.cachedFor, d.takenAt = s, s.TakenAt
	d.gone = true
	if d.isWaiting() {
		for i := range s.Reloads {
			if r := &s.Reloads[i]; r.Subscription == d.sub && r.Start == d.start {
				d.waiting, d.gone = *r, false
				return
			}
		}
		return
	}
	for i := range s.RecentReloads {
		if r := &s.RecentReloads[i]; r.Subscription == d.sub && r.Start == d.start && r.At.Equal(d.at) {
			d.flushed, d.gone = *r, false
			return
		}
	}
}

func (d *flushDetail) title() string {
	if d.isWaiting() {
		return "waiting reload span (subscription " + strconv.FormatUint(d.sub, 10) + ")"
	}
	return "reload flush (subscription " + strconv.FormatUint(d.sub, 10) + ")"
}

// span is the merged span.
func (d *flushDetail) span() (string, string) {
	if d.isWaiting() {
		return d.waiting.Start, d.waiting.End
	}
	return d.flushed.Start, d.flushed.End
}

func (a *app) flushDetailLines(d *flushDetail) []string {
	d.lookup(a.shown)
	th, names := a.theme, a.names
	loc := a.opts.Now().Location()
	var out []string
	kv := func(k, v string) { out = append(out, "   "+th.Section.render(fit(k, 14))+" "+v) }
	start, end := d.span()
	if d.isWaiting() {
		w := &d.waiting
		out = append(out, " "+th.Title.render("Reload span waiting")+"  subscription "+strconv.FormatUint(d.sub, 10)+"   (esc: back)")
		if d.gone {
			out = append(out, "   flushed since: find it among the recent flushes in Reloads (4). As last seen:")
		}
		kv("merged span", names.spanName(start, end))
		kv("", "start "+hexOr(start, "(keyspace start)"))
		kv("", "end   "+hexOr(end, "(keyspace end)"))
		kv("reasons", orDash(w.Reason))
		kv("merged from", plural(w.MergedFrom, "request", "requests")+" so far")
		kv("queued", fmtDur(w.QueuedMsAgo+a.ctx.elapsed)+" ago")
		out = append(out, "", "   The spans it absorbs are drawn here once it is flushed (after the 25ms debounce).")
		return out
	}
	f := &d.flushed
	ago := max(0, d.takenAt.Sub(f.At).Milliseconds()) + a.ctx.elapsed
	out = append(out, " "+th.Title.render("Reload flush")+"  subscription "+strconv.FormatUint(d.sub, 10)+
		"  at "+f.At.In(loc).Format("15:04:05.000")+" ("+fmtDur(ago)+" ago)   (esc: back)")
	if d.gone {
		out = append(out, "   no longer in the engine's recent flushes (it keeps the last 256). As last seen:")
	}
	kv("merged span", names.spanName(start, end))
	kv("", "start "+hexOr(start, "(keyspace start)"))
	kv("", "end   "+hexOr(end, "(keyspace end)"))
	kv("reasons", orDash(strings.Join(f.Reasons, ", ")))
	kv("merged from", plural(f.MergedFrom, "request", "requests")+" into this one span ("+
		strconv.Itoa(max(0, f.MergedFrom-1))+" merged away)")
	pd := "not answered yet (the lookup is running, or failed and is retried)"
	if f.Regions >= 0 {
		pd = plural(f.Regions, "region", "regions") + " in the merged span"
	}
	kv("PD answered", pd)
	out = append(out, "")
	out = append(out, a.flushPicture(f)...)
	return out
}

// flushPicture draws the absorbed spans against the merged span: one bar
// per request, aligned to the merged range, in characters (█ covered, ·
// not), so overlap, adjacency and duplicates show without colour. Key
// bytes have no useful distance, so the axis is the distinct boundaries in
// key order, evenly spaced: it shows how the requests fit together, not
// how many keys each held.
func (a *app) flushPicture(f *snapshots.RecentReload) []string {
	th, names := a.theme, a.names
	out := []string{" " + th.ColHeader.render("ABSORBED") + "  " +
		plural(f.MergedFrom, "request", "requests") + ", one bar each against the merged span; boundaries in key order, not to scale"}
	if len(f.Absorbed) == 0 {
		return append(out, "   none recorded")
	}

	// Boundaries in key order. Keys are lowercase hex, whose string order
	// is the key order; an empty end is +inf, which "~" sorts after any hex.
	const inf = "~"
	endKey := func(h string) string {
		if h == "" {
			return inf
		}
		return h
	}
	bounds := []string{f.Start, endKey(f.End)}
	for _, s := range f.Absorbed {
		bounds = append(bounds, s.Start, endKey(s.End))
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	// Absorbed spans lie inside the merged one; clamp anyway, so a bad file
	// cannot draw outside the frame.
	lo, _ := slices.BinarySearch(bounds, f.Start)
	hi, _ := slices.BinarySearch(bounds, endKey(f.End))
	bounds = bounds[lo : hi+1]
	steps := max(1, len(bounds)-1)

	// The bars take what the longest label leaves, between 16 and 64 cells.
	const indent = 11
	labels := make([]string, len(f.Absorbed))
	longest := 0
	for k, s := range f.Absorbed {
		labels[k] = names.spanName(s.Start, s.End) + "  " + orDash(s.Reason)
		longest = max(longest, textWidth(labels[k]))
	}
	width := min(64, max(16, a.width-1-indent-2-longest))
	pos := func(key string) int {
		i, _ := slices.BinarySearch(bounds, key)
		return min(steps, i) * width / steps
	}
	bar := func(start, end string) string {
		x0, x1 := pos(max(start, bounds[0])), pos(min(endKey(end), bounds[len(bounds)-1]))
		if x1 <= x0 { // more boundaries than cells: at least one cell each
			x0, x1 = min(x0, width-1), min(x0, width-1)+1
		}
		return strings.Repeat("·", x0) + strings.Repeat("█", x1-x0) + strings.Repeat("·", width-x1)
	}

	// The axis: the merged span's bounds named at its ends, every boundary
	// marked | on it.
	pad := strings.Repeat(" ", indent)
	left, right := names.start(f.Start), names.end(f.End)
	gap := width + 1 - textWidth(left) - textWidth(right)
	if gap >= 1 {
		out = append(out, pad+left+strings.Repeat(" ", gap)+right)
	} else {
		out = append(out, pad+left+" to "+right+" (left to right)")
	}
	axis := []byte(strings.Repeat("-", width+1))
	for _, b := range bounds {
		axis[pos(b)] = '|'
	}
	out = append(out, pad+string(axis))
	for k, s := range f.Absorbed {
		num := strconv.Itoa(k + 1)
		out = append(out, "   "+strings.Repeat(" ", max(0, 6-len(num)))+num+"  "+bar(s.Start, s.End)+"  "+labels[k])
	}
	if more := f.MergedFrom - len(f.Absorbed); more > 0 {
		out = append(out, pad+"… and "+plural(more, "more request", "more requests")+
			" (the engine keeps the first "+strconv.Itoa(len(f.Absorbed))+" of a flush)")
	}
	out = append(out, "   "+th.Section.render("merged")+"  "+bar(f.Start, f.End)+"  "+names.spanName(f.Start, f.End))
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
