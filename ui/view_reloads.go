package ui

import (
	"cmp"
	"strings"

	"github.com/pulltop/pulltop/snapshots"
)

// reloadsView lists the reload aggregator (Reloads, key 4): the merged spans
// waiting in it now, on top, then the recent flushes, newest first, each
// with how many requests it absorbed and how many regions PD found in it.
// A flush waits only for the 25 ms debounce, so without the recent ones
// this view would be empty at almost every refresh (issue 17).
//
// Rows 0..len(Reloads)-1 are the waiting spans, the rest index the
// snapshot's RecentReloads.
type reloadsView struct {
	ctx *renderCtx
	s   *snapshots.State
}

const (
	relColAge = iota
	relColState
	relColSub
	relColReason
	relColMerged
	relColRegions
	relColSpan
)

// Row states, in words: the STATE column must not be colour alone.
const (
	reloadWaiting = "waiting"
	reloadFlushed = "flushed"
)

func (v *reloadsView) noun() string { return "reload spans (waiting, recently flushed)" }

func (v *reloadsView) columns() []column {
	return []column{
		relColAge:     {title: "AGE", width: 7, right: true},
		relColState:   {title: "STATE", width: 7},
		relColSub:     {title: "SUB", width: 4, right: true, drop: 3},
		relColReason:  {title: "REASON", width: 19, flex: 1, max: 32, drop: 1},
		relColMerged:  {title: "MERGED", width: 6, right: true},
		relColRegions: {title: "REGIONS", width: 7, right: true, drop: 2},
		relColSpan:    {title: "SPAN", width: 24, flex: 3},
	}
}

// Youngest first: the flush that just happened is the news.
func (v *reloadsView) defaultSort() (int, bool) { return relColAge, false }

// reloadRow is one row of either kind, read straight from the snapshot.
type reloadRow struct {
	waiting *snapshots.Reload
	flushed *snapshots.RecentReload
}

func (v *reloadsView) row(i int32) reloadRow {
	if n := int32(len(v.s.Reloads)); i >= n {
		return reloadRow{flushed: &v.s.RecentReloads[i-n]}
	}
	return reloadRow{waiting: &v.s.Reloads[i]}
}

func (r reloadRow) sub() uint64 {
	if r.waiting != nil {
		return r.waiting.Subscription
	}
	return r.flushed.Subscription
}

func (r reloadRow) span() (string, string) {
	if r.waiting != nil {
		return r.waiting.Start, r.waiting.End
	}
	return r.flushed.Start, r.flushed.End
}

func (r reloadRow) mergedFrom() int {
	if r.waiting != nil {
		return r.waiting.MergedFrom
	}
	return r.flushed.MergedFrom
}

// regions is PD's answer for a flushed span: -1 unanswered, -2 for a span
// still waiting (no lookup yet), so sorting puts answers above both.
func (r reloadRow) regions() int {
	if r.waiting != nil {
		return -2
	}
	return r.flushed.Regions
}

// reason joins a flush's reasons the way a waiting span's are joined.
func (r reloadRow) reason() string {
	if r.waiting != nil {
		return r.waiting.Reason
	}
	return strings.Join(r.flushed.Reasons, ",")
}

func (r reloadRow) state() string {
	if r.waiting != nil {
		return reloadWaiting
	}
	return reloadFlushed
}

// ageMs is how long ago the span was queued (waiting) or flushed, at the
// time the snapshot was taken.
func (v *reloadsView) ageMs(r reloadRow) int64 {
	if r.waiting != nil {
		return r.waiting.QueuedMsAgo
	}
	return max(0, v.s.TakenAt.Sub(r.flushed.At).Milliseconds())
}

