package ui

import (
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tikv/client-go/v2/util/codec"

	"github.com/pulltop/pulltop/snapshots"
)

// fixtureNow is the clock of every golden: half a second after the
// fixture snapshot was taken.
var (
	fixtureTaken = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	fixtureNow   = fixtureTaken.Add(500 * time.Millisecond)
)

// rowKeyHex is the hex memcomparable key of TiDB row (table, handle).
func rowKeyHex(table, handle int64) string {
	raw := codec.EncodeInt([]byte{'t'}, table)
	raw = append(raw, '_', 'r')
	raw = codec.EncodeInt(raw, handle)
	return hex.EncodeToString(codec.EncodeBytes(nil, raw))
}

// tablePrefixHex is the key of a table's row data start ("t{table}_r").
func tablePrefixHex(table int64, suffix byte) string {
	raw := codec.EncodeInt([]byte{'t'}, table)
	raw = append(raw, '_', suffix)
	return hex.EncodeToString(codec.EncodeBytes(nil, raw))
}

func rawHex(raw string) string { return hex.EncodeToString(codec.EncodeBytes(nil, []byte(raw))) }

// fixtureState is the deterministic snapshot behind the goldens: four
// stores (up, cooling, paused, down), regions in every state, retries,
// reloads with merged_from, events and actions.
func fixtureState() *snapshots.State {
	s := &snapshots.State{
		Version: snapshots.Version,
		TakenAt: fixtureTaken,
		Seq:     42,
		Source: snapshots.Source{
			PD:           []string{"127.0.0.1:2379"},
			ClusterID:    7021974512398765432,
			EmbeddedSim:  true,
			PDLastOK:     fixtureTaken.Add(-300 * time.Millisecond),
			StaleAfterMs: 10000,
			ScanPriority: "low",
		},
		Subscriptions: []snapshots.Subscription{
			{ID: 1, Start: rawHex("t"), End: rawHex("u"), ResolvedTs: 450000000000000000, ResolvedLagMs: 12300, Initialized: false, Events: 9876},
			{ID: 2, Start: tablePrefixHex(107, 'r'), End: tablePrefixHex(107, 's'), ResolvedTs: 450000000000001000, ResolvedLagMs: 800, Initialized: true, Events: 321},
		},
		Stores: []snapshots.Store{
			{ID: 1, Addr: "127.0.0.1:20160", State: snapshots.StoreUp, Failures: 0, Streams: 2, Regions: 7,
				MaxLagMs: 12300, Waiting: 3, LastMsgAt: fixtureTaken.Add(-200 * time.Millisecond),
				LastError: "not_leader: leader is on store 2", LastErrorAt: fixtureTaken.Add(-2 * time.Second)},
			{ID: 2, Addr: "127.0.0.1:20161", State: snapshots.StoreCooldown, CooldownMsLeft: 1600, Failures: 3, Streams: 0, Regions: 4,
				MaxLagMs: 9800, Waiting: 4, LastMsgAt: fixtureTaken.Add(-9 * time.Second),
				LastError:   "store 2 (127.0.0.1:20161): stream failed: rpc error: code = Unavailable desc = connection refused",
				LastErrorAt: fixtureTaken.Add(-1 * time.Second)},
			{ID: 3, Addr: "127.0.0.1:20162", State: snapshots.StorePaused, Failures: 0, Streams: 0, Regions: 3,
				MaxLagMs: 4100, Waiting: 3, LastMsgAt: fixtureTaken.Add(-90 * time.Second)},
			{ID: 4, Addr: "127.0.0.1:20163", State: snapshots.StoreDown, Failures: 7, Streams: 0, Regions: 1,
				MaxLagMs: 7700, Waiting: 1,
				LastError: "store 4 (127.0.0.1:20163): open EventFeedV2: connection refused", LastErrorAt: fixtureTaken.Add(-4 * time.Second)},
		},
		Actions: []snapshots.Action{
			{At: fixtureTaken.Add(-90 * time.Second), Action: "pause-store", Target: "store 3 (127.0.0.1:20162)", Result: "ok: 3 regions parked"},
			{At: fixtureTaken.Add(-40 * time.Second), Action: "force-reload", Target: "region 9 (subscription 1)", Result: "ok"},
			{At: fixtureTaken.Add(-5 * time.Second), Action: "resume-store", Target: "store 9", Result: "unknown store 9"},
		},
		Sim: &snapshots.SimGroundTruth{CommittedRows: 10500, MissingRows: 0},
	}
	type reg struct {
		id, store   uint64
		state       string
		lag, events int64
		err         string
		attempts    int
	}
	// Regions that wait keep their range's resolved ts, so they have a
	// lag (round 2).
	regs := []reg{
		{2, 1, snapshots.StateInitialized, 300, 1200, "", 0},
		{3, 1, snapshots.StateInitialized, 450, 980, "not_leader: leader is on store 1", 0},
		{4, 1, snapshots.StateStale, 12300, 400, "", 0},
		{5, 1, snapshots.StateRequested, 1200, 0, "", 0},
		{6, 1, snapshots.StateRetryWait, 5200, 55, "not_leader: leader is on store 2", 3},
		{7, 1, snapshots.StateLocating, 3100, 0, "epoch_not_match", 1},
		{8, 2, snapshots.StateParked, 9800, 10, "store_failure: connection refused", 2},
		{9, 2, snapshots.StateReloadWait, 2200, 77, "", 0},
		{10, 2, snapshots.StateRetryWait, 6400, 0, "server_is_busy", 5},
		{11, 2, snapshots.StateQueued, 500, 0, "", 0},
		{12, 3, snapshots.StateParked, 4100, 31, "", 0},
		{13, 3, snapshots.StateParked, 4000, 12, "", 0},
		{14, 3, snapshots.StateParked, 3900, 0, "", 0},
		{15, 4, snapshots.StateRetryWait, 7700, 0, "rpc_ctx_unavailable", 4},
		{16, 1, snapshots.StateInitialized, 150, 6000, "", 0},
	}
	for k, r := range regs {
		start := rowKeyHex(100, int64(k)*1000)
		end := rowKeyHex(100, int64(k+1)*1000)
		if k == 0 {
			start = rawHex("t")
		}
		s.Regions = append(s.Regions, snapshots.Region{
			ID: r.id, Subscription: 1, Start: start, End: end, StoreID: r.store,
			LeaderPeer: r.id*10 + r.store, EpochVersion: 5, EpochConfVer: 1, State: r.state,
			Initialized: r.state == snapshots.StateInitialized || r.state == snapshots.StateStale,
			ResolvedTs:  449999999000000000 + uint64(r.id), ResolvedLagMs: r.lag, Events: uint64(r.events),
			LastError: r.err, RetryAttempts: r.attempts,
		})
	}
	// Region 16 came from a split of 15, which came from 5.
	s.Regions[len(s.Regions)-1].Lineage = []snapshots.Origin{
		{Kind: "split", From: 15, At: fixtureTaken.Add(-30 * time.Second)},
		{Kind: "split", From: 5, At: fixtureTaken.Add(-5 * time.Minute)},
	}
	s.Regions[len(s.Regions)-1].End = rawHex("u")
	// Causes, as the engine would decide them for these states.
	storeDown2 := "store 2 (127.0.0.1:20161) down since 11:59:40: 3 failed attempts, no stream, next try in 1.6s; last: connection refused"
	storeDown4 := "store 4 (127.0.0.1:20163) down since 11:58:00: 7 failed attempts, no stream; last: connection refused"
	paused := "store 3 (127.0.0.1:20162) paused by the operator since 11:58:30; its regions wait for resume"
	causes := map[uint64]struct {
		cause, diagnosis string
		since            time.Duration // before fixtureTaken
	}{
		4: {snapshots.CauseLock, "pinned 12s by txn 449999988000000000 (started 12s ago) holding t100_r2500; no commit or rollback seen (prewrite seen live)", 12 * time.Second},
		5: {snapshots.CauseScanPending, "initial scan running on store 1 since 11:59:59", time.Second},
		6: {snapshots.CauseRegionChurn, "3 not_leader/epoch_not_match/region_not_found in the last minute; last 1s ago: not_leader: leader is on store 2; waiting to retry", 30 * time.Second},
		7: {snapshots.CauseRegionChurn, "1 not_leader/epoch_not_match/region_not_found in the last minute; last 2s ago: epoch_not_match; locating in PD", 2 * time.Second},
		8: {snapshots.CauseStoreDown, storeDown2, 20 * time.Second}, 9: {snapshots.CauseStoreDown, storeDown2, 20 * time.Second},
		10: {snapshots.CauseStoreDown, storeDown2, 20 * time.Second}, 11: {snapshots.CauseStoreDown, storeDown2, 20 * time.Second},
		12: {snapshots.CauseStorePaused, paused, 90 * time.Second}, 13: {snapshots.CauseStorePaused, paused, 90 * time.Second},
		14: {snapshots.CauseStorePaused, paused, 90 * time.Second},
		15: {snapshots.CauseStoreDown, storeDown4, 120 * time.Second},
	}
	for i := range s.Regions {
		r := &s.Regions[i]
		r.Cause, r.Since = snapshots.CauseHealthy, fixtureTaken.Add(-5*time.Minute)
		if c, ok := causes[r.ID]; ok {
			r.Cause, r.Diagnosis, r.Since = c.cause, c.diagnosis, fixtureTaken.Add(-c.since)
		}
		if r.LastError != "" {
			r.LastErrorAt = fixtureTaken.Add(-time.Second)
		}
	}
	s.Regions[5].LastErrorAt = fixtureTaken.Add(-2 * time.Second)  // region 7
	s.Regions[4].LastErrorAt = fixtureTaken.Add(-45 * time.Second) // region 6: before its condition
	conditions := []struct {
		cause, diagnosis string
		since            time.Duration
	}{
		{snapshots.CauseHealthy, "", 5 * time.Minute},
		{snapshots.CauseStoreDown, storeDown2, 20 * time.Second},
		{snapshots.CauseStorePaused, paused, 90 * time.Second},
		{snapshots.CauseStoreDown, storeDown4, 120 * time.Second},
	}
	for i, c := range conditions {
		s.Stores[i].Condition, s.Stores[i].Diagnosis, s.Stores[i].Since = c.cause, c.diagnosis, fixtureTaken.Add(-c.since)
	}
	s.Causes = []snapshots.CauseRow{
		{Cause: snapshots.CauseLock, Regions: 1, Stores: []uint64{1}, Since: fixtureTaken.Add(-12 * time.Second), Example: causes[4].diagnosis, ExampleRegion: 4},
		{Cause: snapshots.CauseStoreDown, Regions: 5, Stores: []uint64{2, 4}, Since: fixtureTaken.Add(-120 * time.Second), Example: storeDown4, ExampleRegion: 15},
		{Cause: snapshots.CauseStorePaused, Regions: 3, Stores: []uint64{3}, Since: fixtureTaken.Add(-90 * time.Second), Example: paused, ExampleRegion: 12},
		{Cause: snapshots.CauseRegionChurn, Regions: 2, Stores: []uint64{1}, Since: fixtureTaken.Add(-30 * time.Second), Example: causes[6].diagnosis, ExampleRegion: 6},
		{Cause: snapshots.CauseScanPending, Regions: 1, Stores: []uint64{1}, Since: fixtureTaken.Add(-time.Second), Example: causes[5].diagnosis, ExampleRegion: 5},
	}
	// Subscription 2: one table, one region.
	s.Regions = append(s.Regions, snapshots.Region{
		ID: 20, Subscription: 2, Start: tablePrefixHex(107, 'r'), End: tablePrefixHex(107, 's'), StoreID: 1,
		LeaderPeer: 201, EpochVersion: 2, EpochConfVer: 1, State: snapshots.StateInitialized, Initialized: true,
		ResolvedTs: 450000000000001000, ResolvedLagMs: 800, Events: 321,
		Cause: snapshots.CauseHealthy, Since: fixtureTaken.Add(-5 * time.Minute),
	})
	s.Retries = []snapshots.Retry{
		{Subscription: 1, RegionID: 10, StoreID: 2, Start: s.Regions[8].Start, End: s.Regions[8].End, Reason: snapshots.ReasonServerIsBusy, Attempt: 5, DueInMs: 2400},
		{Subscription: 1, RegionID: 6, StoreID: 1, Start: s.Regions[4].Start, End: s.Regions[4].End, Reason: snapshots.ReasonNotLeader, Attempt: 3, DueInMs: 120},
		{Subscription: 1, RegionID: 15, StoreID: 4, Start: s.Regions[13].Start, End: s.Regions[13].End, Reason: snapshots.ReasonRPCCtxUnavailable, Attempt: 4, DueInMs: 0},
	}
	s.Reloads = []snapshots.Reload{
		{Subscription: 1, Start: s.Regions[7].Start, End: s.Regions[8].End, Reason: snapshots.ReasonForceReload, MergedFrom: 5, QueuedMsAgo: 18},
		{Subscription: 1, Start: rowKeyHex(101, 0), End: rowKeyHex(101, 5000), Reason: snapshots.ReasonStale, MergedFrom: 1, QueuedMsAgo: 4},
	}
	// Recent flushes, oldest first: one that merged four requests (two
	// adjacent, a duplicate, one overlapping) that PD has answered, one not
	// answered yet, single ones, and one of subscription 2.
	s.RecentReloads = []snapshots.RecentReload{
		{At: fixtureTaken.Add(-2500 * time.Millisecond), Subscription: 2, Start: tablePrefixHex(107, 'r'), End: tablePrefixHex(107, 's'),
			Reasons: []string{snapshots.ReasonForceReload}, MergedFrom: 1, Regions: 1,
			Absorbed: []snapshots.SpanReason{{Start: tablePrefixHex(107, 'r'), End: tablePrefixHex(107, 's'), Reason: snapshots.ReasonForceReload}}},
		{At: fixtureTaken.Add(-1200 * time.Millisecond), Subscription: 1, Start: rowKeyHex(100, 9000), End: rowKeyHex(100, 10000),
			Reasons: []string{snapshots.ReasonRegionNotFound}, MergedFrom: 1, Regions: 1,
			Absorbed: []snapshots.SpanReason{{Start: rowKeyHex(100, 9000), End: rowKeyHex(100, 10000), Reason: snapshots.ReasonRegionNotFound}}},
		{At: fixtureTaken.Add(-300 * time.Millisecond), Subscription: 1, Start: rowKeyHex(100, 1000), End: rowKeyHex(100, 5000),
			Reasons: []string{snapshots.ReasonEpochNotMatch, snapshots.ReasonStale}, MergedFrom: 4, Regions: 3,
			Absorbed: []snapshots.SpanReason{
				{Start: rowKeyHex(100, 1000), End: rowKeyHex(100, 2000), Reason: snapshots.ReasonEpochNotMatch},
				{Start: rowKeyHex(100, 2000), End: rowKeyHex(100, 3000), Reason: snapshots.ReasonEpochNotMatch},
				{Start: rowKeyHex(100, 2000), End: rowKeyHex(100, 3000), Reason: snapshots.ReasonEpochNotMatch},
				{Start: rowKeyHex(100, 2500), End: rowKeyHex(100, 5000), Reason: snapshots.ReasonStale},
			}},
		{At: fixtureTaken.Add(-40 * time.Millisecond), Subscription: 1, Start: rowKeyHex(100, 13000), End: rawHex("u"),
			Reasons: []string{snapshots.ReasonStoreFailure}, MergedFrom: 2, Regions: -1,
			Absorbed: []snapshots.SpanReason{
				{Start: rowKeyHex(100, 13000), End: rowKeyHex(100, 14000), Reason: snapshots.ReasonStoreFailure},
				{Start: rowKeyHex(100, 14000), End: rawHex("u"), Reason: snapshots.ReasonStoreFailure},
			}},
	}
	// Recently fired retries, oldest first, one of each outcome.
	s.RecentRetries = []snapshots.RecentRetry{
		{At: fixtureTaken.Add(-1500 * time.Millisecond), Subscription: 1, RegionID: 11, StoreID: 2, Start: s.Regions[9].Start, End: s.Regions[9].End,
			Reason: snapshots.ReasonServerIsBusy, Attempt: 3, Outcome: snapshots.OutcomeSuperseded},
		{At: fixtureTaken.Add(-900 * time.Millisecond), Subscription: 1, Start: rowKeyHex(101, 0), End: rowKeyHex(101, 5000),
			Reason: snapshots.ReasonRPCCtxUnavailable, Attempt: 1, Outcome: snapshots.OutcomeRelocate},
		{At: fixtureTaken.Add(-250 * time.Millisecond), Subscription: 1, RegionID: 6, StoreID: 2, Start: s.Regions[4].Start, End: s.Regions[4].End,
			Reason: snapshots.ReasonNotLeader, Attempt: 2, Outcome: snapshots.OutcomeRelock},
		{At: fixtureTaken.Add(-100 * time.Millisecond), Subscription: 1, RegionID: 7, StoreID: 1, Start: s.Regions[5].Start, End: s.Regions[5].End,
			Reason: snapshots.ReasonEpochNotMatch, Attempt: 1, Outcome: snapshots.OutcomeReload},
	}
	for k := range 12 {
		op := "put"
		if k%4 == 3 {
			op = "delete"
		}
		s.Events = append(s.Events, snapshots.Event{
			Subscription: 1, RegionID: uint64(2 + k%3), Op: op, Key: rowKeyHex(100, int64(k*37)),
			StartTs: 449999990000000000 + uint64(k)*1000, CommitTs: 449999990000000500 + uint64(k)*1000, ValueLen: 16 + k,
		})
	}
	var initialized, stale int
	var lagMax int64
	for _, r := range s.Regions {
		if r.Initialized {
			initialized++
		}
		if r.State == snapshots.StateStale {
			stale++
		}
		lagMax = max(lagMax, r.ResolvedLagMs)
	}
	s.Totals = snapshots.Totals{
		Regions: len(s.Regions), Initialized: initialized, Stale: stale,
		Events: 10197, EventsPerSec: 482.5, ResolvedLagMaxMs: lagMax,
		ErrorsByReason: map[string]int64{
			snapshots.ReasonNotLeader: 14, snapshots.ReasonEpochNotMatch: 3, snapshots.ReasonServerIsBusy: 9,
			snapshots.ReasonStoreFailure: 6, snapshots.ReasonRPCCtxUnavailable: 2, snapshots.ReasonForceReload: 1,
			snapshots.ReasonCongested: 0,
		},
		RetriesFired: 31, ReloadsFlushed: 7, ReloadSpansMerged: 19, RegionRequests: 240,
		SubLagMs: 12300, SubLagID: 1, WorstRegion: 4, WorstStore: 1,
		ErrorsLastMinute: map[string]int64{snapshots.ReasonNotLeader: 5, snapshots.ReasonServerIsBusy: 2, snapshots.ReasonStoreFailure: 3},
		ErrorStores: map[string][]uint64{
			snapshots.ReasonNotLeader: {1}, snapshots.ReasonServerIsBusy: {2}, snapshots.ReasonStoreFailure: {2, 4},
		},
	}
	// The event log, oldest first.
	s.Log = []snapshots.LogEntry{
		{At: fixtureTaken.Add(-5 * time.Minute), Kind: snapshots.LogEngine, Subject: "engine", Text: "subscribed 2 span(s) at start ts 449999990000000000"},
		{At: fixtureTaken.Add(-90 * time.Second), Kind: snapshots.LogAction, Subject: "store 3 (127.0.0.1:20162)", Text: "pause-store: ok: 3 regions parked"},
		{At: fixtureTaken.Add(-30 * time.Second), Kind: snapshots.LogRegion, Subject: "region 16", Text: "region 16 split from 15"},
		{At: fixtureTaken.Add(-12 * time.Second), Kind: snapshots.LogFault, Subject: "script line 2", Text: "at 5s stop-store 2"},
		{At: fixtureTaken.Add(-9 * time.Second), Kind: snapshots.LogStore, Subject: "store 2",
			Text: "UP -> COOLDOWN: store 2 (127.0.0.1:20161): stream failed: rpc error: code = Unavailable desc = connection refused (failure #1)"},
		{At: fixtureTaken.Add(-2 * time.Second), Kind: snapshots.LogState, Subject: "regions", Text: "1 region stale (resolved ts not moving); worst region 4 on store 1"},
	}
	if err := s.Validate(); err != nil {
		panic(err)
	}
	return s
}

