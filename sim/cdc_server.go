package sim

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Limits TiKV applies to what it sends (reference §3.3, §3.8).
const (
	maxEntriesBytes   = 32 << 10 // rows packed into one Event.Entries
	maxEventsPerMsg   = 64       // events in one ChangeDataEvent
	maxMessageBytes   = 6 << 20  // one ChangeDataEvent
	featureMultiplex  = "stream-multiplexing"
	featuresHeaderKey = "features"
)

// cdcConn is one EventFeed stream on one store. Its downstreams map is
// guarded by Cluster.mu; its outgoing queue by qmu, so that rows can be queued
// while Cluster.mu is held and sent without it.
type cdcConn struct {
	id    uint64
	store *storeState
	v2    bool

	// Fixed by the first request (reference §3.1); guarded by Cluster.mu.
	featuresSet       bool
	multiplexing      bool
	batchResolved     bool
	validateClusterID bool
	downstreams       map[dsKey]*downstream
	closed            bool

	qmu      sync.Mutex
	queue    []outItem
	inFlight bool // items taken from queue and not yet sent
	notify   chan struct{}
	kill     chan error
}

type outItem struct {
	ev    *cdcpb.Event
	rts   *cdcpb.ResolvedTs
	at    time.Time // when it was queued, for slow-store latency
	bytes int64     // charged to the store's sink memory quota until sent
}

type dsKey struct{ requestID, regionID uint64 }

// downstream is one (request id, region) registration on one connection.
// Guarded by Cluster.mu.
type downstream struct {
	conn       *cdcConn
	key        dsKey
	region     *region // its region (resolved ts); never another while it is live
	start, end []byte  // observed range, encoded
	checkpoint uint64
	oldValue   bool // the request asked for old values (ExtraOp ReadOldValue)
	// priority is the initial-scan priority the request asked for (TiKV
	// schedules low-priority scans after the others; the sim only
	// records it, so tests can check what a client sends).
	priority cdcpb.ScanPriority
	// initializing: the scan's snapshot is taken and live rows flow while
	// the scan rows are still being sent (interleaving on).
	initializing bool
	normal       bool // scanned and INITIALIZED sent: live rows and resolved ts flow
	removed      bool
	resolvedTs   uint64
}

func (conn *cdcConn) push(it outItem) {
	it.at = time.Now()
	conn.qmu.Lock()
	conn.queue = append(conn.queue, it)
	conn.qmu.Unlock()
	select {
	case conn.notify <- struct{}{}:
	default:
	}
}

func (conn *cdcConn) setInFlight(v bool) {
	conn.qmu.Lock()
	conn.inFlight = v
	conn.qmu.Unlock()
}

// drain appends every queued item to buf.
func (conn *cdcConn) drain(buf []outItem) []outItem {
	conn.qmu.Lock()
	buf = append(buf, conn.queue...)
	clear(conn.queue)
	conn.queue = conn.queue[:0]
	conn.inFlight = len(buf) > 0
	conn.qmu.Unlock()
	return buf
}

func (ds *downstream) observes(enc []byte) bool {
	return bytes.Compare(enc, ds.start) >= 0 && (len(ds.end) == 0 || bytes.Compare(enc, ds.end) < 0)
}

func (ds *downstream) errorEvent(err *cdcpb.Error) outItem {
	return outItem{ev: &cdcpb.Event{RegionId: ds.key.regionID, RequestId: ds.key.requestID, Event: &cdcpb.Event_Error{Error: err}}}
}

// ---- row and error fan-out (caller holds Cluster.mu) ----

