package engine

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/tikv/client-go/v2/oracle"
	"github.com/tikv/client-go/v2/util/codec"
	"go.uber.org/zap"

	"github.com/pulltop/pulltop/engine/reload"
	"github.com/pulltop/pulltop/engine/retry"
	"github.com/pulltop/pulltop/snapshots"
)

// handleEvent demultiplexes one ChangeDataEvent by (request id, region id).
func (e *Engine) handleEvent(w *streamWorker, ev *cdcpb.ChangeDataEvent) {
	if e.Err() != nil {
		return
	}
	// One clock reading for the message: a resolved-ts batch moves a whole
	// store's regions at once, a million of them every second.
	now := time.Now()
	for _, event := range ev.Events {
		key := keyOf(event.RequestId, event.RegionId)
		if w.deregPending[key] {
			if event.GetError() != nil {
				delete(w.deregPending, key) // the old downstream's last word
			}
			continue
		}
		r := w.regions.get(event.RequestId, event.RegionId)
		if r == nil {
			// Expected after a deregister or an error: TiKV may still have
			// been sending for it.
			continue
		}
		switch x := event.Event.(type) {
		case *cdcpb.Event_Entries_:
			e.handleRows(r, x.Entries.GetEntries())
		case *cdcpb.Event_Error:
			e.handleRegionError(r, x.Error)
		case *cdcpb.Event_ResolvedTs:
			if e.advanceRegion(r, x.ResolvedTs, now) {
				e.advanceSubscription(r.sub)
			}
		}
	}
	if rts := ev.ResolvedTs; rts != nil && rts.Ts != 0 {
		// How late the batch arrives on PD's clock: a slow store's every
		// batch is late, a lock's only its own regions'.
		if st := e.stores[w.storeID]; st != nil {
			nowNs := now.UnixNano()
			late := max(now.Add(e.clockOffset).UnixMilli()-oracle.ExtractPhysical(rts.Ts), 0)
			if rts.Ts > st.late.freshTs && e.batchLocked(w, rts) {
				// A lock's batch (TiKV resolves it at the lock's start
				// ts) says how old the lock is, not how fast the store
				// is: the round after a lock is taken, its start ts is
				// newer than the store's last resolved ts and arrives up
				// to an interval after it, later still under load. Where
				// the lock's batch is all the store sends (8 regions or
				// fewer), it moved the store's newest resolved ts, and
				// its age read as the store's slowness.
				st.late.came(nowNs)
			} else {
				st.late.add(nowNs, late)
				st.late.sent(nowNs, rts.Ts, late)
			}
		}
		if e.advanceBatch(w, rts, now) {
			e.advanceSubscription(e.rtsSub)
		}
	}
}

// batchLocked reports whether a resolved-ts batch is held at an open
// transaction's start ts by one of its regions: the batch of a lock and
// its batch-mates. Called only for a batch that would move the store's
// newest resolved ts (the round after a lock was taken, or every round of
// a store whose regions all share the lock's batch), so a store's
// ordinary batches cost nothing here.
func (e *Engine) batchLocked(w *streamWorker, rts *cdcpb.ResolvedTs) bool {
	table := w.regions.table(rts.RequestId, false)
	if table == nil {
		return false
	}
	for _, id := range rts.Regions {
		if r := table.get(id); r != nil && r.matcher.Len() > 0 && r.matcher.HoldsAt(rts.Ts) {
			return true
		}
	}
	return false
}

