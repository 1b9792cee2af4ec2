package diagnose

import (
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
	"github.com/tikv/client-go/v2/oracle"

	"github.com/pulltop/pulltop/snapshots"
)

var t0 = time.Date(2026, 11, 27, 14, 3, 7, 0, time.UTC).UnixNano()

func at(d time.Duration) int64 { return t0 + int64(d) }

const staleAfter = 10 * time.Second

func TestCauseNamesAreTheSnapshotVocabulary(t *testing.T) {
	names := snapshots.Causes()
	require.Len(t, names, int(NumCauses))
	for i, name := range names {
		require.Equal(t, name, Cause(i).String())
		c, ok := ParseCause(name)
		require.True(t, ok, name)
		require.Equal(t, Cause(i), c)
	}
	_, ok := ParseCause("bogus")
	require.False(t, ok)
	require.Equal(t, "unknown", NumCauses.String())
}

func TestMark(t *testing.T) {
	type step struct {
		cause     Cause
		evidence  int64
		now       int64
		wantSince int64
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"first update starts at the evidence", []step{
			{Silent, at(-12 * time.Second), at(0), at(-12 * time.Second)},
		}},
		{"no evidence: now", []step{
			{ScanPending, 0, at(0), at(0)},
		}},
		{"evidence in the future is clamped to now", []step{
			{Lock, at(time.Second), at(0), at(0)},
		}},
		{"same cause keeps its since", []step{
			{Lock, at(-5 * time.Second), at(0), at(-5 * time.Second)},
			{Lock, at(-time.Second), at(time.Second), at(-5 * time.Second)},
		}},
		{"a new condition never begins before the previous one", []step{
			{Healthy, 0, at(0), at(0)},
			{Silent, at(-3 * time.Second), at(20 * time.Second), at(0)},
		}},
		{"a cause that comes back within the grace keeps its old since", []step{
			{RegionChurn, 0, at(0), at(0)},
			{Healthy, 0, at(time.Second), at(time.Second)},
			{RegionChurn, at(2 * time.Second), at(2 * time.Second), at(0)},
			{Healthy, 0, at(3 * time.Second), at(3 * time.Second)},
		}},
		{"after the grace it is a new incident", []step{
			{RegionChurn, 0, at(0), at(0)},
			{Healthy, 0, at(time.Second), at(time.Second)},
			{RegionChurn, 0, at(12 * time.Second), at(12 * time.Second)},
		}},
		{"healthy is never restored", []step{
			{Healthy, 0, at(0), at(0)},
			{StoreDown, 0, at(time.Second), at(time.Second)},
			{Healthy, 0, at(2 * time.Second), at(2 * time.Second)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Mark
			for i, s := range tt.steps {
				m.Update(s.cause, s.evidence, s.now, staleAfter)
				require.Equal(t, s.cause, m.Cause, "step %d", i)
				require.Equal(t, s.wantSince, m.Since, "step %d: since %v", i, time.Duration(m.Since-t0))
			}
		})
	}
}

func TestWindow(t *testing.T) {
	var w Window
	require.Zero(t, w.Count(t0))
	base := (t0/windowBucket + 1) * windowBucket // a bucket boundary
	w.Add(base + int64(time.Second))
	w.Add(base + int64(2*time.Second))
	require.Equal(t, 2, w.Count(base+int64(3*time.Second)))
	w.Add(base + int64(31*time.Second)) // next bucket: the first two move to prev
	require.Equal(t, 3, w.Count(base+int64(32*time.Second)))
	require.Equal(t, 1, w.Count(base+int64(61*time.Second)), "the first bucket has faded")
	require.Zero(t, w.Count(base+int64(91*time.Second)), "a minute after the last event")
	w.Add(base + int64(200*time.Second)) // long gap: starts over
	require.Equal(t, 1, w.Count(base+int64(200*time.Second)))
}

