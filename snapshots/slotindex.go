package snapshots

// slotIndex finds a region's slot in the recorder by (subscription, id).
// It stores slots only — 4 bytes a bucket, at most half full — and reads
// a candidate's key from the recorder's regions: at a million regions a
// map[uint64]int32 costs ~34 bytes a region, this ~8 (the timeline's
// budget is 64 bytes a region in all).
type slotIndex struct {
	table []int32 // slot+1; 0: empty
	n     int
}

func newSlotIndex(size int) slotIndex {
	var x slotIndex
	x.grow(size)
	return x
}

// grow makes room for size slots at most half full.
func (x *slotIndex) grow(size int) {
	buckets := 16
	for buckets < 2*size {
		buckets <<= 1
	}
	x.table = make([]int32, buckets)
}

func (x *slotIndex) home(k uint64) int {
	return int((k * 0x9E3779B97F4A7C15) >> 32 & uint64(len(x.table)-1))
}

// get is the slot of the region whose historyKey is k.
func (x *slotIndex) get(regions []HistoryRegion, k uint64) (int32, bool) {
	if len(x.table) == 0 {
		return 0, false
	}
	mask := len(x.table) - 1
	for i := x.home(k); ; i = (i + 1) & mask {
		s := x.table[i]
		if s == 0 {
			return 0, false
		}
		if reg := &regions[s-1]; historyKey(reg.Subscription, reg.ID) == k {
			return s - 1, true
		}
	}
}

// put adds slot, whose region (regions[slot]) is not in the index yet.
func (x *slotIndex) put(regions []HistoryRegion, slot int32) {
	if 2*(x.n+1) > len(x.table) {
		old := x.table
		x.grow(2 * (x.n + 1))
		for _, s := range old {
			if s != 0 {
				x.insert(regions, s-1)
			}
		}
	}
	x.insert(regions, slot)
	x.n++
}

func (x *slotIndex) insert(regions []HistoryRegion, slot int32) {
	reg := &regions[slot]
	mask := len(x.table) - 1
	i := x.home(historyKey(reg.Subscription, reg.ID))
	for x.table[i] != 0 {
		i = (i + 1) & mask
	}
	x.table[i] = slot + 1
}
