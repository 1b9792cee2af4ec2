package sim

import (
	"bytes"
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/metapb"
)

// Cluster is the simulated cluster's one model: stores, regions with epochs,
// peers and leaders, MVCC locks and writes, the TSO, PD's (lagging) view of
// the regions, and the CDC endpoint state of every store (connections and
// downstreams). The PD and ChangeData gRPC servers are thin shells over it.
//
// Everything mutable is guarded by mu; the TSO has its own lock (taken inside
// mu, never the other way round). Row and resolved-ts events are queued to
// connections while mu is held, which is what makes their order correct: a
// resolved ts is always queued after every row it covers.
type Cluster struct {
	clusterID uint64
	tso       *tsoOracle
	now       func() time.Time
	pdLag     time.Duration

	mu      sync.Mutex
	stores  []*storeState // by id order; id = index+1
	regions []*region     // sorted by start key, covering the keyspace
	byID    map[uint64]*region
	nextID  uint64 // region ids
	nextPID uint64 // peer ids
	rng     *rand.Rand

	truth []CommittedRow // every committed row, in commit order

	pd      pdView
	pdQueue []pdUpdate // heartbeats PD has not heard yet, in order
	pdWake  chan struct{}

	scanLimit       int
	busyBackoffMs   uint64
	nextConnID      uint64
	storesClusterID uint64 // 0: same as clusterID
}

// CommittedRow is one row of the sim's ground truth.
type CommittedRow struct {
	Key      []byte // raw
	StartTs  uint64
	CommitTs uint64
	Op       cdcpb.Event_Row_OpType
	Value    []byte
}

type storeState struct {
	id        uint64
	addr      string
	up        bool
	hungUntil time.Time
	slowUntil time.Time
	slowDelay time.Duration
	busyUntil time.Time
	conns     map[*cdcConn]struct{}
	scans     chan *downstream // pending incremental scans
	pending   int              // len of scans as counted under mu
}

type region struct {
	id             uint64
	start, end     []byte // encoded; empty end = +inf
	epoch          metapb.RegionEpoch
	peers          []*metapb.Peer
	leader         *metapb.Peer
	keys           map[string]*mvccKey // by raw key
	locks          int                 // keys with a lock
	downstreams    []*downstream
	silencedUntil  time.Time
	congestedUntil time.Time
}

type mvccKey struct {
	raw    []byte
	enc    []byte
	lock   *mvccLock
	writes []mvccWrite // ascending commit ts
}

type mvccLock struct {
	startTs  uint64
	op       cdcpb.Event_Row_OpType
	value    []byte
	oldValue []byte
}

type mvccWrite struct {
	startTs, commitTs uint64
	op                cdcpb.Event_Row_OpType
	value             []byte
}

type pdUpdate struct {
	due    time.Time
	region *PDRegion // heartbeat of this region
}

// pdView is PD's belief about regions: sorted by start key, non-overlapping.
type pdView struct {
	regions []*PDRegion
}

// clusterConfig is what the model needs from sim.Config.
type clusterConfig struct {
	stores, regions int
	seed            int64
	pdLag           time.Duration
	scanLimit       int
	busyBackoffMs   uint64
	storesClusterID uint64
	now             func() time.Time
}

func newCluster(cfg clusterConfig) *Cluster {
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.scanLimit <= 0 {
		cfg.scanLimit = 10000
	}
	if cfg.busyBackoffMs == 0 {
		cfg.busyBackoffMs = 500
	}
	rng := rand.New(rand.NewSource(cfg.seed))
	c := &Cluster{
		clusterID:       7000000000000000000 + uint64(rng.Int63n(1e15)) + 1,
		tso:             newTSOOracle(cfg.now),
		now:             cfg.now,
		pdLag:           cfg.pdLag,
		byID:            make(map[uint64]*region, cfg.regions),
		rng:             rng,
		pdWake:          make(chan struct{}, 1),
		scanLimit:       cfg.scanLimit,
		busyBackoffMs:   cfg.busyBackoffMs,
		nextPID:         1_000_000,
		storesClusterID: cfg.storesClusterID,
	}
	for i := 0; i < cfg.stores; i++ {
		c.stores = append(c.stores, &storeState{
			id:    uint64(i + 1),
			conns: make(map[*cdcConn]struct{}),
			scans: make(chan *downstream, cfg.scanLimit+1),
		})
	}
	replicas := min(3, cfg.stores)
	n := cfg.regions
	c.regions = make([]*region, 0, n)
	for i := 0; i < n; i++ {
		r := &region{id: uint64(i + 1), epoch: metapb.RegionEpoch{ConfVer: 1, Version: 1}}
		if i > 0 {
			r.start = EncodeKey(posKey(int64(i) * (maxPos / int64(n))))
		}
		if i < n-1 {
			r.end = EncodeKey(posKey(int64(i+1) * (maxPos / int64(n))))
		}
		for k := 0; k < replicas; k++ {
			c.nextPID++
			r.peers = append(r.peers, &metapb.Peer{Id: c.nextPID, StoreId: uint64((i+k)%cfg.stores + 1)})
		}
		r.leader = r.peers[0]
		c.regions = append(c.regions, r)
		c.byID[r.id] = r
	}
	c.nextID = uint64(n + 1)
	for _, r := range c.regions {
		c.pd.regions = append(c.pd.regions, r.pdRegion())
	}
	return c
}