// next returns a copy of s one refresh later, with changed applied to it.
func next(s *snapshots.State, changed func(*snapshots.State)) *snapshots.State {
	c := *s
	c.Seq++
	c.TakenAt = c.TakenAt.Add(time.Second)
	c.Regions = append([]snapshots.Region(nil), s.Regions...)
	c.Stores = append([]snapshots.Store(nil), s.Stores...)
	c.Retries = append([]snapshots.Retry(nil), s.Retries...)
	c.Reloads = append([]snapshots.Reload(nil), s.Reloads...)
	c.Actions = append([]snapshots.Action(nil), s.Actions...)
	c.Events = append([]snapshots.Event(nil), s.Events...)
	c.Totals.ErrorsByReason = map[string]int64{}
	for k, v := range s.Totals.ErrorsByReason {
		c.Totals.ErrorsByReason[k] = v
	}
	if changed != nil {
		changed(&c)
	}
	return &c
}

// bigState has n regions over 4 stores, in a spread of states, for the
// benchmarks and the big-table tests.
func bigState(n int) *snapshots.State {
	s := fixtureState()
	s.Regions = make([]snapshots.Region, n)
	states := snapshots.RegionStates()
	for i := range s.Regions {
		k := uint64(i)
		// A cheap mixing function so sort order differs from ID order.
		h := (k*2654435761 + 12345) % 1000003
		s.Regions[i] = snapshots.Region{
			ID: k + 1, Subscription: 1 + k%2, StoreID: 1 + k%4,
			Start: rowKeyHex(100+int64(k/100000), int64(k%100000)*10), End: rowKeyHex(100+int64(k/100000), int64(k%100000)*10+10),
			State: states[h%uint64(len(states))], Initialized: h%3 == 0,
			ResolvedLagMs: int64(h % 60000), Events: h % 5000, RetryAttempts: int(h % 7),
		}
		if h%11 == 0 {
			s.Regions[i].LastError = "not_leader: leader moved to store 3"
		}
	}
	s.Totals.Regions = n
	return s
}