// emitRow queues a live row to every downstream of r whose scan snapshot
// is taken and that observes the key. A downstream still waiting for its
// snapshot misses it on purpose: the snapshot is taken later under the
// same lock and picks the row up from MVCC.
//
// Every row is charged to its store's sink memory quota until it is sent;
// when the quota is exhausted (by any client of the store: a slow one holds
// its queued rows), the region's whole delegate on that store fails with
// Congested, as TiKV's live path does (delegate.rs, channel.rs Sink).
func (c *Cluster) emitRow(r *region, enc []byte, row *cdcpb.Event_Row) {
	var congested *storeState
	var noOld *cdcpb.Event_Row // row without its old value, made once if needed
	for _, ds := range r.downstreams {
		if !(ds.normal || ds.initializing) || !ds.observes(enc) {
			continue
		}
		row := row
		if row.OldValue != nil && !ds.oldValue {
			// TiKV reads old values only for a request that asked.
			if noOld == nil {
				cp := *row
				cp.OldValue = nil
				noOld = &cp
			}
			row = noOld
		}
		size := rowBytes(row)
		if !c.charge(ds.conn.store, size) {
			congested = ds.conn.store
			continue
		}
		ds.conn.push(outItem{bytes: size, ev: &cdcpb.Event{
			RegionId:  r.id,
			RequestId: ds.key.requestID,
			Event:     &cdcpb.Event_Entries_{Entries: &cdcpb.Event_Entries{Entries: []*cdcpb.Event_Row{row}}},
		}})
	}
	if congested != nil {
		for _, ds := range append([]*downstream(nil), r.downstreams...) {
			if ds.conn.store == congested {
				c.failDownstream(ds, &cdcpb.Error{Congested: &cdcpb.Congested{RegionId: r.id}})
			}
		}
	}
}

// rowBytes is what a row costs the sink memory quota (TiKV charges the
// event's approximate size).
func rowBytes(row *cdcpb.Event_Row) int64 {
	return int64(64 + len(row.Key) + len(row.Value) + len(row.OldValue))
}

// charge takes n bytes of a store's sink memory quota; false if they do not
// fit.
func (c *Cluster) charge(s *storeState, n int64) bool {
	if s.quotaUsed.Add(n) > c.quota {
		s.quotaUsed.Add(-n)
		return false
	}
	return true
}

// quotaFull reports whether a store's sink memory quota is exhausted; TiKV
// then drops resolved ts silently.
func (c *Cluster) quotaFull(s *storeState) bool { return s.quotaUsed.Load() >= c.quota }

// failRegion sends an error to every downstream of r and forgets them: after
// an error nothing more is sent for that (region, request id).
func (c *Cluster) failRegion(r *region, errFor func(*downstream) *cdcpb.Error) {
	for _, ds := range r.downstreams {
		ds.removed = true
		delete(ds.conn.downstreams, ds.key)
		ds.conn.push(ds.errorEvent(errFor(ds)))
	}
	r.downstreams = nil
}

func (c *Cluster) failDownstream(ds *downstream, err *cdcpb.Error) {
	c.dropDownstream(ds)
	ds.conn.push(ds.errorEvent(err))
}

func (c *Cluster) dropDownstream(ds *downstream) {
	if ds.removed {
		return
	}
	ds.removed = true
	delete(ds.conn.downstreams, ds.key)
	if r := c.byID[ds.key.regionID]; r != nil {
		r.downstreams = slices.DeleteFunc(r.downstreams, func(d *downstream) bool { return d == ds })
	}
}

func epochNotMatch(current []*metapb.Region) *errorpb.EpochNotMatch {
	return &errorpb.EpochNotMatch{CurrentRegions: current}
}

func notLeader(regionID uint64, leader *metapb.Peer) *errorpb.NotLeader {
	return &errorpb.NotLeader{RegionId: regionID, Leader: leader}
}

// ---- connection lifecycle ----

func (c *Cluster) openConn(s *storeState, v2, multiplexing bool) (*cdcConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !s.up {
		return nil, status.Errorf(codes.Unavailable, "store %d is down", s.id)
	}
	c.nextConnID++
	conn := &cdcConn{
		id:           c.nextConnID,
		store:        s,
		v2:           v2,
		multiplexing: multiplexing,
		downstreams:  make(map[dsKey]*downstream),
		notify:       make(chan struct{}, 1),
		kill:         make(chan error, 1),
	}
	s.conns[conn] = struct{}{}
	return conn, nil
}

// closeConn silently drops every downstream of a connection, as TiKV does
// on Deregister::Conn, and gives back the quota its unsent rows held.
func (c *Cluster) closeConn(conn *cdcConn, held []outItem) {
	c.mu.Lock()
	defer c.mu.Unlock()
	conn.closed = true
	delete(conn.store.conns, conn)
	for _, ds := range conn.downstreams {
		c.dropDownstream(ds)
	}
	release(conn.store, conn.drain(held))
}

