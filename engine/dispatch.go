package engine

import (
	"context"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"go.uber.org/zap"

	"github.com/pulltop/pulltop/engine/diagnose"
	"github.com/pulltop/pulltop/engine/reload"
	"github.com/pulltop/pulltop/engine/retry"
	"github.com/pulltop/pulltop/engine/storebackoff"
	"github.com/pulltop/pulltop/snapshots"
)

// locate looks a span's regions up in PD on a locator goroutine; each page
// of the answer comes back as a msgLocated as soon as PD gives it, so the
// first regions of a large span are subscribed while PD still pages through
// the rest. Records inside the span show `locating`.
func (e *Engine) locate(task rangeTask) {
	if e.Err() != nil {
		return
	}
	for _, r := range e.regionsIn(task.sub, task.span) {
		if r.lock == nil && !r.waitingLock {
			r.state = snapshots.StateLocating
			e.markDirty(r)
		}
	}
	e.locateSeq++
	prog := &locateProgress{gen: e.locateSeq, span: task.span}
	if task.initial {
		e.progress.locatingSpans++
		e.progress.started = true
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		select {
		case e.locateSem <- struct{}{}:
		case <-e.ctx.Done():
			return
		}
		defer func() { <-e.locateSem }()
		// One page waits in the loop's inbox at a time while the next is
		// fetched: PD answers a million regions faster than the loop takes
		// them in, and a queue of a thousand pages in front of the stores'
		// events held every initial scan's answer up for seconds.
		var handled chan struct{}
		from, err := e.locator.locatePages(e.ctx, task.span, func(page []RegionLoc, covered Span) bool {
			if handled != nil {
				select {
				case <-handled:
				case <-e.ctx.Done():
					return false
				}
			}
			handled = make(chan struct{})
			last := string(covered.End) == string(task.span.End) // pages tile the span: only the last ends there
			return e.post(e.ctx, message{kind: msgLocated, task: task, locs: page, page: &locatedPage{prog: prog, covered: covered, last: last, handled: handled}})
		})
		if err != nil {
			rest := task
			rest.span = Span{Start: from, End: task.span.End}
			e.post(e.ctx, message{kind: msgLocated, task: task, err: err, page: &locatedPage{prog: prog, covered: rest.span, last: true}})
		}
	}()
}

// locateProgress is one locate call's progress over its pages: the records
// it found (marked with gen) and the older ones that reach past the pages
// handled so far, which a later page decides.
type locateProgress struct {
	gen   uint64
	span  Span           // the whole span asked for
	carry []*regionState // unseen records straddling the last page's end
	found int            // regions found so far
}

// locatedPage is one page of a locate answer: the regions of covered (or,
// with an error, the part of the span not covered).
type locatedPage struct {
	prog    *locateProgress
	covered Span
	last    bool
	handled chan struct{} // closed once the loop took the page in (nil: nobody waits)
}

// regionsIn lists the records of sub overlapping span, through the index:
// those starting in it, and those starting before it that reach into it.
func (e *Engine) regionsIn(sub *subscription, span Span) []*regionState {
	var out []*regionState
	start, end := string(span.Start), string(span.End)
	e.index.coveringStart(sub, start, func(r *regionState) { out = append(out, r) })
	e.index.starting(sub, start, end, func(r *regionState) bool {
		out = append(out, r)
		return true
	})
	return out
}

