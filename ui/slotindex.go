package ui

import "math/bits"

// slotIndex finds a region's slot in history.regions by its key. It
// stores slots only, 4 bytes a bucket, at most half full, and reads a
// candidate's key from the track in the slot: at a million regions a
// map[regionKey]int32 was ~50 bytes a region, this is ~8.5. It is the
// history's fallback (the engine keeps its region order, so history.order
// finds most regions) and the detail view's lookup.
type slotIndex struct {
	table []int32 // slot+1; 0: empty
	n     int
}

func newSlotIndex(size int) slotIndex {
	return slotIndex{table: make([]int32, max(16, 2*size))}
}

// home is k's first bucket: its hash scaled to the table (Lemire's
// multiply-shift, so any table length works).
func (x *slotIndex) home(k regionKey) int {
	hi, _ := bits.Mul64((k.id^bits.RotateLeft64(k.sub, 32))*0x9E3779B97F4A7C15, uint64(len(x.table)))
	return int(hi)
}

func (x *slotIndex) next(i int) int {
	if i++; i == len(x.table) {
		return 0
	}
	return i
}

// get is the slot of the region k.
func (x *slotIndex) get(tracks []regionTrack, k regionKey) (int32, bool) {
	if x.n == 0 {
		return 0, false
	}
	for i := x.home(k); ; i = x.next(i) {
		s := x.table[i]
		if s == 0 {
			return 0, false
		}
		if tracks[s-1].key == k {
			return s - 1, true
		}
	}
}

// put adds slot, whose region (tracks[slot].key) is not in the index yet.
func (x *slotIndex) put(tracks []regionTrack, slot int32) {
	if 2*(x.n+1) > len(x.table) {
		old := x.table
		x.table = make([]int32, 2*(x.n+1+x.n/2)) // a third full after growing
		for _, s := range old {
			if s != 0 {
				x.insert(tracks, s-1)
			}
		}
	}
	x.insert(tracks, slot)
	x.n++
}

func (x *slotIndex) insert(tracks []regionTrack, slot int32) {
	i := x.home(tracks[slot].key)
	for x.table[i] != 0 {
		i = x.next(i)
	}
	x.table[i] = slot + 1
}

// remove takes slot, which is in the index, out of it (tracks[slot].key
// still its region's). The entries after it in its run move back into
// the hole when their home allows, so lookups need no tombstones.
func (x *slotIndex) remove(tracks []regionTrack, slot int32) {
	i := x.home(tracks[slot].key)
	for x.table[i] != slot+1 {
		i = x.next(i)
	}
	hole := i
	for j := x.next(hole); x.table[j] != 0; j = x.next(j) {
		// The entry at j may fill the hole if its home is not in
		// (hole, j], cyclically.
		h := x.home(tracks[x.table[j]-1].key)
		if (hole < j && (h <= hole || h > j)) || (hole > j && h <= hole && h > j) {
			x.table[hole] = x.table[j]
			hole = j
		}
	}
	x.table[hole] = 0
	x.n--
}
