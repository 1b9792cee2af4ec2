package engine_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/sim"
)

// The embedded sim and the engine's lost-row check (what `pulltop` and
// `pulltop headless` run) keep a flat heap at a high write rate: the
// ground truth is dropped as the engine checks it (issue 15: ~430 B per
// committed row used to be kept forever). 20s by default, 8s with -short,
// PULLTOP_SOAK for a soak.
func TestEmbeddedMemoryFlatAtHighRate(t *testing.T) {
	d := 20 * time.Second
	if testing.Short() {
		d = 8 * time.Second
	}
	if v := os.Getenv("PULLTOP_SOAK"); v != "" {
		var err error
		d, err = time.ParseDuration(v)
		require.NoError(t, err)
	}
	h := startHarness(t, sim.Config{Stores: 3, Regions: 32, WriteRate: 10000, GCSafePointLag: 2 * time.Second, WorkingSetRows: 4096}, nil)
	h.waitFor("initialized", 20*time.Second, allInitialized(32))
	time.Sleep(d / 3) // warm up (a soak measures over time)
	startRows, startHeap := h.sim.Cluster().CommittedCount(), steadyHeap()
	time.Sleep(2 * d / 3)
	st := h.eng.Refresh()
	rows, heap := h.sim.Cluster().CommittedCount()-startRows, steadyHeap()
	growth := int64(heap) - int64(startHeap)
	t.Logf("%d rows in %s: heap %d KiB → %d KiB (%+d B/row); checked %d rows, missing %d", rows, 2*d/3,
		startHeap>>10, heap>>10, growth/int64(max(rows, 1)), st.Sim.CommittedRows, st.Sim.MissingRows)
	require.Greater(t, rows, 10000, "the workload must have written for the test to mean anything")
	require.Positive(t, st.Sim.CommittedRows, "the lost-row check is still checking")
	require.Zero(t, st.Sim.MissingRows)
	require.Less(t, growth, int64(16<<20), "heap must stay flat")
	require.Less(t, growth/int64(rows), int64(120), "bytes per committed row (it was ~430)")
	h.checkInvariants()
}

// steadyHeap is the smallest live heap of a few samples: what is in flight
// at one instant (gRPC buffers, a batch being decoded) is not growth.
func steadyHeap() uint64 {
	least := heapNow()
	for i := 0; i < 4; i++ {
		time.Sleep(100 * time.Millisecond)
		least = min(least, heapNow())
	}
	return least
}