func (e *Engine) handleLocated(task rangeTask, locs []RegionLoc, page *locatedPage, err error) {
	if e.Err() != nil {
		return
	}
	sub, prog := task.sub, page.prog
	if task.initial && page.last {
		e.progress.locatingSpans--
	}
	pdFault := errors.Is(err, errPDFault)
	if err == nil || pdFault || errors.Is(err, errPDRequest) {
		e.notePDAnswer(pdLookup, err)
	}
	if err != nil {
		reason := snapshots.ReasonRPCCtxUnavailable
		if pdFault {
			// PD answered, wrongly: its own reason and curve (up to 5 s
			// between asks), never a hot loop.
			reason = snapshots.ReasonPDFault
		}
		e.countError(reason, 0)
		// What is left to locate: from the error on, and from the first
		// older record that no page could decide yet (it is decided again
		// with the rest).
		rest := page.covered
		for _, r := range prog.carry {
			if r.start < string(rest.Start) {
				rest.Start = []byte(r.start)
			}
		}
		retryTask := task
		retryTask.span, retryTask.initial = rest, false
		if task.initial {
			// Still the initial locate: the phase stays "locating" until it
			// is done.
			retryTask.initial = true
		}
		key := retry.Key{Subscription: sub.id, Start: string(rest.Start), End: string(rest.End)}
		delay, attempt := e.policy.Next(time.Now(), key, retry.Reason(reason), 0)
		if pdFault {
			e.logger.Warn("PD answered a region lookup wrongly", zap.Uint64("subscription", sub.id), zap.Stringer("span", rest), zap.Error(err))
		} else {
			e.logger.Info("locating regions failed", zap.Uint64("subscription", sub.id), zap.Stringer("span", rest), zap.Error(err))
		}
		at := time.Now().UnixNano()
		for _, r := range e.regionsIn(sub, rest) {
			if r.lock == nil && !r.waitingLock {
				r.state, r.lastError = snapshots.StateRetryWait, snapshots.CleanString(err.Error())
				r.failReason, r.lastErrorAt = reason, at
				e.markDirty(r)
			}
		}
		if retryTask.initial {
			e.progress.retryingSpans++
		}
		e.sched.Schedule(retry.Retry{Key: key, Reason: retry.Reason(reason), Attempt: attempt}, delay,
			e.onLoop(func() {
				if retryTask.initial {
					e.progress.retryingSpans--
				}
				e.retryFired(snapshots.RecentRetry{
					Subscription: sub.id, Start: hex.EncodeToString(rest.Start), End: hex.EncodeToString(rest.End),
					Reason: reason, Attempt: attempt, Outcome: snapshots.OutcomeRelocate,
				})
				e.locate(retryTask)
			}))
		return
	}
	prog.found += len(locs)
	if task.initial {
		e.progress.noteLocated(locs)
		if page.last {
			defer e.announce()
		}
	}
	e.flushAnswered(task.flushSeq, prog.found)
	pageStart, pageEnd := string(page.covered.Start), string(page.covered.End)
	spanStart := string(prog.span.Start)
	// The records this page replaces, before they are replaced: the new
	// regions' parents (lineage). Those reaching in from before the page
	// were carried from the last page (or, on the first, start before the
	// span).
	candidates := prog.carry
	prog.carry = nil
	if pageStart == spanStart {
		e.index.coveringStart(sub, pageStart, func(r *regionState) { candidates = append(candidates, r) })
	}
	e.index.starting(sub, pageStart, pageEnd, func(r *regionState) bool {
		candidates = append(candidates, r)
		return true
	})
	var parents []*regionState
	for _, r := range candidates {
		if r.lock == nil && !r.waitingLock {
			parents = append(parents, r)
		}
	}
	now := time.Now()
	for _, loc := range locs {
		if loc.LeaderAddr != "" && loc.Leader != nil {
			st := e.learnStore(loc.Leader.GetStoreId(), loc.LeaderAddr)
			if !st.metaSeen {
				// The locator read the store from PD to learn its address:
				// check its version now, before a stream is opened to it (a
				// store refresh may still be on its way).
				if meta := e.locator.cachedStore(st.id); meta != nil {
					st.metaSeen = true
					e.learnStoreMeta(meta)
				}
			}
		}
		key := regionKey{sub.id, loc.ID}
		old := e.regions[key]
		if old != nil {
			old.locGen = uint32(prog.gen) // answered for: never superseded by this answer
			if old.lock != nil || old.waitingLock {
				continue // still owns (or waits for) its range; the lock decides
			}
			e.forget(old)
		}
		r := newRegionState(sub, loc)
		if r.start >= r.end && r.end != "" {
			continue
		}
		r.locGen = uint32(prog.gen)
		if old != nil {
			// The same region found again (reloaded after an error): to
			// the operator it is one region, with one incident.
			r.inheritDiagnosis(old)
		}
		if steps := inheritLineage(r, old, parents, now); steps > 0 {
			e.logLineage(now, r, steps)
		}
		e.addRecord(r)
		e.tryLock(r)
	}
	// Records superseded by this answer: waiting in the span, not found in
	// it. One that reaches past this page is decided by a later one.
	for _, r := range candidates {
		if e.regions[r.key()] != r || r.locGen == uint32(prog.gen) || r.lock != nil || r.waitingLock {
			continue
		}
		switch {
		case within(r.start, r.end, spanStart, pageEnd):
			e.forget(r)
		case !page.last && r.start >= spanStart && overlapsRange(r.start, r.end, pageEnd, string(prog.span.End)):
			prog.carry = append(prog.carry, r)
		}
	}
}

