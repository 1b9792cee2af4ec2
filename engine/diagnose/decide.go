package diagnose

import (
	"time"

	"github.com/pulltop/pulltop/snapshots"
)

// PD is what the engine knows of PD's health.
type PD struct {
	// Err is why PD did not answer the engine's last request; "" while it
	// answers.
	Err string
	// Since is when PD stopped answering: the one since of pd_unreachable,
	// on the board, the regions and the PD row alike.
	Since int64
	// BackAt is when PD answered again after its last outage (0: never
	// down), and DownFor how long that outage lasted.
	BackAt  int64
	DownFor time.Duration
}

// Down reports whether PD is not answering.
func (p *PD) Down() bool { return p.Err != "" }

// justBack: PD answered again within the grace, so resolved ts stuck in
// the outage has not had its next advance yet.
func (p *PD) justBack(now int64) bool {
	return !p.Down() && p.BackAt != 0 && now-p.BackAt <= int64(AfterGrace)
}

// PD's store states as the engine reads them from GetAllStores (metapb's
// StoreState names).
const (
	PDStoreUp        = "Up"
	PDStoreOffline   = "Offline"
	PDStoreTombstone = "Tombstone"
)

// Store is the evidence about one store: its own state from the engine's
// cooldown tracker and stream, and aggregates over its regions (Tally).
type Store struct {
	ID   uint64
	Addr string

	// Incompatible says why the store cannot serve pulltop ("" when it can).
	Incompatible string
	Paused       bool
	// CoolingLeft is the cooldown still to wait (0 when not cooling).
	CoolingLeft time.Duration
	// Failures counts consecutive stream failures since the last message.
	Failures int
	// Connected: its stream is open.
	Connected bool
	// FailingSince is the first failure of the current run of failures,
	// LastFailure its latest error text.
	FailingSince int64
	LastFailure  string
	// Flaps counts its stream's failures after it had opened, within
	// FlapWindow; FlapsSince is the first of them.
	Flaps      int
	FlapsSince int64
	LastFlapAt int64
	// Busy counts busy-class region errors (ServerIsBusy, Congested,
	// RegionNotFound) from the store; BusyLast and BusyLastAt are the latest.
	Busy       Window
	BusyLast   string
	BusyLastAt int64
	// BusySince is the first busy-class error of the current run (no gap
	// over BusyHold): store_busy's since, so its own errors never read as
	// older than it.
	BusySince int64
	// BusyWaiting counts its regions not streaming because of a
	// busy-class error (Tally): a busy raftstore answers RegionNotFound
	// for every region, and its scans stall.
	BusyWaiting int
	// NotFoundWaiting counts those of them whose error is RegionNotFound:
	// one alone is a region merged away or whose peer moved (it re-
	// registers until PD learns), not a busy store.
	NotFoundWaiting int
	// LastMsgAt is when its stream last delivered anything; ResolvedAt
	// when it last delivered a resolved-ts batch (TiKV sends one every
	// second, moving or not).
	LastMsgAt, ResolvedAt int64

	// PDState is the state PD's store list gives it (PDStore*; "" not
	// known yet), PDStateSince when the engine first saw that state.
	// Unlisted: PD's list (tombstones excluded) no longer has a store it
	// listed before.
	PDState      string
	PDStateSince int64
	Unlisted     bool
	// MovedAway counts its leaders that moved to another store (NotLeader
	// naming a leader elsewhere) within DrainWindow, the first at
	// MovedAwaySince.
	MovedAway      int
	MovedAwaySince int64
	MovedAwayLast  int64
	// MovedInLast is when a leader last moved to it from another store: a
	// transfer-leader storm moves them both ways, a drain only away.
	MovedInLast int64
	// LateMs is how late its freshest resolved ts arrived against PD's
	// clock over the last few seconds (-1: nothing arrived); OthersLateMs
	// the median of the other stores' (-1: no other store to compare).
	LateMs, OthersLateMs int64
	// FreshMovedAt is when the newest resolved ts it sent last moved: a
	// slow store's keeps moving, late; a lock holding every region of a
	// small store freezes it (its lateness grows the same way).
	FreshMovedAt int64

	// Tallied from its regions (Tally, Pin, TallyStalled).
	Regions   int
	Advancing int // initialized and its resolved ts moving
	// Pins are its regions whose resolved ts an open transaction holds, and
	// those whose lock ended within AfterGrace (Ended).
	Pins []Pin
	// Stalled counts held regions (resolved ts not moving) that no open
	// transaction explains, neither their own nor a batch-mate's.
	Stalled int
	// StalledSince is the latest last-advance among the stalled regions:
	// the moment the last of them stopped.
	StalledSince int64
	// Lagging counts its regions past the lagging threshold, whatever the
	// cause (for the text: "2 other regions of store 3 lagging").
	Lagging int

	// Decided by Decide.
	Cause Cause
	Since int64

	// scanSlotText is the diagnosis of its regions waiting for a scan
	// slot, built once per publish by the Describer and shared by all of
	// them (a quarter of a million at start-up on a big store).
	scanSlotText string
}

