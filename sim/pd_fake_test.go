package sim

import (
	"bytes"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"
)

// fakePDBackend is a pdBackend over a fixed table of regions and stores, so
// the PD server can be tested without the cluster model. Regions are kept
// sorted by start key; dropRegion opens a hole in the keyspace. All methods
// are safe for concurrent use (mu guards everything).
type fakePDBackend struct {
	mu        sync.Mutex
	clusterID uint64
	regions   []*PDRegion // sorted by start key, disjoint
	stores    []*metapb.Store

	noBatchScan bool   // answer as a PD before 8.2
	safePoint   uint64 // GetGCSafePoint

	// TSO state: the last timestamp handed out.
	tsoPhysical, tsoLogical int64
}

const fakeClusterID = 7_000_000_000_000_000_001

// fakeRegionBounds are the region boundaries of newFakePDBackend: regions
// 2, 4, …, 12 cover ["", "b"), ["b", "d"), …, ["j", "").
var fakeRegionBounds = []string{"", "b", "d", "f", "h", "j", ""}

// newFakePDBackend returns a backend whose regions cover the whole keyspace.
// Region 6 (["d", "f")) has no known leader, to exercise the empty-peer
// answer; the others are led by a peer on store 1 + index % 3.
func newFakePDBackend() *fakePDBackend {
	f := &fakePDBackend{clusterID: fakeClusterID}
	for i := 0; i+1 < len(fakeRegionBounds); i++ {
		id := uint64(2 * (i + 1))
		var peers []*metapb.Peer
		for storeID := uint64(1); storeID <= 3; storeID++ {
			peers = append(peers, &metapb.Peer{Id: id*100 + storeID, StoreId: storeID})
		}
		r := &PDRegion{Meta: &metapb.Region{
			Id:          id,
			StartKey:    []byte(fakeRegionBounds[i]),
			EndKey:      []byte(fakeRegionBounds[i+1]),
			RegionEpoch: &metapb.RegionEpoch{ConfVer: 1, Version: uint64(i + 1)},
			Peers:       peers,
		}}
		if id != 6 {
			r.Leader = peers[i%3]
		}
		f.regions = append(f.regions, r)
	}
	for id := uint64(1); id <= 3; id++ {
		f.stores = append(f.stores, &metapb.Store{
			Id:            id,
			Address:       fmt.Sprintf("127.0.0.1:%d", 20160+id),
			StatusAddress: fmt.Sprintf("127.0.0.1:%d", 20180+id),
			Version:       "8.5.0",
			State:         metapb.StoreState_Up,
			NodeState:     metapb.NodeState_Serving,
		})
	}
	f.stores = append(f.stores, &metapb.Store{
		Id: 4, Address: "127.0.0.1:20164", Version: "8.5.0",
		State: metapb.StoreState_Tombstone, NodeState: metapb.NodeState_Removed,
	})
	return f
}

// dropRegion forgets a region, leaving its key range uncovered.
func (f *fakePDBackend) dropRegion(id uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.regions {
		if r.Meta.GetId() == id {
			f.regions = append(f.regions[:i:i], f.regions[i+1:]...)
			return
		}
	}
}

func (f *fakePDBackend) ClusterID() uint64 { return f.clusterID }

// AllocTSO follows PD's rules: physical follows the wall clock but never goes
// back, and a batch never straddles two physical ticks.
func (f *fakePDBackend) AllocTSO(count uint32) (physical, logical int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	const maxLogical = 1 << 18
	now := time.Now().UnixMilli()
	if now > f.tsoPhysical {
		f.tsoPhysical, f.tsoLogical = now, -1
	}
	if f.tsoLogical+int64(count) >= maxLogical {
		f.tsoPhysical, f.tsoLogical = f.tsoPhysical+1, -1
	}
	f.tsoLogical += int64(count)
	return f.tsoPhysical, f.tsoLogical
}

func fakeRegionContains(r *PDRegion, key []byte) bool {
	return bytes.Compare(r.Meta.GetStartKey(), key) <= 0 &&
		(len(r.Meta.GetEndKey()) == 0 || bytes.Compare(key, r.Meta.GetEndKey()) < 0)
}

// indexOfKeyLocked returns the index of the region containing key, or -1.
func (f *fakePDBackend) indexOfKeyLocked(key []byte) int {
	i := sort.Search(len(f.regions), func(i int) bool {
		return bytes.Compare(f.regions[i].Meta.GetStartKey(), key) > 0
	}) - 1
	if i < 0 || !fakeRegionContains(f.regions[i], key) {
		return -1
	}
	return i
}

func (f *fakePDBackend) RegionByKey(key []byte) *PDRegion {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i := f.indexOfKeyLocked(key); i >= 0 {
		return f.regions[i]
	}
	return nil
}

// PrevRegion is the region ending where the one containing key starts; like
// PD it is nil when key falls in a hole or the previous range is a hole.
func (f *fakePDBackend) PrevRegion(key []byte) *PDRegion {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.indexOfKeyLocked(key)
	if i <= 0 || !bytes.Equal(f.regions[i-1].Meta.GetEndKey(), f.regions[i].Meta.GetStartKey()) {
		return nil
	}
	return f.regions[i-1]
}

func (f *fakePDBackend) RegionByID(id uint64) *PDRegion {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.regions {
		if r.Meta.GetId() == id {
			return r
		}
	}
	return nil
}

func (f *fakePDBackend) ScanRegions(start, end []byte, limit int) []*PDRegion {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*PDRegion
	for _, r := range f.regions {
		if limit > 0 && len(out) >= limit {
			break
		}
		endsAfterStart := len(r.Meta.GetEndKey()) == 0 || bytes.Compare(r.Meta.GetEndKey(), start) > 0
		startsBeforeEnd := len(end) == 0 || bytes.Compare(r.Meta.GetStartKey(), end) < 0
		if endsAfterStart && startsBeforeEnd {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakePDBackend) Stores() []*metapb.Store {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*metapb.Store(nil), f.stores...)
}

func (f *fakePDBackend) HasPDFeature(feat Feature) bool {
	return !(feat == FeatureBatchScanRegions && f.noBatchScan)
}

func (f *fakePDBackend) GCSafePoint() uint64 { return f.safePoint }