// advanceBatch applies a store's resolved-ts batch (TiKV sends one ts for
// many regions, a whole store's every second) and reports whether any
// region of it moved (e.rtsSub is the subscription of the last one). At a
// million regions every region's records are cold in the cache, so the
// batch goes in chunks and in steps: look the chunk's records up, then
// read the records, then their locks, then move them. The loads of one step do not depend on
// each other, so the CPU overlaps their cache misses; one region at a time
// it waited for three in a row.
func (e *Engine) advanceBatch(w *streamWorker, rts *cdcpb.ResolvedTs, now time.Time) bool {
	const chunk = 128
	var rs [chunk]*regionState
	moved := false
	ids := rts.Regions
	checkDereg := len(w.deregPending) > 0
	table := w.regions.table(rts.RequestId, false)
	if table == nil {
		return false // no region of that request on this stream
	}
	for len(ids) > 0 {
		part := ids[:min(chunk, len(ids))]
		ids = ids[len(part):]
		k := 0
		for _, id := range part {
			if checkDereg && w.deregPending[keyOf(rts.RequestId, id)] {
				continue
			}
			if r := table.get(id); r != nil {
				rs[k] = r
				k++
			}
		}
		// Those that can take a resolved ts: initialized, holding their
		// range (the check reads each record).
		n := 0
		for _, r := range rs[:k] {
			if r.initialized && r.lock != nil {
				rs[n] = r
				n++
			}
		}
		// Those it moves forward (this reads each lock).
		m := 0
		for _, r := range rs[:n] {
			if r.lock.ResolvedTs() < rts.Ts {
				rs[m] = r
				m++
			}
		}
		for _, r := range rs[:m] {
			if e.advanceRegion(r, rts.Ts, now) {
				moved, e.rtsSub = true, r.sub
			}
		}
	}
	return moved
}

func (e *Engine) handleRows(r *regionState, rows []*cdcpb.Event_Row) {
	for _, row := range rows {
		if r.worker == nil {
			return // an error earlier in this batch detached it
		}
		if row.Type != cdcpb.Event_INITIALIZED && e.rowOutside(r, row.Key) {
			e.rowOutsideRegion(r, row)
			continue
		}
		switch row.Type {
		case cdcpb.Event_INITIALIZED:
			e.regionInitialized(r)
		case cdcpb.Event_PREWRITE:
			r.matcher.Prewrite(row)
		case cdcpb.Event_COMMIT:
			out, matched, err := r.matcher.Commit(row, r.initialized)
			if err != nil {
				e.regionFailed(r, snapshots.ReasonUnknown, err.Error(), 0, nil)
				return
			}
			if matched {
				e.deliver(r, out)
			}
		case cdcpb.Event_COMMITTED:
			e.deliver(r, RowFromCommitted(row))
		case cdcpb.Event_ROLLBACK:
			r.matcher.Rollback(row, r.initialized)
		}
	}
}

// rowOutside reports whether a row's key (raw, as TiKV sends it) lies
// outside r's range (memcomparable, as PD and the request carry it). TiKV
// only sends rows of the range it was asked for, so such a row is a TiKV
// fault (or a hostile server) and must never reach --sink as data. One
// encoding into a buffer the event loop reuses and two comparisons: it
// runs for every row.
func (e *Engine) rowOutside(r *regionState, key []byte) bool {
	e.rowKeyBuf = codec.EncodeBytes(e.rowKeyBuf[:0], key)
	k := e.rowKeyBuf
	return string(k) < r.start || (r.end != "" && string(k) >= r.end)
}

// rowOutsideRegion counts a row TiKV sent outside its region's range as
// that store's fault and drops it: it shows under its own error reason
// (the metric), in the region's last error and in the event log.
func (e *Engine) rowOutsideRegion(r *regionState, row *cdcpb.Event_Row) {
	now := time.Now()
	e.countError(snapshots.ReasonRowOutsideRegion, r.storeID)
	text := snapshots.CleanString(fmt.Sprintf("%s: store %d sent a %s row for key %s, outside region %d %s; not delivered (a TiKV fault)",
		snapshots.ReasonRowOutsideRegion, r.storeID, row.Type, hex.EncodeToString(row.Key[:min(len(row.Key), 64)]),
		r.id, keyRange([]byte(r.start), []byte(r.end))))
	if !strings.HasPrefix(r.lastError, snapshots.ReasonRowOutsideRegion) {
		e.logger.Warn("TiKV sent a row outside its region's range", zap.Uint64("store", r.storeID), zap.Uint64("region", r.id))
	}
	r.lastError, r.lastErrorAt = text, now.UnixNano()
	e.markDirty(r)
	e.noteStoreError(r.storeID, text, now)
	e.log.add(now, snapshots.LogStore, fmt.Sprintf("store %d", r.storeID), text, "row-outside-"+strconv.FormatUint(r.storeID, 10))
}

