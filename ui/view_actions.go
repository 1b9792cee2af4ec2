package ui

import (
	"strings"
	"time"

	"github.com/pulltop/pulltop/snapshots"
)

// actionsView is the operator action log as the engine recorded it
// (Actions, key 7), newest first: the audit trail of an incident.
type actionsView struct {
	ctx *renderCtx
	s   *snapshots.State
	loc *time.Location
}

const (
	actColAt = iota
	actColAction
	actColTarget
	actColResult
)

func (v *actionsView) noun() string { return "actions" }

func (v *actionsView) columns() []column {
	return []column{
		actColAt:     {title: "TIME", width: 8},
		actColAction: {title: "ACTION", width: 14},
		actColTarget: {title: "TARGET", width: 14, flex: 2},
		actColResult: {title: "RESULT", width: 12, flex: 3},
	}
}

func (v *actionsView) defaultSort() (int, bool) { return actColAt, true }

func (v *actionsView) fields() []field {
	a := func(i int32) *snapshots.Action { return &v.s.Actions[i] }
	return []field{
		{name: "action", kind: fieldText, free: true, text: func(i int32) string { return a(i).Action }},
		{name: "target", kind: fieldText, free: true, text: func(i int32) string { return a(i).Target }},
		{name: "result", kind: fieldText, free: true, text: func(i int32) string { return a(i).Result }},
	}
}

func (v *actionsView) setState(s *snapshots.State) { v.s = s }

func (v *actionsView) length() int {
	if v.s == nil {
		return 0
	}
	return len(v.s.Actions)
}

func (v *actionsView) rowID(i int32) rowID {
	a := &v.s.Actions[i]
	return rowID{a: uint64(a.At.UnixNano()), s: a.Target}
}

func (v *actionsView) compare(a, b int32, col int) int {
	x, y := &v.s.Actions[a], &v.s.Actions[b]
	switch col {
	case actColAt:
		return x.At.Compare(y.At)
	case actColAction:
		return strings.Compare(x.Action, y.Action)
	case actColTarget:
		return strings.Compare(x.Target, y.Target)
	case actColResult:
		return strings.Compare(x.Result, y.Result)
	}
	return 0
}

func (v *actionsView) appendCell(dst []byte, i int32, col, w int, plain bool) []byte {
	a := &v.s.Actions[i]
	switch col {
	case actColAt:
		var tmp [16]byte
		return appendCellBytes(dst, a.At.In(v.loc).AppendFormat(tmp[:0], "15:04:05"), w, false)
	case actColAction:
		return appendCell(dst, a.Action, w, false)
	case actColTarget:
		return appendCell(dst, a.Target, w, false)
	case actColResult:
		return appendCell(dst, a.Result, w, false)
	}
	return appendSpaces(dst, w)
}
