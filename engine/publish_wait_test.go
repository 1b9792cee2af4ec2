package engine

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/engine/diagnose"
	"github.com/pulltop/pulltop/snapshots"
)

// newScanningEngine is newPublishEngine with every region but one in ten
// waiting for its initial scan: perStore scans running on each store
// (requested at now), the rest queued for a slot.
func newScanningEngine(tb testing.TB, n, perStore int) (*Engine, []*regionState) {
	e := newPublishEngine(tb, n)
	now := e.lastPublish
	regions := make([]*regionState, 0, n)
	for _, r := range e.regions {
		regions = append(regions, r)
	}
	slices.SortFunc(regions, func(x, y *regionState) int { return cmp.Compare(x.id, y.id) })
	for _, r := range regions {
		if r.id%10 == 0 || r.state == snapshots.StateRetryWait {
			continue
		}
		st := e.stores[r.storeID]
		r.initialized, r.lastError, r.lastAdvance = false, "", time.Time{}
		if st.inflight < perStore {
			r.state, r.scanning, r.requestedAt = snapshots.StateRequested, true, now.UnixNano()
			st.inflight++
		} else {
			r.state = snapshots.StateQueued
			st.admission = append(st.admission, r)
		}
		e.markDirty(r)
	}
	return e, regions
}

// publishedView is what a publish shows of the regions as a whole: the
// totals, the store rows and the causes board.
type publishedView struct {
	Totals snapshots.Totals
	Stores []snapshots.Store
	Causes []snapshots.CauseRow
}

func viewOf(st *snapshots.State) publishedView {
	t := st.Totals
	t.EventsPerSec = 0
	return publishedView{Totals: t, Stores: st.Stores, Causes: st.Causes}
}

// publishBoth publishes at now as the engine does (the waiting regions
// counted), then again at the same instant after resync (every region
// walked and decided), and requires both to show the same.
func publishBoth(t *testing.T, e *Engine, now time.Time, what string) publishedView {
	t.Helper()
	e.publish(now)
	counted := viewOf(e.published.Load())
	e.resync()
	e.publish(now)
	walked := viewOf(e.published.Load())
	require.Equal(t, walked, counted, "%s: counted and walked differ", what)
	return counted
}

func causeRow(v publishedView, c diagnose.Cause) *snapshots.CauseRow {
	for i := range v.Causes {
		if v.Causes[i].Cause == c.String() {
			return &v.Causes[i]
		}
	}
	return nil
}

