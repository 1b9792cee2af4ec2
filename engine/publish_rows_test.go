package engine

import (
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
)

// A publish without rows (RowsOnDemand) says the same of the cluster as a
// full one, and allocates nothing per region.
func TestPublishWithoutRows(t *testing.T) {
	const n = 20_000
	e := newPublishEngine(t, n)
	e.cfg.RowsOnDemand = true
	// Publishes within a second of the fixture's last advance: its healthy
	// regions stay healthy (past the lagging threshold, 3s, every region
	// would be decided afresh, and get a diagnosis).
	now := time.Now().Add(100 * time.Millisecond)

	e.publishRows(now, false)
	lean := e.Snapshot()
	e.publishRows(now, true)
	full := e.Snapshot()

	require.Nil(t, lean.Regions, "a publish without rows must not publish the engine's scratch rows")
	require.Len(t, full.Regions, n)
	require.Equal(t, full.Totals, lean.Totals)
	require.Equal(t, full.Causes, lean.Causes)
	require.Equal(t, full.Stores, lean.Stores)
	require.Equal(t, full.Progress, lean.Progress)
	require.NotZero(t, lean.Totals.Stale, "the fixture has stale regions: the comparison must cover causes")

	// The scratch rows are reused: a second lean publish allocates far
	// less than one row per region (280 B each).
	e.publishRows(now.Add(100*time.Millisecond), false)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	e.publishRows(now.Add(200*time.Millisecond), false)
	runtime.ReadMemStats(&after)
	perRegion := float64(after.TotalAlloc-before.TotalAlloc) / n
	t.Logf("lean publish: %.1f B allocated per region", perRegion)
	require.Less(t, perRegion, 20.0)

	// And a reader's full snapshot is never touched by a later lean publish.
	kept := full.Regions[0]
	e.publishRows(now.Add(300*time.Millisecond), false)
	require.Equal(t, kept, full.Regions[0])
	require.Equal(t, snapshots.Version, lean.Version)
}

// A region's record stays in the 416-byte size class: at a million regions
// every 32 bytes more is 32 MB (DESIGN §8: engine heap ≤ 1 KiB per region).
func TestRegionRecordSize(t *testing.T) {
	require.LessOrEqual(t, int(unsafe.Sizeof(regionState{})), 416)
}