// Pin is a region whose resolved ts an open transaction holds.
type Pin struct {
	RegionID   uint64
	ResolvedTs uint64
	Lock       OpenTxn
	// Since is when the pinned region's resolved ts last moved: the lock
	// holds it from then on.
	Since int64
	// Ended: the transaction committed or rolled back within AfterGrace,
	// and the region's resolved ts has not moved since: TiKV advances it at
	// its next interval. The region and its batch-mates stay the lock's
	// until then, rather than reading silent for a publish.
	Ended bool
}

// Tally counts one of the store's regions. A store's regions are tallied
// in two steps, because a held region may be explained by another one's
// lock: Tally every region (which pins the locked ones), then
// TallyStalled every held one.
func (s *Store) Tally(r *Region, now int64, staleAfter time.Duration) {
	s.Regions++
	if !r.Initialized {
		s.CountBusyWaiting(r.FailReason)
		return
	}
	if r.Behind(staleAfter) || r.Held(now, staleAfter) {
		s.Lagging++
	}
	if !r.Held(now, staleAfter) {
		s.Advancing++
		return
	}
	if r.LockPins() {
		s.Pins = append(s.Pins, Pin{RegionID: r.ID, ResolvedTs: r.ResolvedTs, Lock: r.Lock, Since: r.LastAdvance})
	}
}

// TallyStalled counts a held region that no lock explains, after every
// region of the store was tallied.
func (s *Store) TallyStalled(r *Region, now int64) {
	if s.LocksHold(now) && (r.LockPins() || s.PinFor(r) != nil) {
		return
	}
	if r.awaitingFirstTs(now) {
		// Back from an error, its first resolved ts still to come: not
		// the store holding it.
		return
	}
	s.Stalled++
	s.StalledSince = max(s.StalledSince, r.LastAdvance)
}

// LocksHold reports whether the store is otherwise advancing, so a held
// region with an open prewrite is held by it: its stream is open and
// either some of its regions advance or it delivered something within
// aliveWithin. A hung, killed or failed stream holds everything itself.
//
// Its messages must flow: regions of a store that just hung stop one
// after another, so for a moment some still count as advancing while
// the stream has gone quiet; an open prewrite on a hung stream is not
// what holds the region (a hung or killed stream is the stream's cause).
//
// Its resolved-ts messages must keep coming, not merely its rows: when a
// hang ends, the rows it held back arrive at once (open prewrites among
// them) before the first resolved ts that frees every region.
func (s *Store) LocksHold(now int64) bool {
	return s.Connected && s.LastMsgAt != 0 && now-s.LastMsgAt < int64(aliveWithin) &&
		s.ResolvedAt != 0 && now-s.ResolvedAt < int64(aliveWithin)
}

// movedPast reports whether the store's newest resolved ts moved at least
// one TiKV interval after r's stopped: the store advances, r does not.
func (s *Store) movedPast(r *Region) bool {
	return s.FreshMovedAt-r.LastAdvance >= int64(tikvInterval)
}

// Pinnable reports whether the region's open transaction is looked up:
// held, or behind and its resolved ts still for AfterGrace (a lock is
// named before the region counts as held: DecideRegion).
func (r *Region) Pinnable(now int64, staleAfter time.Duration) bool {
	return r.Held(now, staleAfter) || (r.Behind(staleAfter) && now-r.LastAdvance >= int64(AfterGrace))
}