// release gives the quota of items back to their store.
func release(s *storeState, items []outItem) {
	var n int64
	for _, it := range items {
		n += it.bytes
	}
	if n != 0 {
		s.quotaUsed.Add(-n)
	}
}

// KillStreams fails every EventFeed stream of a store with the given code.
func (c *Cluster) KillStreams(store uint64, code codes.Code) error {
	return c.withStore(store, func(s *storeState) {
		for conn := range s.conns {
			select {
			case conn.kill <- status.Errorf(code, "stream killed by fault script on store %d", s.id):
			default:
			}
		}
	})
}

// ---- requests ----

// semver is a parsed ticdc_version; an invalid one is 0.0.0 (reference §3.1).
type semver struct{ major, minor, patch int }

func parseSemver(v string) semver {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return semver{}
	}
	var out [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return semver{}
		}
		out[i] = n
	}
	return semver{out[0], out[1], out[2]}
}

func (a semver) atLeast(major, minor, patch int) bool {
	if a.major != major {
		return a.major > major
	}
	if a.minor != minor {
		return a.minor > minor
	}
	return a.patch >= patch
}

var errNotifyTxnStatus = status.Error(codes.Internal, "NotifyTxnStatus is not supported: TiKV would panic on it (unreachable!)")

func (c *Cluster) handleRequest(conn *cdcConn, req *cdcpb.ChangeDataRequest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if conn.closed {
		return nil
	}
	if !conn.featuresSet {
		conn.featuresSet = true
		v := parseSemver(req.GetHeader().GetTicdcVersion())
		conn.batchResolved = v.atLeast(4, 0, 8)
		conn.validateClusterID = v.atLeast(5, 3, 0)
	}
	switch req.Request.(type) {
	case nil, *cdcpb.ChangeDataRequest_Register_:
		c.register(conn, req)
	case *cdcpb.ChangeDataRequest_Deregister_:
		c.deregister(conn, req)
	case *cdcpb.ChangeDataRequest_NotifyTxnStatus_:
		return errNotifyTxnStatus
	}
	return nil
}

func (c *Cluster) register(conn *cdcConn, req *cdcpb.ChangeDataRequest) {
	s := conn.store
	key := dsKey{requestID: req.RequestId, regionID: req.RegionId}
	c.scanPrioritiesAsked[req.ScanPriority]++
	reject := func(e *cdcpb.Error) {
		conn.push(outItem{ev: &cdcpb.Event{RegionId: req.RegionId, RequestId: req.RequestId, Event: &cdcpb.Event_Error{Error: e}}})
	}
	if conn.validateClusterID && req.GetHeader().GetClusterId() != c.storeClusterID() {
		reject(&cdcpb.Error{ClusterIdMismatch: &cdcpb.ClusterIDMismatch{Current: c.storeClusterID(), Request: req.GetHeader().GetClusterId()}})
		return
	}
	if req.KvApi != cdcpb.ChangeDataRequest_TiDB {
		reject(&cdcpb.Error{Compatibility: &cdcpb.Compatibility{RequiredVersion: "6.2.0"}})
		return
	}
	if s.pending >= c.scanLimit {
		reject(&cdcpb.Error{ServerIsBusy: busyError()})
		return
	}
	r := c.byID[req.RegionId]
	if r == nil || r.peerOn(s.id) == nil {
		reject(regionNotFound(req.RegionId))
		return
	}
	if _, dup := conn.downstreams[key]; dup {
		reject(&cdcpb.Error{DuplicateRequest: &cdcpb.DuplicateRequest{RegionId: req.RegionId}})
		return
	}
	if e := c.checkRegion(r, s, req.GetRegionEpoch()); e != nil {
		reject(e)
		return
	}
	ds := &downstream{conn: conn, key: key, region: r, checkpoint: req.CheckpointTs,
		oldValue: req.ExtraOp == kvrpcpb.ExtraOp_ReadOldValue, priority: req.ScanPriority}
	ds.start, ds.end = intersect(r.start, r.end, req.StartKey, req.EndKey)
	conn.downstreams[key] = ds
	r.downstreams = append(r.downstreams, ds)
	s.pending++
	s.scans <- ds // never blocks: capacity is scanLimit+1 and pending < scanLimit
}

// pendingScans is how many registrations of a store wait for or run their
// scan (tests).
func (c *Cluster) pendingScans(store uint64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.store(store).pending
}

