package slotindex

import (
	"math/bits"
	"math/rand/v2"
	"testing"
)

type key struct{ sub, id uint64 }

func hash(k key) uint64 { return k.id ^ bits.RotateLeft64(k.sub, 32) }

// keys are the slots' keys in a slice, as an owner keeps its regions.
type keys []key

func (s keys) SlotKey(slot int32) key { return s[slot] }

// The index finds every slot it was given, across its growth, at most
// half full, finds nothing it was not given, and tells subscriptions
// apart.
func TestIndexGrows(t *testing.T) {
	var ks keys
	x := New(4, hash) // grows many times below
	for i := range 50_000 {
		ks = append(ks, key{uint64(1 + i%3), uint64(i / 3)})
		x.Put(ks, int32(i))
	}
	if x.Buckets() < 2*len(ks) {
		t.Fatalf("table of %d buckets for %d slots: more than half full", x.Buckets(), len(ks))
	}
	for i, k := range ks {
		if slot, ok := x.Get(ks, k); !ok || slot != int32(i) {
			t.Fatalf("key %v: got slot %d, %v; want %d", k, slot, ok, i)
		}
	}
	for _, k := range []key{{4, 0}, {1, 50_000}, {2, 1 << 40}} {
		if slot, ok := x.Get(ks, k); ok {
			t.Fatalf("key %v found at slot %d; never put", k, slot)
		}
	}
	var empty Index[key]
	if _, ok := empty.Get(ks, ks[0]); ok {
		t.Fatal("the zero index found a key")
	}
}

// The index against a map, through growth and removals that wrap
// around its table, slots reused.
func TestIndexRemove(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var ks keys
	x := New(4, hash)
	want := map[key]int32{}
	var free []int32
	for step := range 20_000 {
		if len(want) > 0 && rng.IntN(3) == 0 {
			for k, slot := range want { // any one
				x.Remove(ks, slot)
				ks[slot] = key{}
				free = append(free, slot)
				delete(want, k)
				break
			}
		} else {
			k := key{uint64(rng.IntN(3)), uint64(rng.IntN(500))}
			if _, ok := want[k]; ok {
				continue
			}
			var slot int32
			if n := len(free); n > 0 {
				slot, free = free[n-1], free[:n-1]
			} else {
				ks = append(ks, key{})
				slot = int32(len(ks) - 1)
			}
			ks[slot] = k
			x.Put(ks, slot)
			want[k] = slot
		}
		if step%97 == 0 {
			for k, slot := range want {
				if got, ok := x.Get(ks, k); !ok || got != slot {
					t.Fatalf("step %d: %v at %d, %v; want %d", step, k, got, ok, slot)
				}
			}
			if _, ok := x.Get(ks, key{7, 7}); ok {
				t.Fatalf("step %d: found a key never put", step)
			}
			if x.Len() != len(want) {
				t.Fatalf("step %d: %d slots, want %d", step, x.Len(), len(want))
			}
		}
	}
}