func TestDecideStore(t *testing.T) {
	pdOK := &PD{}
	pdDown := &PD{Err: "rpc error: connection refused", Since: at(-4 * time.Second)}
	pdBack := &PD{Since: at(-4 * time.Second), BackAt: at(-time.Second)}
	tests := []struct {
		name      string
		store     Store
		pd        *PD
		want      Cause
		wantSince int64
	}{
		{"healthy", Store{Connected: true, Regions: 3, Advancing: 3}, pdOK, Healthy, 0},
		{"incompatible first", Store{Incompatible: "TiKV 7.1.0 < 7.5.0", Paused: true}, pdOK, Incompatible, 0},
		{"paused", Store{Paused: true, Failures: 3}, pdOK, StorePaused, 0},
		{"one failure in cooldown: cooling", Store{Regions: 2, Failures: 1, CoolingLeft: 150 * time.Millisecond, FailingSince: at(-time.Second)}, pdOK, StoreCooling, at(-time.Second)},
		{"second failure: down", Store{Regions: 2, Failures: 2, CoolingLeft: 300 * time.Millisecond, FailingSince: at(-2 * time.Second)}, pdOK, StoreDown, at(-2 * time.Second)},
		{"cooldown over, not tried again yet: still cooling", Store{Regions: 2, Failures: 1, FailingSince: at(-time.Second)}, pdOK, StoreCooling, at(-time.Second)},
		{"down but its leaders moved away: holds nothing up", Store{Failures: 5, FailingSince: at(-time.Minute)}, pdOK, Healthy, 0},
		{"failures but reconnected: not down", Store{Failures: 1, Connected: true, Regions: 1, Advancing: 1}, pdOK, Healthy, 0},
		{"all its regions stalled together", Store{Connected: true, Regions: 4, Stalled: 4, StalledSince: at(-11 * time.Second)}, pdOK, StoreStalled, at(-11 * time.Second)},
		{"one stalled region is that region's business", Store{Connected: true, Regions: 4, Stalled: 1, StalledSince: at(-11 * time.Second)}, pdOK, Healthy, 0},
		{"stalled while others advance: not the store", Store{Connected: true, Regions: 4, Stalled: 2, Advancing: 2}, pdOK, Healthy, 0},
		{"stalled with PD down: PD, since PD stopped answering", Store{Connected: true, Regions: 4, Stalled: 4, StalledSince: at(-11 * time.Second)}, pdDown, PDUnreachable, at(-4 * time.Second)},
		{"stalled just after PD answered again: still PD's", Store{Connected: true, Regions: 4, Stalled: 4, StalledSince: at(-11 * time.Second)}, pdBack, PDUnreachable, at(-4 * time.Second)},
		{"stalled long after PD answered again: the store's", Store{Connected: true, Regions: 4, Stalled: 4, StalledSince: at(-11 * time.Second)}, &PD{BackAt: at(-5 * time.Second)}, StoreStalled, at(-11 * time.Second)},
		{"PD lists it Offline: draining", Store{Connected: true, Regions: 4, Advancing: 4, PDState: PDStoreOffline, PDStateSince: at(-2 * time.Second)}, pdOK, StoreDraining, at(-2 * time.Second)},
		{"PD lists it Tombstone: removed", Store{Failures: 3, Regions: 2, PDState: PDStoreTombstone, PDStateSince: at(-time.Second)}, pdOK, StoreRemoved, at(-time.Second)},
		{"PD no longer lists it: removed", Store{Unlisted: true, PDStateSince: at(-time.Second)}, pdOK, StoreRemoved, at(-time.Second)},
		{"removed beats down", Store{Failures: 3, Regions: 2, PDState: PDStoreTombstone}, pdOK, StoreRemoved, 0},
		{"leaders moved away, none left: draining", Store{Failures: 1, MovedAway: 21, MovedAwaySince: at(-3 * time.Second), MovedAwayLast: at(-3 * time.Second)}, pdOK, StoreDraining, at(-3 * time.Second)},
		{"drained, then its stream ended: still draining", Store{Failures: 4, MovedAway: 21, MovedAwaySince: at(-40 * time.Second), MovedAwayLast: at(-40 * time.Second), FailingSince: at(-30 * time.Second)}, pdOK, StoreDraining, at(-40 * time.Second)},
		{"drained but for one region with no other live replica, then its stream ended: draining", Store{Failures: 2, Regions: 1, MovedAway: 11, MovedAwaySince: at(-3 * time.Second), MovedAwayLast: at(-2 * time.Second), FailingSince: at(-time.Second)}, pdOK, StoreDraining, at(-3 * time.Second)},
		{"most leaders moved away and it still streams: a storm, not a drain", Store{Connected: true, Regions: 1, Advancing: 1, MovedAway: 11, MovedAwaySince: at(-3 * time.Second), MovedAwayLast: at(-2 * time.Second)}, pdOK, Healthy, 0},
		{"too many left behind when its stream ended: down", Store{Failures: 2, Regions: 4, MovedAway: 11, MovedAwaySince: at(-3 * time.Second), MovedAwayLast: at(-2 * time.Second), FailingSince: at(-time.Second)}, pdOK, StoreDown, at(-time.Second)},
		{"failed before its leaders moved (elected elsewhere while it was down), a few left: down", Store{Failures: 2, Regions: 1, MovedAway: 11, MovedAwaySince: at(-3 * time.Second), MovedAwayLast: at(-2 * time.Second), FailingSince: at(-5 * time.Second)}, pdOK, StoreDown, at(-5 * time.Second)},
		{"back with no leaders long after a drain: not draining", Store{Connected: true, MovedAway: 21, MovedAwaySince: at(-40 * time.Second), MovedAwayLast: at(-40 * time.Second)}, pdOK, Healthy, 0},
		{"failed long after some leaders moved: not a drain", Store{Failures: 4, MovedAway: 5, MovedAwaySince: at(-60 * time.Second), MovedAwayLast: at(-60 * time.Second), FailingSince: at(-20 * time.Second)}, pdOK, Healthy, 0},
		{"back from an outage leading nothing (its leaders were elected elsewhere meanwhile): not a drain", Store{Connected: true, Flaps: 1, FlapsSince: at(-8 * time.Second), LastFlapAt: at(-8 * time.Second), MovedAway: 4, MovedAwaySince: at(-3 * time.Second), MovedAwayLast: at(-2 * time.Second)}, pdOK, Healthy, 0},
		{"one held region and the stream quiet for 2s, others not held yet: stalled", Store{Connected: true, Regions: 4, Advancing: 3, Stalled: 1, StalledSince: at(-3 * time.Second), LastMsgAt: at(-2500 * time.Millisecond), ResolvedAt: at(-2500 * time.Millisecond)}, pdOK, StoreStalled, at(-3 * time.Second)},
		{"one held region, the stream talking: not the store's", Store{Connected: true, Regions: 4, Advancing: 3, Stalled: 1, StalledSince: at(-3 * time.Second), LastMsgAt: at(-500 * time.Millisecond), ResolvedAt: at(-500 * time.Millisecond)}, pdOK, Healthy, 0},
		{"leaders moved away and none left while PD is down: not a drain (where they went is not known)", Store{Connected: true, MovedAway: 4, MovedAwaySince: at(-3 * time.Second), MovedAwayLast: at(-2 * time.Second)}, pdDown, Healthy, 0},
		{"leaders moved away but it still leads some: not a drain", Store{Connected: true, Regions: 5, Advancing: 5, MovedAway: 21, MovedAwaySince: at(-3 * time.Second), MovedAwayLast: at(-3 * time.Second)}, pdOK, Healthy, 0},
		{"leaders moved both ways (a transfer-leader storm): not a drain", Store{MovedAway: 6, MovedAwaySince: at(-8 * time.Second), MovedAwayLast: at(-time.Second), MovedInLast: at(-4 * time.Second)}, pdOK, Healthy, 0},
		{"two leaders moved: not a drain", Store{MovedAway: 2, MovedAwaySince: at(-3 * time.Second), MovedAwayLast: at(-3 * time.Second)}, pdOK, Healthy, 0},
		{"flapping while failed", Store{Regions: 2, Failures: 1, Flaps: 4, FlapsSince: at(-14 * time.Second), LastFlapAt: at(-time.Second), FailingSince: at(-time.Second)}, pdOK, StoreFlapping, at(-14 * time.Second)},
		{"flapped, then hung (stream quiet, a region held): stalled", Store{Connected: true, Regions: 2, Advancing: 1, Stalled: 1, StalledSince: at(-3 * time.Second), LastMsgAt: at(-2500 * time.Millisecond), ResolvedAt: at(-2500 * time.Millisecond), Flaps: 3, FlapsSince: at(-9 * time.Second), LastFlapAt: at(-5 * time.Second)}, pdOK, StoreStalled, at(-3 * time.Second)},
		{"flapping between failures", Store{Connected: true, Regions: 2, Advancing: 2, Flaps: 3, FlapsSince: at(-9 * time.Second), LastFlapAt: at(-3 * time.Second)}, pdOK, StoreFlapping, at(-9 * time.Second)},
		{"killed every 2s, the last 4s ago: past its rhythm, flapping is over", Store{Connected: true, Regions: 2, Advancing: 2, Flaps: 3, FlapsSince: at(-8 * time.Second), LastFlapAt: at(-4 * time.Second)}, pdOK, Healthy, 0},
		{"killed every 4s, the last 4.5s ago: still within its rhythm", Store{Connected: true, Regions: 2, Advancing: 2, Flaps: 3, FlapsSince: at(-12500 * time.Millisecond), LastFlapAt: at(-4500 * time.Millisecond)}, pdOK, StoreFlapping, at(-12500 * time.Millisecond)},
		{"its last failure 11s ago: flapping is over", Store{Connected: true, Regions: 2, Advancing: 2, Flaps: 3, FlapsSince: at(-19 * time.Second), LastFlapAt: at(-11 * time.Second)}, pdOK, Healthy, 0},
		{"two failures in the window: not flapping", Store{Connected: true, Regions: 2, Advancing: 2, Flaps: 2, FlapsSince: at(-9 * time.Second)}, pdOK, Healthy, 0},
		{"a failed reconnect is down, flapping or not", Store{Regions: 2, Failures: 2, Flaps: 4, LastFlapAt: at(-2 * time.Second), FailingSince: at(-2 * time.Second)}, pdOK, StoreDown, at(-2 * time.Second)},
		{"flapping with no regions holds nothing", Store{Connected: true, Flaps: 5, FlapsSince: at(-9 * time.Second)}, pdOK, Healthy, 0},
		{"slow: late against PD and the others", Store{Connected: true, Regions: 3, Advancing: 3, LateMs: 1500, OthersLateMs: 20, FreshMovedAt: at(-time.Second)}, pdOK, StoreSlow, 0},
		{"slow with no other store to compare", Store{Connected: true, Regions: 3, Advancing: 3, LateMs: 1500, OthersLateMs: -1, FreshMovedAt: at(-time.Second)}, pdOK, StoreSlow, 0},
		{"every store as late: not this store", Store{Connected: true, Regions: 3, Advancing: 3, LateMs: 1500, OthersLateMs: 1400}, pdOK, Healthy, 0},
		{"so late every region is held, messages flowing: slow, not stalled", Store{Connected: true, Regions: 3, Stalled: 3, StalledSince: at(-4 * time.Second), LastMsgAt: at(-300 * time.Millisecond), ResolvedAt: at(-300 * time.Millisecond), LateMs: 4200, OthersLateMs: 20, FreshMovedAt: at(-time.Second)}, pdOK, StoreSlow, 0},
		{"late because nothing moves (a lock holds every region): not slow", Store{Connected: true, Regions: 3, Advancing: 3, LateMs: 2500, OthersLateMs: 20, FreshMovedAt: at(-2500 * time.Millisecond)}, pdOK, Healthy, 0},
		{"a little late: not slow", Store{Connected: true, Regions: 3, Advancing: 3, LateMs: 600, OthersLateMs: 0}, pdOK, Healthy, 0},
		{"late with PD down: PD's", Store{Connected: true, Regions: 3, Advancing: 3, LateMs: 5000, OthersLateMs: 0}, pdDown, Healthy, 0},
		{"late but no stream: not slow", Store{Regions: 3, LateMs: 5000, OthersLateMs: 0}, pdOK, Healthy, 0},
		{"nothing arrived: not slow", Store{Connected: true, Regions: 3, Advancing: 3, LateMs: -1, OthersLateMs: 0}, pdOK, Healthy, 0},
		{"busy since its first busy error", Store{Connected: true, Regions: 3, Advancing: 1, BusyWaiting: 2, Busy: windowOf(at(-time.Second), 3), BusyLastAt: at(-time.Second), BusySince: at(-3 * time.Second)}, pdOK, StoreBusy, at(-3 * time.Second)},
		{"busy errors, regions held by something else, none waiting on busy: not busy", Store{Connected: true, Regions: 3, Advancing: 1, Busy: windowOf(at(-time.Second), 3), BusyLastAt: at(-time.Second)}, pdOK, Healthy, 0},
		{"busy", Store{Connected: true, Regions: 3, Advancing: 1, BusyWaiting: 2, Busy: windowOf(at(-time.Second), 3), BusyLastAt: at(-time.Second)}, pdOK, StoreBusy, 0},
		{"one region waiting on RegionNotFound after busy errors: a merge, not a busy store", Store{Connected: true, Regions: 3, Advancing: 2, BusyWaiting: 1, NotFoundWaiting: 1, Busy: windowOf(at(-time.Second), 2), BusyLastAt: at(-time.Second)}, pdOK, Healthy, 0},
		{"two regions waiting on RegionNotFound: busy", Store{Connected: true, Regions: 3, Advancing: 1, BusyWaiting: 2, NotFoundWaiting: 2, Busy: windowOf(at(-time.Second), 2), BusyLastAt: at(-time.Second)}, pdOK, StoreBusy, 0},
		{"one region waiting on Congested: busy", Store{Connected: true, Regions: 3, Advancing: 2, BusyWaiting: 1, Busy: windowOf(at(-time.Second), 2), BusyLastAt: at(-time.Second)}, pdOK, StoreBusy, 0},
		{"busy but every region streams again", Store{Connected: true, Regions: 3, Advancing: 3, Busy: windowOf(at(-time.Second), 3), BusyLastAt: at(-time.Second)}, pdOK, Healthy, 0},
		{"one busy error is not a busy store", Store{Connected: true, Regions: 3, Busy: windowOf(at(-time.Second), 1), BusyLastAt: at(-time.Second)}, pdOK, Healthy, 0},
		{"busy long ago", Store{Connected: true, Regions: 3, Busy: windowOf(at(-20*time.Second), 3), BusyLastAt: at(-20 * time.Second)}, pdOK, Healthy, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.store
			s.Decide(tt.pd, t0)
			require.Equal(t, tt.want, s.Cause)
			require.Equal(t, tt.wantSince, s.Since)
		})
	}
}