// ---- helpers on regions (caller holds mu) ----

func (r *region) meta() *metapb.Region {
	peers := make([]*metapb.Peer, len(r.peers))
	for i, p := range r.peers {
		cp := *p
		peers[i] = &cp
	}
	epoch := r.epoch
	return &metapb.Region{Id: r.id, StartKey: r.start, EndKey: r.end, RegionEpoch: &epoch, Peers: peers}
}

func (r *region) pdRegion() *PDRegion {
	var leader *metapb.Peer
	if r.leader != nil {
		cp := *r.leader
		leader = &cp
	}
	return &PDRegion{Meta: r.meta(), Leader: leader}
}

func (r *region) contains(enc []byte) bool {
	return bytes.Compare(enc, r.start) >= 0 && (len(r.end) == 0 || bytes.Compare(enc, r.end) < 0)
}

func (r *region) peerOn(store uint64) *metapb.Peer {
	for _, p := range r.peers {
		if p.StoreId == store {
			return p
		}
	}
	return nil
}

// regionIndex returns the index of the region containing enc.
func (c *Cluster) regionIndex(enc []byte) int {
	i := sort.Search(len(c.regions), func(i int) bool {
		e := c.regions[i].end
		return len(e) == 0 || bytes.Compare(enc, e) < 0
	})
	return i
}

func (c *Cluster) regionOf(enc []byte) *region {
	i := c.regionIndex(enc)
	if i >= len(c.regions) {
		return nil
	}
	return c.regions[i]
}

func (c *Cluster) store(id uint64) *storeState {
	if id == 0 || id > uint64(len(c.stores)) {
		return nil
	}
	return c.stores[id-1]
}

// ---- public read API ----

// ClusterID is the id PD and every store report.
func (c *Cluster) ClusterID() uint64 { return c.clusterID }

// storeClusterID is the cluster id the stores check requests against: the
// same as PD's, unless a test made them disagree (a --pd pointing at another
// cluster than its stores).
func (c *Cluster) storeClusterID() uint64 {
	if c.storesClusterID != 0 {
		return c.storesClusterID
	}
	return c.clusterID
}

// AllocTSO implements pdBackend.
func (c *Cluster) AllocTSO(count uint32) (int64, int64) { return c.tso.alloc(count) }

// CurrentTS returns a fresh timestamp.
func (c *Cluster) CurrentTS() uint64 { return c.tso.next() }

// StoreAddr returns the address of a store, "" if unknown.
func (c *Cluster) StoreAddr(id uint64) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.store(id); s != nil {
		return s.addr
	}
	return ""
}

// StoreIDs lists the store ids.
func (c *Cluster) StoreIDs() []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]uint64, len(c.stores))
	for i, s := range c.stores {
		ids[i] = s.id
	}
	return ids
}

// RegionInfo is the truth about one region, for tests and the executor.
type RegionInfo struct {
	ID          uint64
	Start, End  []byte // encoded
	Version     uint64
	ConfVer     uint64
	LeaderStore uint64
	LeaderPeer  uint64
	Stores      []uint64
}

// Regions returns the true region layout in key order.
func (c *Cluster) Regions() []RegionInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]RegionInfo, 0, len(c.regions))
	for _, r := range c.regions {
		out = append(out, r.info())
	}
	return out
}