// PinFor is the lock that holds a held region: its own lock that just
// ended (Pin.Ended), or a batch-mate's. TiKV sends resolved ts for a batch
// of regions (the 8, then 32, 128 … with the smallest resolved ts) at the
// batch's minimum, so a lock in one region holds its batch-mates at
// exactly its resolved ts: a mate's own resolved ts, or, when the mate
// was ahead of it already (it joined the batch after the lock, TiKV
// then sends it a lower value, which it ignores), the one it was last
// sent. nil when no pin of the store has the region's resolved ts.
func (s *Store) PinFor(r *Region) *Pin {
	if r.ResolvedTs == 0 {
		return nil
	}
	for i := range s.Pins {
		p := &s.Pins[i]
		if (p.ResolvedTs == r.ResolvedTs || (r.SentTs != 0 && p.ResolvedTs == r.SentTs)) && (p.RegionID != r.ID || p.Ended) {
			return p
		}
	}
	return nil
}

// batchMateOf is the lock pin that holds r as a batch-mate, when the
// evidence of the lock is already in: the store is otherwise advancing,
// and its newest resolved ts moved at least one TiKV interval after the
// pinned region's stopped. nil otherwise.
func (s *Store) batchMateOf(r *Region, now int64) *Pin {
	if s == nil || !s.LocksHold(now) {
		return nil
	}
	p := s.PinFor(r)
	if p == nil || p.Since == 0 || s.FreshMovedAt-p.Since < int64(tikvInterval) {
		return nil
	}
	return p
}

// Thresholds.
const (
	// storeStallMin is how many regions must stall together before it is
	// the store's doing rather than each region's.
	storeStallMin = 2
	// busyMin is how many busy-class errors in the window make a store
	// busy; one RegionNotFound is a merge or a moved peer.
	busyMin = 2
	// BusyHold is how long after its last busy error a store still counts
	// as busy (its regions wait out their backoff meanwhile).
	BusyHold = 10 * time.Second
	// laggingMax is the lagging threshold unless half of --stale-after is
	// lower.
	laggingMax = 3 * time.Second
	// AfterGrace is how long a cause outlives the end of its evidence
	// where the next resolved ts is still to come: one TiKV resolved-ts
	// interval (1s) and its delivery. After a lock commits, after PD
	// answers again.
	AfterGrace = 2 * time.Second
	// tikvInterval is TiKV's resolved-ts interval (advance-ts-interval, 1s):
	// a store that advances sends a newer resolved ts at least this often.
	tikvInterval = time.Second
	// aliveWithin: a stream that delivered something this recently is
	// alive (TiKV sends resolved ts every second, moving or not).
	aliveWithin = 2 * time.Second
	// FlapMin failures within FlapWindow make a store flapping, while the
	// last of them is at most flapHold old.
	FlapMin    = 3
	FlapWindow = 20 * time.Second
	flapHold   = 10 * time.Second
	// DrainMin leaders moving away within DrainWindow, leaving it leading
	// none of the subscribed regions, make a store draining.
	DrainMin    = 3
	DrainWindow = 10 * time.Second
	// drainStop: a drained store's stream ends within this of its last
	// leader leaving (TiKV's graceful shutdown waits up to 20s).
	drainStop = 25 * time.Second
	// A store is slow when its freshest resolved ts arrives SlowMin late,
	// and slowOver later than the other stores'.
	SlowMin  = time.Second
	slowOver = 800 * time.Millisecond
)

// LaggingAfter is the lag past which a region is named even with nothing
// else known: 3s, or half of --stale-after when that is lower.
func LaggingAfter(staleAfter time.Duration) time.Duration {
	return min(laggingMax, staleAfter/2)
}

// Decide sets the store's Cause (and the evidence's since, which a Mark
// then keeps stable).
func (s *Store) Decide(pd *PD, now int64) {
	s.Cause, s.Since = s.decide(pd, now)
}

