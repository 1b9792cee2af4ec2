package engine

import (
	"encoding/hex"
	"time"

	"github.com/pulltop/pulltop/engine/diagnose"
	"github.com/pulltop/pulltop/engine/retry"
	"github.com/pulltop/pulltop/snapshots"
)

// subscription is one subscribed span. Owned by the event loop.
type subscription struct {
	id         uint64
	span       Span
	start, end string // encoded span as strings, for the range lock
	startTs    uint64
	lock       *RangeLock[*regionState]
	resolvedTs uint64 // last emitted
	events     uint64
	// advancedAt keeps, for ranges whose region record went away (an error,
	// a reload), when their resolved ts last advanced, so that the record
	// that takes the range over does not start its stale clock afresh.
	advancedAt map[spanKey]time.Time
	// lastEnd is the end key of the last record made for this
	// subscription, raw and hex: PD's pages come in key order, so a new
	// region usually starts where the previous one ended, and shares that
	// key's memory instead of copying it (about 70 bytes a region at 1M).
	lastEnd, lastEndHex string
}

type spanKey struct{ start, end string }

// rememberAdvance keeps r's last-advance time for its range.
func (s *subscription) rememberAdvance(r *regionState) {
	if r.lastAdvance.IsZero() {
		return
	}
	if s.advancedAt == nil {
		s.advancedAt = map[spanKey]time.Time{}
	}
	s.advancedAt[spanKey{r.start, r.end}] = r.lastAdvance
}

// inheritAdvance is when the range [start, end) last advanced, as far as
// earlier records of it know: the oldest among those it covers or overlaps
// (a range advanced only when all of it did); now when none is known. The
// records it covers whole are forgotten.
func (s *subscription) inheritAdvance(start, end string, now time.Time) time.Time {
	at := now
	for k, t := range s.advancedAt {
		if !overlapsRange(k.start, k.end, start, end) {
			continue
		}
		if t.Before(at) {
			at = t
		}
		if within(k.start, k.end, start, end) {
			delete(s.advancedAt, k)
		}
	}
	return at
}

func newSubscription(id uint64, span Span, startTs uint64) *subscription {
	return &subscription{
		id: id, span: span, start: string(span.Start), end: string(span.End), startTs: startTs,
		lock:       NewRangeLock[*regionState](string(span.Start), string(span.End), startTs),
		resolvedTs: startTs,
	}
}

// regionKey identifies a region record: the same region may be subscribed
// by several subscriptions.
type regionKey struct{ sub, region uint64 }

// regionState is the engine's record of one subscribed region (the part of
// it inside the subscription): where it is in its lifecycle, its lock and
// progress, and what the operator should see. Owned by the event loop.
type regionState struct {
	// First, together: what a resolved ts reads and writes. A million
	// regions take one every second, and their records are cold in the
	// cache: one line or two rather than five.
	sub         *subscription
	lock        *LockedRange // nil while not holding the range
	initialized bool
	// The other flags share initialized's word (a record is 416 bytes, not
	// 448: 32 MB at a million regions).
	waitingLock bool // parked in the range lock, waiting for blockers
	scanning    bool // counted in its store's in-flight scans
	scanned     bool // its initial scan finished once (progress)
	forgotten   bool // off the books (forget): queues skip it
	// listed: in Engine.active, to be looked at by the next publish;
	// looking: in the current publish's list; calm: why a publish need
	// not look at it. See markDirty.
	listed, looking bool
	calm            calm
	state           string
	lastAdvance     time.Time
	// sentTs is the last resolved ts TiKV sent the region, moving or not,
	// lower than its own included: TiKV resolves a batch of regions at the
	// batch's minimum, so a region whose batch a lock holds is sent the
	// held region's resolved ts (the diagnosis: a lock's batch-mate).
	sentTs  uint64
	matcher TxnMatcher

	id         uint64
	version    uint64
	confVer    uint64
	start, end string // encoded, cut to the subscription
	startHex   string
	endHex     string
	leaderPeer uint64 // the leader's peer id (0: no leader known)
	storeID    uint64 // the leader's store

	worker *streamWorker

	events    uint64
	lastError string
	retryKey  retry.Key // pending retry, if state is retry-wait

	// Evidence for the diagnosis (engine/diagnose); times in unix ns.
	failReason  string          // the error it is recovering from; "" once initialized again
	lastErrorAt int64           // when lastError happened
	requestedAt int64           // when its current request was sent
	churn       diagnose.Window // not_leader, epoch_not_match, region_not_found
	mark        diagnose.Mark   // its cause and since when
	leftStore   uint64          // the store a NotLeader moved it from (0: none)
	admitPos    int32           // place among its store's regions waiting for a scan slot,
	admitGen    uint32          // valid when admitGen is the current publish's
	viewHandle  int32           // its row in the view (view.Builder); 0: none yet
	// retryAttempts, locGen and initDelayMs: 4 bytes beside the int32s
	// above, so the record stays in its size class.
	retryAttempts int32
	locGen        uint32 // the last locate call that found it (handleLocated), its low 32 bits
	// initDelayMs is how long after requestedAt its current registration
	// finished its scan (INITIALIZED); meaningful while it is initialized.
	initDelayMs int32
	// lineage is where the region came from, newest first; shared with
	// published snapshots, so it is replaced, never changed in place.
	lineage []snapshots.Origin
}