// The regions waiting for their initial scan are counted, not walked,
// and a publish shows what a walk over every region would: through scans
// moving, scans finishing, an error, stores turning (paused, cooling,
// incompatible, draining, busy) and PD going down and coming back. The
// publish check (every publish) verifies that each one not looked at
// still reads as deciding it now would.
func TestPublishCountsWaitingRegionsAsAWalkWould(t *testing.T) {
	e, regions := newScanningEngine(t, 3000, 16)
	now := e.lastPublish
	step := func(what string, change func()) publishedView {
		now = now.Add(500 * time.Millisecond)
		if change != nil {
			change()
		}
		return publishBoth(t, e, now, what)
	}
	v := step("scans start", nil)
	require.Equal(t, 3000-300, v.Totals.Regions-v.Totals.Initialized, "not initialized: all but one in ten (3 of them retrying)")
	require.Equal(t, 3000-300, causeRow(v, diagnose.ScanPending).Regions)
	// A steady publish looks at nothing of them.
	e.publish(now.Add(250 * time.Millisecond))
	require.Greater(t, e.wait.n, 2600)
	require.LessOrEqual(t, len(e.looked), 3, "only the retrying regions are looked at")

	byStore := func(id uint64, state string) []*regionState {
		var out []*regionState
		for _, r := range regions {
			if r.storeID == id && r.state == state && !r.initialized {
				out = append(out, r)
			}
		}
		return out
	}
	scans := func() {
		// Half the running scans finish; as many queued ones start.
		for id, st := range e.stores {
			running := byStore(id, snapshots.StateRequested)
			for _, r := range running[:len(running)/2] {
				r.state, r.initialized, r.scanning, r.lastAdvance = snapshots.StateInitialized, true, false, now
				r.scanned = true
				e.markDirty(r)
				st.inflight--
			}
			for st.inflight < 16 && len(st.admission) > 0 {
				r := st.admission[0]
				st.admission = st.admission[1:]
				r.state, r.scanning, r.requestedAt = snapshots.StateRequested, true, now.Add(500*time.Millisecond).UnixNano()
				st.inflight++
				e.markDirty(r)
			}
		}
	}
	for i := range 3 {
		step("scans move "+string(rune('0'+i)), scans)
	}
	step("a waiting region fails", func() {
		r := byStore(2, snapshots.StateQueued)[5]
		e.noteRegionError(r, snapshots.ReasonNotLeader, now.UnixNano())
		r.lastError = "not_leader: moved"
		e.markDirty(r)
	})

	// Store causes that decide a waiting region otherwise: at the publish
	// that decides the store, its waiting regions take its cause.
	for _, turn := range []struct {
		cause      diagnose.Cause
		turn, back func(info *storeInfo, id uint64)
	}{
		{diagnose.StorePaused,
			func(_ *storeInfo, id uint64) { e.storeCooldown.Pause(id) },
			func(_ *storeInfo, id uint64) { e.storeCooldown.Resume(id) }},
		{diagnose.StoreCooling, // its stream failed (no stream reconnects here)
			func(_ *storeInfo, id uint64) { e.storeCooldown.Failure(id) },
			func(_ *storeInfo, id uint64) { e.storeCooldown.Success(id) }},
		{diagnose.Incompatible,
			func(info *storeInfo, _ uint64) { info.incompatible = "TiKV 4.0" },
			func(info *storeInfo, _ uint64) { info.incompatible = "" }},
		{diagnose.StoreDraining,
			func(info *storeInfo, _ uint64) { info.pdState = diagnose.PDStoreOffline },
			func(info *storeInfo, _ uint64) { info.pdState = "" }},
	} {
		id := uint64(3)
		v := step(turn.cause.String(), func() { turn.turn(e.stores[id], id) })
		row := causeRow(v, turn.cause)
		require.NotNil(t, row, "%s: %+v", turn.cause, v.Causes)
		require.Greater(t, row.Regions, 800, "%s: the store's waiting regions take its cause at once", turn.cause)
		step(turn.cause.String()+" steady", nil)
		v = step(turn.cause.String()+" back", func() { turn.back(e.stores[id], id) })
		require.Nil(t, causeRow(v, turn.cause), "%s", turn.cause)
		step(turn.cause.String()+" back steady", scans)
	}

	// Busy: a few of its regions answer ServerIsBusy; its requested ones
	// (and queued ones) then wait on its busyness.
	v = step("busy", func() {
		for _, r := range byStore(1, snapshots.StateQueued)[:6] {
			e.noteRegionError(r, snapshots.ReasonServerIsBusy, now.UnixNano())
			r.lastError = "server_is_busy: busy"
			e.markDirty(r)
		}
	})
	require.NotNil(t, causeRow(v, diagnose.StoreBusy))
	require.Greater(t, causeRow(v, diagnose.StoreBusy).Regions, 800)
	step("busy steady", nil)

	// PD down and back.
	step("pd down", func() { e.pd.lookupErr, e.pd.errSince = "pd: unavailable", now })
	step("pd down steady", scans)
	step("pd back", func() { e.pd.lookupErr, e.pd.backAt = "", now })
	step("pd back steady", scans)

	// The scans end: nothing waits, and the book lets the records go.
	e.publish(now.Add(250 * time.Millisecond))
	require.NotEmpty(t, e.wait.earliest)
	now = now.Add(500 * time.Millisecond)
	func() {
		for _, r := range regions {
			if (r.state == snapshots.StateQueued || r.state == snapshots.StateRequested) && !r.initialized {
				r.state, r.initialized, r.scanning, r.lastAdvance = snapshots.StateInitialized, true, false, now
				e.markDirty(r)
			}
		}
		for _, st := range e.stores {
			st.admission, st.inflight = nil, 0
		}
	}()
	e.publish(now)
	require.Zero(t, e.wait.n)
	require.Nil(t, e.wait.earliest)
	step("scans done", nil)
}

// The publish check fails on a waiting region whose verdict's evidence
// changed without markDirty: the tests catch a missed mark there too.
func TestPublishCheckCatchesAStaleWaitingRegion(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(r *regionState)
		want   string
	}{
		{"requested again", func(r *regionState) { r.requestedAt += int64(time.Hour) }, "diagnosis"},
		{"an error", func(r *regionState) { r.failReason = snapshots.ReasonStoreFailure }, "not waiting for its scan"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, regions := newScanningEngine(t, 1000, 8)
			now := e.lastPublish.Add(500 * time.Millisecond)
			e.publish(now)
			var r *regionState
			for _, x := range regions {
				if x.waiting() && x.state == snapshots.StateRequested {
					r = x
					break
				}
			}
			require.NotNil(t, r)
			c.change(r) // without markDirty
			msg := func() (msg string) {
				defer func() {
					if p := recover(); p != nil {
						msg, _ = p.(string)
					}
				}()
				e.publish(now.Add(500 * time.Millisecond))
				return ""
			}()
			require.True(t, strings.Contains(msg, "publish check: region") && strings.Contains(msg, c.want), "got %q", msg)
		})
	}
}
