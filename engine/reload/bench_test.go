package reload

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
)

// tidbRowKey builds a key shaped like a TiDB row key, t{table}_r{handle},
// with big-endian ids (the memcomparable order of positive ints): realistic
// length and long shared prefixes, which is what the sort's compares see.
func tidbRowKey(table, handle uint64) string {
	var k [19]byte
	k[0] = 't'
	binary.BigEndian.PutUint64(k[1:9], table)
	k[9], k[10] = '_', 'r'
	binary.BigEndian.PutUint64(k[11:], handle)
	return string(k[:])
}

// randomSpans returns n spans over 16 tables, each covering a random run of
// up to 512 handles. The handle range grows with n so that, whatever n, the
// spans cover about a quarter of it: some overlap, some touch, most stand
// alone, and the merge has real work to do.
func randomSpans(n int, seed uint64) []Span {
	rng := rand.New(rand.NewPCG(seed, seed))
	spans := make([]Span, n)
	for i := range spans {
		table := 100 + rng.Uint64N(16)
		handle := rng.Uint64N(uint64(n) * 64)
		spans[i] = Span{
			Start: tidbRowKey(table, handle),
			End:   tidbRowKey(table, handle+1+rng.Uint64N(512)),
		}
	}
	return spans
}

// BenchmarkMergeSpans1M is the DESIGN §8 budget: 1M spans merged < 300 ms.
func BenchmarkMergeSpans1M(b *testing.B) {
	input := randomSpans(1_000_000, 1)
	work := make([]Span, len(input))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		copy(work, input)
		b.StartTimer()
		MergeSpans(work)
	}
}

// BenchmarkMergeSpans1MSortFunc is the straightforward merge (SortFunc on
// the start keys, then fold), kept as the baseline the radix path beats.
func BenchmarkMergeSpans1MSortFunc(b *testing.B) {
	input := randomSpans(1_000_000, 1)
	work := make([]Span, len(input))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		copy(work, input)
		b.StartTimer()
		slices.SortFunc(work, compareStart)
		mergeSorted(work)
	}
}

// BenchmarkMergeSpansSmall is the aggregator's usual case: one set's worth.
func BenchmarkMergeSpansSmall(b *testing.B) {
	input := randomSpans(DefaultMaxSpans, 2)
	work := make([]Span, len(input))
	b.ReportAllocs()
	for b.Loop() {
		copy(work, input)
		MergeSpans(work)
	}
}
