package engine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
)

// R on a filter reloads exactly the regions it matched: two regions that
// do not touch are reloaded on their own ranges, and no region between or
// around them leaves initialized (a covering span reloaded 61 regions for
// 21 matches).
func TestForceReloadRegionsReloadsExactlyThose(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 2, Regions: 8, WriteRate: 200}, fastCfg)
	st := h.waitFor("initialized", 20*time.Second, allInitialized(8))
	picked := []uint64{st.Regions[1].ID, st.Regions[4].ID} // not adjacent
	for _, r := range st.Regions[:5] {
		require.True(t, r.State == snapshots.StateInitialized)
	}
	s := seen{}
	require.NoError(t, h.eng.ForceReloadRegions(1, picked))
	h.watch("both picked regions reloaded and initialized again", 20*time.Second, s, func(st *snapshots.State) bool {
		for _, id := range picked {
			if !s[id][snapshots.StateReloadWait] && !s[id][snapshots.StateLocating] {
				return false
			}
		}
		return allInitialized(8)(st)
	})
	for id, states := range s {
		if id == picked[0] || id == picked[1] {
			continue
		}
		require.Equal(t, map[string]bool{snapshots.StateInitialized: true}, states, "region %d was not picked: untouched", id)
	}
	st = h.eng.Refresh()
	last := st.Actions[len(st.Actions)-1]
	require.Equal(t, "force-reload", last.Action)
	require.Contains(t, last.Target, "2 regions (")
	require.Equal(t, "ok: 2 regions reloading", last.Result)

	// Regions that are gone are reported, not guessed at.
	require.ErrorContains(t, h.eng.ForceReloadRegions(1, []uint64{999_999}), "none of the 1 regions exists any more")
	require.ErrorContains(t, h.eng.ForceReloadRegions(7, picked), "unknown subscription 7")
	h.checkInvariants()
}