// checkRegion is what TiKV's initializer checks before a scan: epoch
// version (conf_ver is ignored), leadership, and the congestion fault.
func (c *Cluster) checkRegion(r *region, s *storeState, epoch *metapb.RegionEpoch) *cdcpb.Error {
	if epoch == nil || epoch.Version == 0 || epoch.Version != r.epoch.Version {
		return &cdcpb.Error{EpochNotMatch: epochNotMatch([]*metapb.Region{r.meta()})}
	}
	if r.leader == nil || r.leader.StoreId != s.id {
		var hint *metapb.Peer
		if r.leader != nil {
			cp := *r.leader
			hint = &cp
		}
		return &cdcpb.Error{NotLeader: notLeader(r.id, hint)}
	}
	if r.congestedUntil.After(c.now()) {
		return &cdcpb.Error{Congested: &cdcpb.Congested{RegionId: r.id}}
	}
	return nil
}

// intersect returns the observed range: the request's range cut to the
// region. An empty request range means the whole region.
func intersect(rStart, rEnd, qStart, qEnd []byte) ([]byte, []byte) {
	start, end := rStart, rEnd
	if len(qStart) > 0 && bytes.Compare(qStart, start) > 0 {
		start = qStart
	}
	if len(qEnd) > 0 && (len(end) == 0 || bytes.Compare(qEnd, end) < 0) {
		end = qEnd
	}
	return start, end
}

func (c *Cluster) deregister(conn *cdcConn, req *cdcpb.ChangeDataRequest) {
	notFound := func(ds *downstream) {
		c.failDownstream(ds, regionNotFound(ds.key.regionID))
	}
	if !c.tikv.has(FeatureRegionDeregister) {
		// TiKV 7.3: every Deregister is Deregister::Request, removed with
		// no error event.
		for key, ds := range conn.downstreams {
			if key.requestID == req.RequestId {
				c.dropDownstream(ds)
			}
		}
		return
	}
	if req.RegionId != 0 {
		if ds := conn.downstreams[dsKey{req.RequestId, req.RegionId}]; ds != nil {
			notFound(ds)
		}
		return
	}
	for key, ds := range conn.downstreams {
		if key.requestID == req.RequestId {
			notFound(ds)
		}
	}
}

// ---- incremental scan ----

func (c *Cluster) runScans(s *storeState, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case ds := <-s.scans:
			if !c.waitNotBusy(s, done) {
				return
			}
			c.scan(s, ds, done)
		}
	}
}

