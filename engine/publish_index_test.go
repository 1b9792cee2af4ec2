package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tikv/client-go/v2/oracle"

	"github.com/pulltop/pulltop/snapshots"
)

// regionsByID is e's records by region id.
func regionsByID(e *Engine) map[uint64]*regionState {
	out := make(map[uint64]*regionState, len(e.regions))
	for _, r := range e.regions {
		out[r.id] = r
	}
	return out
}

// A steady publish looks at the regions that changed and the ones not
// quiet, not at the rest; what it shows is still every region's.
func TestPublishLooksAtWhatChanged(t *testing.T) {
	e := newPublishEngine(t, 5000)
	now := time.Now()
	e.publish(now)
	// 5 stale and 5 waiting (newPublishEngine) are not quiet.
	require.Len(t, e.looked, 10, "a steady publish looks at the regions that are not quiet")
	require.Equal(t, 4990, e.quietN)

	byID := regionsByID(e)
	for id := uint64(100); id < 200; id++ {
		r := byID[id]
		r.lastError, r.retryAttempts = "epoch_not_match: changed", 3
		e.markDirty(r)
	}
	now = now.Add(500 * time.Millisecond)
	e.publish(now)
	require.Len(t, e.looked, 110, "and at the ones that changed")
	st := e.published.Load()
	i, ok := st.Table.(interface {
		Find(uint64, uint64) (int, bool)
	}).Find(1, 150)
	require.True(t, ok)
	require.Equal(t, 3, st.Table.Static(i).RetryAttempts, "the changed row is published")
	require.Equal(t, 5000, st.Totals.Regions)
	require.Equal(t, 4995, st.Totals.Initialized)
	require.Equal(t, 5, st.Totals.Stale)
}

// A quiet region that stops advancing is noticed without being marked:
// the chunk minima of its last advance find it, it goes stale, and it
// holds the worst lag (its store's too).
func TestPublishNoticesTheRegionTimeLeftBehind(t *testing.T) {
	e := newPublishEngine(t, 3000)
	e.cfg.StaleAfter = 10 * time.Second
	byID := regionsByID(e)
	stuck := byID[1500]
	require.True(t, stuck.isQuiet())
	for _, r := range byID {
		if r.state == snapshots.StateRetryWait {
			e.forget(r) // its lag would grow too
		}
	}
	now := time.Now()
	for step := 1; step <= 30; step++ {
		now = now.Add(time.Second)
		ts := oracle.GoTimeToTS(now)
		for _, r := range e.regions {
			if r != stuck && streaming(r) {
				e.advanceRegion(r, ts, now)
			}
		}
		e.publish(now)
	}
	st := e.published.Load()
	i, ok := st.Table.(interface {
		Find(uint64, uint64) (int, bool)
	}).Find(1, stuck.id)
	require.True(t, ok)
	require.Equal(t, snapshots.StateStale, st.Table.Static(i).State, "stuck for 30s with --stale-after 10s")
	require.NotEqual(t, causeHealthy, st.Table.Static(i).Cause)
	require.Equal(t, stuck.id, st.Totals.WorstRegion)
	require.GreaterOrEqual(t, st.Totals.ResolvedLagMaxMs, int64(30_000))
	for _, s := range st.Stores {
		if s.ID == stuck.storeID {
			require.Equal(t, st.Totals.ResolvedLagMaxMs, s.MaxLagMs, "its store's max lag")
		} else {
			require.Less(t, s.MaxLagMs, int64(5_000), "store %d: its regions advance", s.ID)
		}
	}
	// The ones that advanced are quiet again (the stale ones of
	// newPublishEngine advanced too), the stuck one not.
	require.Equal(t, 3000-3-1, e.quietN)
}

// The check every test runs after every publish fails on a row field
// changed without markDirty: the tests can catch a missed mark.
func TestPublishCheckCatchesAnUnmarkedChange(t *testing.T) {
	e := newPublishEngine(t, 2000)
	r := regionsByID(e)[700]
	require.True(t, r.isQuiet())
	r.retryAttempts = 9 // without markDirty
	msg := func() (msg string) {
		defer func() {
			if p := recover(); p != nil {
				msg, _ = p.(string)
			}
		}()
		e.publish(time.Now())
		return ""
	}()
	require.True(t, strings.Contains(msg, "publish check: region 700"), "got %q", msg)
}