func windowOf(when int64, n int) Window {
	var w Window
	for range n {
		w.Add(when)
	}
	return w
}

func TestDecideRegion(t *testing.T) {
	pdOK := &PD{}
	pdDown := &PD{Err: "connection refused", Since: at(-3 * time.Second)}
	rts := oracle.GoTimeToTS(time.Unix(0, at(-12*time.Second)))
	streaming := Region{ID: 7, StoreID: 2, State: snapshots.StateInitialized, Initialized: true, ResolvedTs: rts, LastAdvance: at(-time.Second)}
	stale := streaming
	stale.State, stale.LastAdvance = snapshots.StateStale, at(-12*time.Second)
	locked := stale
	locked.Lock = OpenTxn{StartTs: rts + 1, Key: "k", Open: 1}
	oldLock := stale
	oldLock.Lock = OpenTxn{StartTs: rts - 100, Key: "k", Open: 1} // below resolved ts: does not pin it
	failed := func(state, reason string) Region {
		return Region{ID: 7, StoreID: 2, State: state, FailReason: reason, LastError: reason + ": x", LastErrorAt: at(-time.Second)}
	}
	storeWith := func(c Cause, since int64) *Store {
		return &Store{ID: 2, Cause: c, Since: since, Connected: true, Advancing: 5, LastMsgAt: at(-100 * time.Millisecond), ResolvedAt: at(-100 * time.Millisecond)}
	}
	up := storeWith(Healthy, 0)
	hung := &Store{ID: 2, Cause: StoreStalled, Since: at(-11 * time.Second), Connected: true, LastMsgAt: at(-12 * time.Second), ResolvedAt: at(-12 * time.Second)}
	pinned := func(pins ...Pin) *Store { s := storeWith(Healthy, 0); s.Pins = pins; return s }
	lagging := streaming // 4s without an advance: past min(3s, 10s/2)
	lagging.LastAdvance, lagging.LagMs = at(-4*time.Second), 4500
	lockedLagging := lagging
	lockedLagging.Lock = OpenTxn{StartTs: rts + 1, Key: "k", Open: 1}
	behindStill := streaming // past the lag threshold, still for 2.2s: not held yet
	behindStill.LastAdvance, behindStill.LagMs = at(-2200*time.Millisecond), 3100
	lockedBehind := behindStill
	lockedBehind.Lock = OpenTxn{StartTs: rts + 1, Key: "k", Open: 1}
	behind := streaming // moving, but far behind PD's clock
	behind.LagMs = 3500
	justUnder := streaming
	justUnder.LastAdvance, justUnder.LagMs = at(-2900*time.Millisecond), 2900
	moved := failed(snapshots.StateRetryWait, snapshots.ReasonNotLeader)
	moved.LeftStore, moved.LeftCause = 3, StoreDraining
	movedChurn := moved
	movedChurn.LeftCause = Healthy
	pdBack := &PD{Since: at(-12 * time.Second), BackAt: at(-500 * time.Millisecond), DownFor: 11 * time.Second}

	tests := []struct {
		name      string
		region    Region
		store     *Store
		pd        *PD
		want      Cause
		wantSince int64
	}{
		{"streaming", streaming, up, pdOK, Healthy, 0},
		{"streaming on a down store is still streaming", streaming, storeWith(StoreDown, at(-time.Second)), pdOK, Healthy, 0},
		{"stale with nothing else: silent", stale, up, pdOK, Silent, at(-12 * time.Second)},
		{"stale by time before the tick marks it", func() Region { r := streaming; r.LastAdvance = at(-10 * time.Second); return r }(), up, pdOK, Silent, at(-10 * time.Second)},
		{"held past the lagging threshold, nothing known: lagging", lagging, up, pdOK, Lagging, at(-4 * time.Second)},
		{"re-registered 1s ago, its old resolved ts not moved yet: not silent before TiKV's first interval",
			func() Region {
				r := stale
				r.State = snapshots.StateInitialized
				r.InitializedAt = at(-time.Second)
				return r
			}(), up, pdOK, Lagging, at(-12 * time.Second)},
		{"re-registered 2.5s ago and still not moved: silent",
			func() Region { r := stale; r.InitializedAt = at(-2500 * time.Millisecond); return r }(), up, pdOK, Silent, at(-12 * time.Second)},
		{"just under the lagging threshold: healthy", justUnder, up, pdOK, Healthy, 0},
		{"behind PD's clock but moving: lagging", behind, up, pdOK, Lagging, 0},
		{"behind on a slow store: the store's", behind, storeWith(StoreSlow, 0), pdOK, StoreSlow, 0},
		{"under the lagging threshold, a second late, on a slow store: the store's", func() Region { r := streaming; r.LagMs = 1800; return r }(), storeWith(StoreSlow, 0), pdOK, StoreSlow, 0},
		{"a second late on a healthy store: healthy", func() Region { r := streaming; r.LagMs = 1800; return r }(), up, pdOK, Healthy, 0},
		{"held on a slow store: the store's", lagging, storeWith(StoreSlow, 0), pdOK, StoreSlow, at(-4 * time.Second)},
		{"open prewrite at resolved ts on a live store: lock", locked, up, pdOK, Lock, at(-12 * time.Second)},
		{"a lock is named at the lagging threshold, not at stale", lockedLagging, up, pdOK, Lock, at(-4 * time.Second)},
		{"open prewrite below resolved ts does not pin", oldLock, up, pdOK, Silent, at(-12 * time.Second)},
		{"open prewrite on a hung store: the store's, not a lock", locked, hung, pdOK, StoreStalled, at(-12 * time.Second)},
		{"open prewrite on a store that just hung, some regions not held yet: not a lock", locked,
			&Store{ID: 2, Connected: true, Advancing: 3, LastMsgAt: at(-2500 * time.Millisecond), ResolvedAt: at(-2500 * time.Millisecond)}, pdOK, Silent, at(-12 * time.Second)},
		{"behind, still for 2s, open prewrite, the store moved on: lock before it counts as held", lockedBehind,
			func() *Store { s := storeWith(Healthy, 0); s.FreshMovedAt = at(-200 * time.Millisecond); return s }(), pdOK, Lock, at(-2200 * time.Millisecond)},
		{"behind, still, open prewrite, but the store's newest resolved ts stopped with it: not yet a lock", lockedBehind,
			func() *Store { s := storeWith(Healthy, 0); s.FreshMovedAt = at(-2 * time.Second); return s }(), pdOK, Lagging, 0},
		{"behind, still, a batch-mate's lock, the store moved on: lock", behindStill,
			func() *Store {
				s := pinned(Pin{RegionID: 9, ResolvedTs: rts})
				s.FreshMovedAt = at(-200 * time.Millisecond)
				return s
			}(), pdOK, Lock, at(-2200 * time.Millisecond)},
		{"just joined a batch a lock holds (its resolved ts moved to the pin's a moment ago), the lock's evidence in: lock at once", behind,
			func() *Store {
				s := pinned(Pin{RegionID: 9, ResolvedTs: rts, Since: at(-5 * time.Second)})
				s.FreshMovedAt = at(-200 * time.Millisecond)
				return s
			}(), pdOK, Lock, at(-time.Second)},
		{"just joined a pinned batch, but the store stopped with the pinned region: lagging", behind,
			func() *Store {
				s := pinned(Pin{RegionID: 9, ResolvedTs: rts, Since: at(-5 * time.Second)})
				s.FreshMovedAt = at(-5 * time.Second)
				return s
			}(), pdOK, Lagging, 0},
		{"just joined a pinned batch on a store gone quiet: lagging", behind,
			func() *Store {
				s := pinned(Pin{RegionID: 9, ResolvedTs: rts, Since: at(-5 * time.Second)})
				s.FreshMovedAt, s.LastMsgAt, s.ResolvedAt = at(-2500*time.Millisecond), at(-2500*time.Millisecond), at(-2500*time.Millisecond)
				return s
			}(), pdOK, Lagging, 0},
		{"requested on a hung store after its old store failed: the hang, not cooling",
			func() Region { r := failed(snapshots.StateRequested, snapshots.ReasonStoreFailure); return r }(),
			storeWith(StoreStalled, at(-time.Second)), pdOK, StoreStalled, 0},
		{"requested on a busy store after its leader moved there: busy, not churn",
			failed(snapshots.StateRequested, snapshots.ReasonNotLeader), storeWith(StoreBusy, at(-time.Second)), pdOK, StoreBusy, 0},
		{"waiting out its backoff after a store failure, its store busy: cooling", failed(snapshots.StateRetryWait, snapshots.ReasonStoreFailure),
			storeWith(StoreBusy, at(-time.Second)), pdOK, StoreCooling, at(-time.Second)},
		{"held ahead of a pin, but last sent the pin's resolved ts (joined the batch after the lock): lock",
			func() Region { r := lagging; r.ResolvedTs, r.SentTs = rts+50, rts; return r }(), pinned(Pin{RegionID: 9, ResolvedTs: rts}), pdOK, Lock, at(-4 * time.Second)},
		{"held ahead of a pin, last sent its own resolved ts: lagging",
			func() Region { r := lagging; r.ResolvedTs, r.SentTs = rts+50, rts+50; return r }(), pinned(Pin{RegionID: 9, ResolvedTs: rts}), pdOK, Lagging, at(-4 * time.Second)},
		{"requested after a busy error, its store (wrongly or not) stalled: the busy error's reading, not the stall",
			failed(snapshots.StateRequested, snapshots.ReasonServerIsBusy), storeWith(StoreStalled, at(-time.Second)), pdOK, StoreBusy, at(-time.Second)},
		{"a hang just ended: its held rows arrive, no resolved ts yet: not a lock", locked,
			&Store{ID: 2, Connected: true, Advancing: 3, LastMsgAt: at(-50 * time.Millisecond), ResolvedAt: at(-5 * time.Second)}, pdOK, Silent, at(-12 * time.Second)},
		{"open prewrite with no stream: not a lock", lockedLagging, &Store{ID: 2, LastMsgAt: at(-100 * time.Millisecond), ResolvedAt: at(-100 * time.Millisecond)}, pdOK, Lagging, at(-4 * time.Second)},
		{"open prewrite, nothing else advancing, but messages flow: lock", locked, &Store{ID: 2, Connected: true, LastMsgAt: at(-500 * time.Millisecond), ResolvedAt: at(-500 * time.Millisecond)}, pdOK, Lock, at(-12 * time.Second)},
		{"batch-mate of a locked region: lock", stale, pinned(Pin{RegionID: 9, ResolvedTs: rts}), pdOK, Lock, at(-12 * time.Second)},
		{"batch-mate at the lagging threshold: lock at once", lagging, pinned(Pin{RegionID: 9, ResolvedTs: rts}), pdOK, Lock, at(-4 * time.Second)},
		{"batch-mate on a hung store: the store's", stale, func() *Store { s := *hung; s.Pins = []Pin{{RegionID: 9, ResolvedTs: rts}}; return &s }(), pdOK, StoreStalled, at(-12 * time.Second)},
		{"its lock just ended, resolved ts not re-sent yet: still the lock", lagging, pinned(Pin{RegionID: 7, ResolvedTs: rts, Ended: true}), pdOK, Lock, at(-4 * time.Second)},
		{"a batch-mate's lock just ended: still the lock", lagging, pinned(Pin{RegionID: 9, ResolvedTs: rts, Ended: true}), pdOK, Lock, at(-4 * time.Second)},
		{"its own open pin is not its batch-mate", lagging, pinned(Pin{RegionID: 7, ResolvedTs: rts}), pdOK, Lagging, at(-4 * time.Second)},
		{"another resolved ts than the pinned one: silent", stale, pinned(Pin{RegionID: 9, ResolvedTs: rts - 1}), pdOK, Silent, at(-12 * time.Second)},
		{"stalled store", stale, storeWith(StoreStalled, at(-11*time.Second)), pdOK, StoreStalled, at(-12 * time.Second)},
		{"PD down beats a lock, since PD stopped answering", locked, up, pdDown, PDUnreachable, at(-3 * time.Second)},
		{"held just after PD answered again: PD's until TiKV's next advance", lagging, up, pdBack, PDUnreachable, at(-12 * time.Second)},
		{"held with a new prewrite just after PD answered again: PD's, not a lock", lockedLagging, up, pdBack, PDUnreachable, at(-12 * time.Second)},
		{"held past the grace after PD answered again: not PD's any more", lagging, up, &PD{Since: at(-20 * time.Second), BackAt: at(-2500 * time.Millisecond)}, Lagging, at(-4 * time.Second)},
		{"held on a PD-stalled store", lagging, storeWith(PDUnreachable, at(-12*time.Second)), pdOK, PDUnreachable, 0},
		{"waiting for a lookup with PD down", failed(snapshots.StateRetryWait, snapshots.ReasonRPCCtxUnavailable), up, pdDown, PDUnreachable, at(-3 * time.Second)},
		{"locating with PD down", Region{State: snapshots.StateLocating}, up, pdDown, PDUnreachable, at(-3 * time.Second)},
		{"scanning with PD down is scanning", Region{State: snapshots.StateRequested, RequestedAt: at(-time.Second)}, up, pdDown, ScanPending, at(-time.Second)},
		{"store down", failed(snapshots.StateParked, snapshots.ReasonStoreFailure), storeWith(StoreDown, at(-5*time.Second)), pdOK, StoreDown, at(-5 * time.Second)},
		{"store down beats PD down", failed(snapshots.StateRetryWait, snapshots.ReasonStoreFailure), storeWith(StoreDown, at(-5*time.Second)), pdDown, StoreDown, at(-5 * time.Second)},
		{"store paused", Region{State: snapshots.StateParked}, storeWith(StorePaused, at(-5*time.Second)), pdOK, StorePaused, at(-5 * time.Second)},
		{"store cooling", failed(snapshots.StateRetryWait, snapshots.ReasonStoreFailure), storeWith(StoreCooling, at(-time.Second)), pdOK, StoreCooling, at(-time.Second)},
		{"store back, region waits out its backoff", failed(snapshots.StateRetryWait, snapshots.ReasonStoreFailure), up, pdOK, StoreCooling, at(-time.Second)},
		{"store flapping, region waits out its backoff", failed(snapshots.StateRetryWait, snapshots.ReasonStoreFailure), storeWith(StoreFlapping, at(-9*time.Second)), pdOK, StoreFlapping, at(-9 * time.Second)},
		{"streaming on a flapping store is streaming", streaming, storeWith(StoreFlapping, at(-9*time.Second)), pdOK, Healthy, 0},
		{"store removed", failed(snapshots.StateReloadWait, snapshots.ReasonRegionNotFound), storeWith(StoreRemoved, at(-time.Second)), pdOK, StoreRemoved, at(-time.Second)},
		{"store Offline in PD", failed(snapshots.StateReloadWait, snapshots.ReasonRegionNotFound), storeWith(StoreDraining, at(-time.Second)), pdOK, StoreDraining, at(-time.Second)},
		{"its leader left a draining store: the drain", moved, up, pdOK, StoreDraining, at(-time.Second)},
		{"its leader left a healthy store: churn", movedChurn, up, pdOK, RegionChurn, at(-time.Second)},
		{"incompatible store", Region{State: snapshots.StateRetryWait}, storeWith(Incompatible, at(-time.Second)), pdOK, Incompatible, at(-time.Second)},
		{"not leader", failed(snapshots.StateRetryWait, snapshots.ReasonNotLeader), up, pdOK, RegionChurn, at(-time.Second)},
		{"epoch not match", failed(snapshots.StateReloadWait, snapshots.ReasonEpochNotMatch), up, pdOK, RegionChurn, at(-time.Second)},
		{"no leader known with PD up", failed(snapshots.StateRetryWait, snapshots.ReasonRPCCtxUnavailable), up, pdOK, RegionChurn, at(-time.Second)},
		{"one region not found: churn (merged or moved)", failed(snapshots.StateReloadWait, snapshots.ReasonRegionNotFound), up, pdOK, RegionChurn, at(-time.Second)},
		{"region not found from a busy store", failed(snapshots.StateReloadWait, snapshots.ReasonRegionNotFound), storeWith(StoreBusy, 0), pdOK, StoreBusy, at(-time.Second)},
		{"server is busy", failed(snapshots.StateRetryWait, snapshots.ReasonServerIsBusy), up, pdOK, StoreBusy, at(-time.Second)},
		{"congested", failed(snapshots.StateRetryWait, snapshots.ReasonCongested), up, pdOK, StoreBusy, at(-time.Second)},
		{"initial scan", Region{State: snapshots.StateRequested, RequestedAt: at(-2 * time.Second)}, up, pdOK, ScanPending, at(-2 * time.Second)},
		{"waiting for a scan slot", Region{State: snapshots.StateQueued, AdmissionPos: 3}, up, pdOK, ScanPending, 0},
		{"scan on a stalled store", Region{State: snapshots.StateRequested}, storeWith(StoreStalled, at(-11*time.Second)), pdOK, StoreStalled, 0},
		{"unknown error: waiting to scan again", failed(snapshots.StateRetryWait, snapshots.ReasonUnknown), up, pdOK, ScanPending, 0},
		{"unknown store", Region{State: snapshots.StateLocating}, nil, pdOK, ScanPending, 0},
		{"held on an unknown store: lagging", lagging, nil, pdOK, Lagging, at(-4 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, since := DecideRegion(&tt.region, tt.store, tt.pd, t0, staleAfter)
			require.Equal(t, tt.want.String(), c.String())
			require.Equal(t, tt.wantSince, since, "since %v", time.Duration(since-t0))
		})
	}
}

