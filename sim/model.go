package sim

import (
	"bytes"
	"container/heap"
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
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
	// locked holds the regions with a lock (locks > 0), and silencedTill
	// is the latest end of a silence window: the resolved-ts walk over a
	// million downstreams looks at a region's record only when one of them
	// says it must (a record is a cache miss; these are not).
	locked       map[*region]struct{}
	silencedTill time.Time
	nextID       uint64 // region ids
	nextPID      uint64 // peer ids
	rng          *rand.Rand

	truth  truthLog
	faults *faultTruth // nil unless Config.KeepFaultTruth

	pd     pdView
	timers timerQueue // heartbeats PD has not heard yet, elections
	wake   chan struct{}

	scanLimit       int
	nextConnID      uint64
	storesClusterID uint64 // 0: same as clusterID
	electionTimeout time.Duration
	interleave      bool          // live rows flow while the scan runs
	scanDelay       time.Duration // how long a scan takes from snapshot to INITIALIZED (interleave only)
	quota           int64         // sink memory quota per store, bytes
	pdDown          bool          // PD unreachable: no TSO for resolved ts, no commits
	gcSafePointLag  time.Duration
	gcSafePoint     uint64
	tikv            releaseFeatures
	pdRelease       releaseFeatures
	tiflash         []*storeState
	// scanPrioritiesAsked counts registration requests by the scan
	// priority they asked for (ScanPrioritiesAsked).
	scanPrioritiesAsked map[cdcpb.ScanPriority]int
}

type storeState struct {
	id        uint64
	addr      string
	up        bool
	downSince time.Time // when it last stopped (zero while up)
	pendingTo time.Time // its peers catch up (are pending in PD) until then
	hungUntil time.Time
	slowUntil time.Time
	slowDelay time.Duration
	busyUntil time.Time
	conns     map[*cdcConn]struct{}
	scans     chan *downstream // pending incremental scans
	pending   int              // registrations whose scan has not finished, under mu
	quotaUsed atomic.Int64     // bytes queued to its connections and not yet sent
	tiflash   bool
	state     metapb.StoreState // as PD lists it: Up, Offline while being removed, Tombstone
}

type region struct {
	id             uint64
	start, end     []byte // encoded; empty end = +inf
	epoch          metapb.RegionEpoch
	peers          []*metapb.Peer
	leader         *metapb.Peer
	lostLeader     *metapb.Peer        // the leader its store's crash took away, until an election
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
	storesClusterID uint64
	now             func() time.Time
	tsoOffset       time.Duration
	electionTimeout time.Duration
	interleave      bool
	scanDelay       time.Duration
	quota           int64
	gcSafePointLag  time.Duration
	keepTruth       bool
	keepFaultTruth  bool
	truthRows       int
	tikvVersion     Version
	pdVersion       Version
	tiflash         int
}