func (e *Engine) regionInitialized(r *regionState) {
	if r.initialized {
		return
	}
	r.initialized = true
	if !r.scanned {
		r.scanned = true
		e.progress.scanned++
	}
	r.lock.MarkInitialized()
	r.worker.initialized.Add(1)
	r.state = snapshots.StateInitialized
	// A re-registered range has not advanced just because it was
	// requested again: its stale clock goes on from its last real advance.
	now := time.Now()
	r.lastAdvance = r.sub.inheritAdvance(r.start, r.end, now)
	r.initDelayMs = int32(min(max(now.UnixNano()-r.requestedAt, 0)/int64(time.Millisecond), math.MaxInt32))
	r.retryAttempts = 0
	r.failReason = "" // what it recovered from is no longer its cause
	e.markDirty(r)
	// Backoff is reset here, when the store has accepted the region and
	// finished its scan, and never on resolved ts: a region that flaps
	// must keep backing off.
	e.policy.Reset(r.rangeKey())
	e.releaseScanSlot(r)
	rows, _ := r.matcher.MarkInitialized()
	for _, row := range rows {
		e.deliver(r, row)
	}
}

// advanceRegion raises a region's resolved ts; false if nothing moved.
// Resolved ts of an uninitialized region means nothing (its scan is not
// done) and a value that falls back is ignored.
func (e *Engine) advanceRegion(r *regionState, ts uint64, now time.Time) bool {
	if !r.initialized || r.lock == nil {
		return false
	}
	r.sentTs = ts
	if !r.sub.lock.UpdateResolvedTs(r.lock, ts) {
		return false
	}
	r.lastAdvance = now
	if r.state == snapshots.StateStale {
		r.state = snapshots.StateInitialized
		e.markDirty(r)
	}
	e.advanced(r, now.UnixNano())
	r.matcher.Tidy()
	return true
}

// advanceSubscription publishes the subscription's resolved ts if it moved.
// It runs after the rows of the same batch were delivered, so a resolved ts
// never overtakes a row it covers.
func (e *Engine) advanceSubscription(sub *subscription) {
	ts := sub.lock.ResolvedTs()
	if ts <= sub.resolvedTs {
		return
	}
	sub.resolvedTs = ts
	if e.cfg.OnResolved != nil {
		e.cfg.OnResolved(sub.id, ts)
	}
}

// countError counts an error by reason, and for the last minute with the
// store it came from (0: none, a PD lookup).
func (e *Engine) countError(reason string, storeID uint64) {
	e.stats.errorsByReason[reason]++
	e.errWindow.add(reason, storeID, time.Now())
}

// handleRegionError routes a TiKV region error as TiCDC's failure handler
// does (reference logpuller §4.1).
func (e *Engine) handleRegionError(r *regionState, cdcErr *cdcpb.Error) {
	switch {
	case cdcErr.GetNotLeader() != nil:
		leader := cdcErr.GetNotLeader().GetLeader()
		detail := "not leader"
		if leader != nil && leader.GetStoreId() != 0 {
			detail = fmt.Sprintf("not leader; leader is on store %d", leader.GetStoreId())
		}
		e.regionFailed(r, snapshots.ReasonNotLeader, detail, 0, leader)
	case cdcErr.GetEpochNotMatch() != nil:
		e.regionFailed(r, snapshots.ReasonEpochNotMatch,
			fmt.Sprintf("epoch not match (%d current regions)", len(cdcErr.GetEpochNotMatch().GetCurrentRegions())), 0, nil)
	case cdcErr.GetRegionNotFound() != nil:
		e.regionFailed(r, snapshots.ReasonRegionNotFound, "region not found on store", 0, nil)
	case cdcErr.GetCongested() != nil:
		e.regionFailed(r, snapshots.ReasonCongested, "store congested", 0, nil)
	case cdcErr.GetServerIsBusy() != nil:
		busy := cdcErr.GetServerIsBusy()
		e.regionFailed(r, snapshots.ReasonServerIsBusy,
			fmt.Sprintf("server is busy: %s (backoff %dms)", busy.GetReason(), busy.GetBackoffMs()),
			retry.ServerBusyBackoff(busy.GetBackoffMs()), nil)
	case cdcErr.GetDuplicateRequest() != nil:
		e.countError(snapshots.ReasonDuplicateRequest, r.storeID)
		e.fatal(fmt.Errorf("store %d: duplicate request for region %d of subscription %d: pulltop's stream bookkeeping is broken (this is a bug)",
			r.storeID, r.id, r.sub.id))
	case cdcErr.GetCompatibility() != nil:
		e.fatal(fmt.Errorf("store %d: incompatible: TiKV requires change-data clients of version %s or newer",
			r.storeID, cdcErr.GetCompatibility().GetRequiredVersion()))
	case cdcErr.GetClusterIdMismatch() != nil:
		mm := cdcErr.GetClusterIdMismatch()
		e.fatal(fmt.Errorf("store %d (%s) belongs to cluster %d but PD %v reports cluster %d: --pd points at another cluster than its stores",
			r.storeID, e.stores[r.storeID].addr, mm.GetCurrent(), e.cfg.PD, mm.GetRequest()))
	default:
		e.regionFailed(r, snapshots.ReasonUnknown, "unknown error: "+cdcErr.String(), 0, nil)
	}
}

