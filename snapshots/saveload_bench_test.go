package snapshots

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"syscall"
	"testing"
	"time"
)

// scaleState is a snapshot as headless writes it at the end of a run on a
// cluster of n regions: every region with its v2 fields (cause, since,
// diagnosis, last error, lineage on some), keys as long as a table's record
// keys in memcomparable hex, a few stores, and a timeline of two moments.
func scaleState(n int) *State {
	s := fullState()
	at := s.TakenAt
	causes := []string{CauseHealthy, CauseHealthy, CauseHealthy, CauseLock, CauseStoreBusy, CauseRegionChurn}
	s.Regions = make([]Region, n)
	for i := range s.Regions {
		r := &s.Regions[i]
		*r = Region{ID: uint64(1000 + 2*i), Subscription: 1,
			Start:   fmt.Sprintf("7480000000000000ff6a5f728000000000ff%06x0000000000fa", i),
			End:     fmt.Sprintf("7480000000000000ff6a5f728000000000ff%06x0000000000fa", i+1),
			StoreID: uint64(1 + i%5), LeaderPeer: uint64(5000 + i), EpochVersion: uint64(10 + i%7), EpochConfVer: 5,
			State: StateInitialized, Initialized: true, ResolvedTs: 456789012345678901, ResolvedLagMs: int64(200 + i%900),
			Events: uint64(i % 5000), Cause: causes[i%len(causes)], Since: at.Add(-time.Duration(i%600) * time.Second),
			LastAdvanceAt: at.Add(-time.Duration(i%900) * time.Millisecond)}
		if r.Cause != CauseHealthy {
			r.Diagnosis = fmt.Sprintf("pinned %ds by txn 4567890123 holding t106_r%d; no commit or rollback seen", i%60, i)
			r.LastError = fmt.Sprintf("not_leader: region %d leader moved to store %d", r.ID, 1+(i+1)%5)
			r.LastErrorAt = at.Add(-time.Duration(i%30) * time.Second)
			r.RetryAttempts = i % 4
		}
		if i%10 == 0 {
			r.Lineage = []Origin{{Kind: "split", From: uint64(i), At: at.Add(-time.Minute)}}
		}
	}
	s.Totals.Regions, s.Totals.Initialized = n, n
	s.Stores = nil
	for id := uint64(1); id <= 5; id++ {
		st := fullState().Stores[0]
		st.ID, st.Regions = id, n/5
		s.Stores = append(s.Stores, st)
	}
	earlier := *s
	earlier.TakenAt, earlier.Seq = at.Add(-10*time.Second), s.Seq-1
	rec := NewRecorder(15 * time.Minute)
	rec.Observe(&earlier)
	rec.Observe(s)
	s.History = rec.History()
	return s
}

// BenchmarkSaveLoad saves and loads a snapshot of 100k and 1M regions, as
// plain JSON and gzip (at the level Save uses, and gz6 at the default
// level), and reports the file's size (MB), the bytes allocated (B/op) and
// the heap's peak above where it started (peak-MB: sampled every
// millisecond; for a load it includes the State loaded) and the CPU time
// of the process (cpu-s/op; the wall time depends on the neighbours). save-whole and
// load-whole are the old way, for comparison: the whole document in memory
// (json.MarshalIndent, or the file read whole and json.Unmarshal).
//
//	go test -run '^$' -bench 'SaveLoad/regions=100k' -benchtime 1x ./snapshots/
func BenchmarkSaveLoad(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"100k", 100_000}, {"1M", 1_000_000}} {
		b.Run("regions="+size.name, func(b *testing.B) {
			s := scaleState(size.n)
			dir := b.TempDir()
			for _, format := range []struct {
				name  string
				ext   string
				level int
			}{{"json", ".json", gzipLevel}, {"gz", ".json.gz", gzipLevel}, {"gz6", ".json.gz", 6}} {
				path := filepath.Join(dir, "s"+format.ext)
				b.Run(format.name+"/save", func(b *testing.B) {
					defer func(l int) { gzipLevel = l }(gzipLevel)
					gzipLevel = format.level
					measure(b, func() {
						if err := Save(path, s); err != nil {
							b.Fatal(err)
						}
					})
					fi, err := os.Stat(path)
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(fi.Size())/1e6, "MB")
				})
				b.Run(format.name+"/load", func(b *testing.B) {
					if _, err := os.Stat(path); err != nil {
						b.Skip("run with its save")
					}
					measure(b, func() {
						got, err := Load(path)
						if err != nil || len(got.Regions) != size.n {
							b.Fatalf("%v, %d regions", err, len(got.Regions))
						}
					})
				})
				if format.name == "json" {
					b.Run("json/save-whole", func(b *testing.B) {
						measure(b, func() {
							c, err := prepare(s)
							if err != nil {
								b.Fatal(err)
							}
							data, err := json.MarshalIndent(c, "", "  ")
							if err != nil {
								b.Fatal(err)
							}
							if err := os.WriteFile(path+".whole", data, 0o600); err != nil {
								b.Fatal(err)
							}
						})
					})
					b.Run("json/load-whole", func(b *testing.B) {
						if _, err := os.Stat(path); err != nil {
							if err := Save(path, s); err != nil {
								b.Fatal(err)
							}
						}
						measure(b, func() {
							data, err := os.ReadFile(path)
							if err != nil {
								b.Fatal(err)
							}
							got, err := diagnose(data, path)
							if err != nil || len(got.Regions) != size.n {
								b.Fatalf("%v", err)
							}
						})
					})
				}
			}
		})
	}
}

// measure runs f b.N times, reporting allocations and the heap's peak
// above its level at the start.
func measure(b *testing.B, f func()) {
	b.Helper()
	b.ReportAllocs()
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	heap := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := heap()
	peak := base
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, heap())
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	cpu0 := cpu()
	b.ResetTimer()
	for range b.N {
		f()
	}
	b.StopTimer()
	cpuUsed := cpu() - cpu0
	close(stop)
	<-done
	peak = max(peak, heap())
	b.ReportMetric(float64(peak-base)/1e6, "peak-MB")
	// CPU time of the whole process (GC and gzip's goroutine included): on
	// a shared machine the wall time says as much about the neighbours.
	b.ReportMetric(cpuUsed.Seconds()/float64(b.N), "cpu-s/op")
}