func TestTally(t *testing.T) {
	s := Store{Connected: true, LastMsgAt: at(-time.Second), ResolvedAt: at(-time.Second)} // region 1 advanced then: a message
	rts := uint64(100)
	regions := []Region{
		{ID: 1, Initialized: true, LastAdvance: at(-time.Second)},                                                    // advancing
		{ID: 2, Initialized: true, LastAdvance: at(-20 * time.Second), ResolvedTs: rts + 5},                          // stalled
		{ID: 3, Initialized: true, LastAdvance: at(-15 * time.Second), ResolvedTs: rts + 7},                          // stalled, later
		{ID: 4, Initialized: true, LastAdvance: at(-30 * time.Second), ResolvedTs: rts, Lock: OpenTxn{StartTs: rts}}, // its own lock
		{ID: 5, Initialized: true, LastAdvance: at(-30 * time.Second), ResolvedTs: rts},                              // region 4's batch-mate
		{ID: 6, State: snapshots.StateRequested},
	}
	for i := range regions {
		s.Tally(&regions[i], t0, staleAfter)
	}
	for i := range regions {
		if regions[i].Stalled(t0, staleAfter) {
			s.TallyStalled(&regions[i], t0)
		}
	}
	require.Equal(t, 6, s.Regions)
	require.Equal(t, 1, s.Advancing)
	require.Equal(t, []Pin{{RegionID: 4, ResolvedTs: rts, Lock: OpenTxn{StartTs: rts}, Since: at(-30 * time.Second)}}, s.Pins)
	require.Equal(t, 2, s.Stalled, "regions 2 and 3; 4 and 5 are explained by the lock")
	require.Equal(t, at(-15*time.Second), s.StalledSince)
	require.Equal(t, uint64(4), s.PinFor(&regions[4]).RegionID)
	require.Nil(t, s.PinFor(&regions[1]))
	require.Nil(t, s.PinFor(&regions[3]), "a region is not its own batch-mate")
}