// retriesRegion tells whether a reason re-locks the same region (same
// epoch) after its backoff; the others reload the range from PD through the
// aggregator.
func retriesRegion(reason string, leader *metapb.Peer) bool {
	switch reason {
	case snapshots.ReasonNotLeader:
		return leader != nil && leader.GetStoreId() != 0
	case snapshots.ReasonCongested, snapshots.ReasonServerIsBusy, snapshots.ReasonUnknown:
		return true
	}
	return false
}

// regionFailed ends r's current attempt: it leaves its stream, gives its
// range back (keeping its resolved ts) and waits in the retry heap for its
// backoff, after which it is either re-locked as the same region or its
// range is reloaded from PD.
func (e *Engine) regionFailed(r *regionState, reason, detail string, serverBackoff time.Duration, leader *metapb.Peer) {
	e.countError(reason, r.storeID)
	e.detach(r)
	e.unlock(r)
	if st := e.stores[r.storeID]; st != nil {
		delete(st.parked, r)
	}
	// detail is often a server's own message: cleaned as it comes in, so
	// the log, the snapshot and whatever is built from it are safe to print.
	r.lastError = snapshots.CleanString(reason + ": " + detail)
	now := time.Now() // one instant: the store's last error is the evidence its cause's since comes from
	e.noteRegionError(r, reason, now.UnixNano())
	if reason != snapshots.ReasonStoreFailure { // the stream's own error says it better
		e.noteStoreError(r.storeID, r.lastError, now)
	}
	failedStore := r.storeID // before a NotLeader hint moves it
	if reason == snapshots.ReasonRegionNotFound {
		// Its peer left the store: a removal (PD lists the store Offline
		// at once) or a merge. Ask PD now: store_removed and
		// store_draining are named from the store's state there.
		e.askStores(now, storeAskMin)
	}
	r.leftStore = 0
	byRegion := retriesRegion(reason, leader)
	if reason == snapshots.ReasonNotLeader && byRegion {
		if st := e.stores[leader.GetStoreId()]; st != nil && st.addr != "" {
			r.leaderPeer, r.storeID = leader.GetId(), leader.GetStoreId()
			if r.storeID != failedStore {
				// Its leader moved away from failedStore: evidence of a
				// drain when all of them do.
				r.leftStore = failedStore
				if from := e.stores[failedStore]; from != nil {
					from.moves.add(time.Now().UnixNano())
				}
				e.askStores(now, storeAskMin) // a drain may show in PD too
				st.movedInAt = time.Now().UnixNano()
			}
		} else {
			byRegion = false // unknown store: ask PD
		}
	}
	key := r.rangeKey()
	delay, attempt := e.policy.Next(time.Now(), key, retry.Reason(reason), serverBackoff)
	r.retryAttempts = int32(attempt)
	r.state = snapshots.StateRetryWait
	r.retryKey = key
	e.markDirty(r)
	e.sched.Schedule(retry.Retry{Key: key, RegionID: r.id, StoreID: failedStore, Reason: retry.Reason(reason), Attempt: attempt}, delay,
		e.onLoop(func() {
			if e.regions[r.key()] != r || r.state != snapshots.StateRetryWait {
				// Superseded while it waited (a newer record took the
				// range, or the operator moved it on): nothing to do, but
				// it did fire, and a burst of these says churn.
				e.retryFired(firedRegionRetry(r, failedStore, reason, attempt, snapshots.OutcomeSuperseded))
				return
			}
			r.retryKey = retry.Key{}
			if byRegion {
				e.retryFired(firedRegionRetry(r, failedStore, reason, attempt, snapshots.OutcomeRelock))
				r.state = snapshots.StateQueued
				e.markDirty(r)
				e.tryLock(r)
				return
			}
			e.retryFired(firedRegionRetry(r, failedStore, reason, attempt, snapshots.OutcomeReload))
			r.state = snapshots.StateReloadWait
			e.markDirty(r)
			e.addReload(r.sub, r.span(), reload.Low, reason)
		}))
}

