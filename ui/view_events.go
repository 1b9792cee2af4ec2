package ui

import (
	"strings"
	"time"

	"github.com/pulltop/pulltop/snapshots"
)

// eventsView is the event log (Events, key 6), newest first: what happened
// — stores failing and recovering, PD going away, causes appearing,
// regions splitting, operator actions, fault-script lines — as the engine
// logged it. Delivered rows are the Rows view.
type eventsView struct {
	ctx *renderCtx
	s   *snapshots.State
	loc *time.Location
}

const (
	logColAt = iota
	logColAgo
	logColKind
	logColSubject
	logColText
)

func (v *eventsView) noun() string { return "events" }

func (v *eventsView) columns() []column {
	return []column{
		logColAt:      {title: "TIME", width: 8},
		logColAgo:     {title: "AGO", width: 7, right: true, drop: 2},
		logColKind:    {title: "KIND", width: 6},
		logColSubject: {title: "SUBJECT", width: 19, drop: 1},
		logColText:    {title: "WHAT HAPPENED", width: 20, flex: 1},
	}
}

func (v *eventsView) defaultSort() (int, bool) { return logColAt, true }

func (v *eventsView) fields() []field {
	e := func(i int32) *snapshots.LogEntry { return &v.s.Log[i] }
	return []field{
		{name: "kind", kind: fieldText, free: true, text: func(i int32) string { return e(i).Kind }},
		{name: "subject", aliases: []string{"about"}, kind: fieldText, free: true, text: func(i int32) string { return e(i).Subject }},
		{name: "text", aliases: []string{"what"}, kind: fieldText, free: true, text: func(i int32) string { return e(i).Text }},
		{name: "ago", kind: fieldDur, num: func(i int32) int64 { return v.age(e(i).At) }},
	}
}

func (v *eventsView) age(at time.Time) int64 {
	return max(0, v.s.TakenAt.Sub(at).Milliseconds()+v.ctx.elapsed)
}

func (v *eventsView) setState(s *snapshots.State) { v.s = s }

func (v *eventsView) length() int {
	if v.s == nil {
		return 0
	}
	return len(v.s.Log)
}

func (v *eventsView) rowID(i int32) rowID {
	e := &v.s.Log[i]
	return rowID{t: e.At.UnixNano(), s: e.Subject}
}

func (v *eventsView) compare(a, b int32, col int) int {
	x, y := &v.s.Log[a], &v.s.Log[b]
	switch col {
	case logColAt, logColAgo:
		// The log is oldest first; entries of one instant keep that order.
		return x.At.Compare(y.At)
	case logColKind:
		return strings.Compare(x.Kind, y.Kind)
	case logColSubject:
		return strings.Compare(x.Subject, y.Subject)
	case logColText:
		return strings.Compare(x.Text, y.Text)
	}
	return 0
}

func (v *eventsView) appendCell(dst []byte, i int32, col, w int, plain bool) []byte {
	e := &v.s.Log[i]
	switch col {
	case logColAt:
		var tmp [16]byte
		return appendCellBytes(dst, e.At.In(v.loc).AppendFormat(tmp[:0], "15:04:05"), w, false)
	case logColAgo:
		return appendDurCell(dst, v.age(e.At), w)
	case logColKind:
		return appendCell(dst, e.Kind, w, false)
	case logColSubject:
		return appendCell(dst, e.Subject, w, false)
	case logColText:
		return appendCell(dst, e.Text, w, false)
	}
	return appendSpaces(dst, w)
}