// fakeSource hands out whatever snapshot the test put in.
type fakeSource struct {
	mu sync.Mutex
	s  *snapshots.State
}

func (f *fakeSource) Snapshot() *snapshots.State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.s
}

func (f *fakeSource) set(s *snapshots.State) {
	f.mu.Lock()
	f.s = s
	f.mu.Unlock()
}

// fakeController records the actions it is asked for.
type fakeController struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (c *fakeController) record(call string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, call)
	return c.err
}

func (c *fakeController) PauseStore(id uint64) error  { return c.record(fmt.Sprintf("pause %d", id)) }
func (c *fakeController) ResumeStore(id uint64) error { return c.record(fmt.Sprintf("resume %d", id)) }
func (c *fakeController) ForceReloadRegion(sub, id uint64) error {
	return c.record(fmt.Sprintf("reload-region %d/%d", sub, id))
}
func (c *fakeController) ForceReloadSpan(sub uint64, start, end string) error {
	return c.record(fmt.Sprintf("reload-span %d %s %s", sub, start, end))
}

func (c *fakeController) ForceReloadRegions(sub uint64, ids []uint64) error {
	return c.record(fmt.Sprintf("reload-regions %d %v", sub, ids))
}

func (c *fakeController) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

var errStoreGone = errors.New("unknown store 3")
