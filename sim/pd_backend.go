package sim

import "github.com/pingcap/kvproto/pkg/metapb"

// PDRegion is one region as PD currently believes it to be. Because PD hears
// of splits, merges and leader changes only after the configured lag, this may
// differ from the truth the stores act on. A PDRegion is immutable once built.
type PDRegion struct {
	Meta   *metapb.Region
	Leader *metapb.Peer // nil when PD knows no leader
	// DownPeers are peers whose store stopped answering, as the leader
	// reported them; PendingPeers are catching up on their raft log.
	DownPeers    []DownPeer
	PendingPeers []*metapb.Peer
}

// DownPeer is a peer PD was told is down, and for how long it had been.
type DownPeer struct {
	Peer        *metapb.Peer
	DownSeconds uint64
}

// pdBackend is what the PD gRPC server needs from the cluster model. It is an
// interface so the server can be tested against a fake, and so that the model
// never depends on gRPC types.
//
// All keys are memcomparable-encoded, as PD stores them. An empty end key
// means "to the end of the keyspace". Implementations are safe for concurrent
// use.
type pdBackend interface {
	// ClusterID is the non-zero id every response header carries.
	ClusterID() uint64
	// AllocTSO reserves count timestamps and returns the last one of the
	// batch. Timestamps are strictly increasing across calls.
	AllocTSO(count uint32) (physical, logical int64)
	// RegionByKey returns the region containing key, or nil.
	RegionByKey(key []byte) *PDRegion
	// PrevRegion returns the region just before the one containing key, or nil.
	PrevRegion(key []byte) *PDRegion
	// RegionByID returns the region with this id, or nil.
	RegionByID(id uint64) *PDRegion
	// ScanRegions returns the regions overlapping [start, end) in key order,
	// at most limit of them (0 means no limit).
	ScanRegions(start, end []byte, limit int) []*PDRegion
	// Stores returns every store PD knows, including tombstones.
	Stores() []*metapb.Store
	// HasPDFeature says whether the PD release served has a feature
	// (versions.go).
	HasPDFeature(Feature) bool
	// GCSafePoint is the cluster's GC safe point.
	GCSafePoint() uint64
}