// waitNotBusy holds a scan while its store's raftstore is busy (the
// read-index the scan needs does not come back); false when the sim closes.
func (c *Cluster) waitNotBusy(s *storeState, done <-chan struct{}) bool {
	for {
		c.mu.Lock()
		wait := s.busyUntil.Sub(c.now())
		c.mu.Unlock()
		if wait <= 0 {
			return true
		}
		t := time.NewTimer(min(wait, 50*time.Millisecond))
		select {
		case <-done:
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// scan takes the region's snapshot and sends its locks as PREWRITE rows and
// its writes newer than the checkpoint as COMMITTED rows, then exactly one
// INITIALIZED row; from then on the downstream gets resolved ts.
//
// Without interleaving, it all happens at once under the model lock, so no
// live row can come between. With it (as TiKV does: ch Drain::drain merges
// a bounded scan channel with the live one), live rows flow from the
// snapshot on while the scan rows are sent in batches over scanDelay, so a
// live COMMIT can arrive before the scanned PREWRITE of its transaction.
func (c *Cluster) scan(s *storeState, ds *downstream, done <-chan struct{}) {
	c.mu.Lock()
	finish := func() { // under mu
		s.pending--
		c.mu.Unlock()
	}
	if ds.removed {
		finish()
		return
	}
	r := c.byID[ds.key.regionID]
	if r == nil {
		c.failDownstream(ds, regionNotFound(ds.key.regionID))
		finish()
		return
	}
	batches := c.snapshot(r, ds)
	if !c.interleave {
		for _, b := range batches {
			if !c.pushScan(ds, b) {
				finish()
				return
			}
		}
		ds.normal = true
		finish()
		return
	}
	ds.initializing = true
	c.mu.Unlock()
	pause := c.scanDelay / time.Duration(len(batches)+1)
	for _, b := range batches {
		if !sleepOrDone(pause, done) {
			c.mu.Lock()
			finish()
			return
		}
		c.mu.Lock()
		if ds.removed || !c.pushScan(ds, b) {
			finish()
			return
		}
		c.mu.Unlock()
	}
	c.mu.Lock()
	if !ds.removed {
		ds.initializing, ds.normal = false, true
	}
	finish()
}

// sleepOrDone waits d (at least a scheduler yield, so other goroutines get
// between two scan batches); false when the sim closes.
func sleepOrDone(d time.Duration, done <-chan struct{}) bool {
	if d <= 0 {
		runtime.Gosched()
		select {
		case <-done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return false
	case <-t.C:
		return true
	}
}

// pushScan queues one batch of scan rows, charged to the store's quota; a
// batch that does not fit fails the downstream with Congested. Caller holds
// mu.
func (c *Cluster) pushScan(ds *downstream, rows []*cdcpb.Event_Row) bool {
	var size int64
	for _, row := range rows {
		size += rowBytes(row)
	}
	if !c.charge(ds.conn.store, size) {
		c.failDownstream(ds, &cdcpb.Error{Congested: &cdcpb.Congested{RegionId: ds.key.regionID}})
		return false
	}
	ds.conn.push(outItem{bytes: size, ev: &cdcpb.Event{
		RegionId: ds.key.regionID, RequestId: ds.key.requestID,
		Event: &cdcpb.Event_Entries_{Entries: &cdcpb.Event_Entries{Entries: rows}},
	}})
	return true
}

// snapshot returns the scan rows of a downstream in Entries-sized batches,
// the last one ending with INITIALIZED. Caller holds mu.
func (c *Cluster) snapshot(r *region, ds *downstream) [][]*cdcpb.Event_Row {
	var batches [][]*cdcpb.Event_Row
	var rows []*cdcpb.Event_Row
	size := 0
	add := func(row *cdcpb.Event_Row) {
		rows = append(rows, row)
		size += 48 + len(row.Key) + len(row.Value) + len(row.OldValue)
		if size >= maxEntriesBytes {
			batches = append(batches, rows)
			rows, size = nil, 0
		}
	}
	for _, mk := range c.sortedKeys(r, ds.start, ds.end) {
		if l := mk.lock; l != nil {
			var old []byte
			if ds.oldValue {
				old = l.oldValue
			}
			add(&cdcpb.Event_Row{StartTs: l.startTs, Type: cdcpb.Event_PREWRITE, OpType: l.op, Key: mk.raw, Value: l.value, OldValue: old})
		}
		for i := len(mk.writes) - 1; i >= 0; i-- {
			w := mk.writes[i]
			if w.commitTs <= ds.checkpoint {
				break
			}
			var old []byte
			if ds.oldValue && i > 0 && mk.writes[i-1].op == cdcpb.Event_Row_PUT {
				old = mk.writes[i-1].value
			}
			add(&cdcpb.Event_Row{StartTs: w.startTs, CommitTs: w.commitTs, Type: cdcpb.Event_COMMITTED, OpType: w.op, Key: mk.raw, Value: w.value, OldValue: old})
		}
	}
	add(&cdcpb.Event_Row{Type: cdcpb.Event_INITIALIZED})
	if len(rows) > 0 {
		batches = append(batches, rows)
	}
	return batches
}

// ---- resolved ts ----

func (c *Cluster) runResolvedTs(s *storeState, interval time.Duration, done <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			c.advanceResolvedTs(s)
		}
	}
}

// yieldEvery is how many downstreams advanceResolvedTs walks before it lets
// go of the model lock for a moment.
const yieldEvery = 4096

type regionTs struct {
	regionID uint64
	ts       uint64
}

// advanceResolvedTs computes, for every scanned downstream of the store,
// max(prev, min(lowest lock start ts in its range, TSO)) and queues it,
// batched the way TiKV batches (reference §3.4). Unchanged values are re-sent.
//
// The model lock is held only while the values are computed: sorting and
// queueing the batches of a store with hundreds of thousands of regions
// happens after, so scans and writes are not held up every second. That is
// safe: a row pushed meanwhile commits after the TSO read here, above every
// value sent.
func (c *Cluster) advanceResolvedTs(s *storeState) {
	type batch struct {
		conn  *cdcConn
		reqID uint64
		list  []regionTs
	}
	var later []batch
	defer func() {
		for _, b := range later {
			c.emitResolved(b.conn, b.reqID, b.list)
		}
	}()
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !s.up || s.hungUntil.After(now) || c.quotaFull(s) {
		return // a full quota drops resolved ts silently
	}
	var ts uint64
	if !c.pdDown {
		ts = c.tso.next()
	} // else: no TSO, min-ts falls back to 0 and the last values are re-sent
	n := 0
	silence := c.silencedTill.After(now)
	for conn := range s.conns {
		groups := make(map[uint64][]regionTs)
		var lastGroup uint64
		var last []regionTs // groups[lastGroup]: one request id per stream is the common case
		for _, ds := range conn.downstreams {
			if n++; n%yieldEvery == 0 {
				// Let scans, registrations and writes in: at a million
				// regions this walk takes a good part of a second per
				// store. Safe for the reason above: whatever commits
				// meanwhile commits above ts, and a lock taken meanwhile is
				// seen by the regions not yet walked.
				c.mu.Unlock()
				runtime.Gosched() // a waiter gets the lock, not this loop again
				c.mu.Lock()
			}
			if !ds.normal || ds.removed {
				continue
			}
			r := ds.region // a merge fails its downstreams: a live one's region is current
			if r == nil {
				r = c.byID[ds.key.regionID]
			}
			if r == nil || (silence && r.silencedUntil.After(now)) {
				continue
			}
			adv := ts
			if _, ok := c.locked[r]; ok {
				for _, mk := range r.keys {
					if mk.lock != nil && mk.lock.startTs < adv && ds.observes(mk.enc) {
						adv = mk.lock.startTs
					}
				}
			}
			if adv > ds.resolvedTs {
				ds.resolvedTs = adv
			}
			group := uint64(0)
			if conn.multiplexing {
				group = ds.key.requestID
			}
			if group != lastGroup || last == nil {
				if last != nil {
					groups[lastGroup] = last
				}
				lastGroup, last = group, groups[group]
				if last == nil {
					last = make([]regionTs, 0, len(conn.downstreams))
				}
			}
			last = append(last, regionTs{ds.key.regionID, ds.resolvedTs})
		}
		if last != nil {
			groups[lastGroup] = last
		}
		for reqID, list := range groups {
			if conn.batchResolved {
				later = append(later, batch{conn, reqID, list}) // after the unlock (deferred above)
			} else {
				c.emitResolved(conn, reqID, list) // looks at conn.downstreams: under the lock
			}
		}
	}
}

func (c *Cluster) emitResolved(conn *cdcConn, requestID uint64, list []regionTs) {
	if !conn.batchResolved {
		if conn.multiplexing {
			return // TiKV quirk: multiplexing without batch support emits nothing
		}
		for _, rt := range list {
			var reqID uint64
			for key := range conn.downstreams {
				if key.regionID == rt.regionID {
					reqID = key.requestID
					break
				}
			}
			conn.push(outItem{ev: &cdcpb.Event{RegionId: rt.regionID, RequestId: reqID, Event: &cdcpb.Event_ResolvedTs{ResolvedTs: rt.ts}}})
		}
		return
	}
	// Ties in region order: TiKV pops its heap of resolved regions in an
	// order that is stable from one round to the next (its region map does
	// not reshuffle), so a lock holds the same batch-mates every round.
	// Go's map order would pick other mates each round.
	slices.SortFunc(list, func(a, b regionTs) int {
		switch {
		case a.ts < b.ts:
			return -1
		case a.ts > b.ts:
			return 1
		}
		return cmp.Compare(a.regionID, b.regionID)
	})
	c.noteBatchMates(list)
	for size := 8; len(list) > 0; size *= 4 {
		n := min(size, len(list))
		ids := make([]uint64, n)
		for i := range n {
			ids[i] = list[i].regionID
		}
		conn.push(outItem{rts: &cdcpb.ResolvedTs{Regions: ids, Ts: list[0].ts, RequestId: requestID}})
		list = list[n:]
	}
}

// ---- gRPC service ----

// storeServer is one store's ChangeData gRPC server; Start and Stop may be
// called repeatedly (stop-store / start-store on the same address).
type storeServer struct {
	cluster   *Cluster
	store     *storeState
	logger    *zap.Logger
	tls       *tls.Config         // server TLS; nil serves plaintext. Set before Start.
	extraOpts []grpc.ServerOption // Config.ServerOptions (tests' interceptors)

	mu   sync.Mutex
	addr string
	srv  *grpc.Server
}

type cdcService struct {
	cdcpb.UnimplementedChangeDataServer
	ss *storeServer
}

func newStoreServer(c *Cluster, s *storeState, logger *zap.Logger) *storeServer {
	return &storeServer{cluster: c, store: s, logger: logger.With(zap.Uint64("store", s.id))}
}

// Start listens on addr (127.0.0.1:0 the first time, then the same address)
// and marks the store up.
func (ss *storeServer) Start(addr string) (string, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.srv != nil {
		return ss.addr, nil
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("store %d: listen on %s: %w", ss.store.id, addr, err)
	}
	opts := []grpc.ServerOption{
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Second, PermitWithoutStream: true}),
		grpc.MaxSendMsgSize(maxMessageBytes + (1 << 20)),
	}
	if ss.tls != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(ss.tls)))
	}
	srv := grpc.NewServer(append(opts, ss.extraOpts...)...)
	if !ss.store.tiflash { // TiFlash's proxy serves no ChangeData
		cdcpb.RegisterChangeDataServer(srv, &cdcService{ss: ss})
	}
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	ss.srv, ss.addr = srv, lis.Addr().String()
	ss.cluster.mu.Lock()
	ss.store.addr, ss.store.up = ss.addr, true
	ss.cluster.mu.Unlock()
	go func() { _ = srv.Serve(lis) }()
	return ss.addr, nil
}

