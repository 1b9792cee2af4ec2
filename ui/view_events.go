package ui

import (
	"cmp"
	"strings"

	"pulltop/snapshots"
)

// eventsView lists the recent delivered rows (Events, key 6), newest first.
type eventsView struct {
	ctx *renderCtx
	s   *snapshots.State
}

const (
	evColSeq = iota
	evColSub
	evColRegion
	evColOp
	evColKey
	evColStartTs
	evColCommitTs
	evColBytes
)

func (v *eventsView) noun() string { return "events" }

func (v *eventsView) columns() []column {
	return []column{
		evColSeq:      {title: "#", width: 5, right: true, drop: 3},
		evColSub:      {title: "SUB", width: 4, right: true, drop: 4},
		evColRegion:   {title: "REGION", width: 9, right: true},
		evColOp:       {title: "OP", width: 6},
		evColKey:      {title: "KEY", width: 16, flex: 1, max: 40},
		evColStartTs:  {title: "START TS", width: 19, right: true, drop: 2},
		evColCommitTs: {title: "COMMIT TS", width: 19, right: true},
		evColBytes:    {title: "BYTES", width: 6, right: true, drop: 1},
	}
}

// The snapshot keeps events oldest first; the newest matter most.
func (v *eventsView) defaultSort() (int, bool) { return evColSeq, true }

func (v *eventsView) fields() []field {
	e := func(i int32) *snapshots.Event { return &v.s.Events[i] }
	return []field{
		{name: "region", aliases: []string{"id"}, kind: fieldNum, free: true, num: func(i int32) int64 { return int64(e(i).RegionID) }},
		{name: "sub", aliases: []string{"subscription"}, kind: fieldNum, num: func(i int32) int64 { return int64(e(i).Subscription) }},
		{name: "op", kind: fieldText, free: true, text: func(i int32) string { return e(i).Op }},
		{name: "key", kind: fieldKey, free: true, keys: func(i int32) (string, string) { return e(i).Key, e(i).Key }},
		{name: "commit", aliases: []string{"commit_ts"}, kind: fieldNum, num: func(i int32) int64 { return int64(e(i).CommitTs) }},
		{name: "bytes", kind: fieldNum, num: func(i int32) int64 { return int64(e(i).ValueLen) }},
	}
}

func (v *eventsView) setState(s *snapshots.State) { v.s = s }

func (v *eventsView) length() int {
	if v.s == nil {
		return 0
	}
	return len(v.s.Events)
}

func (v *eventsView) rowID(i int32) rowID {
	e := &v.s.Events[i]
	return rowID{a: e.RegionID, b: e.CommitTs, s: e.Key}
}

func (v *eventsView) compare(a, b int32, col int) int {
	x, y := &v.s.Events[a], &v.s.Events[b]
	switch col {
	case evColSeq:
		return cmp.Compare(a, b)
	case evColSub:
		return cmp.Compare(x.Subscription, y.Subscription)
	case evColRegion:
		return cmp.Compare(x.RegionID, y.RegionID)
	case evColOp:
		return strings.Compare(x.Op, y.Op)
	case evColKey:
		return strings.Compare(x.Key, y.Key)
	case evColStartTs:
		return cmp.Compare(x.StartTs, y.StartTs)
	case evColCommitTs:
		return cmp.Compare(x.CommitTs, y.CommitTs)
	case evColBytes:
		return cmp.Compare(x.ValueLen, y.ValueLen)
	}
	return 0
}

func (v *eventsView) appendCell(dst []byte, i int32, col, w int, plain bool) []byte {
	e := &v.s.Events[i]
	switch col {
	case evColSeq:
		return appendIntCell(dst, int64(i)+1, w)
	case evColSub:
		return appendUintCell(dst, e.Subscription, w)
	case evColRegion:
		return appendUintCell(dst, e.RegionID, w)
	case evColOp:
		return appendCell(dst, e.Op, w, false)
	case evColKey:
		return appendCell(dst, v.ctx.names.name(e.Key), w, false)
	case evColStartTs:
		return appendUintCell(dst, e.StartTs, w)
	case evColCommitTs:
		return appendUintCell(dst, e.CommitTs, w)
	case evColBytes:
		return appendIntCell(dst, int64(e.ValueLen), w)
	}
	return appendSpaces(dst, w)
}
