package reload

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// For the handful of spans an aggregator set holds, MergeSpans sorts with
// slices.SortFunc and merges in place. For large inputs that is too slow:
// every comparison chases string pointers into scattered memory, and TiDB
// keys share long prefixes ("t" + table id), so sorting and merging 1M spans
// took ~450 ms of CPU on the 2-core dev machine against the 300 ms budget of
// DESIGN §8. mergeLarge instead works on 16-byte records holding 11 key
// bytes each, so that the key strings are read a few times in input order
// (cheap) and hardly ever in sorted order (a cache miss per read):
//
//  1. In input order: drop empty spans and find the prefix every start key
//     shares, then load each start key's next 11 bytes into a record.
//  2. Radix-sort the records, skipping every byte on which all agree. Records
//     that tie and whose keys go on are ordered by the following bytes.
//  3. In input order: load each end key's 11 bytes past the prefix.
//  4. Walk the sorted records, deciding overlap and adjacency from the loaded
//     bytes; only ties the 11 bytes cannot settle read the strings.
//  5. Build the merged spans, one pair of header loads per output.
//
// 11 bytes because a record then fits 16 bytes, and a TiDB row key
// (t{table:8}_r{handle:8}, 19 bytes) past a shared "t"+table prefix is 11.

// radixMinSpans is the input size from which mergeLarge pays for its fixed
// cost (histograms, record buffers). Below it, SortFunc.
const radixMinSpans = 1024

const (
	chunkBytes = 11
	// moreFollow is a chunk's rest for a key that goes on past the chunk.
	moreFollow = chunkBytes + 1
	// digits are the radix passes, least significant first: the rest byte,
	// the 3 key bytes in tail, then the 8 in head.
	digits = 4 + 8
	// smallTie is the tie size below which comparing the strings is cheaper
	// than another radix level.
	smallTie = 48
	// msdMinRecords is the size from which the radix sort first splits by
	// its most significant varying byte, so the remaining passes run on
	// buckets that fit in cache rather than on the whole array.
	msdMinRecords = 1 << 14
)

// keyChunk is 11 bytes of a key from some offset, packed so that comparing
// (head, tail) as integers orders keys by those bytes.
type keyChunk struct {
	// head is key bytes [offset, offset+8), big-endian, zero-padded.
	head uint64
	// tail is key bytes [offset+8, offset+11) in its top 24 bits, zero-padded,
	// and in its low byte the rest: min(len(key)−offset, moreFollow). Among
	// equal bytes a key that ends sooner is a prefix of the other and sorts
	// first; two keys that both go on (moreFollow) are undecided. For an end
	// key, bits 4–5 of the low byte hold its endClass.
	tail uint32
	// span indexes the span the key belongs to.
	span uint32
}

func (k keyChunk) rest() uint32 { return k.tail & 0x0f }

func (k keyChunk) class() endClass { return endClass(k.tail >> 4 & 0x3) }

// endClass says where an end key lies relative to the start keys, which all
// share one prefix.
type endClass uint8

const (
	// endShared: the end key has the shared prefix; compare chunks.
	endShared endClass = iota
	// endAbove: the end key is after every key with the shared prefix.
	// (It cannot be before them: its span would be empty.)
	endAbove
	// endInfinite: the end key is "", +infinity.
	endInfinite
)

func loadChunk(key string, offset int) (head uint64, tail uint32) {
	if offset >= len(key) {
		return 0, 0
	}
	b := key[offset:]
	rest := uint32(min(len(b), moreFollow))
	if len(b) >= chunkBytes {
		return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
				uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7]),
			uint32(b[8])<<24 | uint32(b[9])<<16 | uint32(b[10])<<8 | rest
	}
	var buf [chunkBytes]byte
	copy(buf[:], b)
	for _, c := range buf[:8] {
		head = head<<8 | uint64(c)
	}
	return head, uint32(buf[8])<<24 | uint32(buf[9])<<16 | uint32(buf[10])<<8 | rest
}