// Region returns one region's truth.
func (c *Cluster) Region(id uint64) (RegionInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.byID[id]
	if !ok {
		return RegionInfo{}, false
	}
	return r.info(), true
}

// RegionCount is the number of regions.
func (c *Cluster) RegionCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.regions)
}

func (r *region) info() RegionInfo {
	ri := RegionInfo{ID: r.id, Start: r.start, End: r.end, Version: r.epoch.Version, ConfVer: r.epoch.ConfVer}
	if r.leader != nil {
		ri.LeaderStore, ri.LeaderPeer = r.leader.StoreId, r.leader.Id
	}
	for _, p := range r.peers {
		ri.Stores = append(ri.Stores, p.StoreId)
	}
	return ri
}

// CommittedRows calls fn for every committed row in commit order, under the
// model lock: fn must be quick and must not call back into the cluster.
func (c *Cluster) CommittedRows(fn func(CommittedRow)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.truth {
		fn(r)
	}
}

// CommittedCount is the number of committed rows so far.
func (c *Cluster) CommittedCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.truth)
}

// ---- PD view (pdBackend) ----

// RegionByKey implements pdBackend.
func (c *Cluster) RegionByKey(key []byte) *PDRegion {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.pd.index(key)
	if i < 0 {
		return nil
	}
	return c.pd.regions[i]
}

// PrevRegion implements pdBackend.
func (c *Cluster) PrevRegion(key []byte) *PDRegion {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := sort.Search(len(c.pd.regions), func(i int) bool {
		return bytes.Compare(c.pd.regions[i].Meta.StartKey, key) > 0
	}) - 1 // region containing key (or the one before a hole)
	if i < 0 {
		return nil
	}
	r := c.pd.regions[i]
	if !pdContains(r, key) {
		// key is in a hole: the previous region is the one before it
		return r
	}
	if i == 0 {
		return nil
	}
	return c.pd.regions[i-1]
}

// RegionByID implements pdBackend.
func (c *Cluster) RegionByID(id uint64) *PDRegion {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.pd.regions {
		if r.Meta.Id == id {
			return r
		}
	}
	return nil
}

// ScanRegions implements pdBackend.
func (c *Cluster) ScanRegions(start, end []byte, limit int) []*PDRegion {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := sort.Search(len(c.pd.regions), func(i int) bool {
		e := c.pd.regions[i].Meta.EndKey
		return len(e) == 0 || bytes.Compare(e, start) > 0
	})
	var out []*PDRegion
	for ; i < len(c.pd.regions); i++ {
		r := c.pd.regions[i]
		if len(end) > 0 && bytes.Compare(r.Meta.StartKey, end) >= 0 {
			break
		}
		out = append(out, r)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out
}

// Stores implements pdBackend.
func (c *Cluster) Stores() []*metapb.Store {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*metapb.Store, 0, len(c.stores))
	for _, s := range c.stores {
		out = append(out, &metapb.Store{
			Id:            s.id,
			Address:       s.addr,
			StatusAddress: s.addr,
			Version:       "8.5.0",
			State:         metapb.StoreState_Up,
			NodeState:     metapb.NodeState_Serving,
		})
	}
	return out
}

func pdContains(r *PDRegion, key []byte) bool {
	return bytes.Compare(key, r.Meta.StartKey) >= 0 && (len(r.Meta.EndKey) == 0 || bytes.Compare(key, r.Meta.EndKey) < 0)
}

func (v *pdView) index(key []byte) int {
	i := sort.Search(len(v.regions), func(i int) bool {
		e := v.regions[i].Meta.EndKey
		return len(e) == 0 || bytes.Compare(key, e) < 0
	})
	if i >= len(v.regions) || !pdContains(v.regions[i], key) {
		return -1
	}
	return i
}

