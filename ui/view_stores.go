package ui

import (
	"cmp"
	"strings"

	"pulltop/snapshots"
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
	stoColFailures
	stoColStreams
	stoColRegions
)

func (v *storesView) noun() string { return "stores" }

func (v *storesView) columns() []column {
	return []column{
		stoColID:       {title: "STORE", width: 5, right: true},
		stoColAddr:     {title: "ADDRESS", width: 15, flex: 1, max: 40},
		stoColState:    {title: "STATE", width: 8},
		stoColCooldown: {title: "COOLDOWN", width: 8, right: true},
		stoColFailures: {title: "FAILURES", width: 8, right: true, drop: 1},
		stoColStreams:  {title: "STREAMS", width: 7, right: true, drop: 2},
		stoColRegions:  {title: "REGIONS", width: 7, right: true},
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
		return strings.Compare(x.State, y.State)
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
		return appendStateCell(dst, storeStateWord(st.State), v.ctx.theme.StoreState(st.State), w, plain)
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
