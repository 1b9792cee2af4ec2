package engine

import (
	"slices"
	"time"

	"github.com/tikv/client-go/v2/oracle"
	"github.com/tikv/client-go/v2/util/codec"

	"github.com/pulltop/pulltop/engine/diagnose"
	"github.com/pulltop/pulltop/snapshots"
)

// diagState is the engine's side of the diagnosis: the per-store evidence
// it rebuilds every publish (kept to avoid reallocating it) and what it
// has noticed of PD. Owned by the event loop.
type diagState struct {
	gen       uint32 // publish generation, validates regionState.admitPos
	pd        diagnose.PD
	stores    map[uint64]*storeDiag
	pending   []int32 // rows of the regions diagRegion left undecided
	stalled   []int32 // those of them streaming but stalled (the rest wait for something)
	pinnable  []int32 // those behind, not yet held, still for AfterGrace: a lock may pin them
	describer diagnose.Describer
	// pdNowMs is the publish's time on PD's clock (ms), for lags.
	pdNowMs int64
}

// storebackoffState is what the cooldown tracker says of a store.
type storebackoffState struct {
	paused   bool
	left     time.Duration
	failures int
}

// storeDiag is one store's evidence and verdict for one publish.
type storeDiag struct {
	ev   diagnose.Store
	text string
	// regions counts its regions by cause, for the causes board's stores.
	regions [diagnose.NumCauses]int32
	// pinRegions are the regions of ev.Pins, in that order (the pins of
	// open locks; ended ones are appended after them).
	pinRegions []*regionState
	// maybeSlow: its resolved ts arrives late against the others' (before
	// the rest of its evidence is in): its late regions wait for the
	// store's verdict instead of reading healthy.
	maybeSlow bool
}

// noteRegionError records a region error as evidence: for the region (its
// failure, and its churn) and for its store (busy-class errors).
func (e *Engine) noteRegionError(r *regionState, reason string, now int64) {
	r.failReason, r.lastErrorAt = reason, now
	if diagnose.IsChurn(reason) {
		r.churn.Add(now)
	}
	if diagnose.IsBusy(reason) {
		if st := e.stores[r.storeID]; st != nil {
			st.busy.Add(now)
			if st.busyLastAt == 0 || now-st.busyLastAt > int64(diagnose.BusyHold) {
				st.busyFirstAt = now
			}
			st.busyLast, st.busyLastAt = r.lastError, now
		}
	}
}