// heartbeat applies what a region heartbeat tells PD: the region replaces
// every region it overlaps and any older copy of itself.
func (v *pdView) heartbeat(hb *PDRegion) {
	start, end := hb.Meta.StartKey, hb.Meta.EndKey
	out := v.regions[:0:0]
	out = slices.Grow(out, len(v.regions)+1)
	inserted := false
	for _, r := range v.regions {
		overlaps := (len(end) == 0 || bytes.Compare(r.Meta.StartKey, end) < 0) &&
			(len(r.Meta.EndKey) == 0 || bytes.Compare(r.Meta.EndKey, start) > 0)
		if overlaps || r.Meta.Id == hb.Meta.Id {
			if r.Meta.Id != hb.Meta.Id && r.Meta.RegionEpoch.Version > hb.Meta.RegionEpoch.Version {
				// PD ignores a heartbeat staler than what it has.
				return
			}
			continue
		}
		if !inserted && bytes.Compare(r.Meta.StartKey, start) > 0 {
			out = append(out, hb)
			inserted = true
		}
		out = append(out, r)
	}
	if !inserted {
		out = append(out, hb)
	}
	v.regions = out
}

// reportToPD queues a heartbeat that PD hears after the lag. Caller holds mu.
func (c *Cluster) reportToPD(r *region) {
	hb := r.pdRegion()
	if c.pdLag <= 0 {
		c.pd.heartbeat(hb)
		return
	}
	c.pdQueue = append(c.pdQueue, pdUpdate{due: c.now().Add(c.pdLag), region: hb})
	select {
	case c.pdWake <- struct{}{}:
	default:
	}
}

// runPDHeartbeats applies queued heartbeats when they are due, in order.
func (c *Cluster) runPDHeartbeats(done <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		c.mu.Lock()
		now := c.now()
		for len(c.pdQueue) > 0 && !c.pdQueue[0].due.After(now) {
			c.pd.heartbeat(c.pdQueue[0].region)
			c.pdQueue[0] = pdUpdate{}
			c.pdQueue = c.pdQueue[1:]
		}
		wait := time.Hour
		if len(c.pdQueue) > 0 {
			wait = c.pdQueue[0].due.Sub(now)
		}
		c.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-done:
			return
		case <-c.pdWake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		case <-timer.C:
		}
	}
}

// ---- region changes ----

// Split splits a region into `into` parts at evenly spaced row keys.
// Right-derive, like TiKV: the original id keeps the right-most range, and
// every resulting region gets version = old + number of new regions.
func (c *Cluster) Split(regionID uint64, into int) ([]RegionInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.byID[regionID]
	if !ok {
		return nil, fmt.Errorf("split: unknown region %d", regionID)
	}
	return c.splitLocked(r, into)
}

func (c *Cluster) splitLocked(r *region, into int) ([]RegionInfo, error) {
	if into < 2 {
		into = 2
	}
	lo, hi := boundPos(r.start, 0), boundPos(r.end, maxPos)
	if hi-lo < int64(into) {
		return nil, fmt.Errorf("split: region %d is too small to split into %d", r.id, into)
	}
	step := (hi - lo) / int64(into)
	bounds := make([][]byte, 0, into+1)
	bounds = append(bounds, r.start)
	for k := 1; k < into; k++ {
		bounds = append(bounds, EncodeKey(posKey(lo+int64(k)*step)))
	}
	bounds = append(bounds, r.end)

	newVersion := r.epoch.Version + uint64(into-1)
	parts := make([]*region, into)
	for k := 0; k < into; k++ {
		var p *region
		if k == into-1 {
			p = r // right-derive
		} else {
			p = &region{id: c.nextID, keys: nil}
			c.nextID++
			for _, peer := range r.peers {
				c.nextPID++
				np := &metapb.Peer{Id: c.nextPID, StoreId: peer.StoreId}
				p.peers = append(p.peers, np)
				if r.leader != nil && peer.StoreId == r.leader.StoreId {
					p.leader = np
				}
			}
			c.byID[p.id] = p
		}
		parts[k] = p
	}
	oldKeys := r.keys
	r.keys, r.locks = nil, 0
	for k, p := range parts {
		p.start, p.end = bounds[k], bounds[k+1]
		p.epoch = metapb.RegionEpoch{ConfVer: r.epoch.ConfVer, Version: newVersion}
	}
	for raw, mk := range oldKeys {
		for _, p := range parts {
			if p.contains(mk.enc) {
				if p.keys == nil {
					p.keys = make(map[string]*mvccKey)
				}
				p.keys[raw] = mk
				if mk.lock != nil {
					p.locks++
				}
				break
			}
		}
	}
	// Replace r in the sorted slice by the parts.
	i := slices.Index(c.regions, r)
	c.regions = slices.Replace(c.regions, i, i+1, parts...)

	metas := make([]*metapb.Region, len(parts))
	infos := make([]RegionInfo, len(parts))
	for k, p := range parts {
		metas[k] = p.meta()
		infos[k] = p.info()
	}
	c.failRegion(r, func(*downstream) *cdcpb.Error {
		return &cdcpb.Error{EpochNotMatch: epochNotMatch(metas)}
	})
	for _, p := range parts {
		c.reportToPD(p)
	}
	return infos, nil
}

