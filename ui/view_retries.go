package ui

import (
	"cmp"
	"strings"

	"github.com/pulltop/pulltop/snapshots"
)

// retriesView lists the retry heap (Retries, key 3): what waits, soonest
// first, with a countdown that keeps moving between snapshots; below it the
// recently fired retries, newest first, with what came of each. A retry
// waits a few hundred milliseconds, so a burst that fired between two
// refreshes would otherwise leave no trace (issue 17).
//
// Rows 0..len(Retries)-1 are the waiting ones, the rest index the
// snapshot's RecentRetries.
type retriesView struct {
	ctx *renderCtx
	s   *snapshots.State
}

const (
	retColWhen = iota
	retColOutcome
	retColSub
	retColRegion
	retColStore
	retColReason
	retColAttempt
	retColSpan
)

// retryWaiting is the OUTCOME of a retry still in the heap.
const retryWaiting = "waiting"

func (v *retriesView) noun() string { return "retries (waiting, recently fired)" }

func (v *retriesView) columns() []column {
	return []column{
		retColWhen:    {title: "WHEN", width: 9, right: true},
		retColOutcome: {title: "OUTCOME", width: 10},
		retColSub:     {title: "SUB", width: 4, right: true, drop: 5},
		retColRegion:  {title: "REGION", width: 9, right: true},
		retColStore:   {title: "STORE", width: 5, right: true, drop: 4},
		retColReason:  {title: "REASON", width: 19, flex: 1, max: 24},
		retColAttempt: {title: "ATTEMPT", width: 7, right: true, drop: 3},
		retColSpan:    {title: "SPAN", width: 20, flex: 3, max: 36, drop: 2},
	}
}

// Soonest due first, then the newest fired.
func (v *retriesView) defaultSort() (int, bool) { return retColWhen, false }

// retryRow is one row of either kind, read straight from the snapshot.
type retryRow struct {
	waiting *snapshots.Retry
	fired   *snapshots.RecentRetry
}

func (v *retriesView) row(i int32) retryRow {
	if n := int32(len(v.s.Retries)); i >= n {
		return retryRow{fired: &v.s.RecentRetries[i-n]}
	}
	return retryRow{waiting: &v.s.Retries[i]}
}

func (r retryRow) sub() uint64 {
	if r.waiting != nil {
		return r.waiting.Subscription
	}
	return r.fired.Subscription
}

func (r retryRow) region() uint64 {
	if r.waiting != nil {
		return r.waiting.RegionID
	}
	return r.fired.RegionID
}

func (r retryRow) store() uint64 {
	if r.waiting != nil {
		return r.waiting.StoreID
	}
	return r.fired.StoreID
}

func (r retryRow) reason() string {
	if r.waiting != nil {
		return r.waiting.Reason
	}
	return r.fired.Reason
}

func (r retryRow) attempt() int {
	if r.waiting != nil {
		return r.waiting.Attempt
	}
	return r.fired.Attempt
}

func (r retryRow) span() (string, string) {
	if r.waiting != nil {
		return r.waiting.Start, r.waiting.End
	}
	return r.fired.Start, r.fired.End
}

func (r retryRow) outcome() string {
	if r.waiting != nil {
		return retryWaiting
	}
	return r.fired.Outcome
}

// when is the signed time to the retry at the snapshot: positive for one
// due in the future, negative for one that fired that long ago. Ascending,
// it reads "soonest due" then "most recently fired" within each group.
func (v *retriesView) when(r retryRow) int64 {
	if r.waiting != nil {
		return r.waiting.DueInMs
	}
	return v.s.TakenAt.Sub(r.fired.At).Milliseconds()
}

