package ui

import (
	"cmp"
	"strings"

	"github.com/pulltop/pulltop/snapshots"
)

// storesView lists the TiKV stores (Stores, key 5) with their cooldown.
type storesView struct {
	ctx *renderCtx
	s   *snapshots.State
}

const (
	stoColID = iota
	stoColAddr
	stoColState
	stoColCooldown
	stoColMaxLag
	stoColWaiting
	stoColRegions
	stoColLastMsg
	stoColFailures
	stoColStreams
	stoColError
)

func (v *storesView) noun() string { return "stores" }

func (v *storesView) columns() []column {
	return []column{
		// On a narrow terminal the counters that say less go first; a
		// store's condition — STATE, COOLDOWN left, LAST MSG (how long its
		// stream has been quiet) — stays at 80 columns (issue 27), with
		// the start of its last error.
		stoColID:       {title: "STORE", width: 5, right: true},
		stoColAddr:     {title: "ADDRESS", width: 15, flex: 1, max: 24, drop: 5},
		stoColState:    {title: "STATE", width: 13},
		stoColCooldown: {title: "COOLDOWN", width: 8, right: true},
		stoColMaxLag:   {title: "MAX LAG", width: lagCellWidth, right: true},
		stoColWaiting:  {title: "WAITING", width: 7, right: true, drop: 2},
		stoColRegions:  {title: "REGIONS", width: 7, right: true, drop: 4},
		stoColLastMsg:  {title: "LAST MSG", width: 8, right: true, drop: 1},
		// The counters only on a wide terminal: at 120 columns the last
		// error gets their cells.
		stoColFailures: {title: "FAILURES", width: 8, right: true, drop: 6, from: 140},
		stoColStreams:  {title: "STREAMS", width: 7, right: true, drop: 7, from: 140},
		stoColError:    {title: "LAST ERROR", width: 18, flex: 3, drop: 3},
	}
}

func (v *storesView) defaultSort() (int, bool) { return stoColID, false }

func (v *storesView) fields() []field {
	st := func(i int32) *snapshots.Store { return &v.s.Stores[i] }
	return []field{
		{name: "store", aliases: []string{"id"}, kind: fieldNum, free: true, num: func(i int32) int64 { return int64(st(i).ID) }},
		{name: "addr", aliases: []string{"address"}, kind: fieldText, free: true, text: func(i int32) string { return st(i).Addr }},
		{name: "state", kind: fieldText, free: true, text: func(i int32) string { return st(i).State }},
		{name: "cause", aliases: []string{"condition"}, kind: fieldText, free: true, text: func(i int32) string { return st(i).Condition }},
		{name: "failures", kind: fieldNum, num: func(i int32) int64 { return int64(st(i).Failures) }},
		{name: "streams", kind: fieldNum, num: func(i int32) int64 { return int64(st(i).Streams) }},
		{name: "regions", kind: fieldNum, num: func(i int32) int64 { return int64(st(i).Regions) }},
		{name: "lag", aliases: []string{"maxlag"}, kind: fieldDur, num: func(i int32) int64 { return st(i).MaxLagMs }},
		{name: "waiting", kind: fieldNum, num: func(i int32) int64 { return int64(st(i).Waiting) }},
		{name: "quiet", aliases: []string{"msg"}, kind: fieldDur, num: func(i int32) int64 { return v.quietMs(st(i)) }},
		{name: "error", aliases: []string{"err"}, kind: fieldText, free: true, text: func(i int32) string { return st(i).LastError }},
	}
}

func (v *storesView) setState(s *snapshots.State) { v.s = s }

func (v *storesView) length() int {
	if v.s == nil {
		return 0
	}
	return len(v.s.Stores)
}

func (v *storesView) rowID(i int32) rowID { return rowID{a: v.s.Stores[i].ID} }

func (v *storesView) compare(a, b int32, col int) int {
	x, y := &v.s.Stores[a], &v.s.Stores[b]
	switch col {
	case stoColID:
		return cmp.Compare(x.ID, y.ID)
	case stoColAddr:
		return strings.Compare(x.Addr, y.Addr)
	case stoColState:
		return strings.Compare(storeLabel(x, v.s), storeLabel(y, v.s))
	case stoColMaxLag:
		return cmp.Compare(x.MaxLagMs, y.MaxLagMs)
	case stoColWaiting:
		return cmp.Compare(x.Waiting, y.Waiting)
	case stoColLastMsg:
		return cmp.Compare(v.quietMs(x), v.quietMs(y))
	case stoColError:
		return x.LastErrorAt.Compare(y.LastErrorAt)
	case stoColCooldown:
		return cmp.Compare(x.CooldownMsLeft, y.CooldownMsLeft)
	case stoColFailures:
		return cmp.Compare(x.Failures, y.Failures)
	case stoColStreams:
		return cmp.Compare(x.Streams, y.Streams)
	case stoColRegions:
		return cmp.Compare(x.Regions, y.Regions)
	}
	return 0
}

