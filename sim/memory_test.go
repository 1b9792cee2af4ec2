package sim

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// memoryRunDuration is how long the memory tests run: 15s, 5s with -short,
// PULLTOP_SOAK (e.g. 10m) for a soak.
func memoryRunDuration(t *testing.T) time.Duration {
	if v := os.Getenv("PULLTOP_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(t, err, "PULLTOP_SOAK")
		return d
	}
	if testing.Short() {
		return 5 * time.Second
	}
	return 15 * time.Second
}

func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// The standalone sim (`pulltop sim`: nobody reads its ground truth) keeps a
// flat heap at a high write rate: it keeps no committed rows, and MVCC GC
// below the safe point bounds its data (issue 15: it grew ~430 B per row).
func TestSimMemoryFlatAtHighRate(t *testing.T) {
	d := memoryRunDuration(t)
	s := startSim(t, Config{Stores: 3, Regions: 64, WriteRate: 20000, GCSafePointLag: time.Second, WorkingSetRows: 4096})
	time.Sleep(d / 3) // warm up: working set written, GC running (measuring over time, not waiting for an event)
	startRows, startHeap := s.Cluster().CommittedCount(), steadyHeap()
	time.Sleep(2 * d / 3)
	rows, heap := s.Cluster().CommittedCount()-startRows, steadyHeap()
	growth := int64(heap) - int64(startHeap)
	t.Logf("%d rows in %s (%.0f rows/s): heap %d KiB → %d KiB (%+d B/row)", rows, 2*d/3,
		float64(rows)/(2*d/3).Seconds(), startHeap>>10, heap>>10, growth/int64(max(rows, 1)))
	require.Greater(t, rows, 5000, "the workload must have written for the test to mean anything")
	require.Zero(t, s.Cluster().truthKept(), "no consumer: no rows kept")
	require.Less(t, growth, int64(8<<20), "heap must stay flat")
	require.Less(t, growth/int64(rows), int64(60), "bytes per committed row (it was ~430)")
}

// The ground truth keeps rows only until its consumer has read them, and
// at most GroundTruthRows when the consumer lags: the oldest are dropped and
// the consumer is told how far.
func TestGroundTruthTrimmedAndBounded(t *testing.T) {
	s := startSim(t, Config{Stores: 1, Regions: 2, KeepGroundTruth: true, GroundTruthRows: 1000})
	c := s.Cluster()
	rows := commitRows(t, c, 1, 600, 1)
	next, dropped := c.CommittedFrom(0, func([]byte, uint64) bool { return true })
	require.Equal(t, 600, next)
	require.Zero(t, dropped)
	next, _ = c.CommittedFrom(next, func([]byte, uint64) bool { return true })
	require.Zero(t, c.truthKept(), "rows read are dropped")
	commitRows(t, c, 1, 1200, 2)
	require.LessOrEqual(t, c.truthKept(), 1000)
	var firstTs uint64
	next2, dropped := c.CommittedFrom(next, func(key []byte, ts uint64) bool {
		if firstTs == 0 {
			firstTs = ts
		}
		return true
	})
	require.Equal(t, 600+1200, next2)
	require.NotZero(t, dropped, "the consumer learns rows were dropped unread")
	require.Less(t, dropped, firstTs, "and that every row it still gets is newer")
	require.Greater(t, dropped, rows[len(rows)-1].CommitTs, "rows dropped were unread ones")
}

// steadyHeap is the smallest live heap of a few samples: what is in flight
// at one instant is not growth.
func steadyHeap() uint64 {
	least := heapAfterGC()
	for i := 0; i < 4; i++ {
		time.Sleep(100 * time.Millisecond)
		least = min(least, heapAfterGC())
	}
	return least
}

// Every sim loop honours shutdown: at the highest write rate, with a busy
// store holding scans, slow interleaved scans, a drain waiting for its
// answers and recurring faults, Close returns promptly (issue 15: the
// workload's inner loop never looked at shutdown).
func TestCloseIsPromptUnderLoad(t *testing.T) {
	script, err := ParseScript("load.txt", strings.NewReader(strings.Join([]string{
		"at 0s write-rate 1000000",
		"every 5ms split random",
		"every 7ms transfer-leader random",
		"at 100ms busy-store 1 for 1h",
		"at 150ms hang-store 2 for 1h",
		"at 200ms drain-store 2",
	}, "\n")))
	require.NoError(t, err)
	s, err := Start(Config{Stores: 3, Regions: 64, WriteRate: MaxWriteRate, Script: script,
		InterleaveScan: true, ScanDelay: time.Hour, MinTsInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	c := s.Cluster()
	for _, ri := range c.Regions()[:6] {
		f := openFeed(t, c.StoreAddr(ri.LeaderStore), feedOpts{})
		if f.stream != nil {
			_ = f.stream.Send(registerReq(c, ri, 1, 0)) // scans to hold; a split may beat it
		}
	}
	time.Sleep(500 * time.Millisecond) // let everything get going (load over time, not an event)
	start := time.Now()
	s.Close()
	took := time.Since(start)
	t.Logf("Close took %s after %d rows", took, c.CommittedCount())
	require.Less(t, took, 2*time.Second)
}