func (v *retriesView) fields() []field {
	return []field{
		{name: "region", aliases: []string{"id"}, kind: fieldNum, free: true, num: func(i int32) int64 { return int64(v.row(i).region()) }},
		{name: "sub", aliases: []string{"subscription"}, kind: fieldNum, num: func(i int32) int64 { return int64(v.row(i).sub()) }},
		{name: "store", kind: fieldNum, num: func(i int32) int64 { return int64(v.row(i).store()) }},
		{name: "reason", kind: fieldText, free: true, text: func(i int32) string { return v.row(i).reason() }},
		{name: "outcome", aliases: []string{"state"}, kind: fieldText, free: true, text: func(i int32) string { return v.row(i).outcome() }},
		{name: "attempt", aliases: []string{"attempts"}, kind: fieldNum, num: func(i int32) int64 { return int64(v.row(i).attempt()) }},
		{name: "due", kind: fieldDur, num: func(i int32) int64 {
			if r := v.row(i); r.waiting != nil {
				return r.waiting.DueInMs - v.ctx.elapsed
			}
			return -1 // fired: never due again
		}},
		{name: "ago", aliases: []string{"fired"}, kind: fieldDur, num: func(i int32) int64 {
			if r := v.row(i); r.fired != nil {
				return v.when(r) + v.ctx.elapsed
			}
			return -1
		}},
		{name: "key", aliases: []string{"span"}, kind: fieldKey, free: true, keys: func(i int32) (string, string) { return v.row(i).span() }},
	}
}

func (v *retriesView) setState(s *snapshots.State) { v.s = s }

func (v *retriesView) length() int {
	if v.s == nil {
		return 0
	}
	return len(v.s.Retries) + len(v.s.RecentRetries)
}

// group puts what waits now above what already fired.
func (v *retriesView) group(i int32) int {
	if i < int32(len(v.s.Retries)) {
		return 0
	}
	return 1
}

func (v *retriesView) rowID(i int32) rowID {
	r := v.row(i)
	start, _ := r.span()
	id := rowID{a: r.sub(), b: r.region(), s: start}
	if r.fired != nil {
		id.t = r.fired.At.UnixNano()
	}
	return id
}

func (v *retriesView) compare(a, b int32, col int) int {
	x, y := v.row(a), v.row(b)
	switch col {
	case retColWhen:
		return cmp.Compare(v.when(x), v.when(y))
	case retColOutcome:
		return strings.Compare(x.outcome(), y.outcome())
	case retColSub:
		return cmp.Compare(x.sub(), y.sub())
	case retColRegion:
		return cmp.Compare(x.region(), y.region())
	case retColStore:
		return cmp.Compare(x.store(), y.store())
	case retColReason:
		return strings.Compare(x.reason(), y.reason())
	case retColAttempt:
		return cmp.Compare(x.attempt(), y.attempt())
	case retColSpan:
		xs, _ := x.span()
		ys, _ := y.span()
		return cmp.Or(cmp.Compare(x.sub(), y.sub()), strings.Compare(xs, ys))
	}
	return 0
}

func (v *retriesView) appendCell(dst []byte, i int32, col, w int, plain bool) []byte {
	r := v.row(i)
	switch col {
	case retColWhen:
		var tmp [24]byte
		if r.fired != nil {
			b := appendDur(tmp[:0], v.when(r)+v.ctx.elapsed)
			return appendCellBytes(dst, append(b, " ago"...), w, true)
		}
		if v.ctx.past {
			return appendCell(dst, "-", w, true) // due times are not kept in the timeline
		}
		due := r.waiting.DueInMs - v.ctx.elapsed
		if due <= 0 {
			return appendCell(dst, "due", w, true)
		}
		return appendCellBytes(dst, appendDur(append(tmp[:0], "in "...), due), w, true)
	case retColOutcome:
		return appendCell(dst, r.outcome(), w, false)
	case retColSub:
		return appendUintCell(dst, r.sub(), w)
	case retColRegion:
		if r.region() == 0 {
			// A failed PD lookup of a range, not a region.
			return appendCell(dst, "range", w, true)
		}
		return appendUintCell(dst, r.region(), w)
	case retColStore:
		if r.store() == 0 {
			return appendCell(dst, "-", w, true)
		}
		return appendUintCell(dst, r.store(), w)
	case retColReason:
		return appendCell(dst, r.reason(), w, false)
	case retColAttempt:
		return appendIntCell(dst, int64(r.attempt()), w)
	case retColSpan:
		start, end := r.span()
		return v.ctx.names.appendSpan(dst, start, end, w)
	}
	return appendSpaces(dst, w)
}