func (v *storesView) appendCell(dst []byte, i int32, col, w int, plain bool) []byte {
	st := &v.s.Stores[i]
	switch col {
	case stoColID:
		return appendUintCell(dst, st.ID, w)
	case stoColAddr:
		return appendCell(dst, st.Addr, w, false)
	case stoColState:
		label := storeLabel(st, v.s)
		p := v.ctx.theme.StoreState(st.State)
		if label != storeStateWord(st.State) {
			p = v.ctx.theme.Warn
		}
		return appendStateCell(dst, label, p, w, plain)
	case stoColMaxLag:
		return appendLagCell(dst, st.MaxLagMs, true, v.s.Source.StaleAfterMs, w, plain, v.ctx.theme)
	case stoColWaiting:
		return appendIntCell(dst, int64(st.Waiting), w)
	case stoColLastMsg:
		if st.LastMsgAt.IsZero() {
			return appendCell(dst, "never", w, true)
		}
		return appendDurCell(dst, v.quietMs(st), w)
	case stoColError:
		return appendErrorCell(dst, st.LastError, st.LastErrorAt, storeErrorOld(st), v.s, v.ctx, w, plain)
	case stoColCooldown:
		return appendCooldownCell(dst, st, v.ctx.elapsed, w)
	case stoColFailures:
		return appendIntCell(dst, int64(st.Failures), w)
	case stoColStreams:
		return appendIntCell(dst, int64(st.Streams), w)
	case stoColRegions:
		return appendIntCell(dst, int64(st.Regions), w)
	}
	return appendSpaces(dst, w)
}

// quietMs is how long the store's stream has said nothing, as of now on
// the view clock; -1 when it never said anything.
func (v *storesView) quietMs(st *snapshots.Store) int64 {
	if st.LastMsgAt.IsZero() {
		return -1
	}
	return max(0, v.s.TakenAt.Sub(st.LastMsgAt).Milliseconds()+v.ctx.elapsed)
}

// storeLabel is the STATE word: the tracker's state, unless the store is
// quiet (SUSPECT: up, but its stream has said nothing for half the stale
// threshold) or cannot be reached because PD is down (NO ROUTE (PD): its
// regions cannot be located, so no stream is open to it — it is not the
// store that failed).
func storeLabel(st *snapshots.Store, s *snapshots.State) string {
	switch {
	case noRoute(st, s):
		return "NO ROUTE (PD)"
	case st.Suspect && st.State == snapshots.StoreUp:
		return "SUSPECT"
	}
	return storeStateWord(st.State)
}

func noRoute(st *snapshots.Store, s *snapshots.State) bool {
	if st.Condition == snapshots.CausePDUnreachable {
		return true
	}
	return s != nil && s.Source.PDError != "" && st.Streams == 0 &&
		(st.State == snapshots.StoreDown || (st.State == snapshots.StoreUp && st.Waiting > 0))
}

// storeErrorOld: the store's last error is older than its current
// condition, so it is history, not what is wrong now. Without a condition
// (a file from before them) nothing says so.
func storeErrorOld(st *snapshots.Store) bool {
	return !st.Since.IsZero() && st.LastErrorAt.Before(st.Since)
}

// appendCooldownCell shows the time left in a store's cooldown, counting
// down between snapshots; a paused store's cooldown has no end.
func appendCooldownCell(dst []byte, st *snapshots.Store, elapsed int64, w int) []byte {
	switch {
	case st.State == snapshots.StorePaused:
		return appendCell(dst, "no end", w, true)
	case st.CooldownMsLeft <= 0:
		return appendCell(dst, "-", w, true)
	}
	left := st.CooldownMsLeft - elapsed
	if left <= 0 {
		return appendCell(dst, "ending", w, true)
	}
	return appendDurCell(dst, left, w)
}

// cooldownText is appendCooldownCell for cold paths.
func cooldownText(st *snapshots.Store, elapsed int64) string {
	return strings.TrimSpace(string(appendCooldownCell(nil, st, elapsed, 12)))
}