// addRecord puts a new record on the books.
func (e *Engine) addRecord(r *regionState) {
	e.regions[r.key()] = r
	e.index.add(r)
	e.markDirty(r)
	if r.scanned {
		e.progress.scanned++
	}
}

// forget drops a record that no longer stands for a region.
func (e *Engine) forget(r *regionState) {
	if r.retryKey != (retry.Key{}) {
		e.sched.Cancel(r.retryKey)
	}
	r.forgotten = true
	e.viewRemove(r)
	if e.regions[r.key()] == r {
		delete(e.regions, r.key())
		e.index.remove(r)
		if r.scanned {
			e.progress.scanned--
		}
	}
	if st := e.stores[r.storeID]; st != nil {
		delete(st.parked, r)
	}
}

// tryLock asks the subscription's range lock for r's range.
func (e *Engine) tryLock(r *regionState) {
	res, err := r.sub.lock.TryLock(r.start, r.end, r.id, r.version, r)
	if err != nil {
		e.logger.Warn("range lock refused a region", zap.Uint64("region", r.id), zap.Error(err))
		e.forget(r)
		return
	}
	switch res.Status {
	case LockSuccess:
		r.lock, r.waitingLock = res.Locked, false
		e.dispatch(r)
	case LockWait:
		r.waitingLock = true
		r.state = snapshots.StateQueued
		e.markDirty(r)
	case LockStale:
		// A newer region already holds (part of) the range: reload what is
		// left, merged with everything else waiting to reload.
		e.forget(r)
		for _, kr := range res.RetryRanges {
			e.addReload(r.sub, Span{Start: []byte(kr.Start), End: []byte(kr.End)}, reload.Low, "stale")
		}
	case LockCancel:
		e.forget(r)
	}
}

// unlock gives r's range back to the lock, keeping its progress, and wakes
// whoever waited for it.
func (e *Engine) unlock(r *regionState) {
	if r.lock == nil {
		return
	}
	r.sub.rememberAdvance(r)
	ts := r.lock.ResolvedTs()
	woken, _, err := r.sub.lock.Unlock(r.id, r.version, r.start, r.end, ts)
	if err != nil {
		e.logger.Warn("range unlock failed", zap.Uint64("region", r.id), zap.Error(err))
	}
	r.lock = nil
	r.initialized = false
	e.markDirty(r)
	for _, w := range woken {
		if e.regions[w.key()] == w && w.waitingLock {
			w.waitingLock = false
			e.tryLock(w)
		}
	}
}

// dispatch sends a locked region to its leader's store, or parks it while
// the store cools down or is paused, or queues it for a scan slot.
func (e *Engine) dispatch(r *regionState) {
	if e.Err() != nil {
		return
	}
	st := e.stores[r.storeID]
	if r.storeID == 0 || st == nil || st.addr == "" {
		e.regionFailed(r, snapshots.ReasonRPCCtxUnavailable, "no leader or store address known", 0, nil)
		return
	}
	now := time.Now()
	if ok, wait := e.storeCooldown.Available(st.id, now); !ok {
		e.park(r, st, wait, now)
		return
	}
	if st.inflight >= e.cfg.ScansPerStore {
		r.state = snapshots.StateQueued
		e.markDirty(r)
		st.admission = append(st.admission, r)
		return
	}
	e.send(r, st)
}

func (e *Engine) park(r *regionState, st *storeInfo, wait time.Duration, now time.Time) {
	r.state = snapshots.StateParked
	e.markDirty(r)
	if st.parked == nil {
		st.parked = make(map[*regionState]struct{})
	}
	st.parked[r] = struct{}{}
	if wait == storebackoff.NoEnd {
		return // paused: only Resume brings it back
	}
	at := now.Add(wait)
	if !st.wakeAt.IsZero() && !st.wakeAt.After(at) {
		return
	}
	st.wakeAt = at
	// Wake-ups ride the retry scheduler under a key no region range uses.
	key := retry.Key{Subscription: 0, Start: storeWakePrefix, End: strconv.FormatUint(st.id, 10)}
	e.sched.Schedule(retry.Retry{Key: key, RegionID: 0, Reason: "store_cooldown"}, wait, e.onLoop(func() {
		st.wakeAt = time.Time{}
		e.unpark(st)
	}))
}