// handleStreamFailure fails every region the worker carried, cools the
// store down, and lets the worker reconnect.
func (e *Engine) handleStreamFailure(w *streamWorker, err error) {
	st := e.stores[w.storeID]
	if isUnimplemented(err) {
		// No EventFeedV2: a TiKV before 7.3. Retrying cannot help.
		version := ""
		if st != nil {
			version = st.version
		}
		incompatible := noEventFeedV2(w.storeID, w.addr, version, err)
		if st != nil {
			st.incompatible = snapshots.CleanString(incompatible.Error())
		}
		e.fatal(incompatible)
		w.takeQueue()
		select {
		case w.ack <- struct{}{}:
		default:
		}
		return
	}
	cooldown := e.storeCooldown.Failure(w.storeID)
	detail := err.Error()
	if why := unreachable(err); why != "" && !w.opened.Load() {
		// Never reached from here: most likely an advertise address that
		// only resolves or routes inside the cluster. Say so once.
		detail = fmt.Sprintf("cannot reach TiKV store %d at %s from this host: %s — the advertise address must be reachable from where pulltop runs",
			w.storeID, w.addr, why)
		if st != nil && st.unreachable != detail {
			st.unreachable = detail
			e.logger.Warn(detail, zap.Error(err))
			e.logEvent(time.Now(), snapshots.LogStore, fmt.Sprintf("store %d", w.storeID), snapshots.CleanString(detail), "")
		}
	} else {
		e.logger.Info("store stream failed", zap.Uint64("store", w.storeID), zap.Duration("cooldown", cooldown), zap.Error(err))
	}
	// One instant for the store's last error and its first failure, so
	// the error store_cooling and store_down begin with is not older than
	// their since (it would read "(old)").
	now := time.Now()
	if st != nil {
		st.lastErr, st.lastErrAt = snapshots.CleanString(detail), now // carries text from outside
	}
	// A store whose stream ends may have left the cluster: PD lists a
	// drained store Offline and a removed one Tombstone at once, and
	// that, not the failure, is what names it (store_draining,
	// store_removed). Ask now, not at the next PDCheckInterval.
	e.askStores(now, storeAskMin)
	if st := e.stores[w.storeID]; st != nil {
		if st.failingSince == 0 {
			st.failingSince = now.UnixNano()
		}
		st.lastFailure = snapshots.CleanString(detail) // a server's own words
		// A stream that had opened and failed is one flap; a reconnect
		// that never opens is the same outage going on.
		if st.flapWorker != w {
			st.flapWorker, st.opensSeen = w, 0
		}
		if opens := w.opens.Load(); opens > st.opensSeen {
			st.opensSeen = opens
			st.flaps.add(time.Now().UnixNano())
		}
	}
	for _, r := range w.regions.all() {
		e.regionFailed(r, snapshots.ReasonStoreFailure, detail, 0, nil)
	}
	// Requests queued for the dead stream die with it; their regions were
	// in w.regions and have been failed above.
	w.takeQueue()
	w.initialized.Store(0)
	clear(w.deregPending) // the next stream starts clean
	select {
	case w.ack <- struct{}{}:
	default:
	}
}

// unreachable names why a connection to a store could not be made (the
// address does not resolve, nothing listens, no route, a timeout), or ""
// when the failure is of another kind.
func unreachable(err error) string {
	msg := err.Error()
	for _, c := range []struct{ needle, why string }{
		{"no such host", "no such host"},
		{"server misbehaving", "the name does not resolve"},
		{"connection refused", "connection refused"},
		{"no route to host", "no route to host"},
		{"network is unreachable", "network is unreachable"},
		{"i/o timeout", "connection timed out"},
		{errConnectTimeout.Error(), "connection timed out"},
	} {
		if strings.Contains(msg, c.needle) {
			return c.why
		}
	}
	return ""
}
