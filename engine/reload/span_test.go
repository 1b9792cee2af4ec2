package reload

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func sp(start, end string) Span { return Span{Start: start, End: end} }

func TestMergeSpans(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []Span
		want []Span
	}{
		{"nil", nil, []Span{}},
		{"adjacent then gap", []Span{sp("d", "e"), sp("b", "c"), sp("a", "b")}, []Span{sp("a", "c"), sp("d", "e")}},
		{"overlapping", []Span{sp("a", "c"), sp("b", "d")}, []Span{sp("a", "d")}},
		{"contained", []Span{sp("a", "z"), sp("c", "d"), sp("m", "n")}, []Span{sp("a", "z")}},
		{"contained, shorter starts first", []Span{sp("a", "b"), sp("a", "z")}, []Span{sp("a", "z")}},
		{"duplicates", []Span{sp("k", "m"), sp("k", "m"), sp("k", "m")}, []Span{sp("k", "m")}},
		{"empty end is +inf", []Span{sp("m", ""), sp("a", "b"), sp("x", "y")}, []Span{sp("a", "b"), sp("m", "")}},
		{"+inf reached by adjacency", []Span{sp("a", "m"), sp("m", "")}, []Span{sp("a", "")}},
		{"+inf swallows later starts", []Span{sp("c", ""), sp("d", "e"), sp("z", "")}, []Span{sp("c", "")}},
		{"empty start is the smallest key", []Span{sp("", "b"), sp("a", "c")}, []Span{sp("", "c")}},
		{"whole keyspace", []Span{sp("", ""), sp("a", "b")}, []Span{sp("", "")}},
		{"empty spans dropped", []Span{sp("b", "b"), sp("c", "a"), sp("d", "e")}, []Span{sp("d", "e")}},
		{"empty span does not bridge a gap", []Span{sp("a", "b"), sp("b", "b"), sp("c", "d")}, []Span{sp("a", "b"), sp("c", "d")}},
		{"prefix keys are distinct", []Span{sp("a", "ab"), sp("ab\x00", "b")}, []Span{sp("a", "ab"), sp("ab\x00", "b")}},
		{"raw bytes", []Span{sp("t\x00\x01", "t\x00\x02"), sp("t\x00\x02", "t\x00\xff")}, []Span{sp("t\x00\x01", "t\x00\xff")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.in)
			got := MergeSpans(in)
			require.Equal(t, tc.want, append([]Span{}, got...))
			checkMerged(t, tc.in, got)
		})
	}
}

// alphabetKeys lists every string over {a,b,c} of length 0..3: the
// brute-force universe of the oracle. Spans in the fuzz and property tests
// have boundaries of length <= 2, so every elementary interval between two
// boundaries contains one of these keys (its own start), and agreeing on
// them means agreeing on every key there is.
var alphabetKeys = func() []string {
	keys := []string{""}
	for prev := []string{""}; len(prev[0]) < 3; {
		var next []string
		for _, p := range prev {
			for _, c := range "abc" {
				next = append(next, p+string(c))
			}
		}
		keys = append(keys, next...)
		prev = next
	}
	return keys
}()

func coveredBy(spans []Span, key string) bool {
	for _, s := range spans {
		if s.Contains(key) {
			return true
		}
	}
	return false
}

// checkMerged asserts out is a correct MergeSpans result for in: sorted,
// non-overlapping, non-adjacent, non-empty, and covering exactly the keys in
// covers. Besides the alphabet universe it probes every input boundary,
// which makes the check exact for arbitrary byte keys too.
func checkMerged(t testing.TB, in, out []Span) {
	t.Helper()
	for i, s := range out {
		if s.IsEmpty() {
			t.Fatalf("output %d %q is empty", i, s)
		}
		if i+1 < len(out) {
			if s.End == "" || s.End >= out[i+1].Start {
				t.Fatalf("outputs %d %q and %d %q are unsorted, overlapping or adjacent", i, s, i+1, out[i+1])
			}
		}
	}
	probe := func(key string) {
		if want, got := coveredBy(in, key), coveredBy(out, key); want != got {
			t.Fatalf("key %q: covered by input %v, by output %v\nin:  %q\nout: %q", key, want, got, in, out)
		}
	}
	for _, k := range alphabetKeys {
		probe(k)
	}
	for _, s := range in {
		probe(s.Start)
		probe(s.End)
		// Just past each boundary, to catch an off-by-one at the edge.
		probe(s.Start + "\x00")
		probe(s.End + "\x00")
	}
}

// smallKey maps a byte to one of the 13 strings over {a,b,c} of length 0..2.
func smallKey(b byte) string { return alphabetKeys[int(b)%13] }

// TestMergeSpansProperty checks random span sets against the oracle, and
// that merging is idempotent and independent of input order.
func TestMergeSpansProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 42))
	iterations := 20000
	if testing.Short() {
		iterations = 2000
	}
	for range iterations {
		in := make([]Span, rng.IntN(12))
		for i := range in {
			in[i] = sp(smallKey(byte(rng.IntN(256))), smallKey(byte(rng.IntN(256))))
		}
		out := MergeSpans(slices.Clone(in))
		checkMerged(t, in, out)

		again := MergeSpans(slices.Clone(out))
		require.Equal(t, out, again, "merging a merged set changes nothing")

		shuffled := slices.Clone(in)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		require.Equal(t, out, MergeSpans(shuffled), "input order does not matter")
	}
}