const storeWakePrefix = "\x00store-wake"

// unpark dispatches every region parked on st again (cooldown over, or
// resumed); those still not allowed park again.
func (e *Engine) unpark(st *storeInfo) {
	parked := st.parked
	st.parked = nil
	for r := range parked {
		if e.regions[r.key()] == r && r.lock != nil && r.state == snapshots.StateParked {
			e.dispatch(r)
		}
	}
}

func (e *Engine) worker(st *storeInfo) *streamWorker {
	if st.worker == nil || st.worker.addr != st.addr {
		w := newStreamWorker(e, st.id, st.addr)
		st.worker = w
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			w.run(e.workerCtx)
		}()
	}
	return st.worker
}

// send registers r on its store's stream.
func (e *Engine) send(r *regionState, st *storeInfo) {
	w := e.worker(st)
	if other := w.regions.get(r.sub.id, r.id); other != nil && other != r {
		// The stream still has this region from an older record: drop it
		// there first, or TiKV answers DuplicateRequest.
		e.deregister(other)
	}
	req := &cdcpb.ChangeDataRequest{
		Header:       &cdcpb.Header{ClusterId: e.locator.clusterID, TicdcVersion: protocolVersion},
		RegionId:     r.id,
		RequestId:    r.sub.id,
		RegionEpoch:  &metapb.RegionEpoch{ConfVer: r.confVer, Version: r.version},
		CheckpointTs: r.lock.ResolvedTs(),
		StartKey:     []byte(r.start),
		EndKey:       []byte(r.end),
		ExtraOp:      kvrpcpb.ExtraOp_Noop,
		// A console yields to production changefeeds: a CDC service
		// that schedules initial scans by priority runs this one after
		// theirs (TiCDC #5480); TiKV that does not know the field skips
		// it (see InitialScanPriority).
		ScanPriority: InitialScanPriority,
	}
	if e.cfg.OldValue {
		req.ExtraOp = kvrpcpb.ExtraOp_ReadOldValue
	}
	r.worker, r.scanning, r.initialized = w, true, false
	r.state = snapshots.StateRequested
	e.markDirty(r)
	r.requestedAt = time.Now().UnixNano()
	w.regions.set(r.sub.id, r.id, r)
	st.inflight++
	e.stats.regionRequests++
	w.enqueue(req)
}

// detach takes r off its stream's books (not telling the store) and frees
// its scan slot.
func (e *Engine) detach(r *regionState) {
	if w := r.worker; w != nil {
		if w.regions.get(r.sub.id, r.id) == r {
			w.regions.del(r.sub.id, r.id)
		}
		if r.initialized {
			w.initialized.Add(-1)
		}
		r.worker = nil
	}
	e.releaseScanSlot(r)
	r.matcher.Clear()
}

// releaseScanSlot frees r's place among its store's in-flight scans (on
// INITIALIZED, an error or a detach) and lets the next waiting region in.
func (e *Engine) releaseScanSlot(r *regionState) {
	if !r.scanning {
		return
	}
	r.scanning = false
	if st := e.stores[r.storeID]; st != nil {
		st.inflight--
		e.admitNext(st)
	}
}

// deregister detaches r and tells the store to drop it (per-region
// Deregister); its answer, a region_not_found, is ignored as untracked.
func (e *Engine) deregister(r *regionState) {
	w := r.worker
	e.detach(r)
	if w != nil {
		w.deregPending[keyOf(r.sub.id, r.id)] = true
		w.enqueue(&cdcpb.ChangeDataRequest{
			Header:    &cdcpb.Header{ClusterId: e.locator.clusterID, TicdcVersion: protocolVersion},
			RegionId:  r.id,
			RequestId: r.sub.id,
			Request:   &cdcpb.ChangeDataRequest_Deregister_{Deregister: &cdcpb.ChangeDataRequest_Deregister{}},
		})
	}
}

