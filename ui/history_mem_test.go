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
// With scanned, the regions appear queued and are scanned first, as when
// the UI starts with the engine: two changes each (requested, initialized).
func historyBytesPerRegion(tb testing.TB, n int, scanned bool, refreshes, changesPerRefresh int) (float64, *history) {
	s := &snapshots.State{Seq: 1, TakenAt: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}
	s.Regions = make([]snapshots.Region, n)
	for i := range s.Regions {
		s.Regions[i] = snapshots.Region{ID: uint64(i + 1), Subscription: 1, StoreID: 1 + uint64(i%3),
			State: snapshots.StateInitialized}
		if scanned {
			s.Regions[i].State = snapshots.StateQueued
		}
	}
	s.Stores = []snapshots.Store{{ID: 1, State: snapshots.StoreUp}, {ID: 2, State: snapshots.StoreUp}, {ID: 3, State: snapshots.StoreUp}}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	h := newHistory()
	h.observe(s)
	if scanned {
		for _, state := range []string{snapshots.StateRequested, snapshots.StateInitialized} {
			s.Seq++
			s.TakenAt = s.TakenAt.Add(time.Second)
			for i := range s.Regions {
				s.Regions[i].State = state
			}
			h.observe(s)
		}
	}
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
// costs its track and its place in the index, not a ring of changes, and
// one scanned since the UI started two small changes more.
func TestHistoryMemoryPerRegion(t *testing.T) {
	if testing.Short() {
		t.Skip("observes 100k regions")
	}
	require.LessOrEqual(t, unsafe.Sizeof(regionTrack{}), uintptr(64), "a region's track within a cache line")
	require.LessOrEqual(t, unsafe.Sizeof(regionChange{}), uintptr(48), "a region's change in the 48-byte size class")
	perRegion, h := historyBytesPerRegion(t, 100_000, false, 20, 100)
	t.Logf("history: %.0f bytes a region", perRegion)
	// The regions that changed still have their history.
	require.Len(t, h.regionChanges(h.region(1, 1), h.seq), 3, "first sight, state with its error, retry")
	require.Less(t, perRegion, 120.0) // 289 when every region had a ring

	perRegion, h = historyBytesPerRegion(t, 100_000, true, 20, 100)
	t.Logf("history of regions scanned since: %.0f bytes a region", perRegion)
	require.Len(t, h.regionChanges(h.region(1, 2), h.seq), 3)
	require.Less(t, perRegion, 300.0) // 581 with a ring per region and changes of 96 bytes
}

func BenchmarkHistoryMemory(b *testing.B) {
	for _, scanned := range []bool{false, true} {
		b.Run(map[bool]string{false: "appeared", true: "scanned"}[scanned], func(b *testing.B) {
			var perRegion float64
			for b.Loop() {
				perRegion, _ = historyBytesPerRegion(b, 100_000, scanned, 20, 100)
			}
			b.ReportMetric(perRegion, "bytes/region")
		})
	}
}