func (v *reloadsView) fields() []field {
	return []field{
		{name: "sub", aliases: []string{"subscription"}, kind: fieldNum, num: func(i int32) int64 { return int64(v.row(i).sub()) }},
		{name: "state", kind: fieldText, free: true, text: func(i int32) string { return v.row(i).state() }},
		{name: "reason", kind: fieldText, free: true, text: func(i int32) string { return v.row(i).reason() }},
		{name: "merged", aliases: []string{"merged_from"}, kind: fieldNum, num: func(i int32) int64 { return int64(v.row(i).mergedFrom()) }},
		{name: "regions", kind: fieldNum, num: func(i int32) int64 { return int64(v.row(i).regions()) }},
		{name: "age", kind: fieldDur, num: func(i int32) int64 { return v.ageMs(v.row(i)) + v.ctx.elapsed }},
		{name: "key", aliases: []string{"span"}, kind: fieldKey, free: true, keys: func(i int32) (string, string) { return v.row(i).span() }},
	}
}

func (v *reloadsView) setState(s *snapshots.State) { v.s = s }

func (v *reloadsView) length() int {
	if v.s == nil {
		return 0
	}
	return len(v.s.Reloads) + len(v.s.RecentReloads)
}

// group puts what waits now above what was flushed.
func (v *reloadsView) group(i int32) int {
	if i < int32(len(v.s.Reloads)) {
		return 0
	}
	return 1
}

func (v *reloadsView) rowID(i int32) rowID {
	r := v.row(i)
	start, _ := r.span()
	if r.waiting != nil {
		return rowID{a: r.waiting.Subscription, s: start}
	}
	// A flush emits one span per merged range of a subscription at one
	// instant: (subscription, start, when) names it.
	return rowID{a: r.flushed.Subscription, b: 1, s: start, t: r.flushed.At.UnixNano()}
}

func (v *reloadsView) compare(a, b int32, col int) int {
	x, y := v.row(a), v.row(b)
	switch col {
	case relColAge:
		return cmp.Compare(v.ageMs(x), v.ageMs(y))
	case relColState:
		return strings.Compare(x.state(), y.state())
	case relColSub:
		return cmp.Compare(x.sub(), y.sub())
	case relColReason:
		return strings.Compare(x.reason(), y.reason())
	case relColMerged:
		return cmp.Compare(x.mergedFrom(), y.mergedFrom())
	case relColRegions:
		return cmp.Compare(x.regions(), y.regions())
	case relColSpan:
		xs, _ := x.span()
		ys, _ := y.span()
		return cmp.Or(cmp.Compare(x.sub(), y.sub()), strings.Compare(xs, ys))
	}
	return 0
}

func (v *reloadsView) appendCell(dst []byte, i int32, col, w int, plain bool) []byte {
	r := v.row(i)
	switch col {
	case relColAge:
		if v.ctx.past && r.waiting != nil {
			return appendCell(dst, "-", w, true) // not kept in the timeline
		}
		return appendDurCell(dst, v.ageMs(r)+v.ctx.elapsed, w)
	case relColState:
		return appendCell(dst, r.state(), w, false)
	case relColSub:
		return appendUintCell(dst, r.sub(), w)
	case relColReason:
		if r.waiting != nil {
			return appendCell(dst, r.waiting.Reason, w, false)
		}
		return appendReasons(dst, r.flushed.Reasons, w)
	case relColMerged:
		return appendIntCell(dst, int64(r.mergedFrom()), w)
	case relColRegions:
		switch n := r.regions(); {
		case n >= 0:
			return appendIntCell(dst, int64(n), w)
		case n == -1:
			// Flushed, PD has not answered (or the lookup failed and is
			// retried): "?" rather than a number that could read as 0.
			return appendCell(dst, "?", w, true)
		}
		return appendCell(dst, "-", w, true)
	case relColSpan:
		start, end := r.span()
		return v.ctx.names.appendSpan(dst, start, end, w)
	}
	return appendSpaces(dst, w)
}

// appendReasons appends reasons joined by commas in w cells, without
// joining them into a new string for every row of every frame.
func appendReasons(dst []byte, reasons []string, w int) []byte {
	if len(reasons) == 1 {
		return appendCell(dst, reasons[0], w, false)
	}
	n := max(0, len(reasons)-1)
	for _, r := range reasons {
		n += len(r)
		if !plainASCII(r) {
			return appendCell(dst, strings.Join(reasons, ","), w, false)
		}
	}
	if n > w {
		return appendCell(dst, strings.Join(reasons, ","), w, false)
	}
	for k, r := range reasons {
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, r...)
	}
	return appendSpaces(dst, w-n)
}