// admitNext gives freed scan slots to regions waiting for them.
func (e *Engine) admitNext(st *storeInfo) {
	for st.inflight < e.cfg.ScansPerStore && len(st.admission) > 0 {
		r := st.admission[0]
		st.admission[0] = nil
		st.admission = st.admission[1:]
		if !r.forgotten && r.lock != nil && r.state == snapshots.StateQueued && r.worker == nil {
			e.dispatch(r)
		}
	}
}

// learnStore records a store's address.
func (e *Engine) learnStore(id uint64, addr string) *storeInfo {
	st := e.stores[id]
	if st == nil {
		st = &storeInfo{id: id}
		e.stores[id] = st
	}
	// The address is PD's text and is shown; a real one is clean already.
	addr = snapshots.CleanString(addr)
	if addr != "" && st.addr != addr {
		st.addr = addr
		e.storeCooldown.SetAddr(id, addr)
	}
	return st
}

// refreshStores asks PD for every store (off the loop) and learns them.
func (e *Engine) refreshStores() {
	if e.pd.probing {
		return // one at a time: a PD that hangs must not pile them up
	}
	e.pd.probing = true
	down := e.pd.down()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if down {
			e.locator.wakeConns()
		}
		stores, err := e.locator.allStores(e.ctx)
		e.post(e.ctx, message{kind: msgFunc, fn: func() {
			e.pd.probing = false
			e.notePDAnswer(pdRefresh, err)
			if err != nil {
				return
			}
			seen := make(map[uint64]bool, len(stores))
			for _, s := range stores {
				seen[s.GetId()] = true
				e.learnStoreMeta(s)
			}
			e.noteUnlisted(seen)
		}})
	}()
}

// onLoop wraps fn so a retry action runs it on the event loop.
func (e *Engine) onLoop(fn func()) func() {
	return func() { e.post(context.Background(), message{kind: msgFunc, fn: fn}) }
}

// addReload queues a span for the reload aggregator.
func (e *Engine) addReload(sub *subscription, span Span, prio reload.Priority, reason string) {
	now := time.Now()
	if e.agg.Add(sub.id, reload.Span{Start: string(span.Start), End: string(span.End)}, prio, reason, now) {
		e.flushReloads(now)
		return
	}
	e.armAggTimer(now)
}

func (e *Engine) armAggTimer(now time.Time) {
	if due, ok := e.agg.DueAt(); ok {
		e.aggTimer.Stop()
		e.aggTimer.Reset(max(due.Sub(now), 0))
	}
}

func (e *Engine) flushReloads(now time.Time) {
	tasks := e.agg.Tick(now)
	// Recorded in the aggregator's order (subscription, start key), all of
	// them, so the history adds up to the aggregator's counters. Sequence
	// numbers are consecutive: task i is first+i.
	var first uint64
	for i, t := range tasks {
		seq := e.recordFlush(t, now)
		if i == 0 {
			first = seq
		}
	}
	// Urgent (operator) reloads first.
	for _, prio := range []reload.Priority{reload.High, reload.Low} {
		for i, t := range tasks {
			if t.Priority != prio {
				continue
			}
			sub := e.subByID(t.Sub)
			if sub == nil {
				continue
			}
			reason := "reload"
			if len(t.Reasons) > 0 {
				reason = t.Reasons[0]
			}
			e.locate(rangeTask{sub: sub, span: Span{Start: []byte(t.Span.Start), End: []byte(t.Span.End)}, reason: reason,
				flushSeq: first + uint64(i)})
		}
	}
	e.armAggTimer(now)
}

func (e *Engine) subByID(id uint64) *subscription {
	if id == 0 || id > uint64(len(e.subs)) {
		return nil
	}
	return e.subs[id-1]
}

// pdCall tells region lookups from store refreshes: their results are
// kept apart, so a good GetAllStores does not hide a failing lookup.
type pdCall int

const (
	pdLookup pdCall = iota
	pdRefresh
)

// pdHealth is what the engine knows of PD's answers. Owned by the event
// loop.
type pdHealth struct {
	lookupErr, refreshErr string    // last failure of each kind, "" once it worked again
	errSince              time.Time // when the current outage began (zero while healthy)
	lastOK                time.Time
	failures              []time.Time // failed calls of the last minute
	// backAt is when PD answered again after its last outage, downFor how
	// long that outage was.
	backAt  time.Time
	downFor time.Duration
	// probing: a store refresh is on its way (a PD outage is probed
	// every pdProbeInterval, so its end is noticed within a second).
	probing bool
	// announce: PD answers again and no snapshot has said so yet.
	announce bool
	// storesAskedAt is when the store list was last asked for out of
	// turn (askStores).
	storesAskedAt time.Time
	// storesAskOwed: an ask came too soon after the last, or while a
	// read was in flight (askStores); the PD probe makes it.
	storesAskOwed bool
}

