package engine

import (
	"github.com/google/btree"
)

// regionIndex keeps the region records in (subscription, start key, region
// id) order, so the records of a span are found in O(log n + k) rather than
// by a walk over a million records, and a snapshot's rows come out in
// order without a sort. A record's start key never changes while it is on
// the books. Owned by the event loop.
//
// Records of a subscription tile its span, except for the moments a split
// or merge leaves an old record next to its successors. Those overlapping
// records are also kept in wide, so that a record reaching over a key is
// found even when a smaller one sits between them in key order.
type regionIndex struct {
	t    *btree.BTreeG[*regionState]
	wide map[*regionState]struct{} // records that overlapped another when added
}

func regionLess(a, b *regionState) bool {
	if a.sub.id != b.sub.id {
		return a.sub.id < b.sub.id
	}
	if a.start != b.start {
		return a.start < b.start
	}
	return a.id < b.id
}

func newRegionIndex() regionIndex {
	// Degree 32: nodes of up to 63 records; shallow, and cheap to walk.
	return regionIndex{t: btree.NewG(32, regionLess), wide: map[*regionState]struct{}{}}
}

func (x *regionIndex) add(r *regionState) {
	// Whoever r overlaps goes to wide with it. Those starting before r are
	// found as coveringStart finds them, which relies on this: an
	// overlapping record is either next to r in key order or in wide.
	overlap := false
	mark := func(o *regionState) {
		x.wide[o] = struct{}{}
		overlap = true
	}
	x.coveringStart(r.sub, r.start, mark)
	x.starting(r.sub, r.start, r.end, func(o *regionState) bool {
		mark(o)
		return true
	})
	if overlap {
		x.wide[r] = struct{}{}
	}
	x.t.ReplaceOrInsert(r)
}

func (x *regionIndex) remove(r *regionState) {
	x.t.Delete(r)
	if _, ok := x.wide[r]; !ok {
		return
	}
	delete(x.wide, r)
	// Those it overlapped may overlap nothing any more: out of wide, or
	// wide would grow with every split of a long run.
	var partners []*regionState
	x.coveringStart(r.sub, r.start, func(p *regionState) { partners = append(partners, p) })
	x.starting(r.sub, r.start, r.end, func(p *regionState) bool {
		partners = append(partners, p)
		return true
	})
	for _, p := range partners {
		if !x.overlapsAny(p) {
			delete(x.wide, p)
		}
	}
}

// overlapsAny: some other record of p's subscription overlaps p.
func (x *regionIndex) overlapsAny(p *regionState) bool {
	found := false
	x.coveringStart(p.sub, p.start, func(*regionState) { found = true })
	x.starting(p.sub, p.start, p.end, func(o *regionState) bool {
		found = found || o != p
		return !found
	})
	return found
}

func (x *regionIndex) len() int {
	if x.t == nil {
		return 0 // the zero index (an Engine built by a test)
	}
	return x.t.Len()
}

// starting calls fn, in order, for the records of sub whose start key is in
// [from, to) (to "" is +infinity) until fn returns false.
func (x *regionIndex) starting(sub *subscription, from, to string, fn func(*regionState) bool) {
	pivot := &regionState{sub: sub, start: from}
	x.t.AscendGreaterOrEqual(pivot, func(r *regionState) bool {
		if r.sub != sub || (to != "" && r.start >= to) {
			return false
		}
		return fn(r)
	})
}

// coveringStart calls fn once for each record of sub that starts before key
// and reaches past it.
func (x *regionIndex) coveringStart(sub *subscription, key string, fn func(*regionState)) {
	covers := func(r *regionState) bool { return r.sub == sub && r.start < key && (r.end == "" || r.end > key) }
	var walked map[*regionState]bool
	pivot := &regionState{sub: sub, start: key}
	x.t.DescendLessOrEqual(pivot, func(r *regionState) bool {
		if r.sub != sub {
			return false
		}
		if r.start >= key {
			return true // starts at key: not before it
		}
		if !covers(r) {
			return false // any other reaching over key overlaps this one: in wide
		}
		if len(x.wide) > 0 {
			if walked == nil {
				walked = map[*regionState]bool{}
			}
			walked[r] = true
		}
		fn(r)
		return true
	})
	for r := range x.wide {
		if covers(r) && !walked[r] {
			fn(r)
		}
	}
}

// ascend calls fn for every record in order.
func (x *regionIndex) ascend(fn func(*regionState) bool) { x.t.Ascend(fn) }