// Stop kills the server hard: clients see Unavailable and no error events,
// like a crashed TiKV.
func (ss *storeServer) Stop() {
	ss.mu.Lock()
	srv := ss.srv
	ss.srv = nil
	ss.mu.Unlock()
	if srv == nil {
		return
	}
	ss.cluster.mu.Lock()
	ss.store.up = false
	ss.cluster.mu.Unlock()
	srv.Stop()
}

func (ss *storeServer) running() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.srv != nil
}

// EventFeed implements cdcpb.ChangeDataServer.
func (svc *cdcService) EventFeed(stream cdcpb.ChangeData_EventFeedServer) error {
	return svc.serve(stream, false)
}

// EventFeedV2 implements cdcpb.ChangeDataServer.
func (svc *cdcService) EventFeedV2(stream cdcpb.ChangeData_EventFeedV2Server) error {
	return svc.serve(stream, true)
}

type eventFeedStream interface {
	Send(*cdcpb.ChangeDataEvent) error
	Recv() (*cdcpb.ChangeDataRequest, error)
	Context() context.Context
}

func parseFeatures(ctx context.Context) (multiplexing bool, err error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(featuresHeaderKey)
	var unknown []string
	for _, v := range vals {
		for _, tok := range strings.Split(v, ",") {
			tok = strings.TrimSpace(tok)
			if tok == featureMultiplex {
				multiplexing = true
				continue
			}
			unknown = append(unknown, strconv.Quote(tok))
		}
	}
	if len(unknown) > 0 {
		return false, status.Errorf(codes.Unimplemented, "unknown features: %s", strings.Join(unknown, ", "))
	}
	return multiplexing, nil
}