// inheritDiagnosis carries the evidence of an older record of the same
// region over to its new record, so reloading it does not start a new
// incident (its since would reset) or forget the error it recovers from.
func (r *regionState) inheritDiagnosis(old *regionState) {
	r.failReason, r.lastError, r.lastErrorAt = old.failReason, old.lastError, old.lastErrorAt
	r.churn, r.mark, r.leftStore = old.churn, old.mark, old.leftStore
	r.scanned = old.scanned // its initial scan is done, whatever the record
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func timeOf(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// held is diagnose.Region.Held without building the evidence: streaming,
// and its resolved ts has not moved for the lagging threshold.
func (e *Engine) held(r *regionState, now int64) bool {
	return streaming(r) && (r.state == snapshots.StateStale || now-unixNano(r.lastAdvance) >= int64(diagnose.LaggingAfter(e.cfg.StaleAfter)))
}

// lagMs is how far a resolved ts is behind PD's clock at this publish.
func (e *Engine) lagMs(ts uint64) int64 {
	if ts == 0 {
		return 0
	}
	return max(e.diag.pdNowMs-oracle.ExtractPhysical(ts), 0)
}

// regionEvidence fills ev with what the engine knows of r. The open
// transaction is looked up only for a held region: it walks the region's
// prewrite cache.
func (e *Engine) regionEvidence(r *regionState, now int64, ev *diagnose.Region) {
	*ev = diagnose.Region{
		ID: r.id, StoreID: r.storeID, State: r.state, Initialized: streaming(r),
		ResolvedTs: r.resolvedTs(), SentTs: r.sentTs, LastAdvance: unixNano(r.lastAdvance),
		FailReason: r.failReason, LastError: r.lastError, LastErrorAt: r.lastErrorAt,
		Churn: r.churn, Attempts: int(r.retryAttempts), RequestedAt: r.requestedAt,
	}
	if ev.Initialized && r.requestedAt != 0 {
		ev.InitializedAt = r.requestedAt + int64(r.initDelayMs)*int64(time.Millisecond)
	}
	ev.LagMs = e.lagMs(ev.ResolvedTs)
	if r.admitGen == e.diag.gen {
		ev.AdmissionPos = int(r.admitPos)
	}
	if r.leftStore != 0 && r.leftStore != r.storeID && r.failReason != "" {
		if sd := e.diag.stores[r.leftStore]; sd != nil {
			ev.LeftStore, ev.LeftCause = r.leftStore, sd.ev.Cause
		}
	}
	if ev.Pinnable(now, e.cfg.StaleAfter) {
		ev.Lock.StartTs, ev.Lock.Key, ev.Lock.InScan, ev.Lock.Open = r.matcher.Oldest()
	}
}

// The diagnosis runs in three steps of publish, so a healthy region costs
// a few comparisons while its row is being built, with no allocation and
// no second pass over it:
//
//  1. diagBegin gathers each store's own evidence;
//  2. diagRegion, for every region while publish builds its row, tallies
//     it for its store and decides it if it is healthy (a healthy region
//     is healthy whatever its store); the others are left for step 3;
//  3. diagFinish decides the stores, then the regions left over, and
//     fills the store rows and the causes board.

// diagBegin prepares the stores' evidence for a publish at now.
func (e *Engine) diagBegin(now time.Time) {
	d := &e.diag
	d.gen++
	d.pending, d.stalled, d.pinnable = d.pending[:0], d.stalled[:0], d.pinnable[:0]
	if d.describer.KeyName == nil {
		d.describer.KeyName = rawKeyName
	}

	// PD, as far as the engine has noticed.
	d.pd = diagnose.PD{Err: e.pd.lookupErr, Since: unixNano(e.pd.errSince), BackAt: unixNano(e.pd.backAt), DownFor: e.pd.downFor}
	if d.pd.Err == "" {
		d.pd.Err = e.pd.refreshErr
	}
	d.pdNowMs = now.Add(e.clockOffset).UnixMilli()
	nowNs := now.UnixNano()
	lates := make(map[uint64]int64, len(e.stores))
	for id, info := range e.stores {
		if late := info.late.get(nowNs); late >= 0 {
			if info.late.movedAt != 0 && nowNs-info.late.movedAt < int64(diagnose.AfterGrace) {
				late = max(late, info.late.freshLate)
			}
			lates[id] = late
		}
	}

	if d.stores == nil {
		d.stores = map[uint64]*storeDiag{}
	}
	for id := range d.stores {
		if e.stores[id] == nil {
			delete(d.stores, id)
		}
	}
	cooldown := make(map[uint64]storebackoffState, len(e.stores))
	for _, s := range e.storeCooldown.States(now) {
		cooldown[s.StoreID] = storebackoffState{paused: s.State == snapshots.StorePaused, left: s.CooldownLeft, failures: s.ConsecutiveFailures}
	}
	for id, info := range e.stores {
		cd := cooldown[id]
		if cd.failures == 0 {
			info.failingSince = 0 // it worked again
		}
		sd := d.stores[id]
		if sd == nil {
			sd = &storeDiag{}
			d.stores[id] = sd
		}
		ev := &sd.ev
		pins := ev.Pins[:0]
		*ev = diagnose.Store{
			Pins: pins, ID: id, Addr: info.addr, Incompatible: info.incompatible,
			Paused: cd.paused, CoolingLeft: cd.left, Failures: cd.failures,
			FailingSince: info.failingSince, LastFailure: info.lastFailure,
			Busy: info.busy, BusyLast: info.busyLast, BusyLastAt: info.busyLastAt, BusySince: info.busyFirstAt,
		}
		if w := info.worker; w != nil {
			ev.Connected = w.connected.Load()
			ev.LastMsgAt = w.lastRecv.Load()
		}
		ev.PDState, ev.PDStateSince, ev.Unlisted = info.pdState, info.pdStateSince, info.unlisted
		ev.Flaps, ev.FlapsSince, ev.LastFlapAt = info.flaps.count(nowNs)
		if info.moves.last != 0 {
			ev.MovedAway, ev.MovedAwaySince, ev.MovedAwayLast = info.moves.n, info.moves.first, info.moves.last
		}
		ev.MovedInLast = info.movedInAt
		ev.LateMs, ev.OthersLateMs, ev.FreshMovedAt, ev.ResolvedAt = -1, -1, info.late.movedAt, info.late.sentAt
		if late, ok := lates[id]; ok {
			ev.LateMs = late
			ev.OthersLateMs = medianExcept(lates, id)
		}
		sd.maybeSlow = ev.MaybeSlow()
		sd.regions = [diagnose.NumCauses]int32{}
		sd.pinRegions = sd.pinRegions[:0]
		// Admission positions, in one pass over the queue (it may hold
		// regions that left it; those are skipped as admitNext skips them).
		pos := int32(0)
		found := 0 // its waiting regions counted with a place, found in place
		for _, r := range info.admission {
			if !r.forgotten && r.lock != nil && r.state == snapshots.StateQueued && r.worker == nil {
				pos++
				first := r.admitGen != d.gen
				r.admitPos, r.admitGen = pos, d.gen
				switch {
				case !r.waiting() || !first:
				case r.waitAdmitted():
					found++
				default:
					e.markDirty(r) // it has a place now: its text says so
				}
			}
		}
		if found < e.wait.admittedBy[id] {
			// One lost its place with no change to its row (rare): find it.
			e.listWaiting(func(r *regionState) bool {
				return r.waitAdmitted() && r.admitGen != d.gen && e.quietStore(r) == id
			})
		}
	}
}

// diagRegion tallies region i (r, whose row is being built) for its store
// and decides it if it is healthy; the others wait for diagFinish.
func (e *Engine) diagRegion(r *regionState, row *snapshots.Region, i int, now int64) {
	d := &e.diag
	row.LastErrorAt, row.LastAdvanceAt = timeOf(r.lastErrorAt), r.lastAdvance
	sd := d.stores[r.storeID]
	if sd != nil {
		sd.ev.Regions++
	}
	if !streaming(r) {
		if sd != nil {
			sd.ev.CountBusyWaiting(r.failReason)
		}
		d.pending = append(d.pending, int32(i))
		return
	}
	held := e.held(r, now)
	behind := row.ResolvedLagMs >= diagnose.LaggingAfter(e.cfg.StaleAfter).Milliseconds()
	if sd != nil {
		if !held {
			sd.ev.Advancing++
		}
		if held || behind {
			sd.ev.Lagging++
		}
	}
	if held {
		d.pending = append(d.pending, int32(i))
		d.stalled = append(d.stalled, int32(i))
		return
	}
	if behind || (sd != nil && sd.maybeSlow && row.ResolvedLagMs >= diagnose.SlowMin.Milliseconds()) {
		d.pending = append(d.pending, int32(i))
		if now-unixNano(r.lastAdvance) >= int64(diagnose.AfterGrace) {
			d.pinnable = append(d.pinnable, int32(i))
		}
		return
	}
	// Healthy: the common case.
	r.mark.Update(diagnose.Healthy, 0, now, e.cfg.StaleAfter)
	row.Cause, row.Since = causeHealthy, timeOf(r.mark.Since)
	if sd != nil {
		sd.regions[diagnose.Healthy]++
	}
}

// streaming: r is registered and initialized on its store's stream. (A
// paused region keeps its initialized flag while it is parked.)
func streaming(r *regionState) bool {
	return r.initialized && (r.state == snapshots.StateInitialized || r.state == snapshots.StateStale)
}

var causeHealthy = diagnose.Healthy.String()

// undecidedEvidence fills ev with an undecided region's own evidence and
// returns its store's: the store's diagnosis record, its evidence and its
// one-line text ("" without one).
func (e *Engine) undecidedEvidence(r *regionState, nowNs int64, ev *diagnose.Region) (*storeDiag, *diagnose.Store, string) {
	e.regionEvidence(r, nowNs, ev)
	sd := e.diag.stores[r.storeID]
	if sd == nil {
		return nil, nil, ""
	}
	return sd, &sd.ev, sd.text
}

// diagFinish decides the stores and the regions diagRegion left, and fills
// the store rows and the causes board of st (whose rows are regions, in
// that order).
func (e *Engine) diagFinish(now time.Time, st *snapshots.State, regions []*regionState) {
	d := &e.diag
	nowNs := now.UnixNano()
	grace := e.cfg.StaleAfter
	pd := &d.pd
	var (
		count    [diagnose.NumCauses]int
		earliest [diagnose.NumCauses]int64
		// exampleOwn: the example's evidence is its own (see below)
		exampleOwn [diagnose.NumCauses]bool
		ev         diagnose.Region
	)
	// The stalled regions (streaming and pending), in two steps: the ones
	// an open transaction pins, then the others, which may be their
	// batch-mates. A region with no open prewrite on a store with no pin
	// (nearly all of them when a whole store or PD stalls) is counted
	// without building its evidence.
	for _, list := range [2][]int32{d.stalled, d.pinnable} {
		for _, i := range list {
			if r := regions[i]; streaming(r) && r.matcher.Len() > 0 {
				if sd := d.stores[r.storeID]; sd != nil {
					e.regionEvidence(r, nowNs, &ev)
					if ev.LockPins() {
						sd.ev.Pins = append(sd.ev.Pins, diagnose.Pin{RegionID: r.id, ResolvedTs: ev.ResolvedTs, Lock: ev.Lock, Since: ev.LastAdvance})
						sd.pinRegions = append(sd.pinRegions, r)
					}
				}
			}
		}
	}
	e.keepEndedPins(nowNs)
	for _, i := range d.stalled {
		r := regions[i]
		if !streaming(r) {
			continue
		}
		sd := d.stores[r.storeID]
		switch {
		case sd == nil:
		case r.matcher.Len() == 0 && len(sd.ev.Pins) == 0:
			sd.ev.Stalled++
			sd.ev.StalledSince = max(sd.ev.StalledSince, unixNano(r.lastAdvance))
		default:
			e.regionEvidence(r, nowNs, &ev)
			sd.ev.TallyStalled(&ev, nowNs)
		}
	}
	for id, sd := range d.stores {
		sd.ev.Decide(pd, nowNs)
		info := e.stores[id]
		info.mark.Update(sd.ev.Cause, sd.ev.Since, nowNs, grace)
		sd.ev.Since = info.mark.Since // stable across publishes, for its regions too
		sd.text = d.describer.Store(&sd.ev, pd, nowNs)
	}

	// The waiting regions of a store whose cause now decides them
	// otherwise leave the book and are decided with the pending ones
	// (this publish's verdict, not the next's). A walk over every region,
	// at the publish a store's cause turns (rare).
	var unwaited []*regionState
	if e.wait.n > 0 {
		var turned map[uint64]bool
		for id, sd := range d.stores {
			if e.wait.by[id] > 0 && !waitCompatible(sd.ev.Cause) {
				if turned == nil {
					turned = map[uint64]bool{}
				}
				turned[id] = true
			}
		}
		if turned != nil {
			e.eachWaiting(func(r *regionState) bool { return turned[e.quietStore(r)] }, func(r *regionState) {
				d.stores[e.quietStore(r)].regions[diagnose.ScanPending]--
				e.unwait(r)
				r.looking = true
				e.looked = append(e.looked, r)
				unwaited = append(unwaited, r)
			})
		}
	}

	// The ones still on the book, before this publish adds to it.
	waitingN, waitingFirst := e.wait.n, (*regionState)(nil)
	if waitingN > 0 {
		waitingFirst = e.earliestWaiting()
	} else {
		// Every entry is stale (the scans are done): let the records go.
		e.wait.earliest, e.wait.fresh = nil, nil
	}

	var row snapshots.Region
	exampleOf := [diagnose.NumCauses]*regionState{}
	decide := func(r *regionState, keyOrder bool) {
		sd, sev, text := e.undecidedEvidence(r, nowNs, &ev)
		c, since := diagnose.DecideRegion(&ev, sev, pd, nowNs, e.cfg.StaleAfter)
		r.mark.Update(c, since, nowNs, grace)
		if sd != nil {
			sd.regions[c]++
		}
		row = *e.view.Current(r.viewHandle)
		row.Cause, row.Since, row.Diagnosis = c.String(), timeOf(r.mark.Since), ""
		if c != diagnose.Healthy {
			row.Diagnosis = d.describer.Region(c, &ev, sev, text, pd, nowNs)
		}
		e.view.Put(&r.viewHandle, &row)
		if c == diagnose.ScanPending && mayWait(r) {
			// Nothing but its row, its store's cause or its place in the
			// queue can change this: counted, not looked at, until then.
			e.setWaiting(r)
		} else {
			e.markDirty(r)
		}
		if c == diagnose.Healthy {
			return
		}
		// The example is the region with the oldest incident; among those
		// that began together (a resolved-ts batch stops at one instant),
		// the one whose own evidence it is: the region the lock pins, not
		// its batch-mates; then the first in key order.
		own := c == diagnose.Lock && ev.LockPins()
		if count[c] == 0 || r.mark.Since < earliest[c] || (r.mark.Since == earliest[c] &&
			(own && !exampleOwn[c] || own == exampleOwn[c] && !keyOrder && regionLess(r, exampleOf[c]))) {
			earliest[c], exampleOf[c], exampleOwn[c] = r.mark.Since, r, own
		}
		count[c]++
	}
	for _, i := range d.pending {
		decide(regions[i], true)
	}
	for _, r := range unwaited {
		decide(r, false)
	}
	// The waiting regions still on the book: ScanPending, counted.
	if waitingN > 0 {
		c := diagnose.ScanPending
		if r := waitingFirst; count[c] == 0 || r.mark.Since < earliest[c] ||
			r.mark.Since == earliest[c] && regionLess(r, exampleOf[c]) {
			earliest[c], exampleOf[c] = r.mark.Since, r
		}
		count[c] += waitingN
	}

	// Store rows and the causes board.
	for i := range st.Stores {
		row := &st.Stores[i]
		if sd := d.stores[row.ID]; sd != nil {
			row.Condition, row.Since, row.Diagnosis = sd.ev.Cause.String(), timeOf(sd.ev.Since), sd.text
		}
	}
	st.Causes = nil
	for c := diagnose.Cause(1); c < diagnose.NumCauses; c++ {
		board := snapshots.CauseRow{Cause: c.String(), Regions: count[c]}
		sinceNs := earliest[c]
		for _, row := range st.Stores { // in store id order
			sd := d.stores[row.ID]
			if sd == nil || (sd.regions[c] == 0 && sd.ev.Cause != c) {
				continue
			}
			board.Stores = append(board.Stores, row.ID)
			if sd.ev.Cause == c {
				if sinceNs == 0 || sd.ev.Since < sinceNs {
					sinceNs = sd.ev.Since
				}
				if board.Example == "" {
					board.Example = sd.text // a store's condition with no region (yet)
				}
			}
		}
		if board.Regions == 0 && len(board.Stores) == 0 {
			continue
		}
		board.Since = timeOf(sinceNs)
		if count[c] > 0 {
			board.Example, board.ExampleRegion = e.exampleDiagnosis(exampleOf[c]), exampleOf[c].id
		}
		st.Causes = append(st.Causes, board)
	}
}

// exampleDiagnosis is the diagnosis of r as this publish decided it: its
// row's in the view.
func (e *Engine) exampleDiagnosis(r *regionState) string {
	return e.view.Current(r.viewHandle).Diagnosis
}

// rawKeyName renders a row key (raw, as rows carry it) as FormatKey
// renders region boundaries: t101_r14680064 for a TiDB row key.
func rawKeyName(raw string) string { return FormatKey(codec.EncodeBytes(nil, []byte(raw))) }

// keepEndedPins adds to each store's pins those of the last publishes
// whose lock has ended since, for AfterGrace, while the region is still
// held at the pinned resolved ts: TiKV moves it (and its batch-mates) at
// its next interval, and until then the lock is still why. The pins seen
// now are remembered for the next publish.
func (e *Engine) keepEndedPins(now int64) {
	for id, sd := range e.diag.stores {
		info := e.stores[id]
		current := len(sd.ev.Pins)
		for _, p := range info.pins {
			if now-p.seenAt > int64(diagnose.AfterGrace) {
				continue
			}
			if slices.ContainsFunc(sd.ev.Pins[:current], func(q diagnose.Pin) bool { return q.RegionID == p.pin.RegionID }) {
				continue
			}
			if r := p.region; e.regions[r.key()] != r || !streaming(r) || r.resolvedTs() != p.pin.ResolvedTs {
				continue // moved on, or gone
			}
			ended := p.pin
			ended.Ended = true
			sd.ev.Pins = append(sd.ev.Pins, ended)
		}
		kept := make([]seenPin, 0, len(sd.ev.Pins))
		for k, p := range sd.ev.Pins {
			seen := seenPin{pin: diagnose.Pin{RegionID: p.RegionID, ResolvedTs: p.ResolvedTs, Lock: p.Lock, Since: p.Since}, seenAt: now}
			if k < len(sd.pinRegions) {
				seen.region = sd.pinRegions[k]
			}
			for _, old := range info.pins {
				if old.pin.RegionID == p.RegionID {
					if p.Ended {
						seen.seenAt = old.seenAt
					}
					if seen.region == nil {
						seen.region = old.region
					}
				}
			}
			if seen.region != nil {
				kept = append(kept, seen)
			}
		}
		info.pins = kept
	}
}

// seenPin is a pin, its region and the last publish that saw its lock
// open.
type seenPin struct {
	pin    diagnose.Pin
	region *regionState
	seenAt int64
}

// medianExcept is the median of the values but the one of id (-1 when
// there is no other).
func medianExcept(values map[uint64]int64, id uint64) int64 {
	others := make([]int64, 0, len(values))
	for k, v := range values {
		if k != id {
			others = append(others, v)
		}
	}
	if len(others) == 0 {
		return -1
	}
	slices.Sort(others)
	return others[len(others)/2]
}

// lateness keeps the least lateness (ms, against PD's clock) of a store's
// resolved-ts batches in the current and the previous lateBucket: its
// freshest resolved ts of the last few seconds. A lock holds some regions
// back, never the batch of the rest. Owned by the event loop.
type lateness struct {
	bucket    int64
	cur, prev int64 // -1: nothing in it
	// freshTs is the newest resolved ts the store sent, movedAt when it
	// last grew.
	freshTs uint64
	movedAt int64
	// sentAt is when the last batch came, moving or not; freshLate how
	// late the batch that last moved freshTs came (a lock's batch never
	// moves it): a store turning slow shows at its first late batch, not
	// once the buckets of its timely ones have aged out.
	sentAt    int64
	freshLate int64
}

// came notes a resolved-ts batch whose lateness says nothing of the
// store's speed (a lock's): the stream is alive, nothing more.
func (l *lateness) came(now int64) { l.sentAt = now }

// sent notes a resolved-ts batch at ts.
func (l *lateness) sent(now int64, ts uint64, lateMs int64) {
	l.sentAt = now
	if ts > l.freshTs {
		l.freshTs, l.movedAt, l.freshLate = ts, now, lateMs
	}
}

const lateBucket = int64(2 * time.Second)

func (l *lateness) add(now, lateMs int64) {
	b := now / lateBucket
	switch b {
	case l.bucket:
	case l.bucket + 1:
		l.prev, l.cur = l.cur, -1
	default:
		l.prev, l.cur = -1, -1
	}
	l.bucket = b
	if l.cur < 0 || lateMs < l.cur {
		l.cur = lateMs
	}
}

// get is the least lateness of the last two buckets; -1 when nothing came.
func (l *lateness) get(now int64) int64 {
	cur, prev := l.cur, l.prev
	switch now / lateBucket {
	case l.bucket:
	case l.bucket + 1:
		cur, prev = -1, cur
	default:
		return -1
	}
	if l.bucket == 0 {
		return -1
	}
	switch {
	case cur < 0:
		return prev
	case prev < 0:
		return cur
	}
	return min(cur, prev)
}

// failureTimes keeps the times of a store's stream failures after its
// stream had opened, within FlapWindow. Owned by the event loop.
type failureTimes []int64

func (f *failureTimes) add(now int64) {
	*f = append(*f, now)
	f.trim(now)
}

func (f *failureTimes) trim(now int64) {
	drop := 0
	for drop < len(*f) && now-(*f)[drop] > int64(diagnose.FlapWindow) {
		drop++
	}
	*f = (*f)[drop:]
}

// count is how many failures fall in the window, the first and the last.
func (f *failureTimes) count(now int64) (int, int64, int64) {
	f.trim(now)
	if len(*f) == 0 {
		return 0, 0, 0
	}
	return len(*f), (*f)[0], (*f)[len(*f)-1]
}

// leaderMoves counts a store's leaders moving to other stores: a run of
// moves with no gap longer than DrainWindow. Owned by the event loop.
type leaderMoves struct {
	first, last int64
	n           int
}

func (m *leaderMoves) add(now int64) {
	if m.last == 0 || now-m.last > int64(diagnose.DrainWindow) {
		*m = leaderMoves{first: now}
	}
	m.last = now
	m.n++
}