// compareChunks orders two chunks from the same offset; decided is false
// when their bytes are equal and both keys go on.
func compareChunks(a, b keyChunk) (c int, decided bool) {
	if c = cmp.Compare(a.head, b.head); c != 0 {
		return c, true
	}
	if a.tail == b.tail && a.rest() == moreFollow {
		return 0, false
	}
	return cmp.Compare(a.tail, b.tail), true
}

// fitsRecords reports whether span indexes fit a keyChunk.
func fitsRecords(n int) bool { return n <= math.MaxUint32 }

// mergeLarge is MergeSpans for large inputs (see the top of the file). It
// leaves spans unchanged and returns a new slice; it allocates three buffers
// and nothing per span.
func mergeLarge(spans []Span) []Span {
	// 1. Input order: drop empty spans, find the shared start prefix.
	records := make([]keyChunk, 0, len(spans))
	prefixLen := -1
	var prefix string
	for i, s := range spans {
		if s.IsEmpty() {
			continue
		}
		records = append(records, keyChunk{span: uint32(i)})
		if prefixLen < 0 {
			prefix, prefixLen = s.Start, len(s.Start)
			continue
		}
		prefixLen = commonPrefixLen(prefix[:prefixLen], s.Start)
	}
	if len(records) == 0 {
		return spans[:0]
	}
	prefix = prefix[:prefixLen]

	// 2. Sort. Scratch is sized for every span, not just the non-empty ones,
	// because step 3 indexes it by span.
	scratch := make([]keyChunk, len(spans))
	sortLevel(spans, records, scratch, prefixLen)

	// 3. Input order: end keys, indexed by span. Empty spans get one too;
	// that is cheaper than skipping them, and it is never read.
	ends := scratch
	for i, s := range spans {
		ends[i] = endChunk(s.End, prefix)
		ends[i].span = uint32(i)
	}

	// 4. Walk. Outputs are written back into records as they close (output
	// k is never past the record being read): span is the output's first
	// span, tail the span whose end it ends at.
	outputs := 0
	first := records[0].span
	last := ends[first]
	for _, r := range records[1:] {
		if startAtMostEnd(spans, r, last) {
			if e := ends[r.span]; endAfter(spans, e, last) {
				last = e
			}
			continue
		}
		records[outputs] = keyChunk{span: first, tail: last.span}
		outputs++
		first, last = r.span, ends[r.span]
	}
	records[outputs] = keyChunk{span: first, tail: last.span}
	outputs++

	// 5. Build the spans.
	merged := make([]Span, outputs)
	for k, out := range records[:outputs] {
		merged[k] = Span{Start: spans[out.span].Start, End: spans[out.tail].End}
	}
	return merged
}

