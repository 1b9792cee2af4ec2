package ui

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/pulltop/pulltop/snapshots"
	"github.com/pulltop/pulltop/view"
)

// BenchmarkRefreshChanged is a TUI refresh (take the new snapshot, derive
// the view on screen, draw it) over a live engine's table, against the
// number of regions that changed since the last one: the x-axis that says
// whether the refresh scales with change or with the cluster. Every
// region's resolved ts moves every time (as in a healthy cluster); changed
// regions change state, cause and error. The timeline is on (15m).
func BenchmarkRefreshChanged(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		base := bigState(n)
		for _, changed := range []int{0, 100, 10_000} {
			for _, v := range []struct{ name, key string }{{"overview", "1"}, {"regions", "2"}} {
				b.Run(fmt.Sprintf("regions=%s/changed=%d/view=%s", count(n), changed, v.name), func(b *testing.B) {
					benchRefreshChanged(b, base, changed, v.key)
				})
			}
		}
	}
}

func benchRefreshChanged(b *testing.B, base *snapshots.State, changed int, key string) {
	vb := view.NewBuilder()
	handles := make([]int32, len(base.Regions))
	for i := range base.Regions {
		vb.Put(&handles[i], &base.Regions[i])
	}
	states := snapshots.RegionStates()
	k := 0
	next := func() *snapshots.State {
		k++
		s := *base
		s.Regions = nil
		s.Seq = base.Seq + uint64(k)
		s.TakenAt = base.TakenAt.Add(time.Duration(k) * time.Second)
		for j := range changed {
			i := (j*7919 + k*104729) % len(handles)
			r := base.Regions[i]
			r.State = states[(i+k)%len(states)]
			r.Cause = snapshots.CauseStoreDown
			r.LastError = fmt.Sprintf("store 2 unreachable (%d)", k)
			vb.Put(&handles[i], &r)
		}
		ts := uint64(s.TakenAt.UnixMilli()-500) << 18
		for i := range handles {
			vb.SetMoving(handles[i], ts-uint64(i%1000)<<18, s.TakenAt.UnixNano(), uint64(k))
		}
		s.Table = vb.Publish(s.TakenAt)
		return &s
	}
	h := newHarness(b, next(), func(o *Options) { o.History = 15 * time.Minute })
	h.resize(200, 60)
	h.press(key)
	for range 3 {
		s := next()
		h.now = s.TakenAt
		h.refresh(s)
		_ = h.m.View()
	}
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		s := next()
		h.now = s.TakenAt
		runtime.GC() // the engine side's garbage is not the refresh's
		before := cpuTime(b)
		b.StartTimer()
		h.refresh(s)
		_ = h.m.View()
		b.StopTimer()
		cpu += cpuTime(b) - before
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}