func (svc *cdcService) serve(stream eventFeedStream, v2 bool) error {
	c, s := svc.ss.cluster, svc.ss.store
	ctx := stream.Context()
	multiplexing := false
	if v2 && !c.tikv.has(FeatureEventFeedV2) {
		// The method does not exist in this release's service.
		return status.Error(codes.Unimplemented, "unknown method EventFeedV2 for service cdcpb.ChangeData")
	}
	if v2 {
		var err error
		if multiplexing, err = parseFeatures(ctx); err != nil {
			return err
		}
	}
	conn, err := c.openConn(s, v2, multiplexing)
	if err != nil {
		return err
	}
	var held []outItem
	defer func() { c.closeConn(conn, held) }()

	recvErr := make(chan error, 1)
	go func() {
		for {
			req, err := stream.Recv()
			if err == nil {
				err = c.handleRequest(conn, req)
			}
			if err != nil {
				if errors.Is(err, errNotifyTxnStatus) {
					svc.ss.logger.Error("client sent NotifyTxnStatus; failing the stream as TiKV would panic")
				}
				recvErr <- err
				return
			}
		}
	}()

	// Items wait in `held` while the store is hung, or until their delay
	// has passed while it is slow, so a slow store adds latency to every
	// message instead of merely spacing them out.
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-recvErr:
			if err == io.EOF {
				return nil // client half-closed: subscriptions dropped silently
			}
			return err
		case err := <-conn.kill:
			return err
		case <-conn.notify:
		case <-timer.C:
		}
		held = conn.drain(held)
		now, hungUntil, delay := svc.sendPolicy()
		if hungUntil.After(now) {
			resetTimer(timer, min(hungUntil.Sub(now), 100*time.Millisecond))
			continue
		}
		n := len(held)
		if delay > 0 {
			n = 0
			for n < len(held) && !held[n].at.Add(delay).After(now) {
				n++
			}
		}
		if err := sendItems(stream, held[:n], s); err != nil {
			return err
		}
		held = append(held[:0], held[n:]...)
		conn.setInFlight(len(held) > 0)
		if len(held) > 0 {
			resetTimer(timer, held[0].at.Add(delay).Sub(now))
		}
	}
}

