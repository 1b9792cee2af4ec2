package ui

import (
	"cmp"
	"strings"

	"pulltop/snapshots"
)

// retriesView lists the retry heap (Retries, key 3), soonest first, with a
// countdown that keeps moving between snapshots.
type retriesView struct {
	ctx *renderCtx
	s   *snapshots.State
}

const (
	retColDue = iota
	retColSub
	retColRegion
	retColReason
	retColAttempt
	retColSpan
)

func (v *retriesView) noun() string { return "retries" }

func (v *retriesView) columns() []column {
	return []column{
		retColDue:     {title: "DUE IN", width: 8, right: true},
		retColSub:     {title: "SUB", width: 4, right: true, drop: 2},
		retColRegion:  {title: "REGION", width: 9, right: true},
		retColReason:  {title: "REASON", width: 19, flex: 1, max: 24},
		retColAttempt: {title: "ATTEMPT", width: 7, right: true},
		retColSpan:    {title: "SPAN", width: 20, flex: 3, max: 36, drop: 1},
	}
}

func (v *retriesView) defaultSort() (int, bool) { return retColDue, false }

func (v *retriesView) fields() []field {
	r := func(i int32) *snapshots.Retry { return &v.s.Retries[i] }
	return []field{
		{name: "region", aliases: []string{"id"}, kind: fieldNum, free: true, num: func(i int32) int64 { return int64(r(i).RegionID) }},
		{name: "sub", aliases: []string{"subscription"}, kind: fieldNum, num: func(i int32) int64 { return int64(r(i).Subscription) }},
		{name: "reason", kind: fieldText, free: true, text: func(i int32) string { return r(i).Reason }},
		{name: "attempt", aliases: []string{"attempts"}, kind: fieldNum, num: func(i int32) int64 { return int64(r(i).Attempt) }},
		{name: "due", kind: fieldDur, num: func(i int32) int64 { return r(i).DueInMs - v.ctx.elapsed }},
		{name: "key", aliases: []string{"span"}, kind: fieldKey, free: true, keys: func(i int32) (string, string) { return r(i).Start, r(i).End }},
	}
}

func (v *retriesView) setState(s *snapshots.State) { v.s = s }

func (v *retriesView) length() int {
	if v.s == nil {
		return 0
	}
	return len(v.s.Retries)
}

func (v *retriesView) rowID(i int32) rowID {
	r := &v.s.Retries[i]
	return rowID{a: r.Subscription, b: r.RegionID, s: r.Start}
}

func (v *retriesView) compare(a, b int32, col int) int {
	x, y := &v.s.Retries[a], &v.s.Retries[b]
	switch col {
	case retColDue:
		return cmp.Compare(x.DueInMs, y.DueInMs)
	case retColSub:
		return cmp.Compare(x.Subscription, y.Subscription)
	case retColRegion:
		return cmp.Compare(x.RegionID, y.RegionID)
	case retColReason:
		return strings.Compare(x.Reason, y.Reason)
	case retColAttempt:
		return cmp.Compare(x.Attempt, y.Attempt)
	case retColSpan:
		return cmp.Or(cmp.Compare(x.Subscription, y.Subscription), strings.Compare(x.Start, y.Start))
	}
	return 0
}

func (v *retriesView) appendCell(dst []byte, i int32, col, w int, plain bool) []byte {
	r := &v.s.Retries[i]
	switch col {
	case retColDue:
		due := r.DueInMs - v.ctx.elapsed
		if due <= 0 {
			return appendCell(dst, "due", w, true)
		}
		return appendDurCell(dst, due, w)
	case retColSub:
		return appendUintCell(dst, r.Subscription, w)
	case retColRegion:
		return appendUintCell(dst, r.RegionID, w)
	case retColReason:
		return appendCell(dst, r.Reason, w, false)
	case retColAttempt:
		return appendIntCell(dst, int64(r.Attempt), w)
	case retColSpan:
		return v.ctx.names.appendSpan(dst, r.Start, r.End, w)
	}
	return appendSpaces(dst, w)
}
