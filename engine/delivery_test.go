package engine

import (
	"encoding/hex"
	"testing"

	"github.com/tikv/client-go/v2/util/codec"
)

// The recent-rows ring copies each key into its slot: a delivered row's
// bytes alias the message it came in, which must not be kept (nor, once
// reused, be read) for the Events view.
func TestRecentRowsCopyKeys(t *testing.T) {
	var rr recentRows
	key := []byte("key-1")
	rr.add(1, 2, Row{OpType: OpPut, Key: key, CommitTs: 5})
	copy(key, "XXXXX")
	for i := range recentCapacity { // a full lap reuses the slot's buffer
		rr.add(1, 2, Row{OpType: OpPut, Key: []byte{byte(i % 256)}, CommitTs: uint64(6 + i)})
	}
	rr.add(1, 2, Row{OpType: OpPut, Key: []byte("key-2-longer"), CommitTs: 9999})
	evs := rr.events()
	if got, want := evs[len(evs)-1].Key, hex.EncodeToString(codec.EncodeBytes(nil, []byte("key-2-longer"))); got != want {
		t.Fatalf("last key %s, want %s", got, want)
	}
	if got, want := evs[len(evs)-2].Key, hex.EncodeToString(codec.EncodeBytes(nil, []byte{byte((recentCapacity - 1) % 256)})); got != want {
		t.Fatalf("previous key %s, want %s", got, want)
	}

	var fresh recentRows
	key = []byte("key-1")
	fresh.add(1, 2, Row{OpType: OpPut, Key: key, CommitTs: 5})
	copy(key, "XXXXX")
	if got, want := fresh.events()[0].Key, hex.EncodeToString(codec.EncodeBytes(nil, []byte("key-1"))); got != want {
		t.Fatalf("key changed with its message: %s, want %s", got, want)
	}
}
