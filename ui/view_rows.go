package ui

import (
	"cmp"
	"strings"

	"github.com/pulltop/pulltop/snapshots"
)

// rowsView lists the recent delivered rows (Rows, key 8), newest first:
// what the subscription delivered, as a sink would get it.
type rowsView struct {
	ctx *renderCtx
	s   *snapshots.State
}

const (
	rowColSeq = iota
	rowColSub
	rowColRegion
	rowColOp
	rowColKey
	rowColStartTs
	rowColCommitTs
	rowColBytes
)

func (v *rowsView) noun() string { return "delivered rows" }

func (v *rowsView) columns() []column {
	return []column{
		rowColSeq:      {title: "#", width: 5, right: true, drop: 3},
		rowColSub:      {title: "SUB", width: 4, right: true, drop: 4},
		rowColRegion:   {title: "REGION", width: 9, right: true},
		rowColOp:       {title: "OP", width: 6},
		rowColKey:      {title: "KEY", width: 16, flex: 1, max: 40},
		rowColStartTs:  {title: "START TS", width: 19, right: true, drop: 2},
		rowColCommitTs: {title: "COMMIT TS", width: 19, right: true},
		rowColBytes:    {title: "BYTES", width: 6, right: true, drop: 1},
	}
}

// The snapshot keeps events oldest first; the newest matter most.
func (v *rowsView) defaultSort() (int, bool) { return rowColSeq, true }

func (v *rowsView) fields() []field {
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

func (v *rowsView) setState(s *snapshots.State) { v.s = s }

func (v *rowsView) length() int {
	if v.s == nil {
		return 0
	}
	return len(v.s.Events)
}

func (v *rowsView) rowID(i int32) rowID {
	e := &v.s.Events[i]
	return rowID{a: e.RegionID, b: e.CommitTs, s: e.Key}
}

func (v *rowsView) compare(a, b int32, col int) int {
	x, y := &v.s.Events[a], &v.s.Events[b]
	switch col {
	case rowColSeq:
		return cmp.Compare(a, b)
	case rowColSub:
		return cmp.Compare(x.Subscription, y.Subscription)
	case rowColRegion:
		return cmp.Compare(x.RegionID, y.RegionID)
	case rowColOp:
		return strings.Compare(x.Op, y.Op)
	case rowColKey:
		return strings.Compare(x.Key, y.Key)
	case rowColStartTs:
		return cmp.Compare(x.StartTs, y.StartTs)
	case rowColCommitTs:
		return cmp.Compare(x.CommitTs, y.CommitTs)
	case rowColBytes:
		return cmp.Compare(x.ValueLen, y.ValueLen)
	}
	return 0
}

func (v *rowsView) appendCell(dst []byte, i int32, col, w int, plain bool) []byte {
	e := &v.s.Events[i]
	switch col {
	case rowColSeq:
		return appendIntCell(dst, int64(i)+1, w)
	case rowColSub:
		return appendUintCell(dst, e.Subscription, w)
	case rowColRegion:
		return appendUintCell(dst, e.RegionID, w)
	case rowColOp:
		return appendCell(dst, e.Op, w, false)
	case rowColKey:
		return appendCell(dst, v.ctx.names.name(e.Key), w, false)
	case rowColStartTs:
		return appendUintCell(dst, e.StartTs, w)
	case rowColCommitTs:
		return appendUintCell(dst, e.CommitTs, w)
	case rowColBytes:
		return appendIntCell(dst, int64(e.ValueLen), w)
	}
	return appendSpaces(dst, w)
}
