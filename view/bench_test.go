package view

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/pulltop/pulltop/snapshots"
)

// BenchmarkPublish is the view's side of an engine publish against the
// number of regions whose rows changed (their moving parts, resolved ts,
// are set for all: they move every second): the rows written, the chunks
// copied and the version made. ns/op should follow changed, not regions,
// but for the moving parts (8 bytes ×3 a region, in chunks).
func BenchmarkPublish(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		for _, changed := range []int{0, 100, 10_000} {
			for _, moving := range []bool{false, true} {
				b.Run(fmt.Sprintf("regions=%dk/changed=%d/resolved-moving=%v", n/1000, changed, moving), func(b *testing.B) {
					vb := NewBuilder()
					handles := make([]int32, n)
					rows := make([]snapshots.Region, n)
					for i := range rows {
						rows[i] = region(uint64(i+1), snapshots.StateInitialized)
						vb.Put(&handles[i], &rows[i])
					}
					vb.Publish(time.Now())
					states := snapshots.RegionStates()
					k := 0
					b.ReportAllocs()
					for b.Loop() {
						k++
						for j := range changed {
							i := (j*7919 + k*104729) % n
							r := rows[i]
							r.State = states[(i+k)%len(states)]
							vb.Put(&handles[i], &r)
						}
						if moving {
							for i := range handles {
								vb.SetMoving(handles[i], uint64(k)<<18, int64(k), 0)
							}
						}
						_ = vb.Publish(time.Now())
					}
				})
			}
		}
	}
}

// BenchmarkTimeline15m is issue 23's timeline budget: 15 minutes (900
// one-second moments) of steady state — every resolved ts moving, a few
// regions changing state each second — recorded from the view's versions
// as the TUI and headless record them (Feed.Observe: only the rows that
// changed), at most 64 bytes per region. It reports the heap the recorder
// holds at the end, per region: the same run without a recorder is the
// baseline subtracted (the builder's own chunks and change log).
//
//	go test -run '^$' -bench Timeline15m -benchtime 1x ./view/
func BenchmarkTimeline15m(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("regions=%dk", n/1000), func(b *testing.B) {
			for b.Loop() {
				without, _ := timelineHeap(n, false)
				with, frames := timelineHeap(n, true)
				b.ReportMetric(float64(with-without)/float64(n), "timelineB/region")
				b.ReportMetric(float64(frames), "frames")
			}
		})
	}
}

// timelineHeap runs 900 steady-state moments over n regions, recording
// them when record is set, and returns the live heap at the end (and the
// frames recorded).
func timelineHeap(n int, record bool) (heap uint64, frames int) {
	vb := NewBuilder()
	handles := make([]int32, n)
	rows := make([]snapshots.Region, n)
	for i := range rows {
		rows[i] = region(uint64(i+1), snapshots.StateInitialized)
		vb.Put(&handles[i], &rows[i])
	}
	var rec *snapshots.Recorder
	if record {
		rec = snapshots.NewRecorder(15 * time.Minute)
	}
	var feed Feed
	start := time.UnixMilli(1_700_000_000_000)
	states := []string{snapshots.StateInitialized, snapshots.StateRetryWait, snapshots.StateRequested}
	for k := range 900 {
		at := start.Add(time.Duration(k) * time.Second)
		for j := range 10 { // a few regions retry and come back each second
			i := (j*7919 + k*104729) % n
			rows[i].State = states[(k+j)%len(states)]
			vb.Put(&handles[i], &rows[i])
		}
		ts := uint64(at.Add(-time.Second).UnixMilli()) << 18
		for i := range handles {
			vb.SetMoving(handles[i], ts, at.UnixNano(), uint64(k))
		}
		v := vb.Publish(at)
		if rec != nil {
			feed.Observe(rec, &snapshots.State{Version: snapshots.Version, TakenAt: at, Seq: uint64(k + 1), Table: v,
				Totals: snapshots.Totals{Regions: n, Initialized: n, ResolvedLagMaxMs: 1000}})
		}
	}
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if rec != nil {
		frames = rec.Len()
	}
	runtime.KeepAlive(rec)
	runtime.KeepAlive(vb)
	runtime.KeepAlive(rows)
	return ms.HeapAlloc, frames
}
