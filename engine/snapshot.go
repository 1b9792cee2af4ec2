package engine

import (
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/tikv/client-go/v2/oracle"
	"go.uber.org/zap"

	"github.com/pulltop/pulltop/engine/diagnose"
	"github.com/pulltop/pulltop/snapshots"
	"github.com/pulltop/pulltop/view"
)

const maxActions = 1000

// publish builds an immutable snapshot of everything the event loop owns
// and swaps it in; readers never wait for the loop.
func (e *Engine) publish(now time.Time) { e.publishRows(now, !e.cfg.RowsOnDemand) }

// publishRows is publish, with the regions in the view's version only
// (State.Table) unless rows is set (not Config.RowsOnDemand): then they
// are built into Regions as well. The totals, stores and causes are the
// same either way.
func (e *Engine) publishRows(now time.Time, rows bool) {
	began := time.Now()
	defer func() {
		e.publishedAt = time.Now()
		e.publishCost = e.publishedAt.Sub(began)
	}()
	// A tick carries the time it fired, which can be older than a Refresh
	// published while the tick waited: snapshot times never go back (a
	// since would read as later than its snapshot).
	if now.Before(e.lastPublish) {
		now = e.lastPublish
	}
	e.lastPublish = now
	if e.truth != nil {
		e.truth.check(e.subs)
	}
	e.seq++
	st := &snapshots.State{
		Version: snapshots.Version,
		TakenAt: now.UTC(),
		Seq:     e.seq,
		Source: snapshots.Source{
			PD: append([]string(nil), e.cfg.PD...), ClusterID: e.locator.clusterID, EmbeddedSim: e.cfg.EmbeddedSim,
			StaleAfterMs: e.cfg.StaleAfter.Milliseconds(), ScanPriority: ScanPriorityName(InitialScanPriority),
		},
	}
	e.pdSource(&st.Source, now)
	e.progress.fill(&st.Progress, len(e.regions), e.Err() != nil)
	if err := e.Err(); err != nil {
		st.EngineError = snapshots.CleanString(err.Error())
	}
	// Lag is in PD's time: the host's clock may be off (a jump host).
	pdNow := now.Add(e.clockOffset)
	if skew := e.clockOffset.Milliseconds(); skew > 1000 || skew < -1000 {
		st.Source.ClockSkewMs = skew
	}
	lag := func(ts uint64) int64 {
		if ts == 0 {
			return 0
		}
		return max(pdNow.Sub(oracle.GetTimeFromTS(ts)).Milliseconds(), 0)
	}

	t := &st.Totals
	t.ErrorsByReason = make(map[string]int64, len(e.stats.errorsByReason))
	for k, v := range e.stats.errorsByReason {
		t.ErrorsByReason[k] = v
	}
	e.diagBegin(now)
	nowNs := now.UnixNano()
	if e.view == nil {
		e.view = view.NewBuilder() // an Engine built by a test
	}
	vb := e.view
	if down := e.diag.pd.Down(); down != e.wait.pdDown {
		// Nothing of a waiting region's verdict reads PD today; should it
		// one day, PD going down or coming back is rare enough to look.
		e.wait.pdDown = down
		if e.wait.n > 0 {
			e.listWaiting(nil)
		}
	}
	// The regions to look at: those whose row changed, those not quiet,
	// and the quiet ones time made suspect. The quiet rest is healthy and
	// unchanged: it is counted, not walked.
	regions := e.lookAt(nowNs, pdNow)
	// The quiet regions it does not look at: initialized, advancing,
	// healthy.
	for _, r := range regions {
		if r.isQuiet() {
			e.unquiet(r)
		}
		if r.waiting() {
			e.unwait(r)
		}
	}
	t.Initialized += e.quietN
	for id, sd := range e.diag.stores {
		if q := e.quietBy[id]; q > 0 {
			sd.ev.Regions += q
			sd.ev.Advancing += q
			sd.regions[diagnose.Healthy] += int32(q)
		}
		if w := e.wait.by[id]; w > 0 {
			// Waiting for their initial scan, decided ScanPending (they
			// leave this count in diagFinish if their store's cause says
			// otherwise now).
			sd.ev.Regions += w
			sd.regions[diagnose.ScanPending] += int32(w)
		}
	}
	for id, w := range e.wait.by {
		e.tallyWaiting(id, w)
	}
	var row snapshots.Region
	for i, r := range regions {
		if r.state == snapshots.StateInitialized && r.lastAdvance.UnixNano() <= nowNs-staleNs(e) && !r.lastAdvance.IsZero() {
			// Initialized, but its resolved ts has not moved for StaleAfter:
			// the silent stuck region of TiCDC #5096.
			r.state = snapshots.StateStale
			e.logger.Info("region stale", zap.Uint64("region", r.id), zap.Duration("since", now.Sub(r.lastAdvance)))
		}
		rts := r.resolvedTs()
		row = snapshots.Region{
			ID: r.id, Subscription: r.sub.id, Start: r.startHex, End: r.endHex,
			StoreID: r.storeID, LeaderPeer: r.leaderPeer, EpochVersion: r.version, EpochConfVer: r.confVer,
			State: r.state, Initialized: r.initialized, LastError: r.lastError, RetryAttempts: int(r.retryAttempts),
			Lineage: r.lineage,
		}
		if rts == 0 {
			// Not holding its range (waiting to retry, reload, locate or
			// re-lock): the range still has the resolved ts its last holder
			// reached, or the start ts if nobody ever held it. That is its
			// lag, and it grows while the region waits — during a PD outage
			// it is the lag that matters.
			rts = r.sub.lock.RangeResolvedTs(r.start, r.end)
		}
		row.ResolvedLagMs = lag(rts)
		if r.initialized {
			t.Initialized++
		}
		if r.state == snapshots.StateStale {
			t.Stale++
		}
		undecided := len(e.diag.pending)
		e.diagRegion(r, &row, i, nowNs)
		e.tallyRegion(r.storeID, &row)
		if len(e.diag.pending) > undecided {
			// Decided in diagFinish: until then it keeps what it had, so
			// that an unchanged verdict writes nothing.
			if cur := vb.Current(r.viewHandle); cur != nil {
				row.Cause, row.Since, row.Diagnosis = cur.Cause, cur.Since, cur.Diagnosis
			}
		}
		row.ResolvedLagMs = 0
		vb.Put(&r.viewHandle, &row)
		vb.SetMoving(r.viewHandle, rts, unixNano(r.lastAdvance), r.events)
		adv := int64(notStreaming)
		if streaming(r) {
			adv = unixNano(r.lastAdvance)
		}
		e.pub.set(int(r.viewHandle-1), r, rts, adv)
		switch {
		case streaming(r) && len(e.diag.pending) == undecided:
			// Healthy, streaming, advancing: quiet until its row changes
			// or time makes it suspect.
			e.setQuiet(r)
		case len(e.diag.pending) == undecided:
			e.markDirty(r)
		}
		// The undecided: diagFinish lists them, or counts them waiting.
	}
	// The worst lag and each store's: the least resolved ts, from the
	// index's chunk minima.
	e.pub.refresh()
	var worst *regionState
	if w, ts := e.pub.worst(); w >= 0 {
		worst = e.pub.regions[w]
		t.ResolvedLagMaxMs, t.WorstRegion, t.WorstStore = lag(ts), worst.id, worst.storeID
	} else if len(e.pub.regions) > 0 {
		worst = e.pub.regions[0] // none has a resolved ts: no lag
		t.WorstRegion, t.WorstStore = worst.id, worst.storeID
	}
	e.pub.storeMins(func(id, ts uint64) { e.tallyLag(id, lag(ts)) })
	t.Regions = len(e.regions)
	t.Events = e.stats.events
	t.EventsPerSec = e.eventRate(now)
	t.RetriesFired = e.stats.retriesFired
	t.RegionRequests = e.stats.regionRequests
	aggStats := e.agg.Stats()
	t.ReloadsFlushed, t.ReloadSpansMerged = aggStats.Flushes, aggStats.SpansMerged

	for _, sub := range e.subs {
		// A subscription that never resolved lags from its start ts.
		subLag := lag(sub.resolvedTs)
		st.Subscriptions = append(st.Subscriptions, snapshots.Subscription{
			ID: sub.id, Start: hex.EncodeToString(sub.span.Start), End: hex.EncodeToString(sub.span.End),
			ResolvedTs: sub.resolvedTs, ResolvedLagMs: subLag,
			Initialized: sub.resolvedTs > sub.startTs, Events: sub.events,
		})
		if subLag > t.SubLagMs || t.SubLagID == 0 {
			t.SubLagMs, t.SubLagID = subLag, sub.id
		}
	}

	cooling := map[uint64]int64{}
	states := map[uint64]string{}
	failures := map[uint64]int{}
	failing := map[uint64]bool{}
	for _, s := range e.storeCooldown.States(now) {
		states[s.StoreID] = s.State
		cooling[s.StoreID] = s.CooldownLeft.Milliseconds()
		failures[s.StoreID] = int(s.TotalFailures)
		failing[s.StoreID] = s.ConsecutiveFailures > 0
	}
	storeIDs := make([]uint64, 0, len(e.stores))
	for id := range e.stores {
		storeIDs = append(storeIDs, id)
	}
	slices.Sort(storeIDs)
	for _, id := range storeIDs {
		s := e.stores[id]
		state := states[id]
		if state == "" {
			state = snapshots.StoreUp
		}
		streams := 0
		if s.worker != nil && s.worker.connected.Load() {
			streams = 1
		}
		if state == snapshots.StoreUp && failing[id] && streams == 0 {
			// Its cooldown ran out but nothing has worked since.
			state = snapshots.StoreDown
		}
		st.Stores = append(st.Stores, snapshots.Store{
			ID: id, Addr: s.addr, State: state, CooldownMsLeft: cooling[id],
			Failures: failures[id], Streams: streams, Regions: e.diag.stores[id].ev.Regions,
			Version: s.version, LastError: s.lastErr, LastErrorAt: s.lastErrAt,
		})
		e.fillStoreRow(&st.Stores[len(st.Stores)-1], s, now)
	}
	e.errWindow.fill(t, now)

	e.diagFinish(now, st, regions)
	// The regions: the view's version, sharing what did not change with
	// the last one; rows only for a reader that asked for them.
	if worst != nil {
		vb.SetWorst(worst.viewHandle)
	} else {
		vb.SetWorst(0)
	}
	st.Table = vb.Publish(pdNow)
	if rows {
		st.Regions = st.Rows()
	}

	for _, p := range e.sched.Pending() {
		if p.Key.Start == storeWakePrefix {
			continue
		}
		st.Retries = append(st.Retries, snapshots.Retry{
			Subscription: p.Key.Subscription, RegionID: p.RegionID,
			Start: hex.EncodeToString([]byte(p.Key.Start)), End: hex.EncodeToString([]byte(p.Key.End)),
			Reason: string(p.Reason), Attempt: p.Attempt, DueInMs: max(p.Due.Sub(now).Milliseconds(), 0),
			StoreID: p.StoreID,
		})
	}
	for _, p := range e.agg.Pending(now) {
		st.Reloads = append(st.Reloads, snapshots.Reload{
			Subscription: p.Sub, Start: hex.EncodeToString([]byte(p.Span.Start)), End: hex.EncodeToString([]byte(p.Span.End)),
			Reason: strings.Join(p.Reasons, ","), MergedFrom: p.MergedFrom, QueuedMsAgo: max(p.QueuedFor.Milliseconds(), 0),
		})
	}
	st.RecentReloads = e.flushes.snapshot()
	st.RecentRetries = e.fired.snapshot()
	st.Actions = append([]snapshots.Action(nil), e.actions...)
	st.Events = e.recent.events()
	if e.truth != nil {
		st.Sim = &snapshots.SimGroundTruth{CommittedRows: e.truth.committed, MissingRows: e.truth.missing}
	}
	// Last: the log compares this snapshot with the previous one.
	e.log.takeNoted()
	e.log.observe(st, now)
	st.Log = e.log.snapshot()
	if afterPublish != nil {
		afterPublish(e, now, pdNow)
	}
	e.published.Store(st)
	if e.cfg.OnPublish != nil {
		e.cfg.OnPublish(st)
	}
}

// rateWindow is how far back events/s looks: long enough that publishing
// often (or a Refresh right after a tick) does not read as a zero rate.
const rateWindow = 2 * time.Second

type eventSample struct {
	at     time.Time
	events uint64
}

// eventRate records a sample and returns events per second over the
// samples of the last rateWindow.
func (e *Engine) eventRate(now time.Time) float64 {
	e.samples = append(e.samples, eventSample{now, e.stats.events})
	drop := 0
	for drop < len(e.samples)-1 && now.Sub(e.samples[drop+1].at) >= rateWindow {
		drop++
	}
	e.samples = e.samples[drop:]
	oldest := e.samples[0]
	dt := now.Sub(oldest.at).Seconds()
	if dt <= 0 {
		return 0
	}
	return float64(e.stats.events-oldest.events) / dt
}
