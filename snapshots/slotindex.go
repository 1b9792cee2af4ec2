package snapshots

import "math/bits"

// slotIndex finds a region's slot in the recorder by (subscription, id).
// It stores slots only — 4 bytes a bucket, at most half full, with as
// many buckets as that needs (not the next power of two) — and reads a
// candidate's key from where the recorder keeps its regions' keys
// (slotKeys): at a million regions a map[uint64]int32 costs ~34 bytes a
// region, this ~8.5 (the timeline's budget is 64 bytes a region in all).
type slotIndex struct {
	table []int32 // slot+1; 0: empty
	n     int
}

// slotKeys says which region a slot holds, as historyKey.
type slotKeys interface {
	slotKey(slot int32) uint64
}

func newSlotIndex(size int) slotIndex {
	var x slotIndex
	x.grow(size)
	return x
}

// grow makes room for size slots at most half full.
func (x *slotIndex) grow(size int) {
	x.table = make([]int32, max(16, 2*size))
}

// home is k's first bucket: its hash scaled to the table (Lemire's
// multiply-shift, so any table length works).
func (x *slotIndex) home(k uint64) int {
	hi, _ := bits.Mul64(k*0x9E3779B97F4A7C15, uint64(len(x.table)))
	return int(hi)
}

// get is the slot of the region whose historyKey is k.
func (x *slotIndex) get(keys slotKeys, k uint64) (int32, bool) {
	if len(x.table) == 0 {
		return 0, false
	}
	for i := x.home(k); ; {
		s := x.table[i]
		if s == 0 {
			return 0, false
		}
		if keys.slotKey(s-1) == k {
			return s - 1, true
		}
		if i++; i == len(x.table) {
			i = 0
		}
	}
}

// put adds slot, whose region is not in the index yet.
func (x *slotIndex) put(keys slotKeys, slot int32) {
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

func (x *slotIndex) insert(keys slotKeys, slot int32) {
	i := x.home(keys.slotKey(slot))
	for x.table[i] != 0 {
		if i++; i == len(x.table) {
			i = 0
		}
	}
	x.table[i] = slot + 1
}
