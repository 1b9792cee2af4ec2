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
	waiting, waitBy, admittedBy := 0, map[uint64]int{}, map[uint64]int{}
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
		if r.isQuiet() {
			quiet++
			quietBy[e.quietStore(r)]++
		}
		if r.waiting() {
			waiting++
			waitBy[e.quietStore(r)]++
			if r.waitAdmitted() {
				admittedBy[e.quietStore(r)]++
			}
		}
		if r.looking {
			continue // looked at
		}
		if r.waiting() {
			checkWaiting(e, r, cur, nowNs, fail)
			continue
		}
		// Not looked at: it must have been quiet, and still be.
		if !r.isQuiet() || e.quietStore(r) != r.storeID {
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
	if waiting != e.wait.n || fmt.Sprint(waitBy) != fmt.Sprint(e.wait.by) || fmt.Sprint(admittedBy) != fmt.Sprint(e.wait.admittedBy) {
		panic(fmt.Sprintf("publish check: %d waiting regions %v (admitted %v), counted %d %v (%v)",
			waiting, waitBy, admittedBy, e.wait.n, e.wait.by, e.wait.admittedBy))
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

// checkWaiting: r, counted waiting and not looked at, still waits for its
// initial scan with the verdict and the text its row holds: what deciding
// and describing it now would give.
func checkWaiting(e *Engine, r *regionState, cur *snapshots.Region, nowNs int64, fail func(*regionState, string, ...any)) {
	if e.quietStore(r) != r.storeID || !mayWait(r) {
		fail(r, "not looked at, counted waiting, yet not waiting for its scan (store %d, error %q)", r.storeID, r.failReason)
	}
	if admitted := r.state == snapshots.StateQueued && r.admitGen == e.diag.gen && r.admitPos > 0; admitted != r.waitAdmitted() {
		fail(r, "not looked at, waiting, admitted %v, counted admitted %v", admitted, r.waitAdmitted())
	}
	var ev diagnose.Region
	_, sev, text := e.undecidedEvidence(r, nowNs, &ev)
	pd := &e.diag.pd
	c, _ := diagnose.DecideRegion(&ev, sev, pd, nowNs, e.cfg.StaleAfter)
	if c != diagnose.ScanPending || r.mark.Cause != c || cur.Cause != c.String() || !cur.Since.Equal(timeOf(r.mark.Since)) {
		fail(r, "not looked at, waiting, yet decided %s now (mark %s, row %s since %v)", c, r.mark.Cause, cur.Cause, cur.Since)
	}
	if want := e.diag.describer.Region(c, &ev, sev, text, pd, nowNs); cur.Diagnosis != want {
		fail(r, "not looked at, waiting, diagnosis %q, now %q", cur.Diagnosis, want)
	}
}
