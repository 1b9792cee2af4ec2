package ui

import (
	"cmp"
	"strings"

	"pulltop/snapshots"
)

// reloadsView lists the merged spans waiting in the reload aggregator
// (Reloads, key 4): how many requests each absorbed and how long it waits.
type reloadsView struct {
	ctx *renderCtx
	s   *snapshots.State
}

const (
	relColAge = iota
	relColSub
	relColReason
	relColMerged
	relColSpan
)

func (v *reloadsView) noun() string { return "reload spans" }

func (v *reloadsView) columns() []column {
	return []column{
		relColAge:    {title: "AGE", width: 7, right: true},
		relColSub:    {title: "SUB", width: 4, right: true, drop: 2},
		relColReason: {title: "REASON", width: 19, flex: 1, max: 24, drop: 1},
		relColMerged: {title: "MERGED", width: 6, right: true},
		relColSpan:   {title: "SPAN", width: 24, flex: 3},
	}
}

func (v *reloadsView) defaultSort() (int, bool) { return relColAge, true }

func (v *reloadsView) fields() []field {
	r := func(i int32) *snapshots.Reload { return &v.s.Reloads[i] }
	return []field{
		{name: "sub", aliases: []string{"subscription"}, kind: fieldNum, num: func(i int32) int64 { return int64(r(i).Subscription) }},
		{name: "reason", kind: fieldText, free: true, text: func(i int32) string { return r(i).Reason }},
		{name: "merged", aliases: []string{"merged_from"}, kind: fieldNum, num: func(i int32) int64 { return int64(r(i).MergedFrom) }},
		{name: "age", kind: fieldDur, num: func(i int32) int64 { return r(i).QueuedMsAgo + v.ctx.elapsed }},
		{name: "key", aliases: []string{"span"}, kind: fieldKey, free: true, keys: func(i int32) (string, string) { return r(i).Start, r(i).End }},
	}
}

func (v *reloadsView) setState(s *snapshots.State) { v.s = s }

func (v *reloadsView) length() int {
	if v.s == nil {
		return 0
	}
	return len(v.s.Reloads)
}

func (v *reloadsView) rowID(i int32) rowID {
	r := &v.s.Reloads[i]
	return rowID{a: r.Subscription, s: r.Start}
}

func (v *reloadsView) compare(a, b int32, col int) int {
	x, y := &v.s.Reloads[a], &v.s.Reloads[b]
	switch col {
	case relColAge:
		return cmp.Compare(x.QueuedMsAgo, y.QueuedMsAgo)
	case relColSub:
		return cmp.Compare(x.Subscription, y.Subscription)
	case relColReason:
		return strings.Compare(x.Reason, y.Reason)
	case relColMerged:
		return cmp.Compare(x.MergedFrom, y.MergedFrom)
	case relColSpan:
		return cmp.Or(cmp.Compare(x.Subscription, y.Subscription), strings.Compare(x.Start, y.Start))
	}
	return 0
}

func (v *reloadsView) appendCell(dst []byte, i int32, col, w int, plain bool) []byte {
	r := &v.s.Reloads[i]
	switch col {
	case relColAge:
		return appendDurCell(dst, r.QueuedMsAgo+v.ctx.elapsed, w)
	case relColSub:
		return appendUintCell(dst, r.Subscription, w)
	case relColReason:
		return appendCell(dst, r.Reason, w, false)
	case relColMerged:
		return appendIntCell(dst, int64(r.MergedFrom), w)
	case relColSpan:
		return v.ctx.names.appendSpan(dst, r.Start, r.End, w)
	}
	return appendSpaces(dst, w)
}
