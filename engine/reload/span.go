package reload

import (
	"slices"
	"strings"
)

// Span is a key range [Start, End) of raw memcomparable key bytes held in
// strings (cheap to compare and to use as values). An empty Start is the
// smallest key; an empty End means +infinity, i.e. "to the end of the
// keyspace", as in TiKV region boundaries.
type Span struct {
	Start string
	End   string
}

// IsEmpty reports whether the span covers no key: End is finite and not
// after Start. Such spans come only from bad input and reload nothing.
func (s Span) IsEmpty() bool { return s.End != "" && s.Start >= s.End }

// Contains reports whether key lies in the span.
func (s Span) Contains(key string) bool {
	return key >= s.Start && (s.End == "" || key < s.End)
}

// compareStart orders spans by start key only: that is all a merge needs,
// and a cheaper comparison is what keeps 1M spans under budget.
func compareStart(a, b Span) int { return strings.Compare(a.Start, b.Start) }

// touches reports whether next, which starts at or after cur's start, overlaps
// cur or begins exactly where cur ends. Adjacent spans merge too: two
// requests for [a,b) and [b,c) are one PD scan for [a,c).
func touches(cur, next Span) bool { return cur.End == "" || next.Start <= cur.End }

// laterEnd returns the end that reaches further; "" (+inf) beats anything.
func laterEnd(a, b string) string {
	if a == "" || b == "" {
		return ""
	}
	return max(a, b)
}

// MergeSpans returns the union of spans as the fewest spans: sorted by start,
// pairwise non-overlapping and non-adjacent (each End is strictly before the
// next Start), covering exactly the keys the inputs cover. Empty spans are
// dropped.
//
// To keep a million-span merge cheap it may reorder and overwrite spans, and
// the result may share spans' backing array (like slices.Compact). Callers
// that still need the input pass a copy.
func MergeSpans(spans []Span) []Span {
	if len(spans) >= radixMinSpans && fitsRecords(len(spans)) {
		return mergeLarge(spans)
	}
	slices.SortFunc(spans, compareStart)
	return mergeSorted(spans)
}

// mergeSorted merges spans sorted by start in place.
func mergeSorted(spans []Span) []Span {
	merged := spans[:0]
	for _, next := range spans {
		if next.IsEmpty() {
			continue
		}
		if n := len(merged); n > 0 && touches(merged[n-1], next) {
			merged[n-1].End = laterEnd(merged[n-1].End, next.End)
			continue
		}
		merged = append(merged, next)
	}
	// Clear the tail so the dropped key strings can be collected.
	clear(spans[len(merged):])
	return merged
}