func (s *Store) decide(pd *PD, now int64) (Cause, int64) {
	switch {
	case s.Incompatible != "":
		return Incompatible, 0
	case s.Paused:
		return StorePaused, 0
	case s.PDState == PDStoreTombstone || s.Unlisted:
		// Taken out of the cluster: its stream fails, and that is expected.
		return StoreRemoved, s.PDStateSince
	case s.PDState == PDStoreOffline:
		return StoreDraining, s.PDStateSince
	case !pd.Down() && !pd.justBack(now) && s.drained(now):
		// Its leaders left for other stores and none came back: a drain
		// (evict-leader, a graceful shutdown), whatever its stream does
		// next. A transfer-leader storm leaves every store some.
		return StoreDraining, s.MovedAwaySince
	case s.Failures > 0 && !s.Connected && s.Regions > 0:
		// One failure may be a killed stream that reconnects at the next
		// try; a failed reconnect is a store that does not come back. A
		// failed store that no longer leads any subscribed region (its
		// leaders moved) holds nothing up, and nothing will try it again
		// to find out whether it is back.
		switch {
		case s.Failures >= 2:
			return StoreDown, s.FailingSince
		case s.Flaps >= FlapMin && now-s.LastFlapAt <= int64(flapHold):
			return StoreFlapping, s.FlapsSince
		}
		return StoreCooling, s.FailingSince
	case s.slow(pd, now) && s.LastMsgAt != 0 && now-s.LastMsgAt < int64(aliveWithin):
		// Late, but its messages flow: slow, not hung, even when the delay
		// holds every region past the lagging threshold.
		return StoreSlow, 0
	case (s.Stalled >= storeStallMin && s.Advancing == 0) || (s.Stalled > 0 && s.quiet(now)):
		// Every region held; or, before the last of them counts as held,
		// its stream gone quiet with one held already (a hang stops them
		// one after another, within a second).
		if pd.Down() || pd.justBack(now) {
			// TiKV cannot advance resolved ts without PD's TSO: every store
			// stalls, and none of them is the culprit.
			return PDUnreachable, pd.Since
		}
		return StoreStalled, s.StalledSince
	case s.Flaps >= FlapMin && s.Regions > 0 && now-s.LastFlapAt <= int64(s.flapRhythm()):
		// Between failures too: it will fail again. (Not over a stall: a
		// store that flapped and now hangs is hung.)
		return StoreFlapping, s.FlapsSince
	case s.slow(pd, now):
		return StoreSlow, 0
	case s.Busy.Count(now) >= busyMin && now-s.BusyLastAt <= int64(BusyHold) && s.busyHoldsRegions():
		// Busy errors, and regions still waiting because of them; once
		// they stream again the store is not holding anything up (regions
		// held by a lock or a hang are not waiting on its busyness).
		return StoreBusy, s.BusySince
	}
	return Healthy, 0
}

// flapRhythm is how long after its last failure a store that streams
// again is still named flapping: its failures' mean gap and one TiKV
// interval, at most flapHold. Between failures the name says it will fail
// again; once a gap longer than its own rhythm went by, the storm that
// killed it has most likely ended, and its regions stream: naming it for
// the rest of flapHold would blame a store that is fine now.
func (s *Store) flapRhythm() time.Duration {
	if s.Flaps < 2 || s.LastFlapAt <= s.FlapsSince {
		return flapHold
	}
	gap := time.Duration((s.LastFlapAt - s.FlapsSince) / int64(s.Flaps-1))
	return min(gap+tikvInterval, flapHold)
}

// CountBusyWaiting counts a region that is not streaming, by the error
// it waits on.
func (s *Store) CountBusyWaiting(reason string) {
	if IsBusy(reason) {
		s.BusyWaiting++
		if reason == snapshots.ReasonRegionNotFound {
			s.NotFoundWaiting++
		}
	}
}

// busyHoldsRegions: some of its regions wait because it is busy: one on
// ServerIsBusy or Congested, or busyMin on RegionNotFound (a busy
// raftstore answers it for every live region; a merge, for the one region
// merged away, again at each retry until PD learns of the merge).
func (s *Store) busyHoldsRegions() bool {
	return s.BusyWaiting-s.NotFoundWaiting > 0 || s.NotFoundWaiting >= busyMin
}

// quiet: its stream is open and has delivered nothing, not even a
// resolved-ts batch (TiKV sends one every second), for aliveWithin.
func (s *Store) quiet(now int64) bool {
	return s.Connected && s.LastMsgAt != 0 && now-s.LastMsgAt >= int64(aliveWithin) &&
		s.ResolvedAt != 0 && now-s.ResolvedAt >= int64(aliveWithin)
}

