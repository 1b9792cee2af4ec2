package ui

import (
	"cmp"
	"math"
	"strings"

	"github.com/pulltop/pulltop/snapshots"
)

// renderCtx is what row formatting needs beyond the row itself. The root
// model owns it and updates elapsed before each frame.
type renderCtx struct {
	names *keyNames
	theme *Theme
	// elapsed is how far (ms) the view clock is past the snapshot's
	// taken_at; countdowns and ages move by it between snapshots.
	elapsed int64
	// past: the snapshot on screen is a moment of the timeline, rebuilt
	// without what the timeline does not keep (events per region, due
	// times).
	past bool
}

// regionsView lists every subscribed region (Regions, key 2).
type regionsView struct {
	ctx *renderCtx
	s   *snapshots.State
	// t is s's regions, read in place (a live engine's view, or a loaded
	// file's rows): a row's moving parts, lag and events, are read with
	// lagMs and t.Events, not from Static.
	t snapshots.RegionTable
}

// lagMs is row i's lag and whether it is known: one that waits keeps its
// range's (the engine fills it), so only a region that never had one
// shows "-".
func (v *regionsView) lagMs(i int32) (int64, bool) {
	lag := v.t.LagMs(int(i))
	return lag, lag > 0 || v.t.Static(int(i)).Initialized
}

// sortLag is the lag to sort by: an unknown lag is as bad as any, so "-"
// never sorts below real values under LAG▼ (it sat at the bottom while it
// held the changefeed back).
func (v *regionsView) sortLag(i int32) int64 {
	lag, known := v.lagMs(i)
	if !known {
		return math.MaxInt64
	}
	return lag
}

const (
	regColID = iota
	regColSub
	regColStore
	regColState
	regColCause
	regColLag
	regColEvents
	regColRetries
	regColSpan
	regColError
)

func (v *regionsView) noun() string { return "regions" }

func (v *regionsView) columns() []column {
	return []column{
		regColID:      {title: "REGION", width: 9, right: true},
		regColSub:     {title: "SUB", width: 4, right: true, drop: 4},
		regColStore:   {title: "STORE", width: 5, right: true},
		regColState:   {title: "STATE", width: 11},
		regColCause:   {title: "CAUSE", width: 14, drop: 1},
		regColLag:     {title: "LAG", width: lagCellWidth, right: true},
		regColEvents:  {title: "EVENTS", width: 9, right: true, drop: 3},
		regColRetries: {title: "RETRY", width: 5, right: true, drop: 2},
		regColSpan:    {title: "SPAN", width: 20, flex: 3, max: 36, drop: 1},
		regColError:   {title: "LAST ERROR", width: 10, flex: 2, drop: 5},
	}
}

func (v *regionsView) defaultSort() (int, bool) { return regColLag, true }

func (v *regionsView) fields() []field {
	r := func(i int32) *snapshots.Region { return v.t.Static(int(i)) }
	return []field{
		{name: "region", aliases: []string{"id"}, kind: fieldNum, free: true, num: func(i int32) int64 { return int64(r(i).ID) }},
		{name: "sub", aliases: []string{"subscription"}, kind: fieldNum, num: func(i int32) int64 { return int64(r(i).Subscription) }},
		{name: "store", kind: fieldNum, num: func(i int32) int64 { return int64(r(i).StoreID) }},
		{name: "state", kind: fieldText, free: true, text: func(i int32) string { return r(i).State }},
		{name: "cause", kind: fieldText, free: true, text: func(i int32) string { return r(i).Cause }},
		{name: "diagnosis", aliases: []string{"why"}, kind: fieldText, text: func(i int32) string { return r(i).Diagnosis }},
		{name: "lag", kind: fieldDur, num: func(i int32) int64 { lag, _ := v.lagMs(i); return lag }},
		{name: "events", kind: fieldNum, num: func(i int32) int64 { return int64(v.t.Events(int(i))) }},
		{name: "retries", aliases: []string{"attempts", "attempt", "retry"}, kind: fieldNum, num: func(i int32) int64 { return int64(r(i).RetryAttempts) }},
		{name: "key", aliases: []string{"span"}, kind: fieldKey, free: true, keys: func(i int32) (string, string) { return r(i).Start, r(i).End }},
		{name: "error", aliases: []string{"err"}, kind: fieldText, free: true, text: func(i int32) string { return r(i).LastError }},
		{name: "leader", kind: fieldNum, num: func(i int32) int64 { return int64(r(i).LeaderPeer) }},
	}
}

func (v *regionsView) setState(s *snapshots.State) {
	v.s, v.t = s, nil
	if s != nil {
		v.t = s.RegionTable()
	}
}

func (v *regionsView) length() int {
	if v.s == nil {
		return 0
	}
	return v.t.Len()
}

func (v *regionsView) rowID(i int32) rowID {
	r := v.t.Static(int(i))
	return rowID{a: r.Subscription, b: r.ID}
}

func (v *regionsView) compare(a, b int32, col int) int {
	x, y := v.t.Static(int(a)), v.t.Static(int(b))
	switch col {
	case regColID:
		return cmp.Or(cmp.Compare(x.ID, y.ID), cmp.Compare(x.Subscription, y.Subscription))
	case regColSub:
		return cmp.Compare(x.Subscription, y.Subscription)
	case regColStore:
		return cmp.Compare(x.StoreID, y.StoreID)
	case regColState:
		return cmp.Compare(regionStateRank(x.State), regionStateRank(y.State))
	case regColCause:
		return cmp.Compare(causeRank(x.Cause), causeRank(y.Cause))
	case regColLag:
		return cmp.Compare(v.sortLag(a), v.sortLag(b))
	case regColEvents:
		return cmp.Compare(v.t.Events(int(a)), v.t.Events(int(b)))
	case regColRetries:
		return cmp.Compare(x.RetryAttempts, y.RetryAttempts)
	case regColSpan:
		return cmp.Or(cmp.Compare(x.Subscription, y.Subscription), strings.Compare(x.Start, y.Start))
	case regColError:
		return cmp.Or(strings.Compare(x.LastError, y.LastError), x.LastErrorAt.Compare(y.LastErrorAt))
	}
	return 0
}