func TestDescribe(t *testing.T) {
	d := &Describer{Loc: time.UTC, KeyName: func(raw string) string { return "t101_r14680064" }}
	startTs := oracle.GoTimeToTS(time.Unix(0, at(-25*time.Second)))
	r := Region{ID: 7, StoreID: 2, State: snapshots.StateStale, Initialized: true, ResolvedTs: startTs - 1,
		LastAdvance: at(-25 * time.Second), Lock: OpenTxn{StartTs: startTs, Key: "raw", Open: 1}}
	require.Equal(t, "pinned 25s by txn "+strconv.FormatUint(startTs, 10)+" (started 25s ago) holding t101_r14680064; no commit or rollback seen (prewrite seen live)",
		d.Region(Lock, &r, nil, "", &PD{}, t0))
	r.Lock.InScan, r.Lock.Open = true, 3
	require.Contains(t, d.Region(Lock, &r, nil, "", &PD{}, t0), "(prewrite found by the initial scan); 3 prewrites open")

	mate := r
	mate.ID, mate.Lock = 8, OpenTxn{}
	pinned := &Store{Pins: []Pin{{RegionID: 7, ResolvedTs: r.ResolvedTs, Lock: r.Lock}}}
	require.Equal(t, "held at the resolved ts of region 7, which txn "+strconv.FormatUint(startTs, 10)+
		" pins (TiKV sends resolved ts to a batch of regions at the batch's minimum); stuck 25s",
		d.Region(Lock, &mate, pinned, "", &PD{}, t0))

	s := Store{ID: 2, Addr: "127.0.0.1:20161", Connected: true, Stalled: 22, LastMsgAt: at(-12 * time.Second), ResolvedAt: at(-12 * time.Second),
		Cause: StoreStalled, Since: at(0)}
	text := d.Store(&s, &PD{}, at(13*time.Second))
	require.Equal(t, "resolved ts stalled on store 2 (127.0.0.1:20161) since 14:03:07, 22 regions; stream open, last message 25s ago", text)
	require.Equal(t, text, d.Region(StoreStalled, &r, &s, text, &PD{}, t0), "a store's cause reads as the store's diagnosis")

	down := Store{ID: 2, Failures: 4, FailingSince: at(-8 * time.Second), LastFailure: "connection refused", Cause: StoreDown}
	require.Equal(t, "store 2 down since 14:02:59: 4 failed attempts, no stream; last: connection refused", d.Store(&down, &PD{}, t0))

	churn := Region{StoreID: 2, State: snapshots.StateReloadWait, LastError: "epoch_not_match: epoch not match", LastErrorAt: at(-2 * time.Second)}
	churn.Churn.Add(at(-3 * time.Second))
	churn.Churn.Add(at(-2 * time.Second))
	require.Equal(t, "2 not_leader/epoch_not_match/region_not_found in the last minute; last 2s ago: epoch_not_match: epoch not match; waiting to reload from PD",
		d.Region(RegionChurn, &churn, nil, "", &PD{}, t0))

	// A region waiting for its scan reads the same at every publish
	// (nothing in it moves), and its store's queued regions share one text.
	queued := Region{StoreID: 2, State: snapshots.StateQueued, AdmissionPos: 13}
	store2 := Store{ID: 2}
	first := d.Region(ScanPending, &queued, &store2, "", &PD{}, t0)
	require.Equal(t, "waiting for a scan slot on store 2", first)
	queued.AdmissionPos = 12
	later := d.Region(ScanPending, &queued, &store2, "", &PD{}, t0+int64(time.Second))
	require.Equal(t, first, later)
	require.Equal(t, unsafe.StringData(first), unsafe.StringData(later), "one text per store, not one per region")
	queued.FailReason, queued.LastError, queued.LastErrorAt = snapshots.ReasonServerIsBusy, "server_is_busy: busy", at(-3*time.Second)
	require.Equal(t, "waiting for a scan slot on store 2; last error 3s ago: server_is_busy: busy",
		d.Region(ScanPending, &queued, &store2, "", &PD{}, t0))
	scanning := Region{StoreID: 2, State: snapshots.StateRequested, RequestedAt: at(-3 * time.Second)}
	require.Equal(t, "initial scan running on store 2 since 14:03:04", d.Region(ScanPending, &scanning, &store2, "", &PD{}, t0))
	require.Equal(t, "initial scan running on store 2 since 14:03:04", d.Region(ScanPending, &scanning, &store2, "", &PD{}, t0+int64(time.Minute)))
	require.Empty(t, d.Region(Healthy, &queued, nil, "", &PD{}, t0))
	require.Contains(t, d.Region(Silent, &r, nil, "", &PD{}, t0), "stuck 25s with no error")
	require.Contains(t, d.Region(PDUnreachable, &r, nil, "", &PD{Err: "refused", Since: at(-4 * time.Second)}, t0), "PD unreachable for 4s; resolved ts stuck 25s")
}

