package ui

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"pulltop/snapshots"
)

// Benchmarks for the DESIGN §8 UI budget:
//
//	go test ./ui -run '^$' -bench 'View|Derive' -benchmem
//
// View at 200×60 must stay ≤ 1 ms with 1M regions and ≤ 2× the 1k time;
// deriving the filtered, sorted rows of 100k regions ≤ 50 ms.

func benchHarness(b testing.TB, regions int) *harness {
	h := newHarness(b, bigState(regions))
	h.resize(200, 60)
	h.press("2")
	return h
}

func BenchmarkView(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("regions=%s", count(n)), func(b *testing.B) {
			h := benchHarness(b, n)
			h.press("j", "j", "j") // cursor off the first row, as in use
			_ = h.view()           // warm the key-name cache, as the previous frame would have
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				_ = h.m.View()
			}
		})
	}
}

// BenchmarkKeypress is a cursor move and the frame after it: what an
// operator waits for on every key.
func BenchmarkKeypress(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("regions=%s", count(n)), func(b *testing.B) {
			h := benchHarness(b, n)
			down, up := keyPress("j"), keyPress("k")
			b.ReportAllocs()
			b.ResetTimer()
			k := 0
			for b.Loop() {
				msg := down
				if k++; k%64 >= 32 {
					msg = up
				}
				m, _ := h.m.Update(msg)
				_ = m.View()
			}
		})
	}
}

// BenchmarkDerive is the once-per-snapshot work of the Regions view:
// filter, then sort the surviving indices, then find the selected row.
func BenchmarkDerive(b *testing.B) {
	for _, c := range []struct{ name, filter string }{
		{"regions=100k/sort=lag", ""},
		{"regions=100k/sort=lag/filter=fields", "!state:initialized store:2 lag>1s"},
		{"regions=100k/sort=lag/filter=text", "t100_r5"},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := benchHarness(b, 100_000)
			l := h.m.a.lists[viewRegions]
			l.setFilter(c.filter)
			l.derive()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				l.dirty = true
				l.derive()
			}
		})
	}
}

// BenchmarkRefresh is everything a new 100k-region snapshot costs: history,
// derive and the next frame.
func BenchmarkRefresh(b *testing.B) {
	h := benchHarness(b, 100_000)
	states := []*snapshots.State{bigState(100_000), bigState(100_000)}
	b.ReportAllocs()
	b.ResetTimer()
	k := 0
	for b.Loop() {
		s := states[k%2]
		k++
		s.Seq = uint64(1000 + k)
		h.refresh(s)
		_ = h.m.View()
	}
}

func count(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000:
		return fmt.Sprintf("%dk", n/1_000)
	}
	return fmt.Sprint(n)
}

// TestViewAllocations keeps a frame's allocations small and independent of
// the number of regions: rows are formatted into a reused buffer.
func TestViewAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100k-region snapshot")
	}
	allocs := map[int]float64{}
	for _, n := range []int{1_000, 100_000} {
		h := benchHarness(t, n)
		h.press("j")
		_ = h.view()
		allocs[n] = testing.AllocsPerRun(50, func() { _ = h.m.View() })
	}
	t.Logf("allocations per View: %v", allocs)
	require.LessOrEqual(t, allocs[100_000], 40.0)
	require.Equal(t, allocs[1_000], allocs[100_000], "allocations must not grow with the regions")
}
