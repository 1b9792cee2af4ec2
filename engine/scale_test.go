package engine_test

import (
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/pulltop/pulltop/engine"
	"github.com/pulltop/pulltop/sim"
)

// BenchmarkScale subscribes the engine to every region of a large sim
// (100k by default; PULLTOP_SCALE_REGIONS overrides) and reports the time
// until all are initialized and the engine's heap per region (DESIGN §8:
// < 30 s and ≤ 2 KiB). The sim runs in-process, so its own per-subscription
// bookkeeping is included in the heap figure: the number is an upper bound.
//
//	go test -run '^$' -bench Scale -benchtime 1x -timeout 10m ./engine/
func BenchmarkScale(b *testing.B) {
	regions := 100_000
	if v := os.Getenv("PULLTOP_SCALE_REGIONS"); v != "" {
		regions, _ = strconv.Atoi(v)
	}
	for b.Loop() {
		s, err := sim.Start(sim.Config{Stores: 3, Regions: regions, WriteRate: 1000})
		if err != nil {
			b.Fatal(err)
		}
		before := heapAfterGC()
		start := time.Now()
		eng, err := engine.Start(engine.Config{PD: []string{s.PDAddr()}, PublishInterval: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Minute)
		for {
			st := eng.Snapshot()
			if st.Totals.Regions == regions && st.Totals.Initialized == regions {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("not all initialized after 5m: %d/%d", st.Totals.Initialized, st.Totals.Regions)
			}
			time.Sleep(50 * time.Millisecond)
		}
		took := time.Since(start)
		after := heapAfterGC()
		b.ReportMetric(took.Seconds(), "s-to-init")
		b.ReportMetric(float64(after-before)/float64(regions), "heapB/region")
		eng.Close()
		s.Close()
	}
}

func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