// TestMergeSpansLargeRandom runs the oracle on benchmark-shaped input (TiDB
// row keys) through the boundary probes, which are exact for any key.
func TestMergeSpansLargeRandom(t *testing.T) {
	in := randomSpans(3000, 7)
	out := MergeSpans(slices.Clone(in))
	require.Less(t, len(out), len(in), "the generator makes some spans touch")
	checkMerged(t, in, out)
}

// infixes are spliced after the first byte of every fuzzed key, to reach the
// large-input merge's long-key paths: keys that agree on all 11 bytes of a
// record and go on, zero bytes that look like padding.
var infixes = []string{"", "\x00", strings.Repeat("\x00", 10), strings.Repeat("m", 11), strings.Repeat("\x00", 24)}

// decodeSpans turns fuzz bytes into spans: two bytes per span, each byte a
// small key, so boundaries collide, touch and nest often. An odd length
// spends the first byte on an infix.
func decodeSpans(data []byte) ([]Span, []Priority) {
	infix := ""
	if len(data)%2 == 1 {
		infix, data = infixes[int(data[0])%len(infixes)], data[1:]
	}
	key := func(b byte) string {
		k := smallKey(b)
		if k == "" {
			return k // stays the smallest key, or +inf as an end
		}
		return k[:1] + infix + k[1:]
	}
	n := min(len(data)/2, 64)
	spans := make([]Span, n)
	prios := make([]Priority, n)
	for i := range n {
		x, y := data[2*i], data[2*i+1]
		spans[i] = sp(key(x), key(y))
		prios[i] = Priority((x ^ y) >> 7) // some High, some Low
	}
	return spans, prios
}

// FuzzMergeSpans checks MergeSpans against the brute-force oracle, and the
// aggregator's own merge (which carries priorities and counts) against
// MergeSpans. Run: go test -fuzz=FuzzMergeSpans ./engine/reload/
func FuzzMergeSpans(f *testing.F) {
	// The TiCDC case, [a,b)+[b,c)+[d,e), and a few shapes by hand; more in
	// testdata/fuzz/FuzzMergeSpans.
	keyByte := func(k string) byte { return byte(slices.Index(alphabetKeys[:13], k)) }
	enc := func(spans ...Span) []byte {
		var b []byte
		for _, s := range spans {
			b = append(b, keyByte(s.Start), keyByte(s.End))
		}
		return b
	}
	f.Add(enc(sp("a", "b"), sp("b", "c"), sp("aa", "ab")))
	f.Add(enc(sp("a", ""), sp("", "a")))
	f.Add(enc(sp("b", "b"), sp("c", "a"), sp("", "")))
	f.Add([]byte{})
	f.Add(append([]byte{3}, enc(sp("a", "b"), sp("ab", "ac"), sp("b", ""))...)) // 11-byte infix

	f.Fuzz(func(t *testing.T, data []byte) {
		in, prios := decodeSpans(data)
		out := MergeSpans(slices.Clone(in))
		checkMerged(t, in, out)

		// The large-input merge runs on small inputs too; fuzz it here,
		// where the oracle is cheap.
		if len(in) > 0 {
			large := mergeLarge(slices.Clone(in))
			checkMerged(t, in, large)
			if !slices.Equal(large, out) {
				t.Fatalf("mergeLarge %q, MergeSpans %q", large, out)
			}
		}

		// The aggregator's merge: same spans, and every non-empty input is
		// accounted for exactly once, with the most urgent priority kept.
		requests := make([]Request, len(in))
		nonEmpty := 0
		for i, s := range in {
			requests[i] = Request{Span: s, Priority: prios[i]}
			if !s.IsEmpty() {
				nonEmpty++
			}
		}
		var kept []Request
		for _, r := range requests {
			if !r.Span.IsEmpty() { // Add drops empty spans before merging
				kept = append(kept, r)
			}
		}
		tasks := appendMerged(nil, 1, kept, true)
		if len(tasks) != len(out) {
			t.Fatalf("aggregator merged into %d tasks, MergeSpans into %d", len(tasks), len(out))
		}
		total := 0
		for i, task := range tasks {
			if task.Span != out[i] {
				t.Fatalf("task %d span %q, MergeSpans %q", i, task.Span, out[i])
			}
			total += task.MergedFrom
			if len(task.Absorbed) != task.MergedFrom {
				t.Fatalf("task %d %q: absorbed %d requests, merged from %d", i, task.Span, len(task.Absorbed), task.MergedFrom)
			}
			for _, r := range task.Absorbed {
				if !task.Span.Contains(r.Span.Start) || (task.Span.End != "" && (r.Span.End == "" || r.Span.End > task.Span.End)) {
					t.Fatalf("task %d %q absorbed %q, which it does not cover", i, task.Span, r.Span)
				}
			}
			want, from := Low, 0
			for j, s := range in {
				if !s.IsEmpty() && task.Span.Contains(s.Start) {
					want = max(want, prios[j])
					from++
				}
			}
			if task.Priority != want || task.MergedFrom != from {
				t.Fatalf("task %d %q: priority %v from %d, want %v from %d", i, task.Span, task.Priority, task.MergedFrom, want, from)
			}
		}
		if total != nonEmpty {
			t.Fatalf("tasks absorbed %d requests, want %d", total, nonEmpty)
		}
	})
}