func newCluster(cfg clusterConfig) *Cluster {
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.scanLimit <= 0 {
		cfg.scanLimit = 10000
	}
	if cfg.quota <= 0 {
		cfg.quota = DefaultSinkMemoryQuota
	}
	if cfg.truthRows <= 0 {
		cfg.truthRows = defaultTruthRows
	}
	if cfg.tikvVersion == (Version{}) {
		cfg.tikvVersion = DefaultVersion
	}
	if cfg.pdVersion == (Version{}) {
		cfg.pdVersion = DefaultVersion
	}
	hostNow, offset := cfg.now, cfg.tsoOffset
	rng := rand.New(rand.NewSource(cfg.seed))
	c := &Cluster{
		clusterID:           7000000000000000000 + uint64(rng.Int63n(1e15)) + 1,
		tso:                 newTSOOracle(func() time.Time { return hostNow().Add(offset) }),
		now:                 cfg.now,
		pdLag:               cfg.pdLag,
		byID:                make(map[uint64]*region, cfg.regions),
		locked:              map[*region]struct{}{},
		scanPrioritiesAsked: map[cdcpb.ScanPriority]int{},
		rng:                 rng,
		wake:                make(chan struct{}, 1),
		scanLimit:           cfg.scanLimit,
		nextPID:             1_000_000,
		storesClusterID:     cfg.storesClusterID,
		electionTimeout:     cfg.electionTimeout,
		interleave:          cfg.interleave,
		scanDelay:           cfg.scanDelay,
		quota:               cfg.quota,
		gcSafePointLag:      cfg.gcSafePointLag,
		truth:               truthLog{keep: cfg.keepTruth, maxRows: cfg.truthRows},
		tikv:                releaseFeatures{ComponentTiKV, cfg.tikvVersion},
		pdRelease:           releaseFeatures{ComponentPD, cfg.pdVersion},
	}
	if cfg.keepFaultTruth {
		c.faults = newFaultTruth()
	}
	for i := 0; i < cfg.stores; i++ {
		c.stores = append(c.stores, &storeState{
			id:    uint64(i + 1),
			conns: make(map[*cdcConn]struct{}),
			scans: make(chan *downstream, cfg.scanLimit+1),
			state: metapb.StoreState_Up,
		})
	}
	for i := 0; i < cfg.tiflash; i++ {
		// TiFlash stores hold learner replicas, never leaders, and serve no
		// ChangeData; PD lists them with the engine=tiflash label.
		c.tiflash = append(c.tiflash, &storeState{
			id: uint64(cfg.stores + i + 1), tiflash: true, up: true, state: metapb.StoreState_Up,
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
		c.pd.regions = append(c.pd.regions, c.pdRegionOf(r))
	}
	return c
}

// DefaultSinkMemoryQuota is TiKV's cdc.sink-memory-quota: what every CDC
// connection to one store may hold queued, together.
const DefaultSinkMemoryQuota = 512 << 20

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

// pdRegionOf is what a heartbeat of r tells PD now: its meta, its leader,
// and which of its peers are down (their store stopped) or pending (their
// store is catching up after a restart). Caller holds mu.
func (c *Cluster) pdRegionOf(r *region) *PDRegion {
	var leader *metapb.Peer
	if r.leader != nil {
		cp := *r.leader
		leader = &cp
	}
	out := &PDRegion{Meta: r.meta(), Leader: leader}
	now := c.now()
	for _, p := range r.peers {
		s := c.store(p.StoreId)
		if s == nil {
			continue
		}
		cp := *p
		switch {
		case !s.up && !s.downSince.IsZero():
			out.DownPeers = append(out.DownPeers, DownPeer{Peer: &cp, DownSeconds: uint64(now.Sub(s.downSince) / time.Second)})
		case s.pendingTo.After(now):
			out.PendingPeers = append(out.PendingPeers, &cp)
		}
	}
	return out
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

// HasPDFeature implements pdBackend.
func (c *Cluster) HasPDFeature(f Feature) bool { return c.pdRelease.has(f) }

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

// Stores implements pdBackend: TiKV stores report --tikv-version, TiFlash
// stores their own release with the engine=tiflash label, as PD lists
// them. A stopped store is still Up: PD marks it Down only after
// max-store-down-time (30 min), and clients must not rely on it.
func (c *Cluster) Stores() []*metapb.Store {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*metapb.Store, 0, len(c.stores)+len(c.tiflash))
	for _, s := range append(append([]*storeState(nil), c.stores...), c.tiflash...) {
		st := &metapb.Store{
			Id:            s.id,
			Address:       s.addr,
			StatusAddress: s.addr,
			Version:       c.tikv.version.String(),
			State:         s.state,
			NodeState:     nodeStateOf(s.state),
		}
		if s.tiflash {
			st.Labels = []*metapb.StoreLabel{{Key: "engine", Value: "tiflash"}}
			st.Version = "v" + c.tikv.version.String() // TiFlash reports a v-prefixed release
		}
		out = append(out, st)
	}
	return out
}

// nodeStateOf is PD's newer NodeState for a legacy StoreState.
func nodeStateOf(s metapb.StoreState) metapb.NodeState {
	switch s {
	case metapb.StoreState_Offline:
		return metapb.NodeState_Removing
	case metapb.StoreState_Tombstone:
		return metapb.NodeState_Removed
	}
	return metapb.NodeState_Serving
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
	hb := c.pdRegionOf(r)
	if c.pdLag <= 0 {
		c.pd.heartbeat(hb)
		return
	}
	c.after(c.pdLag, func() { c.pd.heartbeat(hb) })
}

// after runs fn under mu once d has passed (on the timer goroutine). Caller
// holds mu.
func (c *Cluster) after(d time.Duration, fn func()) {
	c.timers.push(c.now().Add(d), fn)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// runTimers runs due timed events (PD heartbeats, elections) in due order,
// each under mu.
func (c *Cluster) runTimers(done <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		c.mu.Lock()
		now := c.now()
		for fn := c.timers.popDue(now); fn != nil; fn = c.timers.popDue(now) {
			fn()
		}
		wait := time.Hour
		if due, ok := c.timers.next(); ok {
			wait = due.Sub(now)
		}
		c.mu.Unlock()
		resetTimer(timer, wait)
		select {
		case <-done:
			return
		case <-c.wake:
		case <-timer.C:
		}
	}
}

// timerQueue is a min-heap of timed events by due time; ties run in the
// order they were queued, so heartbeats reach PD in the order sent.
type timerQueue struct {
	items []timedEvent
	seq   uint64
}

type timedEvent struct {
	due time.Time
	seq uint64
	fn  func()
}

func (q *timerQueue) Len() int { return len(q.items) }
func (q *timerQueue) Less(i, j int) bool {
	a, b := q.items[i], q.items[j]
	if !a.due.Equal(b.due) {
		return a.due.Before(b.due)
	}
	return a.seq < b.seq
}
func (q *timerQueue) Swap(i, j int) { q.items[i], q.items[j] = q.items[j], q.items[i] }
func (q *timerQueue) Push(x any)    { q.items = append(q.items, x.(timedEvent)) }
func (q *timerQueue) Pop() any {
	n := len(q.items) - 1
	it := q.items[n]
	q.items[n] = timedEvent{}
	q.items = q.items[:n]
	return it
}

func (q *timerQueue) push(due time.Time, fn func()) {
	q.seq++
	heap.Push(q, timedEvent{due: due, seq: q.seq, fn: fn})
}

func (q *timerQueue) popDue(now time.Time) func() {
	if len(q.items) == 0 || q.items[0].due.After(now) {
		return nil
	}
	return heap.Pop(q).(timedEvent).fn
}

func (q *timerQueue) next() (time.Time, bool) {
	if len(q.items) == 0 {
		return time.Time{}, false
	}
	return q.items[0].due, true
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
	delete(c.locked, r)
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
					c.locked[p] = struct{}{}
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
			c.locked[dst] = struct{}{}
		}
	}
	src.keys = nil
	delete(c.locked, src)
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
		if s := c.store(toStore); !s.up {
			return RegionInfo{}, fmt.Errorf("transfer-leader: region %d: store %d is down", regionID, toStore)
		}
	} else {
		// The next peer after the leader whose store is up.
		k0 := 0
		for k, p := range r.peers {
			if r.leader != nil && p.Id == r.leader.Id {
				k0 = k + 1
				break
			}
		}
		for i := range r.peers {
			p := r.peers[(k0+i)%len(r.peers)]
			if s := c.store(p.StoreId); s != nil && s.up {
				to = p
				break
			}
		}
		if to == nil {
			return RegionInfo{}, fmt.Errorf("transfer-leader: region %d has no peer on a store that is up", regionID)
		}
	}
	if r.leader != nil && r.leader.Id == to.Id {
		return r.info(), nil
	}
	c.moveLeader(r, to)
	return r.info(), nil
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
		c.locked[r] = struct{}{}
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
		if r.locks--; r.locks == 0 {
			delete(c.locked, r)
		}
		mk.writes = append(mk.writes, mvccWrite{startTs: startTs, commitTs: commitTs, op: l.op, value: l.value})
		c.truth.add(k, commitTs)
		row := &cdcpb.Event_Row{StartTs: startTs, CommitTs: commitTs, Type: cdcpb.Event_COMMIT, OpType: l.op, Key: k}
		if len(l.value) <= maxShortValue {
			// TiKV inlines a short value in the write record, and the
			// COMMIT row carries it (delegate.rs decode_write).
			row.Value = l.value
		}
		c.emitRow(r, mk.enc, row)
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
		if r.locks--; r.locks == 0 {
			delete(c.locked, r)
		}
		c.emitRow(r, mk.enc, &cdcpb.Event_Row{
			StartTs: startTs, Type: cdcpb.Event_ROLLBACK, OpType: cdcpb.Event_Row_UNKNOWN, Key: k,
		})
	}
}

