// Package slotindex finds a region's slot by its key without storing the
// key: 4 bytes a bucket, at most half full, with as many buckets as that
// needs (not the next power of two). A candidate's key is read from where
// its owner keeps its regions (Keys). At a million regions a map from key
// to slot costs 34–50 bytes a region, this ~8.5. The timeline recorder
// and the UI's region history both index a million regions with it.
package slotindex

import "math/bits"

// Keys says which key a slot holds.
type Keys[K comparable] interface {
	SlotKey(slot int32) K
}

// Index is the slots of keys K. Its zero value finds nothing; New sizes
// one.
type Index[K comparable] struct {
	table []int32 // slot+1; 0: empty
	n     int
	hash  func(K) uint64
}

// New is an index with room for size slots, hashing keys with hash.
func New[K comparable](size int, hash func(K) uint64) Index[K] {
	x := Index[K]{hash: hash}
	x.grow(size)
	return x
}

// Len is how many slots it holds.
func (x *Index[K]) Len() int { return x.n }

// Buckets is how many buckets its table has.
func (x *Index[K]) Buckets() int { return len(x.table) }

// grow makes room for size slots at most half full.
func (x *Index[K]) grow(size int) {
	x.table = make([]int32, max(16, 2*size))
}

// home is k's first bucket: its hash scaled to the table (Lemire's
// multiply-shift, so any table length works).
func (x *Index[K]) home(k K) int {
	hi, _ := bits.Mul64(x.hash(k)*0x9E3779B97F4A7C15, uint64(len(x.table)))
	return int(hi)
}

func (x *Index[K]) next(i int) int {
	if i++; i == len(x.table) {
		return 0
	}
	return i
}

// Get is the slot of the region whose key is k.
func (x *Index[K]) Get(keys Keys[K], k K) (int32, bool) {
	if x.n == 0 {
		return 0, false
	}
	for i := x.home(k); ; i = x.next(i) {
		s := x.table[i]
		if s == 0 {
			return 0, false
		}
		if keys.SlotKey(s-1) == k {
			return s - 1, true
		}
	}
}

// Put adds slot, whose key (keys.SlotKey(slot)) is not in the index yet.
func (x *Index[K]) Put(keys Keys[K], slot int32) {
	if 2*(x.n+1) > len(x.table) {
		old := x.table
		x.grow(x.n + 1 + x.n/2) // a third full after growing
		for _, s := range old {
			if s != 0 {
				x.insert(keys, s-1)
			}
		}
	}
	x.insert(keys, slot)
	x.n++
}

func (x *Index[K]) insert(keys Keys[K], slot int32) {
	i := x.home(keys.SlotKey(slot))
	for x.table[i] != 0 {
		i = x.next(i)
	}
	x.table[i] = slot + 1
}

// Remove takes slot, which is in the index, out of it (keys.SlotKey(slot)
// still its key). The entries after it in its run move back into the
// hole when their home allows, so lookups need no tombstones.
func (x *Index[K]) Remove(keys Keys[K], slot int32) {
	i := x.home(keys.SlotKey(slot))
	for x.table[i] != slot+1 {
		i = x.next(i)
	}
	hole := i
	for j := x.next(hole); x.table[j] != 0; j = x.next(j) {
		// The entry at j may fill the hole if its home is not in
		// (hole, j], cyclically.
		h := x.home(keys.SlotKey(x.table[j] - 1))
		if (hole < j && (h <= hole || h > j)) || (hole > j && h <= hole && h > j) {
			x.table[hole] = x.table[j]
			hole = j
		}
	}
	x.table[hole] = 0
	x.n--
}
