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
	// Since is when PD stopped answering.
	Since int64
}

// Down reports whether PD is not answering.
func (p *PD) Down() bool { return p.Err != "" }

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
	// Busy counts busy-class region errors (ServerIsBusy, Congested,
	// RegionNotFound) from the store; BusyLast and BusyLastAt are the latest.
	Busy       Window
	BusyLast   string
	BusyLastAt int64
	// LastMsgAt is when its stream last delivered anything.
	LastMsgAt int64
	// Inflight is how many initial scans run on it; Admission how many
	// regions wait for a scan slot.
	Inflight, Admission int

	// Tallied from its regions (Tally, Pin, TallyStalled).
	Regions   int
	Advancing int // initialized and not stalled
	// Pins are its regions whose resolved ts an open transaction holds.
	Pins []Pin
	// Stalled counts stalled regions that no open transaction explains,
	// neither their own nor a batch-mate's (see PinFor).
	Stalled int
	// StalledSince is the latest last-advance among the stalled regions:
	// the moment the last of them stopped.
	StalledSince int64

	// Decided by Decide.
	Cause Cause
	Since int64
}

// Pin is a region whose resolved ts an open transaction holds.
type Pin struct {
	RegionID   uint64
	ResolvedTs uint64
	Lock       OpenTxn
}

// Tally counts one of the store's regions. A store's regions are tallied
// in two steps, because a stalled region may be explained by another one's
// lock: Tally every region (which pins the locked ones), then
// TallyStalled every stalled one.
func (s *Store) Tally(r *Region, now int64, staleAfter time.Duration) {
	s.Regions++
	if !r.Initialized {
		return
	}
	if !r.Stalled(now, staleAfter) {
		s.Advancing++
		return
	}
	if r.LockPins() {
		s.Pins = append(s.Pins, Pin{RegionID: r.ID, ResolvedTs: r.ResolvedTs, Lock: r.Lock})
	}
}

// TallyStalled counts a stalled region that its own lock does not
// explain, after every region of the store was tallied.
func (s *Store) TallyStalled(r *Region) {
	if r.LockPins() || s.PinFor(r) != nil {
		return
	}
	s.Stalled++
	s.StalledSince = max(s.StalledSince, r.LastAdvance)
}

// PinFor is the lock that holds a stalled region with no open transaction
// of its own: TiKV sends resolved ts for a batch of regions (the 8, then
// 32, 128 … with the smallest resolved ts) at the batch's minimum, so a
// lock in one region holds its batch-mates at exactly its resolved ts.
// nil when no pinned region of the store has that resolved ts.
func (s *Store) PinFor(r *Region) *Pin {
	if r.ResolvedTs == 0 {
		return nil
	}
	for i := range s.Pins {
		if p := &s.Pins[i]; p.ResolvedTs == r.ResolvedTs && p.RegionID != r.ID {
			return p
		}
	}
	return nil
}

// Thresholds.
const (
	// storeStallMin is how many regions must stall together before it is
	// the store's doing rather than each region's.
	storeStallMin = 2
	// busyMin is how many busy-class errors in the window make a store
	// busy; one RegionNotFound is a merge or a moved peer.
	busyMin = 2
	// busyHold is how long after its last busy error a store still counts
	// as busy (its regions wait out their backoff meanwhile).
	busyHold = 10 * time.Second
)

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
	case s.Failures > 0 && !s.Connected && s.Regions > 0:
		// One failure may be a killed stream that reconnects at the next
		// try; a failed reconnect is a store that does not come back. A
		// failed store that no longer leads any subscribed region (its
		// leaders moved) holds nothing up, and nothing will try it again
		// to find out whether it is back.
		if s.Failures >= 2 {
			return StoreDown, s.FailingSince
		}
		return StoreCooling, s.FailingSince
	case s.Stalled >= storeStallMin && s.Advancing == 0:
		if pd.Down() {
			// TiKV cannot advance resolved ts without PD's TSO: every store
			// stalls, and none of them is the culprit.
			return PDUnreachable, minNonZero(pd.Since, s.StalledSince)
		}
		return StoreStalled, s.StalledSince
	case s.Busy.Count(now) >= busyMin && now-s.BusyLastAt <= int64(busyHold) && s.Advancing < s.Regions:
		// Busy errors, and regions still waiting because of them; once
		// they stream again the store is not holding anything up.
		return StoreBusy, 0
	}
	return Healthy, 0
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
}

// Stalled reports whether the region is initialized and its resolved ts
// has not moved for staleAfter.
func (r *Region) Stalled(now int64, staleAfter time.Duration) bool {
	return r.Initialized && (r.State == snapshots.StateStale || now-r.LastAdvance >= int64(staleAfter))
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
	stalled := r.Stalled(now, staleAfter)
	if r.Initialized && !stalled {
		return Healthy, 0
	}
	storeCause := Healthy
	if s != nil {
		storeCause = s.Cause
	}
	switch storeCause {
	case Incompatible, StorePaused, StoreDown, StoreCooling:
		return storeCause, s.Since
	}
	if pd.Down() && (stalled || r.waitsOnPD()) {
		if stalled {
			return PDUnreachable, r.LastAdvance
		}
		return PDUnreachable, pd.Since
	}
	if stalled {
		switch {
		case r.LockPins():
			return Lock, r.LastAdvance
		case s != nil && s.PinFor(r) != nil:
			return Lock, r.LastAdvance
		case storeCause == StoreStalled:
			return StoreStalled, r.LastAdvance
		}
		return Silent, r.LastAdvance
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
