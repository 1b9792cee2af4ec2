package snapshots

import "testing"

// The index finds every slot it was given, across its growth, finds
// nothing it was not given, and tells subscriptions apart.
func TestSlotIndex(t *testing.T) {
	var regions regionKeys
	x := newSlotIndex(4) // grows many times below
	for i := range 50_000 {
		sub := uint64(1 + i%3)
		regions = append(regions, HistoryRegion{Subscription: sub, ID: uint64(i / 3)})
		x.put(regions, int32(i))
	}
	if len(x.table) < 2*len(regions) {
		t.Fatalf("table of %d buckets for %d slots: more than half full", len(x.table), len(regions))
	}
	for i, reg := range regions {
		slot, ok := x.get(regions, historyKey(reg.Subscription, reg.ID))
		if !ok || slot != int32(i) {
			t.Fatalf("region %d/%d: got slot %d, %v; want %d", reg.Subscription, reg.ID, slot, ok, i)
		}
	}
	for _, k := range []uint64{historyKey(4, 0), historyKey(1, 50_000), historyKey(2, 1<<40)} {
		if slot, ok := x.get(regions, k); ok {
			t.Fatalf("key %x found at slot %d; never put", k, slot)
		}
	}
	var empty slotIndex
	if _, ok := empty.get(regions, 1); ok {
		t.Fatal("the zero index found a key")
	}
}

// regionKeys are a slot's keys in a slice, for the index alone.
type regionKeys []HistoryRegion

func (r regionKeys) slotKey(slot int32) uint64 {
	return historyKey(r[slot].Subscription, r[slot].ID)
}
