package view

import (
	"fmt"
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