func newRegionState(sub *subscription, loc RegionLoc) *regionState {
	r := &regionState{
		sub: sub, id: loc.ID, version: loc.Version, confVer: loc.ConfVer,
		state: snapshots.StateQueued,
	}
	switch {
	case string(loc.Start) < sub.start:
		r.start, r.startHex = sub.start, sub.startHex()
	case string(loc.Start) == sub.lastEnd: // no copy: the compiler compares in place
		r.start, r.startHex = sub.lastEnd, sub.lastEndHex
	default:
		r.start = string(loc.Start)
		r.startHex = hex.EncodeToString(loc.Start)
	}
	if sub.end != "" && (len(loc.End) == 0 || string(loc.End) > sub.end) {
		r.end = sub.end
	} else {
		r.end = string(loc.End)
	}
	r.endHex = hex.EncodeToString([]byte(r.end))
	sub.lastEnd, sub.lastEndHex = r.end, r.endHex
	if loc.Leader != nil {
		// Only the ids are kept: a pointer would keep PD's whole decoded
		// response alive (60 MB at 1M regions).
		r.leaderPeer, r.storeID = loc.Leader.GetId(), loc.Leader.GetStoreId()
	}
	return r
}

// startHex is the subscription's start key in hex, for a region cut to it.
func (s *subscription) startHex() string { return hex.EncodeToString([]byte(s.start)) }

func (r *regionState) key() regionKey { return regionKey{r.sub.id, r.id} }

func (r *regionState) rangeKey() retry.Key {
	return retry.Key{Subscription: r.sub.id, Start: r.start, End: r.end}
}

func (r *regionState) span() Span { return Span{Start: []byte(r.start), End: []byte(r.end)} }

func (r *regionState) resolvedTs() uint64 {
	if r.lock != nil {
		return r.lock.ResolvedTs()
	}
	return 0
}

// storeInfo is the event loop's view of one store.
type storeInfo struct {
	id          uint64
	addr        string
	version     string // as PD reports it
	metaSeen    bool   // what PD says of it (version) was looked at
	unreachable string // the "cannot reach" report already made, so it is made once
	lastErr     string // its last stream or region error
	lastErrAt   time.Time
	worker      *streamWorker
	inflight    int                       // requested, not yet initialized
	admission   []*regionState            // waiting for a scan slot, FIFO
	parked      map[*regionState]struct{} // waiting for cooldown or resume
	wakeAt      time.Time                 // a wake-up is scheduled for then

	// Evidence for the diagnosis; times in unix ns.
	failingSince int64           // first stream failure since it last worked
	lastFailure  string          // its last stream failure
	busy         diagnose.Window // busy-class region errors from it
	busyLast     string
	busyLastAt   int64
	busyFirstAt  int64         // the first busy-class error of the current run (gaps under diagnose.BusyHold)
	mark         diagnose.Mark // its condition and since when
	incompatible string        // why pulltop cannot pull from it ("" when it can)
	// What PD's store list says of it: its state (diagnose.PDStore*) and
	// since when; listed once seen in a list, unlisted once a later list
	// (tombstones left out) no longer has it.
	pdState      string
	pdStateSince int64
	listed       bool
	unlisted     bool
	flaps        failureTimes // stream failures after it had opened
	flapWorker   *streamWorker
	opensSeen    int64       // flapWorker's opens already counted
	moves        leaderMoves // its leaders moving to other stores
	movedInAt    int64       // a leader last moved to it from another store
	late         lateness    // how late its resolved ts arrives
	pins         []seenPin   // its pinned regions at the last publish
}

// rangeTask asks the locator for the regions of a span.
type rangeTask struct {
	sub    *subscription
	span   Span
	reason string
	// flushSeq is the reload flush that asked for it (its row in the flush
	// history), 0 otherwise.
	flushSeq uint64
	// initial: the subscription's first lookup (progress: "locating").
	initial bool
}

func overlapsRange(aStart, aEnd, bStart, bEnd string) bool {
	return (bEnd == "" || aStart < bEnd) && (aEnd == "" || bStart < aEnd)
}

// within reports whether [aStart,aEnd) lies inside [bStart,bEnd).
func within(aStart, aEnd, bStart, bEnd string) bool {
	return aStart >= bStart && (bEnd == "" || (aEnd != "" && aEnd <= bEnd))
}

var retryKeyZero retry.Key

// calm is why a publish need not look at a region (one byte: the record's
// flags share a word).
type calm uint8

const (
	calmNot calm = iota
	// calmQuiet: it streams, advances and is healthy (counted in
	// Engine.quietBy under its store at that publish).
	calmQuiet
	// calmWaiting: it waits for its initial scan and nothing of its
	// verdict can have changed (counted in Engine.wait); calmAdmitted: the
	// same, with a place in its store's admission queue when it was
	// counted (its text says so). See waitBook.
	calmWaiting
	calmAdmitted
)

func (r *regionState) isQuiet() bool      { return r.calm == calmQuiet }
func (r *regionState) waiting() bool      { return r.calm >= calmWaiting }
func (r *regionState) waitAdmitted() bool { return r.calm == calmAdmitted }