// boundPos is the linear position of an encoded region boundary; an empty
// boundary maps to def (0 for a start, maxPos for an end).
func boundPos(enc []byte, def int64) int64 {
	if len(enc) == 0 {
		return def
	}
	raw, err := DecodeKey(enc)
	if err != nil {
		return def
	}
	p, ok := rawKeyPos(raw)
	if !ok {
		return def
	}
	return p
}

// Merge merges a region into its right neighbour (or its left one when it is
// the last region). Both get an empty EpochNotMatch, as TiKV sends on
// PrepareMerge and CommitMerge.
func (c *Cluster) Merge(regionID uint64) (RegionInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	src, ok := c.byID[regionID]
	if !ok {
		return RegionInfo{}, fmt.Errorf("merge: unknown region %d", regionID)
	}
	if len(c.regions) < 2 {
		return RegionInfo{}, fmt.Errorf("merge: region %d is the only region", regionID)
	}
	i := slices.Index(c.regions, src)
	var dst *region
	if i+1 < len(c.regions) {
		dst = c.regions[i+1]
		dst.start = src.start
	} else {
		dst = c.regions[i-1]
		dst.end = src.end
	}
	src.epoch.Version++
	src.epoch.ConfVer++
	dst.epoch.Version = max(src.epoch.Version, dst.epoch.Version) + 1
	for raw, mk := range src.keys {
		if dst.keys == nil {
			dst.keys = make(map[string]*mvccKey)
		}
		dst.keys[raw] = mk
		if mk.lock != nil {
			dst.locks++
		}
	}
	src.keys = nil
	c.regions = slices.Delete(c.regions, i, i+1)
	delete(c.byID, src.id)
	empty := func(*downstream) *cdcpb.Error { return &cdcpb.Error{EpochNotMatch: epochNotMatch(nil)} }
	c.failRegion(src, empty)
	c.failRegion(dst, empty)
	c.reportToPD(dst)
	return dst.info(), nil
}

// TransferLeader moves a region's leader to its peer on toStore (0: the next
// peer). Downstreams on the old leader get NotLeader with the new leader.
func (c *Cluster) TransferLeader(regionID, toStore uint64) (RegionInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.byID[regionID]
	if !ok {
		return RegionInfo{}, fmt.Errorf("transfer-leader: unknown region %d", regionID)
	}
	var to *metapb.Peer
	if toStore != 0 {
		to = r.peerOn(toStore)
		if to == nil {
			return RegionInfo{}, fmt.Errorf("transfer-leader: region %d has no peer on store %d", regionID, toStore)
		}
	} else {
		for k, p := range r.peers {
			if r.leader != nil && p.Id == r.leader.Id {
				to = r.peers[(k+1)%len(r.peers)]
				break
			}
		}
		if to == nil {
			to = r.peers[0]
		}
	}
	if r.leader != nil && r.leader.Id == to.Id {
		return r.info(), nil
	}
	r.leader = to
	hint := *to
	c.failRegion(r, func(*downstream) *cdcpb.Error {
		return &cdcpb.Error{NotLeader: notLeader(r.id, &hint)}
	})
	c.reportToPD(r)
	return r.info(), nil
}

// RandomRegion picks a region with the cluster's seeded source.
func (c *Cluster) RandomRegion(rng *rand.Rand) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.regions[rng.Intn(len(c.regions))].id
}

// ---- MVCC and transactions ----

// Mutation is one key written by a transaction.
type Mutation struct {
	Key   []byte // raw
	Op    cdcpb.Event_Row_OpType
	Value []byte
}

func (c *Cluster) keyFor(raw []byte, create bool) (*region, *mvccKey) {
	enc := EncodeKey(raw)
	r := c.regionOf(enc)
	if r == nil {
		return nil, nil
	}
	mk := r.keys[string(raw)]
	if mk == nil && create {
		if r.keys == nil {
			r.keys = make(map[string]*mvccKey)
		}
		mk = &mvccKey{raw: raw, enc: enc}
		r.keys[string(raw)] = mk
	}
	return r, mk
}

