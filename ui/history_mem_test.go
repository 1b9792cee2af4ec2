package ui

import (
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
)

// historyBytesPerRegion is the live heap the UI's region history costs per
// region once n regions have appeared and refreshes later changes went
// through a few of them: most regions of a big cluster never change after
// they appear.
func historyBytesPerRegion(tb testing.TB, n, refreshes, changesPerRefresh int) (float64, *history) {
	s := &snapshots.State{Seq: 1, TakenAt: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}
	s.Regions = make([]snapshots.Region, n)
	for i := range s.Regions {
		s.Regions[i] = snapshots.Region{ID: uint64(i + 1), Subscription: 1, StoreID: 1 + uint64(i%3),
			State: snapshots.StateInitialized}
	}
	s.Stores = []snapshots.Store{{ID: 1, State: snapshots.StoreUp}, {ID: 2, State: snapshots.StoreUp}, {ID: 3, State: snapshots.StoreUp}}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	h := newHistory()
	h.observe(s)
	for k := range refreshes {
		s.Seq++
		s.TakenAt = s.TakenAt.Add(time.Second)
		for c := range changesPerRefresh {
			r := &s.Regions[(k*changesPerRefresh+c)*7919%n]
			if r.State == snapshots.StateInitialized {
				r.State, r.LastError, r.RetryAttempts = snapshots.StateRetryWait, "not_leader: leader moved", r.RetryAttempts+1
			} else {
				r.State, r.LastError = snapshots.StateInitialized, ""
			}
		}
		h.observe(s)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n), h
}

// TestHistoryMemoryPerRegion keeps the history of a million regions
// within the UI's share of the memory budget: a region that never changed
// costs its track and its place in the index, not a ring of changes.
func TestHistoryMemoryPerRegion(t *testing.T) {
	if testing.Short() {
		t.Skip("observes 100k regions")
	}
	require.LessOrEqual(t, unsafe.Sizeof(regionTrack{}), uintptr(64), "a region's track within a cache line")
	perRegion, h := historyBytesPerRegion(t, 100_000, 20, 100)
	t.Logf("history: %.0f bytes a region", perRegion)
	// The regions that changed still have their history.
	tr := h.region(1, 1)
	require.NotNil(t, tr)
	require.Less(t, perRegion, 120.0)
}

func BenchmarkHistoryMemory(b *testing.B) {
	var perRegion float64
	for b.Loop() {
		perRegion, _ = historyBytesPerRegion(b, 100_000, 20, 100)
	}
	b.ReportMetric(perRegion, "bytes/region")
}