// sendPolicy reads the store's hang and slowness windows.
func (svc *cdcService) sendPolicy() (now, hungUntil time.Time, delay time.Duration) {
	c, s := svc.ss.cluster, svc.ss.store
	c.mu.Lock()
	defer c.mu.Unlock()
	now = c.now()
	if s.slowUntil.After(now) {
		delay = s.slowDelay
	}
	return now, s.hungUntil, delay
}

func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	t.Reset(max(d, 0))
}

// sendItems packs queued events into ChangeDataEvents of at most 64 events
// and 6 MiB; every ResolvedTs travels in its own ChangeDataEvent.
// Their quota is given back once each message is sent (a client that does
// not read holds it, as in TiKV); items not sent are left for closeConn.
func sendItems(stream eventFeedStream, items []outItem, s *storeState) error {
	var batch []*cdcpb.Event
	size := 0
	var charged int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := stream.Send(&cdcpb.ChangeDataEvent{Events: batch})
		batch, size = nil, 0
		s.quotaUsed.Add(-charged)
		charged = 0
		return err
	}
	for i := range items {
		it := items[i]
		items[i] = outItem{}
		charged += it.bytes
		if it.rts != nil {
			if err := flush(); err != nil {
				return err
			}
			if err := stream.Send(&cdcpb.ChangeDataEvent{ResolvedTs: it.rts}); err != nil {
				return err
			}
			continue
		}
		n := it.ev.Size()
		if len(batch) >= maxEventsPerMsg || (size+n > maxMessageBytes && len(batch) > 0) {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, it.ev)
		size += n
	}
	return flush()
}

// ScanningDownstreams is how many registrations of a region have their scan
// snapshot taken and are still sending scan rows (interleaving on): a test
// that must commit "during the scan" waits for it.
func (c *Cluster) ScanningDownstreams(regionID uint64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.byID[regionID]
	if r == nil {
		return 0
	}
	n := 0
	for _, ds := range r.downstreams {
		if ds.initializing {
			n++
		}
	}
	return n
}

// ScanPriorities are the initial-scan priorities the current
// registrations of a region asked for, one per registration (a region
// with two subscriptions over it has two).
func (c *Cluster) ScanPriorities(regionID uint64) []cdcpb.ScanPriority {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.byID[regionID]
	if r == nil {
		return nil
	}
	out := make([]cdcpb.ScanPriority, 0, len(r.downstreams))
	for _, ds := range r.downstreams {
		if !ds.removed {
			out = append(out, ds.priority)
		}
	}
	return out
}

// ScanPrioritiesAsked counts every registration request the stores
// received (accepted or not) by the initial-scan priority it asked for.
func (c *Cluster) ScanPrioritiesAsked() map[cdcpb.ScanPriority]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.scanPrioritiesAsked)
}

// PendingScans is how many registrations of a store wait for or run their
// initial scan: what TiKV compares with its pending-scan limit.
func (c *Cluster) PendingScans(store uint64) int { return c.pendingScans(store) }