func (mk *mvccKey) latestValue() []byte {
	if n := len(mk.writes); n > 0 && mk.writes[n-1].op == cdcpb.Event_Row_PUT {
		return mk.writes[n-1].value
	}
	return nil
}

// Prewrite locks every mutation's key at startTs and streams PREWRITE rows.
// It returns the mutations it locked: keys already locked by another
// transaction are skipped (the sim has no conflict resolution).
func (c *Cluster) Prewrite(startTs uint64, muts []Mutation) []Mutation {
	c.mu.Lock()
	defer c.mu.Unlock()
	locked := muts[:0:0]
	for _, m := range muts {
		r, mk := c.keyFor(m.Key, true)
		if r == nil || mk.lock != nil {
			continue
		}
		mk.lock = &mvccLock{startTs: startTs, op: m.Op, value: m.Value, oldValue: mk.latestValue()}
		r.locks++
		locked = append(locked, m)
		c.emitRow(r, mk.enc, &cdcpb.Event_Row{
			StartTs: startTs, Type: cdcpb.Event_PREWRITE, OpType: m.Op,
			Key: m.Key, Value: m.Value, OldValue: mk.lock.oldValue,
		})
	}
	return locked
}

// Commit commits the locks of startTs on keys at commitTs.
func (c *Cluster) Commit(startTs, commitTs uint64, keys [][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		r, mk := c.keyFor(k, false)
		if mk == nil || mk.lock == nil || mk.lock.startTs != startTs {
			continue
		}
		l := mk.lock
		mk.lock = nil
		r.locks--
		mk.writes = append(mk.writes, mvccWrite{startTs: startTs, commitTs: commitTs, op: l.op, value: l.value})
		c.truth = append(c.truth, CommittedRow{Key: k, StartTs: startTs, CommitTs: commitTs, Op: l.op, Value: l.value})
		c.emitRow(r, mk.enc, &cdcpb.Event_Row{
			StartTs: startTs, CommitTs: commitTs, Type: cdcpb.Event_COMMIT, OpType: l.op, Key: k,
		})
	}
}

// Rollback removes the locks of startTs on keys.
func (c *Cluster) Rollback(startTs uint64, keys [][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		r, mk := c.keyFor(k, false)
		if mk == nil || mk.lock == nil || mk.lock.startTs != startTs {
			continue
		}
		mk.lock = nil
		r.locks--
		c.emitRow(r, mk.enc, &cdcpb.Event_Row{
			StartTs: startTs, Type: cdcpb.Event_ROLLBACK, OpType: cdcpb.Event_Row_UNKNOWN, Key: k,
		})
	}
}

// Commit1PC writes mutations in one phase. The commit ts is taken under the
// model lock, after every resolved ts already emitted, as TiKV guarantees with
// its concurrency manager's max ts.
func (c *Cluster) Commit1PC(muts []Mutation) (commitTs uint64, written int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	startTs := c.tso.next()
	commitTs = c.tso.next()
	for _, m := range muts {
		r, mk := c.keyFor(m.Key, true)
		if r == nil || mk.lock != nil {
			continue
		}
		old := mk.latestValue()
		mk.writes = append(mk.writes, mvccWrite{startTs: startTs, commitTs: commitTs, op: m.Op, value: m.Value})
		c.truth = append(c.truth, CommittedRow{Key: m.Key, StartTs: startTs, CommitTs: commitTs, Op: m.Op, Value: m.Value})
		c.emitRow(r, mk.enc, &cdcpb.Event_Row{
			StartTs: startTs, CommitTs: commitTs, Type: cdcpb.Event_COMMITTED, OpType: m.Op,
			Key: m.Key, Value: m.Value, OldValue: old,
		})
		written++
	}
	return commitTs, written
}

// RandomKeyIn returns a random raw row key inside a region, for faults that
// must write to a particular region.
func (c *Cluster) RandomKeyIn(regionID uint64, rng *rand.Rand) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.byID[regionID]
	if !ok {
		return nil, false
	}
	lo, hi := boundPos(r.start, 0), boundPos(r.end, maxPos)
	if hi <= lo {
		return nil, false
	}
	return posKey(lo + rng.Int63n(hi-lo)), true
}