func (v *regionsView) appendCell(dst []byte, i int32, col, w int, plain bool) []byte {
	r := v.t.Static(int(i))
	switch col {
	case regColID:
		return appendUintCell(dst, r.ID, w)
	case regColSub:
		return appendUintCell(dst, r.Subscription, w)
	case regColStore:
		return appendUintCell(dst, r.StoreID, w)
	case regColState:
		return appendStateCell(dst, regionStateWord(r.State), v.ctx.theme.RegionState(r.State), w, plain)
	case regColCause:
		return appendCell(dst, causeWord(r.Cause), w, false)
	case regColLag:
		lag, known := v.lagMs(i)
		return appendLagCell(dst, lag, known, v.s.Source.StaleAfterMs, w, plain, v.ctx.theme)
	case regColEvents:
		if v.ctx.past {
			return appendCell(dst, "-", w, true)
		}
		return appendUintCell(dst, v.t.Events(int(i)), w)
	case regColRetries:
		return appendIntCell(dst, int64(r.RetryAttempts), w)
	case regColSpan:
		return v.ctx.names.appendSpan(dst, r.Start, r.End, w)
	case regColError:
		return appendErrorCell(dst, r.LastError, r.LastErrorAt, regionErrorOld(r), v.s, v.ctx, w, plain)
	}
	return appendSpaces(dst, w)
}

// lagKnown: the region has a resolved ts to measure lag from. One that
// waits keeps its range's (the engine fills it), so only a region that
// never had one shows "-".
func lagKnown(r *snapshots.Region) bool { return r.Initialized || r.ResolvedLagMs > 0 }

// appendStateCell appends a state word, painted unless plain.
func appendStateCell(dst []byte, word string, p paint, w int, plain bool) []byte {
	if plain {
		return appendCell(dst, word, w, false)
	}
	dst = append(dst, p.pre...)
	dst = appendCell(dst, word, w, false)
	return append(dst, p.post...)
}

// regionStateNames are the states regionStateRank knows, by rank.
var regionStateNames = [...]string{snapshots.StateQueued, snapshots.StateLocating, snapshots.StateParked,
	snapshots.StateRequested, snapshots.StateInitialized, snapshots.StateRetryWait, snapshots.StateReloadWait,
	snapshots.StateStale}

const regionStateRanks = len(regionStateNames)

// regionStateRank orders states as a region moves through them, so sorting
// by state groups the stuck ones at one end.
func regionStateRank(s string) int {
	switch s {
	case snapshots.StateQueued:
		return 0
	case snapshots.StateLocating:
		return 1
	case snapshots.StateParked:
		return 2
	case snapshots.StateRequested:
		return 3
	case snapshots.StateInitialized:
		return 4
	case snapshots.StateRetryWait:
		return 5
	case snapshots.StateReloadWait:
		return 6
	case snapshots.StateStale:
		return 7
	}
	return 8
}

// regionStateWord is the word shown for a state. States are words, never
// colours alone (NO_COLOR, reference/tui.md §4.4); upper case makes them
// stand out from the numbers around them.
func regionStateWord(s string) string {
	switch s {
	case snapshots.StateQueued:
		return "QUEUED"
	case snapshots.StateLocating:
		return "LOCATING"
	case snapshots.StateParked:
		return "PARKED"
	case snapshots.StateRequested:
		return "REQUESTED"
	case snapshots.StateInitialized:
		return "INITIALIZED"
	case snapshots.StateRetryWait:
		return "RETRY-WAIT"
	case snapshots.StateReloadWait:
		return "RELOAD-WAIT"
	case snapshots.StateStale:
		return "STALE"
	}
	return strings.ToUpper(s)
}

func storeStateWord(s string) string {
	switch s {
	case snapshots.StoreUp:
		return "UP"
	case snapshots.StoreCooldown:
		return "COOLDOWN"
	case snapshots.StorePaused:
		return "PAUSED"
	case snapshots.StoreDown:
		return "DOWN"
	}
	return strings.ToUpper(s)
}

// sortKeys: every column but the span and the error orders by integers.
func (v *regionsView) sortKeys(col int) []func(i int32) uint64 {
	t := v.t
	rs := func(i int32) *snapshots.Region { return t.Static(int(i)) }
	switch col {
	case regColID:
		return []func(int32) uint64{
			func(i int32) uint64 { return rs(i).ID },
			func(i int32) uint64 { return rs(i).Subscription },
		}
	case regColSub:
		return []func(int32) uint64{func(i int32) uint64 { return rs(i).Subscription }}
	case regColStore:
		return []func(int32) uint64{func(i int32) uint64 { return rs(i).StoreID }}
	case regColState:
		return []func(int32) uint64{func(i int32) uint64 { return int64Key(int64(regionStateRank(rs(i).State))) }}
	case regColCause:
		return []func(int32) uint64{func(i int32) uint64 { return int64Key(int64(causeRank(rs(i).Cause))) }}
	case regColLag:
		return []func(int32) uint64{func(i int32) uint64 { return int64Key(v.sortLag(i)) }}
	case regColEvents:
		return []func(int32) uint64{func(i int32) uint64 { return t.Events(int(i)) }}
	case regColRetries:
		return []func(int32) uint64{func(i int32) uint64 { return int64Key(int64(rs(i).RetryAttempts)) }}
	}
	return nil
}
