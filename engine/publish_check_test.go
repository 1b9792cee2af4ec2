package engine

import (
	"fmt"
	"time"

	"github.com/pulltop/pulltop/engine/diagnose"
	"github.com/pulltop/pulltop/snapshots"
)

// Every publish of every test in this package checks that the regions it
// did not look at needed no look: their rows, moving parts and index
// entries are what a walk over every region would have written, and they
// are quiet (streaming, advancing, healthy). A change to a row field
// without markDirty fails here.
func init() { afterPublish = checkPublish }

func checkPublish(e *Engine, now, pdNow time.Time) {
	if skipPublishCheck {
		return
	}
	nowNs := now.UnixNano()
	lagging := diagnose.LaggingAfter(e.cfg.StaleAfter)
	quiet, quietBy := 0, map[uint64]int{}
	fail := func(r *regionState, format string, args ...any) {
		panic(fmt.Sprintf("publish check: region %d (sub %d, state %s): %s", r.id, r.sub.id, r.state, fmt.Sprintf(format, args...)))
	}
	var want snapshots.Region // one, not one per region (it escapes to fail)
	for _, r := range e.regions {
		h := r.viewHandle
		cur := e.view.Current(h)
		if cur == nil {
			fail(r, "not in the view")
		}
		want = snapshots.Region{ // what a walk over every region would put
			ID: r.id, Subscription: r.sub.id, Start: r.startHex, End: r.endHex,
			StoreID: r.storeID, LeaderPeer: r.leaderPeer, EpochVersion: r.version, EpochConfVer: r.confVer,
			State: r.state, Initialized: r.initialized, LastError: snapshots.CleanString(r.lastError), RetryAttempts: int(r.retryAttempts),
			Lineage: r.lineage, LastErrorAt: timeOf(r.lastErrorAt),
			Cause: cur.Cause, Since: cur.Since, Diagnosis: cur.Diagnosis,
		}
		if !sameStatic(cur, &want) {
			fail(r, "row\n got %+v\nwant %+v", *cur, want)
		}
		rts := r.resolvedTs()
		if rts == 0 {
			rts = r.sub.lock.RangeResolvedTs(r.start, r.end)
		}
		ts, adv, events := e.view.Moving(h)
		if ts != rts || adv != unixNano(r.lastAdvance) || events != r.events {
			fail(r, "moving parts %d %d %d, want %d %d %d", ts, adv, events, rts, unixNano(r.lastAdvance), r.events)
		}
		row := int(h - 1)
		if e.pub.regions[row] != r || e.pub.rts[row] != rts {
			fail(r, "publish index row %d: %p ts %d, want %p ts %d", row, e.pub.regions[row], e.pub.rts[row], r, rts)
		}
		if streaming(r) != (e.pub.adv[row] != notStreaming) || streaming(r) && e.pub.adv[row] != unixNano(r.lastAdvance) {
			fail(r, "publish index last advance %d, streaming %v", e.pub.adv[row], streaming(r))
		}
		if r.quiet {
			quiet++
			quietBy[e.quietStore(r)]++
		}
		if r.looking {
			continue // looked at
		}
		// Not looked at: it must have been quiet, and still be.
		if !r.quiet || e.quietStore(r) != r.storeID {
			fail(r, "not looked at, yet not quiet")
		}
		if !streaming(r) || e.held(r, nowNs) || vlag(pdNow, rts) >= lagging.Milliseconds() {
			fail(r, "not looked at, yet held or behind (lag %d ms, last advance %v ago)", vlag(pdNow, rts), now.Sub(r.lastAdvance))
		}
		if r.mark.Cause != diagnose.Healthy || cur.Cause != causeHealthy {
			fail(r, "not looked at, yet %s", cur.Cause)
		}
	}
	if quiet != e.quietN || fmt.Sprint(quietBy) != fmt.Sprint(e.quietBy) {
		panic(fmt.Sprintf("publish check: %d quiet regions %v, counted %d %v", quiet, quietBy, e.quietN, e.quietBy))
	}
	if e.view.Len() != len(e.regions) || len(e.pub.regions) != len(e.regions) {
		panic(fmt.Sprintf("publish check: %d regions, %d in the view, %d in the index", len(e.regions), e.view.Len(), len(e.pub.regions)))
	}
}

// sameStatic: a and b agree outside their moving parts.
func sameStatic(a, b *snapshots.Region) bool {
	return a.ID == b.ID && a.Subscription == b.Subscription && a.Start == b.Start && a.End == b.End &&
		a.StoreID == b.StoreID && a.LeaderPeer == b.LeaderPeer && a.EpochVersion == b.EpochVersion &&
		a.EpochConfVer == b.EpochConfVer && a.State == b.State && a.Initialized == b.Initialized &&
		a.LastError == b.LastError && a.RetryAttempts == b.RetryAttempts && a.Cause == b.Cause &&
		a.Since.Equal(b.Since) && a.Diagnosis == b.Diagnosis && a.LastErrorAt.Equal(b.LastErrorAt) &&
		len(a.Lineage) == len(b.Lineage)
}

// skipPublishCheck turns the check off (benchmarks: it walks every region).
var skipPublishCheck bool

func vlag(pdNow time.Time, ts uint64) int64 {
	if ts == 0 {
		return 0
	}
	return max(pdNow.UnixMilli()-int64(ts>>18), 0)
}