// RandomKey returns a random raw row key anywhere in the workload's keyspace.
func RandomKey(rng *rand.Rand) []byte {
	return posKey(rng.Int63n(maxPos))
}

// ---- windows set by faults ----

// SetStoreHung makes a store keep its connections open but send nothing.
func (c *Cluster) SetStoreHung(store uint64, until time.Time) error {
	return c.withStore(store, func(s *storeState) { s.hungUntil = until })
}

// SetStoreSlow delays every message a store sends.
func (c *Cluster) SetStoreSlow(store uint64, delay time.Duration, until time.Time) error {
	return c.withStore(store, func(s *storeState) { s.slowDelay, s.slowUntil = delay, until })
}

// SetStoreBusy makes a store answer ServerIsBusy (with BackoffMs) to every
// registration, and fail its current downstreams with it once.
func (c *Cluster) SetStoreBusy(store uint64, until time.Time) error {
	return c.withStore(store, func(s *storeState) {
		s.busyUntil = until
		for conn := range s.conns {
			for _, ds := range conn.downstreams {
				c.failDownstream(ds, &cdcpb.Error{ServerIsBusy: c.busyError("store is busy (fault)")})
			}
		}
	})
}

func (c *Cluster) withStore(store uint64, fn func(*storeState)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.store(store)
	if s == nil {
		return fmt.Errorf("unknown store %d (stores are 1..%d)", store, len(c.stores))
	}
	fn(s)
	return nil
}

func (c *Cluster) withRegion(regionID uint64, fn func(*region)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.byID[regionID]
	if !ok {
		return fmt.Errorf("unknown region %d", regionID)
	}
	fn(r)
	return nil
}

// CongestRegion fails a region's downstreams with Congested and refuses new
// registrations with it until `until`.
func (c *Cluster) CongestRegion(regionID uint64, until time.Time) error {
	return c.withRegion(regionID, func(r *region) {
		r.congestedUntil = until
		c.failRegion(r, func(*downstream) *cdcpb.Error {
			return &cdcpb.Error{Congested: &cdcpb.Congested{RegionId: r.id}}
		})
	})
}

// SilenceRegion stops a region's resolved ts without any error until `until`
// (the silent stuck region of TiCDC #5096).
func (c *Cluster) SilenceRegion(regionID uint64, until time.Time) error {
	return c.withRegion(regionID, func(r *region) { r.silencedUntil = until })
}

// ClearFaultWindows ends every hang, slowness, busy, congestion and silence
// window now (stop-faults).
func (c *Cluster) ClearFaultWindows() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.stores {
		s.hungUntil, s.slowUntil, s.busyUntil = time.Time{}, time.Time{}, time.Time{}
	}
	for _, r := range c.regions {
		r.silencedUntil, r.congestedUntil = time.Time{}, time.Time{}
	}
}

func (c *Cluster) busyError(reason string) *errorpb.ServerIsBusy {
	return &errorpb.ServerIsBusy{Reason: reason, BackoffMs: c.busyBackoffMs}
}

// sortedKeys returns a region's keys inside [start, end) in key order.
func (c *Cluster) sortedKeys(r *region, start, end []byte) []*mvccKey {
	out := make([]*mvccKey, 0, len(r.keys))
	for _, mk := range r.keys {
		if bytes.Compare(mk.enc, start) >= 0 && (len(end) == 0 || bytes.Compare(mk.enc, end) < 0) {
			out = append(out, mk)
		}
	}
	slices.SortFunc(out, func(a, b *mvccKey) int { return bytes.Compare(a.enc, b.enc) })
	return out
}

// CommittedFrom calls fn for committed rows from index from on, in commit
// order, until fn returns false, and returns the index of the first row not
// consumed. It is the engine's ground-truth feed (engine.GroundTruth).
func (c *Cluster) CommittedFrom(from int, fn func(rawKey []byte, commitTs uint64) bool) int {
	c.mu.Lock()
	rows := c.truth[min(from, len(c.truth)):]
	c.mu.Unlock()
	// truth is append-only: the rows seen here never change, so fn runs
	// without the model lock.
	i := from
	for _, r := range rows {
		if !fn(r.Key, r.CommitTs) {
			break
		}
		i++
	}
	return i
}