// maxShortValue is TiKV's SHORT_VALUE_MAX_LEN: values up to it live in the
// write record, so a COMMIT row carries them.
const maxShortValue = 255

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
		c.truth.add(m.Key, commitTs)
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

// SetStoreBusy makes a store's raftstore busy until `until`, as TiKV sees
// it: every region it serves fails with RegionNotFound (TiKV turns every
// raftstore error but NotLeader and EpochNotMatch into it, errors.rs
// into_error_event), and new registrations wait for their scan (the
// read-index behind it stalls) so that, beyond the pending-scan limit, they
// are refused with ServerIsBusy (endpoint.rs on_register).
func (c *Cluster) SetStoreBusy(store uint64, until time.Time) error {
	return c.withStore(store, func(s *storeState) {
		s.busyUntil = until
		for conn := range s.conns {
			for _, ds := range conn.downstreams {
				c.failDownstream(ds, regionNotFound(ds.key.regionID))
			}
		}
	})
}

func regionNotFound(regionID uint64) *cdcpb.Error {
	return &cdcpb.Error{RegionNotFound: &errorpb.RegionNotFound{RegionId: regionID}}
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
	return c.withRegion(regionID, func(r *region) {
		r.silencedUntil = until
		if until.After(c.silencedTill) {
			c.silencedTill = until
		}
	})
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
	c.silencedTill = time.Time{}
}

// busyError is TiKV's only ServerIsBusy to a CDC client: at register, with
// no BackoffMs.
func busyError() *errorpb.ServerIsBusy {
	return &errorpb.ServerIsBusy{Reason: "too many pending incremental scans"}
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