// drained: DrainMin of its leaders moved to other stores, it leads none of
// the subscribed regions, and either the moves are recent or its stream
// ended soon after them (a graceful shutdown); or it still leads a few
// (leftBehindPer) and its stream ended soon after the others left. A
// store that comes back with no leaders, or hangs long after a storm
// moved some, is not draining.
func (s *Store) drained(now int64) bool {
	if s.MovedAway < DrainMin || s.MovedInLast >= s.MovedAwaySince {
		return false
	}
	if s.Regions != 0 {
		// A graceful shutdown evicts every leader it can and then stops:
		// a region with no other live replica keeps its leader there and
		// goes down with the store. A few such left behind, its stream
		// ended after the others left, is still the drain (not while it
		// streams: a transfer-leader storm moves most of a store's leaders
		// too).
		return s.Regions <= s.MovedAway/leftBehindPer && s.stoppedAfterMoves()
	}
	if s.LastFlapAt != 0 && s.LastFlapAt <= s.MovedAwaySince {
		// It failed first, and its leaders were elected elsewhere while it
		// was down: back from an outage leading nothing, not a drain
		// (a drained store's stream ends after its leaders left).
		return false
	}
	if now-s.MovedAwayLast <= int64(DrainWindow) {
		return true
	}
	return s.stoppedAfterMoves()
}

// leftBehindPer: a drained store may keep one leader in leftBehindPer of
// those that moved (the regions with no other live replica).
const leftBehindPer = 4

// stoppedAfterMoves: its stream ended within drainStop after its last
// leader moved away (a graceful shutdown), not before.
func (s *Store) stoppedAfterMoves() bool {
	return !s.Connected && s.FailingSince >= s.MovedAwayLast && s.FailingSince-s.MovedAwayLast <= int64(drainStop)
}

// MaybeSlow: its resolved ts arrives late against PD's clock and the
// other stores', whatever else is known yet.
func (s *Store) MaybeSlow() bool {
	return s.LateMs >= SlowMin.Milliseconds() && s.LateMs-max(s.OthersLateMs, 0) >= slowOver.Milliseconds()
}

// slow: its stream is up and its freshest resolved ts arrives late against
// PD's clock, later than the other stores' (so neither PD's TSO nor this
// host's clock is to blame).
func (s *Store) slow(pd *PD, now int64) bool {
	if !s.Connected || pd.Down() || s.Regions == 0 || s.LateMs < SlowMin.Milliseconds() ||
		now-s.FreshMovedAt >= int64(aliveWithin) {
		return false
	}
	return s.LateMs-max(s.OthersLateMs, 0) >= slowOver.Milliseconds()
}

// OpenTxn is the oldest transaction a region's stream prewrote and never
// committed or rolled back (StartTs 0: none).
type OpenTxn struct {
	StartTs uint64
	// Key is the raw key it holds.
	Key string
	// InScan: the prewrite came before the region was initialized (from
	// its initial scan); otherwise it came live.
	InScan bool
	// Open is how many prewrites are open in the region in all.
	Open int
}

// Region is the evidence about one region.
type Region struct {
	ID      uint64
	StoreID uint64
	// State is the engine's state (snapshots.State*).
	State       string
	Initialized bool
	ResolvedTs  uint64
	// SentTs is the last resolved ts its store sent it, lower than
	// ResolvedTs when its batch's minimum is another region's (0: none).
	SentTs uint64
	// LagMs is how far its resolved ts is behind PD's clock.
	LagMs int64
	// LastAdvance is when its resolved ts last moved.
	LastAdvance int64
	Lock        OpenTxn
	// FailReason is the reason (snapshots.Reason*) of the error it is
	// recovering from; "" once it is initialized again, so an error older
	// than its current condition is never read as its cause.
	FailReason  string
	LastError   string
	LastErrorAt int64
	// Churn counts NotLeader, EpochNotMatch and RegionNotFound errors.
	Churn    Window
	Attempts int
	// AdmissionPos is its 1-based place among the regions waiting for a
	// scan slot on its store (0: not waiting for one).
	AdmissionPos int
	// RequestedAt is when its current request was sent.
	RequestedAt int64
	// InitializedAt is when its current registration finished its scan
	// (0: not known).
	InitializedAt int64
	// LeftStore is the store whose error it is recovering from when that
	// is not its store any more (a NotLeader naming another leader), and
	// LeftCause that store's cause: a region leaving a drained store is
	// the drain's.
	LeftStore uint64
	LeftCause Cause
}