// notePDAnswer is notePD from the event loop, publishing at once when PD
// answers again: its end is news, not something for the next tick.
func (e *Engine) notePDAnswer(call pdCall, err error) {
	e.notePD(call, err)
	if e.pd.announce {
		e.pd.announce = false
		e.publishIfDue(time.Now())
	}
}

// pdProbeInterval is how often PD is asked while it does not answer.
const pdProbeInterval = 400 * time.Millisecond

// Out-of-turn store-list refreshes (askStores): after a sign that a
// store's membership changed, at most every storeAskMin; while PD lists a
// store Offline (being removed: Tombstone is next), every storeOfflineAsk.
const (
	storeAskMin     = 500 * time.Millisecond
	storeOfflineAsk = time.Second
)

// askStores refreshes the store list now rather than at the next
// PDCheckInterval (2s), at most once per every: a store's state in PD
// (Offline, Tombstone) is what names a drain or a removal, and reading it
// up to 2s late made the name late too.
//
// An ask that comes too soon, or while a read is in flight, is not
// dropped: it is owed (storesAskOwed), and the PD probe's next tick makes
// it once the interval is up. The sign can come just after a read whose
// answer PD gave before it knew: a removal's RegionNotFound asks, PD
// lists the store Up still, and the stream's end a moment later must ask
// again, or the store reads store_down until the next PDCheckInterval.
func (e *Engine) askStores(now time.Time, every time.Duration) {
	if now.Sub(e.pd.storesAskedAt) < every || e.pd.probing {
		e.pd.storesAskOwed = true
		return
	}
	e.pd.storesAskedAt, e.pd.storesAskOwed = now, false
	e.refreshStores()
}

// storeOffline reports whether PD lists a known store Offline.
func (e *Engine) storeOffline() bool {
	for _, st := range e.stores {
		if st.pdState == diagnose.PDStoreOffline {
			return true
		}
	}
	return false
}

// pdRateWindow is how far back the failed-requests rate looks: short, so
// an outage shows its rate while it lasts, not a minute's average.
const pdRateWindow = 10 * time.Second

// down reports whether PD's last answer of either kind failed.
func (h *pdHealth) down() bool { return h.lookupErr != "" || h.refreshErr != "" }

// notePD records whether PD answered a call, for the operator: a PD outage
// stops region lookups, not streaming.
func (e *Engine) notePD(call pdCall, err error) {
	h := &e.pd
	now := time.Now()
	wasOK := h.lookupErr == "" && h.refreshErr == ""
	if err == nil {
		h.lastOK = now
		if call == pdLookup {
			h.lookupErr = ""
		} else {
			h.refreshErr = ""
		}
		if !wasOK && h.lookupErr == "" && h.refreshErr == "" {
			e.logger.Info("PD is answering again")
			h.backAt, h.downFor = now, now.Sub(h.errSince)
			h.errSince = time.Time{}
			h.announce = true
		}
		return
	}
	if wasOK {
		e.logger.Warn("PD unavailable", zap.Error(err))
		h.errSince = now
	}
	if call == pdLookup {
		h.lookupErr = snapshots.CleanString(err.Error()) // PD's own words: text from outside
	} else {
		h.refreshErr = snapshots.CleanString(err.Error())
	}
	h.failures = append(h.failures, now)
}

// pdSource fills the snapshot's PD health.
func (e *Engine) pdSource(src *snapshots.Source, now time.Time) {
	h := &e.pd
	src.PDError = h.lookupErr
	if src.PDError == "" {
		src.PDError = h.refreshErr
	}
	src.PDErrorSince, src.PDLastOK = h.errSince, h.lastOK
	drop := 0
	for drop < len(h.failures) && now.Sub(h.failures[drop]) > pdRateWindow {
		drop++
	}
	h.failures = h.failures[drop:]
	src.PDFailuresPerSec = float64(len(h.failures)) / pdRateWindow.Seconds()
}
