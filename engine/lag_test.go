package engine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tikv/client-go/v2/oracle"

	"github.com/pulltop/pulltop/engine"
	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
)

// During a PD outage the regions that wait for a lookup are the lag: they
// keep their range's last resolved ts, so lag_max grows with the outage
// and agrees with the subscription's lag (it used to skip them and read
// 9–12 ms while the subscription lagged 22 s).
func TestPDOutageLagCountsWaitingRegions(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 3, Regions: 8, WriteRate: 200}, func(c *engine.Config) {
		fastCfg(c)
		c.PDCheckInterval = 100 * time.Millisecond
	})
	st := h.waitFor("initialized", 20*time.Second, allInitialized(8))
	sub := st.Subscriptions[0]
	h.sim.PDDown()
	h.waitFor("PD reported unavailable", 10*time.Second, func(st *snapshots.State) bool { return st.Source.PDError != "" })
	// Every region gives its range back and waits for PD to locate it.
	require.NoError(t, h.eng.ForceReloadSpan(sub.ID, sub.Start, sub.End))
	st = h.waitFor("every region waiting, lag past 2s", 20*time.Second, func(st *snapshots.State) bool {
		for _, r := range st.Regions {
			if r.State == snapshots.StateInitialized || r.State == snapshots.StateStale {
				return false
			}
		}
		return len(st.Regions) == 8 && st.Totals.ResolvedLagMaxMs >= 2000
	})
	for _, r := range st.Regions {
		require.NotZero(t, r.ResolvedTs, "region %d waits with its range's resolved ts", r.ID)
		require.Greater(t, r.ResolvedLagMs, int64(1000), "region %d (%s): its lag grows while it waits", r.ID, r.State)
	}
	tot := st.Totals
	require.InDelta(t, tot.SubLagMs, tot.ResolvedLagMaxMs, 1000, "lag_max and the subscription's lag agree")
	require.Equal(t, sub.ID, tot.SubLagID)
	worst := regionByID(st, tot.WorstRegion)
	require.NotNil(t, worst, "worst_region %d is a region", tot.WorstRegion)
	require.Equal(t, tot.ResolvedLagMaxMs, worst.ResolvedLagMs)
	require.Equal(t, worst.StoreID, tot.WorstStore)

	require.NoError(t, h.sim.PDUp())
	h.waitFor("initialized again, lag back under 2s", 30*time.Second, func(st *snapshots.State) bool {
		return allInitialized(8)(st) && st.Totals.ResolvedLagMaxMs < 2000 && st.Totals.SubLagMs < 2000
	})
	h.checkInvariants()
}

// A subscription (and its regions) that has never resolved lags from the
// start ts: with --start-ts a minute ago, the first snapshot already says
// a minute.
func TestNeverResolvedLagCountsFromTheStartTs(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 1, Regions: 4}, func(c *engine.Config) {
		c.StartTs = oracle.GoTimeToTS(time.Now().Add(-time.Minute))
		c.PublishInterval = time.Hour // only the snapshot Start publishes
	})
	st := h.eng.Snapshot()
	require.GreaterOrEqual(t, st.Totals.SubLagMs, int64(59_000), "subscription lag from its start ts")
	require.Equal(t, uint64(1), st.Totals.SubLagID)
	st = h.eng.Refresh()
	for _, r := range st.Regions {
		if !r.Initialized {
			require.GreaterOrEqual(t, r.ResolvedLagMs, int64(59_000), "region %d never resolved", r.ID)
		}
	}
	require.GreaterOrEqual(t, st.Totals.SubLagMs, int64(59_000))
}