// Stalled reports whether the region is initialized and its resolved ts
// has not moved for staleAfter.
func (r *Region) Stalled(now int64, staleAfter time.Duration) bool {
	return r.Initialized && (r.State == snapshots.StateStale || now-r.LastAdvance >= int64(staleAfter))
}

// Held reports whether the region is initialized and its resolved ts has
// not moved for the lagging threshold: held by something.
func (r *Region) Held(now int64, staleAfter time.Duration) bool {
	return r.Initialized && (r.State == snapshots.StateStale || now-r.LastAdvance >= int64(LaggingAfter(staleAfter)))
}

// Behind reports whether the region is initialized and its lag passed the
// lagging threshold, moving or not.
func (r *Region) Behind(staleAfter time.Duration) bool {
	return r.Initialized && r.LagMs >= LaggingAfter(staleAfter).Milliseconds()
}

// awaitingFirstTs: the region (re)initialized within AfterGrace and no
// resolved ts has moved it since. TiKV resolves a region only once it is
// Normal, at its next interval: until then its resolved ts is the one it
// had before its trouble (a re-registered range keeps its stale clock),
// and being held says nothing new about it. Nothing is silent before TiKV
// had the chance to speak.
func (r *Region) awaitingFirstTs(now int64) bool {
	return r.Initialized && r.InitializedAt != 0 && now-r.InitializedAt < int64(AfterGrace) && r.LastAdvance < r.InitializedAt
}

// Watched reports whether a streaming region needs a decision beyond
// healthy: held or behind.
func (r *Region) Watched(now int64, staleAfter time.Duration) bool {
	return r.Held(now, staleAfter) || r.Behind(staleAfter)
}

// LockPins reports whether an open transaction holds the region's
// resolved ts: TiKV keeps resolved ts below the start ts of every lock it
// tracks, so a prewrite at or above it is what stops it.
func (r *Region) LockPins() bool {
	return r.Lock.StartTs != 0 && r.Lock.StartTs >= r.ResolvedTs
}

// waitsOnPD: the region waits for a PD lookup (or for a retry after one
// failed).
func (r *Region) waitsOnPD() bool {
	return r.State == snapshots.StateLocating || r.State == snapshots.StateReloadWait ||
		r.FailReason == snapshots.ReasonRPCCtxUnavailable || r.FailReason == snapshots.ReasonPDFault
}