func TestAge(t *testing.T) {
	for ns, want := range map[time.Duration]string{
		850 * time.Millisecond: "850ms", 25 * time.Second: "25s", 133 * time.Second: "2m13s",
		2 * time.Minute: "2m", 64 * time.Minute: "1h4m", -time.Second: "0ms",
	} {
		require.Equal(t, want, Age(int64(ns)))
	}
}

// Deciding runs for every region on every publish: it must not allocate.
func TestDecidingAllocatesNothing(t *testing.T) {
	pd := &PD{}
	r := Region{ID: 7, StoreID: 2, State: snapshots.StateStale, Initialized: true, LastAdvance: at(-12 * time.Second),
		FailReason: snapshots.ReasonNotLeader}
	s := &Store{ID: 2, Connected: true}
	var m Mark
	allocs := testing.AllocsPerRun(100, func() {
		s.Tally(&r, t0, staleAfter)
		s.TallyStalled(&r, t0)
		s.Decide(pd, t0)
		c, since := DecideRegion(&r, s, pd, t0, staleAfter)
		m.Update(c, since, t0, staleAfter)
		r.Churn.Add(t0)
	})
	require.Zero(t, allocs)
}

func TestDescribeRound3(t *testing.T) {
	d := &Describer{Loc: time.UTC}
	pd := &PD{}
	store3 := &Store{ID: 3, Connected: true, LastMsgAt: at(-200 * time.Millisecond), ResolvedAt: at(-200 * time.Millisecond), Lagging: 3}
	lag := Region{ID: 24, StoreID: 3, State: snapshots.StateInitialized, Initialized: true, LastAdvance: at(-4 * time.Second), LagMs: 4400}
	require.Equal(t, "resolved ts not advancing for 4s; store 3 streaming, last message 200ms ago; no error; no open transaction; 2 other regions of store 3 lagging",
		d.Region(Lagging, &lag, store3, "", pd, t0))
	moving := lag
	moving.LastAdvance = at(-300 * time.Millisecond)
	require.Equal(t, "resolved ts 4s behind PD's clock, advancing; store 3 has no stream; no error; no open transaction",
		d.Region(Lagging, &moving, &Store{ID: 3, Lagging: 1}, "", pd, t0))

	// A region waiting on a busy store says what it does in its state's
	// words: never "(attempt 0) after 4s ago".
	busy := Region{ID: 4, StoreID: 1, State: snapshots.StateRequested, FailReason: snapshots.ReasonRegionNotFound,
		LastError: "region_not_found: region 4 not found", LastErrorAt: at(-4 * time.Second)}
	text := d.Region(StoreBusy, &busy, nil, "", pd, t0)
	require.Equal(t, "store 1 busy; requested again, waiting for its initial scan; last error 4s ago: region_not_found: region 4 not found", text)
	require.NotContains(t, text, "after 4s ago")
	busy.State, busy.Attempts = snapshots.StateRetryWait, 2
	require.Contains(t, d.Region(StoreBusy, &busy, nil, "", pd, t0), "waiting to retry (attempt 2); last error 4s ago")
	busy.Attempts = 0
	require.NotContains(t, d.Region(StoreBusy, &busy, nil, "", pd, t0), "attempt 0")
	cooling := busy
	cooling.FailReason, cooling.LastError, cooling.Attempts = snapshots.ReasonStoreFailure, "store_failure: stream ended", 1
	require.Equal(t, "waiting to retry (attempt 1) after its store's stream failed 4s ago: store_failure: stream ended",
		d.Region(StoreCooling, &cooling, nil, "", pd, t0))

	flap := Store{ID: 2, Connected: true, Flaps: 4, FlapsSince: at(-13 * time.Second), LastFailure: "stream reset", Cause: StoreFlapping}
	require.Equal(t, "store 2 flapping: its stream failed 4 times in 13s (window 20s); streaming again now; last: stream reset", d.Store(&flap, pd, t0))
	slow := Store{ID: 3, Connected: true, LateMs: 1520, OthersLateMs: 12, Lagging: 0, Cause: StoreSlow}
	require.Equal(t, "store 3 slow: its resolved ts arrives 1.5s late against PD's clock, the other stores' 12ms; stream open", d.Store(&slow, pd, t0))
	offline := Store{ID: 2, PDState: PDStoreOffline, Cause: StoreDraining, Since: at(-3 * time.Second), Connected: true}
	require.Equal(t, "PD lists store 2 Offline: being removed, its leaders and peers moving away since 14:03:04", d.Store(&offline, pd, t0))
	drained := Store{ID: 2, MovedAway: 21, MovedAwaySince: at(-5 * time.Second), Cause: StoreDraining, Since: at(-5 * time.Second),
		LastFailure: "rpc error: code = Unavailable"}
	require.Equal(t, "store 2 drained: 21 leaders moved to other stores in 5s and it leads none of the subscribed regions (evict-leader or a graceful shutdown) since 14:03:02; its stream then ended: rpc error: code = Unavailable",
		d.Store(&drained, pd, t0))
	drained.Regions = 1
	require.Equal(t, "store 2 drained: 21 leaders moved to other stores in 5s and it still leads 1 with no other live replica (evict-leader or a graceful shutdown) since 14:03:02; its stream then ended: rpc error: code = Unavailable",
		d.Store(&drained, pd, t0))
	removed := Store{ID: 2, Unlisted: true, Cause: StoreRemoved, Since: at(-time.Second)}
	require.Contains(t, d.Store(&removed, pd, t0), "PD no longer lists store 2 (a tombstone is left out): removed from the cluster since 14:03:06")
	mover := Region{ID: 9, StoreID: 1, State: snapshots.StateRetryWait, Attempts: 1, LeftStore: 2, LeftCause: StoreDraining,
		LastError: "not_leader: leader is on store 1", LastErrorAt: at(-2 * time.Second)}
	require.Equal(t, "its leader left store 2 (store_draining) 2s ago; waiting to retry (attempt 1); last: not_leader: leader is on store 1",
		d.Region(StoreDraining, &mover, &Store{ID: 1}, "", pd, t0))

	back := &PD{BackAt: at(-400 * time.Millisecond), DownFor: 10 * time.Second}
	require.Contains(t, d.Store(&Store{ID: 1, Stalled: 4, Cause: PDUnreachable}, back, t0), "PD answering again 400ms ago after 10s unreachable")

	startTs := oracle.GoTimeToTS(time.Unix(0, at(-8*time.Second)))
	ended := &Store{ID: 2, Pins: []Pin{{RegionID: 7, ResolvedTs: 100, Lock: OpenTxn{StartTs: startTs}, Ended: true}}}
	own := Region{ID: 7, StoreID: 2, Initialized: true, ResolvedTs: 100, LastAdvance: at(-8 * time.Second)}
	require.Equal(t, "txn "+strconv.FormatUint(startTs, 10)+" committed or rolled back just now; its resolved ts moves at TiKV's next interval (stuck 8s)",
		d.Region(Lock, &own, ended, "", pd, t0))
	mate := own
	mate.ID = 8
	require.Contains(t, d.Region(Lock, &mate, ended, "", pd, t0), "held at the resolved ts of region 7, which txn "+strconv.FormatUint(startTs, 10)+" pinned until just now")

	// Every cause a store can have reads as something of its own.
	for c := Cause(1); c < NumCauses; c++ {
		s := Store{ID: 5, Cause: c, Unlisted: c == StoreRemoved}
		require.NotEmpty(t, d.Store(&s, pd, t0), c.String())
	}
}

func TestLaggingAfter(t *testing.T) {
	require.Equal(t, 3*time.Second, LaggingAfter(10*time.Second))
	require.Equal(t, 2*time.Second, LaggingAfter(4*time.Second))
	require.Equal(t, 3*time.Second, LaggingAfter(6*time.Second))
}