func commonPrefixLen(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// endChunk loads a non-empty span's end key relative to the shared prefix of
// the start keys.
func endChunk(end, prefix string) keyChunk {
	switch {
	case end == "":
		return keyChunk{tail: uint32(endInfinite) << 4}
	case !strings.HasPrefix(end, prefix):
		return keyChunk{tail: uint32(endAbove) << 4}
	}
	var e keyChunk
	e.head, e.tail = loadChunk(end, len(prefix))
	return e
}

// startAtMostEnd reports whether the start key of record r is at or before
// end e: the "overlapping or adjacent" test of the merge.
func startAtMostEnd(spans []Span, r, e keyChunk) bool {
	if e.class() != endShared {
		return true // +inf, or past every start key
	}
	c, decided := compareChunks(r, e)
	if !decided {
		return spans[r.span].Start <= spans[e.span].End
	}
	return c <= 0
}

// endAfter reports whether end a reaches further than end b.
func endAfter(spans []Span, a, b keyChunk) bool {
	if ac, bc := a.class(), b.class(); ac != bc {
		return ac > bc // endShared < endAbove < endInfinite
	}
	switch a.class() {
	case endInfinite:
		return false
	case endShared:
		if c, decided := compareChunks(a, b); decided {
			return c > 0
		}
	}
	return spans[a.span].End > spans[b.span].End
}

// sortLevel sorts records, whose start keys all agree on their first offset
// bytes, by the key bytes from offset on. On return every record holds its
// chunk at offset, which the walk relies on.
func sortLevel(spans []Span, records, scratch []keyChunk, offset int) {
	for i := range records {
		r := &records[i]
		r.head, r.tail = loadChunk(spans[r.span].Start, offset)
	}
	radixSort(records, scratch)
	for lo := 0; lo < len(records); {
		hi := lo + 1
		for hi < len(records) && records[hi].head == records[lo].head && records[hi].tail == records[lo].tail {
			hi++
		}
		if hi-lo > 1 && records[lo].rest() == moreFollow {
			tied := records[lo:hi]
			if len(tied) < smallTie {
				slices.SortFunc(tied, func(a, b keyChunk) int {
					return compareStart(spans[a.span], spans[b.span])
				})
			} else {
				// They tie here, so one copy of the chunk restores them all.
				chunk := tied[0]
				sortLevel(spans, tied, scratch[:len(tied)], offset+chunkBytes)
				for i := range tied {
					tied[i].head, tied[i].tail = chunk.head, chunk.tail
				}
			}
		}
		lo = hi
	}
}

// digitOf returns radix digit d of k: tail bytes for d < 4, else head bytes.
func digitOf(k keyChunk, d int) byte {
	if d < 4 {
		return byte(k.tail >> (8 * d))
	}
	return byte(k.head >> (8 * (d - 4)))
}

type histogram [digits][256]int

func (h *histogram) count(records []keyChunk) {
	*h = histogram{}
	for _, r := range records {
		for b := range 4 {
			h[b][byte(r.tail>>(8*b))]++
		}
		for b := range 8 {
			h[4+b][byte(r.head>>(8*b))]++
		}
	}
}

// varying returns the digits, least significant first, on which records
// differ: the only passes worth making.
func (h *histogram) varying(records []keyChunk, buf *[digits]int) []int {
	out := buf[:0]
	for d := range digits {
		if h[d][digitOf(records[0], d)] != len(records) {
			out = append(out, d)
		}
	}
	return out
}

// radixSort sorts records by (head, tail). Large inputs are first split by
// their most significant varying byte, then each bucket is LSD-sorted on
// the rest while it sits in cache. The result is in records; scratch (at
// least as long) is clobbered.
func radixSort(records, scratch []keyChunk) {
	if len(records) < 2 {
		return
	}
	h := new(histogram)
	h.count(records)
	var buf [digits]int
	passes := h.varying(records, &buf)
	if len(passes) == 0 {
		return
	}
	scratch = scratch[:len(records)]
	if len(records) < msdMinRecords || len(passes) == 1 {
		lsd(records, scratch, h, passes)
		return
	}
	top := passes[len(passes)-1]
	var start [256]int
	sum := 0
	for v, n := range h[top] {
		start[v] = sum
		sum += n
	}
	next := start
	scatter(records, scratch, &next, top)
	for v, lo := range start {
		bucket, spare := scratch[lo:next[v]], records[lo:next[v]]
		if len(bucket) > 1 {
			h.count(bucket)
			lsd(bucket, spare, h, h.varying(bucket, &buf))
		}
		copy(spare, bucket)
	}
}

// lsd sorts records by the given digits, least significant first; h holds
// their counts. The result is in records; scratch is clobbered.
func lsd(records, scratch []keyChunk, h *histogram, passes []int) {
	src, dst := records, scratch
	for _, d := range passes {
		c := &h[d]
		sum := 0
		for v, n := range c {
			c[v] = sum
			sum += n
		}
		scatter(src, dst, c, d)
		src, dst = dst, src
	}
	if len(passes)%2 == 1 {
		copy(records, src)
	}
}

// scatter moves src into dst by digit d, next holding each digit value's
// next free slot. One loop per field, so the hot loop shifts, not switches.
func scatter(src, dst []keyChunk, next *[256]int, d int) {
	if d < 4 {
		shift := uint(8 * d)
		for i := range src {
			v := byte(src[i].tail >> shift)
			dst[next[v]] = src[i]
			next[v]++
		}
		return
	}
	shift := uint(8 * (d - 4))
	for i := range src {
		v := byte(src[i].head >> shift)
		dst[next[v]] = src[i]
		next[v]++
	}
}