// DecideRegion is the region's cause and when its evidence says the
// condition began (0: no evidence of when; a Mark uses now). s is its
// store's evidence with the store's cause decided; nil if the store is
// unknown.
func DecideRegion(r *Region, s *Store, pd *PD, now int64, staleAfter time.Duration) (Cause, int64) {
	held := r.Held(now, staleAfter)
	if r.Initialized && !held && !r.Behind(staleAfter) {
		if s != nil && s.Cause == StoreSlow && r.LagMs >= SlowMin.Milliseconds() {
			// Under the lagging threshold, but late because its store is.
			return StoreSlow, 0
		}
		return Healthy, 0
	}
	storeCause := Healthy
	if s != nil {
		storeCause = s.Cause
	}
	switch storeCause {
	case Incompatible, StorePaused, StoreDown, StoreCooling, StoreRemoved, StoreDraining:
		return storeCause, s.Since
	case StoreFlapping:
		if !r.Initialized || held {
			return storeCause, s.Since
		}
	}
	if !r.Initialized && r.LeftStore != 0 {
		switch r.LeftCause {
		case StoreDraining, StoreRemoved:
			// Its leader moved off a store being drained or removed: the
			// drain's doing, not churn.
			return r.LeftCause, r.LastErrorAt
		}
	}
	if pd.Down() && (held || r.waitsOnPD()) {
		return PDUnreachable, pd.Since
	}
	if held {
		locksHold := s != nil && s.LocksHold(now)
		switch {
		case pd.justBack(now) && r.LastAdvance < pd.BackAt:
			// Its resolved ts stopped in the outage; TiKV advances it at
			// its next interval after PD answers. Writes resume first: an
			// open prewrite then sits above every stuck resolved ts, and
			// is not what holds it.
			return PDUnreachable, pd.Since
		case locksHold && r.LockPins():
			return Lock, r.LastAdvance
		case locksHold && s.PinFor(r) != nil:
			return Lock, r.LastAdvance
		case storeCause == StoreStalled, storeCause == StoreSlow:
			return storeCause, r.LastAdvance
		case storeCause == PDUnreachable:
			// Its resolved ts stopped in the outage; TiKV advances it at
			// its next interval after PD answers.
			return PDUnreachable, pd.Since
		case r.Stalled(now, staleAfter) && !r.awaitingFirstTs(now):
			return Silent, r.LastAdvance
		}
		return Lagging, r.LastAdvance
	}
	if r.Initialized {
		// Behind, not yet held.
		if storeCause == StoreSlow {
			return StoreSlow, 0
		}
		if r.Pinnable(now, staleAfter) && !pd.Down() && !pd.justBack(now) && s != nil &&
			s.LocksHold(now) && s.movedPast(r) && (r.LockPins() || s.PinFor(r) != nil) {
			// Its lag passed the threshold, its resolved ts has not moved
			// for AfterGrace while its store's moved on, and an open
			// prewrite (its own or a batch-mate's) sits at it: the lock,
			// a second before the region counts as held.
			return Lock, r.LastAdvance
		}
		if p := s.batchMateOf(r, now); p != nil && !pd.Down() && !pd.justBack(now) {
			// It just joined a batch a lock already holds (it registered
			// on this store, or its resolved ts caught up with the
			// batch's): TiKV sent it the batch's minimum, the held
			// region's resolved ts. The evidence is the held region's —
			// stuck while the store moved on — so its own resolved ts need
			// not stand still for AfterGrace first.
			return Lock, r.LastAdvance
		}
		return Lagging, 0
	}
	if r.State == snapshots.StateRequested && (storeCause == StoreStalled || storeCause == StoreBusy) && !IsBusy(r.FailReason) {
		// Its request is on a store that hangs or is busy, whose scan
		// does not finish: that holds it now, whatever error sent it
		// there (a leader that moved to this store, a failure of its
		// old store that it has waited out). A busy-class error is the
		// store's own answer and says more (below).
		return storeCause, 0
	}
	switch r.FailReason {
	case snapshots.ReasonServerIsBusy, snapshots.ReasonCongested:
		return StoreBusy, r.LastErrorAt
	case snapshots.ReasonRegionNotFound:
		if storeCause == StoreBusy {
			return StoreBusy, r.LastErrorAt
		}
		return RegionChurn, r.LastErrorAt
	case snapshots.ReasonNotLeader, snapshots.ReasonEpochNotMatch, snapshots.ReasonStale,
		snapshots.ReasonRPCCtxUnavailable:
		// rpc_ctx_unavailable with PD up: no leader known for the region.
		return RegionChurn, r.LastErrorAt
	case snapshots.ReasonStoreFailure:
		// Its store failed and is back; the region waits out its backoff.
		if storeCause == StoreFlapping {
			return StoreFlapping, s.Since
		}
		return StoreCooling, r.LastErrorAt
	}
	if storeCause == StoreStalled || storeCause == StoreBusy {
		// A scan on a hung or busy store does not finish either.
		return storeCause, 0
	}
	return ScanPending, r.RequestedAt
}

// IsChurn reports whether an error reason is a sign of region churn (the
// errors counted in Region.Churn).
func IsChurn(reason string) bool {
	switch reason {
	case snapshots.ReasonNotLeader, snapshots.ReasonEpochNotMatch, snapshots.ReasonRegionNotFound:
		return true
	}
	return false
}

// IsBusy reports whether an error reason is a busy-class error (counted in
// Store.Busy).
func IsBusy(reason string) bool {
	switch reason {
	case snapshots.ReasonServerIsBusy, snapshots.ReasonCongested, snapshots.ReasonRegionNotFound:
		return true
	}
	return false
}

func minNonZero(a, b int64) int64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}
