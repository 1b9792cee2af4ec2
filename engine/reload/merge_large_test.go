package reload

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// keyFamily generates keys that stress one part of mergeLarge.
type keyFamily struct {
	name string
	key  func(rng *rand.Rand) string
}

var keyFamilies = []keyFamily{
	// Short keys over a tiny alphabet: duplicates, prefixes of each other,
	// the empty key.
	{"tiny", func(rng *rand.Rand) string { return smallKey(byte(rng.IntN(256))) }},
	// Zero bytes, which a zero-padded chunk must not confuse with the end of
	// a key.
	{"zeros", func(rng *rand.Rand) string {
		return strings.Repeat("\x00", rng.IntN(14)) + string([]byte{byte(rng.IntN(2))})
	}},
	// Keys that agree far past one 11-byte record and then differ: big tie
	// groups that recurse, and small ones settled by string compares.
	{"long ties", func(rng *rand.Rand) string {
		head := []string{"a", "b"}[rng.IntN(2)]
		return head + strings.Repeat("m", []int{0, 10, 11, 12, 22, 23, 40}[rng.IntN(7)]) + smallKey(byte(rng.IntN(256)))
	}},
	// Benchmark-shaped TiDB row keys over few tables.
	{"tidb", func(rng *rand.Rand) string { return tidbRowKey(100+rng.Uint64N(3), rng.Uint64N(5000)) }},
	// Random bytes of random length.
	{"bytes", func(rng *rand.Rand) string {
		b := make([]byte, rng.IntN(30))
		for i := range b {
			b[i] = byte(rng.IntN(4)) * 85
		}
		return string(b)
	}},
}

// referenceMerge is the obviously right merge: sort by comparing strings,
// then fold.
func referenceMerge(spans []Span) []Span {
	spans = slices.Clone(spans)
	slices.SortFunc(spans, compareStart)
	return mergeSorted(spans)
}

// TestMergeLargeMatchesReference runs the radix path against the reference
// merge and the exact oracle, for sizes that take every branch: tiny, below
// and above the radix threshold, and above the MSD split.
func TestMergeLargeMatchesReference(t *testing.T) {
	sizes := []int{1, 2, 47, 200, radixMinSpans, 5000, msdMinRecords + 1000}
	for _, fam := range keyFamilies {
		for _, n := range sizes {
			t.Run(fmt.Sprintf("%s/%d", fam.name, n), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(n), 99))
				in := make([]Span, n)
				for i := range in {
					start, end := fam.key(rng), fam.key(rng)
					switch rng.IntN(10) {
					case 0:
						end = "" // to +inf
					case 1:
						end = start // empty
					case 2:
						end = start + "\x00" // smallest non-empty
					}
					if end != "" && end < start && rng.IntN(4) > 0 {
						start, end = end, start // mostly valid, some inverted
					}
					in[i] = Span{Start: start, End: end}
				}
				want := referenceMerge(in)
				got := mergeLarge(slices.Clone(in))
				require.Equal(t, want, got)
				require.Equal(t, want, MergeSpans(slices.Clone(in)))
				if n <= 5000 {
					checkMerged(t, in, got)
				}
			})
		}
	}
}

func TestMergeLargeEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []Span
	}{
		{"all empty", []Span{sp("b", "a"), sp("c", "c")}},
		{"all identical", slices.Repeat([]Span{sp("k", "l")}, 3000)},
		{"identical long keys", slices.Repeat([]Span{sp(strings.Repeat("x", 50), strings.Repeat("x", 50)+"y")}, 3000)},
		{"whole keyspace among others", append(randomSpans(3000, 5), sp("", ""))},
		{"empty start", []Span{sp("", "a"), sp("a", "b"), sp("", "\x00")}},
		{"end above the shared prefix", []Span{sp("pa", "pb"), sp("pc", "q"), sp("pz", "r")}},
		{"ends above, compared", []Span{sp("pa", "r"), sp("pb", "q"), sp("s", "t")}},
		{"end equals the shared prefix", []Span{sp("pa", "pb"), sp("p", "pa")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := referenceMerge(tc.in)
			got := mergeLarge(slices.Clone(tc.in))
			require.Equal(t, want, got)
			checkMerged(t, tc.in, got)
		})
	}
}

func TestMergeSpansDoesNotAllocatePerSpan(t *testing.T) {
	in := randomSpans(4096, 11)
	work := make([]Span, len(in))
	allocs := testing.AllocsPerRun(10, func() {
		copy(work, in)
		MergeSpans(work)
	})
	require.LessOrEqual(t, allocs, 3.0, "three buffers, nothing per span")

	small := randomSpans(100, 12)
	work = make([]Span, len(small))
	allocs = testing.AllocsPerRun(10, func() {
		copy(work, small)
		MergeSpans(work)
	})
	require.Zero(t, allocs, "small inputs merge in place")
}
