package sim

// One test per row of CONTRACT.md, each over real gRPC: what a real TiKV or
// PD of a given release sends for a fault verb or a version switch.

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/meta_storagepb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func hdr(c *Cluster) *pdpb.RequestHeader { return &pdpb.RequestHeader{ClusterId: c.ClusterID()} }

func pdCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// Row: busy-store → RegionNotFound on live regions (errors.rs into_error_event).
func TestContractBusyStoreLiveRegionNotFound(t *testing.T) {
	s := startSim(t, Config{Regions: 3})
	feeds := subscribeAll(t, s)
	ri, _ := s.Cluster().Region(2)
	apply(t, s, "at 0s busy-store "+itoa(ri.LeaderStore)+" for 2s")
	e := feeds[ri.LeaderStore].waitEvent(wait, isError(2))
	require.Equal(t, uint64(2), e.GetError().GetRegionNotFound().GetRegionId(), "got %v", e.GetError())
	require.Nil(t, e.GetError().GetServerIsBusy(), "ServerIsBusy is never sent mid-stream")
}

// Row: register beyond the pending-scan limit → ServerIsBusy with no
// BackoffMs (endpoint.rs on_register).
func TestContractServerIsBusyAtRegister(t *testing.T) {
	s := startSim(t, Config{Stores: 1, Regions: 4, PendingScanLimit: 2})
	c := s.Cluster()
	require.NoError(t, c.SetStoreBusy(1, time.Now().Add(time.Hour))) // scans wait
	f := openFeed(t, c.StoreAddr(1), feedOpts{})
	regions := c.Regions()
	for _, ri := range regions[:3] {
		f.send(registerReq(c, ri, 1, 0))
	}
	e := f.waitEvent(wait, isError(regions[2].ID))
	busy := e.GetError().GetServerIsBusy()
	require.NotNil(t, busy, "got %v", e.GetError())
	require.Equal(t, "too many pending incremental scans", busy.Reason)
	require.Zero(t, busy.BackoffMs)
	require.Equal(t, 2, c.pendingScans(1))
}

// rawStream is an EventFeedV2 stream whose events nobody reads: a slow
// client that holds its store's sink memory quota.
func rawStream(t *testing.T, addr string) grpc.BidiStreamingClient[cdcpb.ChangeDataRequest, cdcpb.ChangeDataEvent] {
	t.Helper()
	// Fixed small windows (no BDP growth): once 64 KiB are unread, the
	// store's sends block and its queue holds the quota.
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); _ = conn.Close() })
	ctx = metadata.AppendToOutgoingContext(ctx, featuresHeaderKey, featureMultiplex)
	stream, err := cdcpb.NewChangeDataClient(conn).EventFeedV2(ctx)
	require.NoError(t, err)
	return stream
}

// Row: the store-wide sink memory quota, exhausted by one slow client,
// congests another client's region (channel.rs Sink, delegate.rs).
func TestContractQuotaCongestsAnotherClient(t *testing.T) {
	s := startSim(t, Config{Stores: 1, Regions: 2, SinkMemoryQuota: 256 << 10})
	c := s.Cluster()
	regions := c.Regions()
	slow := rawStream(t, c.StoreAddr(1))
	require.NoError(t, slow.Send(registerReq(c, regions[0], 1, 0)))
	good := openFeed(t, c.StoreAddr(1), feedOpts{})
	good.send(registerReq(c, regions[1], 7, 0))
	good.waitInitialized(regions[1].ID)
	rng := newTestRand(1)
	big := make([]byte, 8<<10)
	// Fill the slow client's queue until the quota is gone.
	require.Eventually(t, func() bool {
		key, _ := c.RandomKeyIn(regions[0].ID, rng)
		c.Commit1PC([]Mutation{{Key: key, Op: putOp, Value: big}})
		// Until another 8 KiB row does not fit (the slow client's own
		// region is congested by then, and what it holds stays queued).
		return c.store(1).quotaUsed.Load() > 256<<10-rowBytes(&cdcpb.Event_Row{Key: key, Value: big})
	}, wait, time.Millisecond)
	for i := 0; i < 20; i++ {
		key, _ := c.RandomKeyIn(regions[1].ID, rng)
		c.Commit1PC([]Mutation{{Key: key, Op: putOp, Value: big}})
	}
	e := good.waitEvent(wait, isError(regions[1].ID))
	require.Equal(t, regions[1].ID, e.GetError().GetCongested().GetRegionId(), "got %v", e.GetError())
	require.Equal(t, uint64(7), e.RequestId)
}

// Row: congest-region (the sim's targeted variant of the quota) →
// Congested for that region only.
func TestContractCongestRegion(t *testing.T) {
	s := startSim(t, Config{Regions: 3})
	feeds := subscribeAll(t, s)
	ri, _ := s.Cluster().Region(2)
	apply(t, s, "at 0s congest-region 2 for 1s")
	e := feeds[ri.LeaderStore].waitEvent(wait, isError(2))
	require.Equal(t, uint64(2), e.GetError().GetCongested().GetRegionId(), "got %v", e.GetError())
}

// Rows: stop-store → Unavailable with no error events; during the election
// window a follower answers NotLeader with no leader; after the election the
// leader is on another store, PD learns it a pd lag later, and the restarted
// store has no leaders (NotLeader naming the new one).
func TestContractStoreCrashAndElection(t *testing.T) {
	s := startSim(t, Config{Regions: 3, ElectionTimeout: time.Hour, PDLag: 300 * time.Millisecond})
	c := s.Cluster()
	ri, _ := c.Region(1) // led by store 1, peers on 1, 2, 3
	require.Equal(t, uint64(1), ri.LeaderStore)
	f := openFeed(t, c.StoreAddr(1), feedOpts{})
	f.send(registerReq(c, ri, 1, 0))
	f.waitInitialized(1)
	apply(t, s, "at 0s stop-store 1")
	require.Equal(t, codes.Unavailable, status.Code(f.streamErr(wait)))

	follower := openFeed(t, c.StoreAddr(2), feedOpts{})
	follower.send(registerReq(c, ri, 1, 0))
	e := follower.waitEvent(wait, isError(1))
	require.NotNil(t, e.GetError().GetNotLeader(), "got %v", e.GetError())
	require.Nil(t, e.GetError().GetNotLeader().GetLeader(), "no leader is known during the election")

	c.ElectNow()
	after, _ := c.Region(1)
	require.Equal(t, uint64(2), after.LeaderStore)
	pd := pdRaw(t, s)
	resp, err := pd.GetRegionByID(pdCtx(t), &pdpb.GetRegionByIDRequest{Header: hdr(c), RegionId: 1})
	require.NoError(t, err)
	require.Equal(t, uint64(1), resp.Leader.GetStoreId(), "PD has not heard yet")
	require.Eventually(t, func() bool {
		resp, err := pd.GetRegionByID(pdCtx(t), &pdpb.GetRegionByIDRequest{Header: hdr(c), RegionId: 1})
		return err == nil && resp.Leader.GetStoreId() == 2
	}, wait, 20*time.Millisecond, "PD learns the new leader after the pd lag")

	apply(t, s, "at 0s start-store 1")
	back := openFeed(t, c.StoreAddr(1), feedOpts{})
	back.send(registerReq(c, after, 1, 0))
	e = back.waitEvent(wait, isError(1))
	require.Equal(t, uint64(2), e.GetError().GetNotLeader().GetLeader().GetStoreId(), "a restarted store has no leaders; got %v", e.GetError())
}

// Row: drain-store → NotLeader with the new leader for every region it
// led, then Unavailable (TiKV graceful shutdown evicts leaders first).
func TestContractDrainStore(t *testing.T) {
	s := startSim(t, Config{Regions: 6})
	feeds := subscribeAll(t, s)
	var led []uint64
	for _, ri := range s.Cluster().Regions() {
		if ri.LeaderStore == 1 {
			led = append(led, ri.ID)
		}
	}
	require.NotEmpty(t, led)
	apply(t, s, "at 0s drain-store 1")
	for _, id := range led {
		e := feeds[1].waitEvent(wait, isError(id))
		nl := e.GetError().GetNotLeader()
		require.NotNil(t, nl, "got %v", e.GetError())
		require.NotZero(t, nl.GetLeader().GetStoreId(), "a graceful shutdown names the new leader")
		require.NotEqual(t, uint64(1), nl.GetLeader().GetStoreId())
	}
	require.Equal(t, codes.Unavailable, status.Code(feeds[1].streamErr(wait)))
}

// Row: down and pending peers in PD's region answers during and after a
// store outage.
func TestContractDownAndPendingPeers(t *testing.T) {
	s := startSim(t, Config{Regions: 3, ElectionTimeout: 50 * time.Millisecond})
	c := s.Cluster()
	pd := pdRaw(t, s)
	require.NoError(t, s.StopStore(3))
	downIn := func(regions []*pdpb.Region) bool {
		for _, r := range regions {
			for _, d := range r.DownPeers {
				if d.Peer.GetStoreId() == 3 {
					return true
				}
			}
		}
		return false
	}
	require.Eventually(t, func() bool { return downIn(pdScan(t, s, pd)) }, wait, 20*time.Millisecond, "down peers on store 3")
	resp, err := pd.GetRegion(pdCtx(t), &pdpb.GetRegionRequest{Header: hdr(c), RegionKey: c.Regions()[0].Start})
	require.NoError(t, err)
	require.NotEmpty(t, resp.DownPeers, "GetRegion carries down peers too")
	require.NoError(t, s.StartStore(3))
	require.Eventually(t, func() bool {
		for _, r := range pdScan(t, s, pd) {
			for _, p := range r.PendingPeers {
				if p.GetStoreId() == 3 {
					return true
				}
			}
		}
		return false
	}, wait, 20*time.Millisecond, "a restarted store's peers are pending")
	require.Eventually(t, func() bool {
		for _, r := range pdScan(t, s, pd) {
			if len(r.PendingPeers) > 0 || len(r.DownPeers) > 0 {
				return false
			}
		}
		return true
	}, wait, 50*time.Millisecond, "and caught up a moment later")
}

// Row: remove-store → PD lists it Offline, then Tombstone (excluded on
// request); its downstreams get RegionNotFound.
func TestContractRemoveStore(t *testing.T) {
	s := startSim(t, Config{Stores: 4, Regions: 8, PDLag: 200 * time.Millisecond})
	c := s.Cluster()
	feeds := subscribeAll(t, s)
	pd := pdRaw(t, s)
	var onStore []uint64
	for _, ri := range c.Regions() {
		if ri.LeaderStore == 4 {
			onStore = append(onStore, ri.ID)
		}
	}
	require.NotEmpty(t, onStore)
	apply(t, s, "at 0s remove-store 4")
	e := feeds[4].waitEvent(wait, isError(onStore[0]))
	require.True(t, e.GetError().GetNotLeader() != nil || e.GetError().GetRegionNotFound() != nil, "got %v", e.GetError())
	store, err := pd.GetStore(pdCtx(t), &pdpb.GetStoreRequest{Header: hdr(c), StoreId: 4})
	require.NoError(t, err)
	require.Equal(t, metapb.StoreState_Offline, store.Store.State)
	require.Eventually(t, func() bool {
		store, err := pd.GetStore(pdCtx(t), &pdpb.GetStoreRequest{Header: hdr(c), StoreId: 4})
		return err == nil && store.Store.State == metapb.StoreState_Tombstone && store.Store.NodeState == metapb.NodeState_Removed
	}, wait, 20*time.Millisecond)
	all, err := pd.GetAllStores(pdCtx(t), &pdpb.GetAllStoresRequest{Header: hdr(c), ExcludeTombstoneStores: true})
	require.NoError(t, err)
	require.Len(t, all.Stores, 3)
	for _, ri := range c.Regions() {
		require.NotContains(t, ri.Stores, uint64(4), "region %d still has a peer on the removed store", ri.ID)
	}
}

// Row: pd-down → PD calls fail Unavailable; every store re-sends its last
// resolved ts without advancing (no TSO); nothing commits.
func TestContractPDDownFreezesResolvedTs(t *testing.T) {
	s := startSim(t, Config{Regions: 2, WriteRate: 500})
	c := s.Cluster()
	feeds := subscribeAll(t, s)
	f := feeds[c.Regions()[0].LeaderStore]
	f.waitResolved(wait, func(*cdcpb.ResolvedTs) bool { return true })
	apply(t, s, "at 0s pd-down for 1h")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err := pdRaw(t, s).GetMembers(ctx, &pdpb.GetMembersRequest{})
	cancel()
	require.Equal(t, codes.Unavailable, status.Code(err))
	drainFor(f, 150*time.Millisecond) // what was computed before
	committed := c.CommittedCount()
	first := f.waitResolved(wait, func(*cdcpb.ResolvedTs) bool { return true }).Ts
	for i := 0; i < 3; i++ {
		require.Equal(t, first, f.waitResolved(wait, func(*cdcpb.ResolvedTs) bool { return true }).Ts, "resolved ts is re-sent, not advanced")
	}
	require.Equal(t, committed, c.CommittedCount(), "nothing commits without TSO")
	require.NoError(t, s.PDUp())
	f.waitResolved(wait, func(r *cdcpb.ResolvedTs) bool { return r.Ts > first })
}

// Row: TiKV < 7.3 → EventFeedV2 Unimplemented (EventFeed still works).
func TestContractTiKV71NoEventFeedV2(t *testing.T) {
	s := startSim(t, Config{Stores: 1, Regions: 2, TiKVVersion: Version{7, 1, 0}})
	c := s.Cluster()
	f := openFeed(t, c.StoreAddr(1), feedOpts{})
	require.Equal(t, codes.Unimplemented, status.Code(f.streamErr(wait)))
	v1 := openFeed(t, c.StoreAddr(1), feedOpts{v1: true})
	v1.send(registerReq(c, c.Regions()[0], 1, 0))
	v1.waitInitialized(c.Regions()[0].ID)
}

// Row: TiKV 7.3 → a per-region Deregister removes the whole request id of
// the connection, with no error event; 7.4+ removes only that region and
// answers it with RegionNotFound (TestDeregister).
func TestContractTiKV73DeregisterWholeRequest(t *testing.T) {
	s := startSim(t, Config{Stores: 1, Regions: 3, TiKVVersion: Version{7, 3, 0}})
	c := s.Cluster()
	f := openFeed(t, c.StoreAddr(1), feedOpts{})
	regions := c.Regions()
	for _, ri := range regions {
		f.send(registerReq(c, ri, 1, 0))
	}
	other := regions[2]
	f.send(registerReq(c, other, 2, 0))
	f.waitInitialized(regions[0].ID, regions[1].ID, regions[2].ID)
	f.send(&cdcpb.ChangeDataRequest{
		Header: &cdcpb.Header{ClusterId: c.ClusterID(), TicdcVersion: testVersion}, RequestId: 1, RegionId: regions[0].ID,
		Request: &cdcpb.ChangeDataRequest_Deregister_{Deregister: &cdcpb.ChangeDataRequest_Deregister{}},
	})
	// Request id 1 is gone on every region, silently; request id 2 stays.
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for conn := range c.store(1).conns {
			for key := range conn.downstreams {
				if key.requestID == 1 {
					return false
				}
			}
			return len(conn.downstreams) == 1
		}
		return false
	}, wait, 5*time.Millisecond)
	rts := f.waitResolved(wait, func(r *cdcpb.ResolvedTs) bool { return r.RequestId == 2 })
	require.Equal(t, []uint64{other.ID}, rts.Regions)
	for _, e := range f.held {
		require.Nil(t, e.GetError(), "7.3 sends no error event on deregister")
	}
}

// Row: PD < 8.2 → BatchScanRegions Unimplemented; ScanRegions answers.
func TestContractPD81NoBatchScanRegions(t *testing.T) {
	s := startSim(t, Config{Regions: 4, PDVersion: Version{8, 1, 0}})
	c := s.Cluster()
	pd := pdRaw(t, s)
	_, err := pd.BatchScanRegions(pdCtx(t), &pdpb.BatchScanRegionsRequest{Header: hdr(c), Ranges: []*pdpb.KeyRange{{}}})
	require.Equal(t, codes.Unimplemented, status.Code(err))
	require.Len(t, pdScan(t, s, pd), 4)
}

// Row: every store reports --tikv-version through PD.
func TestContractStoreVersion(t *testing.T) {
	s := startSim(t, Config{Regions: 2, TiKVVersion: Version{7, 5, 1}})
	c := s.Cluster()
	resp, err := pdRaw(t, s).GetAllStores(pdCtx(t), &pdpb.GetAllStoresRequest{Header: hdr(c)})
	require.NoError(t, err)
	require.Len(t, resp.Stores, 3)
	for _, st := range resp.Stores {
		require.Equal(t, "7.5.1", st.Version)
	}
}

// Row: --tiflash → PD lists TiFlash stores with engine=tiflash; they lead
// nothing and serve no ChangeData.
func TestContractTiFlashStores(t *testing.T) {
	s := startSim(t, Config{Regions: 4, TiFlash: 2})
	c := s.Cluster()
	resp, err := pdRaw(t, s).GetAllStores(pdCtx(t), &pdpb.GetAllStoresRequest{Header: hdr(c)})
	require.NoError(t, err)
	require.Len(t, resp.Stores, 5)
	var flash []*metapb.Store
	for _, st := range resp.Stores {
		for _, l := range st.Labels {
			if l.Key == "engine" && l.Value == "tiflash" {
				flash = append(flash, st)
			}
		}
	}
	require.Len(t, flash, 2)
	for _, ri := range c.Regions() {
		require.NotContains(t, []uint64{flash[0].Id, flash[1].Id}, ri.LeaderStore)
	}
	f := openFeed(t, flash[0].Address, feedOpts{})
	require.Equal(t, codes.Unimplemented, status.Code(f.streamErr(wait)))
}

// Row: PD serves MetaStorage (Get answers with its header and no keys on a
// fresh cluster; Put then Get round-trips; Watch sees the change).
func TestContractMetaStorage(t *testing.T) {
	s := startSim(t, Config{Regions: 2})
	conn, err := grpc.NewClient(s.PDAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	ms := meta_storagepb.NewMetaStorageClient(conn)
	ctx := pdCtx(t)
	got, err := ms.Get(ctx, &meta_storagepb.GetRequest{Key: []byte("/ms/")})
	require.NoError(t, err)
	require.Equal(t, s.Cluster().ClusterID(), got.Header.ClusterId)
	require.Empty(t, got.Kvs)
	watch, err := ms.Watch(ctx, &meta_storagepb.WatchRequest{Key: []byte("/k"), RangeEnd: []byte{0}})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		s.pd.meta.mu.Lock()
		defer s.pd.meta.mu.Unlock()
		return len(s.pd.meta.watchers) == 1
	}, wait, 5*time.Millisecond)
	_, err = ms.Put(ctx, &meta_storagepb.PutRequest{Key: []byte("/k1"), Value: []byte("v")})
	require.NoError(t, err)
	ev, err := watch.Recv()
	require.NoError(t, err)
	require.Equal(t, "/k1", string(ev.Events[0].Kv.Key))
	got, err = ms.Get(ctx, &meta_storagepb.GetRequest{Key: []byte("/k1")})
	require.NoError(t, err)
	require.Equal(t, "v", string(got.Kvs[0].Value))
}

// Row: GetGCSafePoint → --gc-safepoint-lag behind the TSO clock.
func TestContractGCSafePoint(t *testing.T) {
	s := startSim(t, Config{Regions: 2, GCSafePointLag: 5 * time.Minute})
	c := s.Cluster()
	resp, err := pdRaw(t, s).GetGCSafePoint(pdCtx(t), &pdpb.GetGCSafePointRequest{Header: hdr(c)})
	require.NoError(t, err)
	behind := time.Since(TSPhysical(resp.SafePoint))
	require.InDelta(t, (5 * time.Minute).Seconds(), behind.Seconds(), 5)
}

// Row: --tso-offset → the TSO's physical time runs that far from the host's.
func TestContractTSOOffset(t *testing.T) {
	for _, off := range []time.Duration{30 * time.Second, -30 * time.Second} {
		s := startSim(t, Config{Regions: 2, TSOOffset: off})
		ts := s.Cluster().CurrentTS()
		require.InDelta(t, off.Seconds(), TSPhysical(ts).Sub(time.Now()).Seconds(), 2, "offset %s", off)
	}
}

// Row: interleaved scans → live rows flow once the snapshot is taken, so a
// live COMMIT (with its short value) can arrive before the scanned PREWRITE
// of its transaction, all before INITIALIZED.
func TestContractInterleavedScan(t *testing.T) {
	s := startSim(t, Config{Stores: 1, Regions: 1, InterleaveScan: true, ScanDelay: 400 * time.Millisecond})
	c := s.Cluster()
	ri := c.Regions()[0]
	rng := newTestRand(3)
	key, _ := c.RandomKeyIn(ri.ID, rng)
	start := c.CurrentTS()
	require.Len(t, c.Prewrite(start, []Mutation{{Key: key, Op: putOp, Value: []byte("val")}}), 1)
	// Enough other data that the scan has several batches.
	for i := 0; i < 400; i++ {
		k, _ := c.RandomKeyIn(ri.ID, rng)
		c.Commit1PC([]Mutation{{Key: k, Op: putOp, Value: make([]byte, 512)}})
	}
	f := openFeed(t, c.StoreAddr(1), feedOpts{})
	f.send(registerReq(c, ri, 1, 0))
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for conn := range c.store(1).conns {
			for _, ds := range conn.downstreams {
				if ds.initializing {
					return true
				}
			}
		}
		return false
	}, wait, time.Millisecond, "the snapshot is taken")
	c.Commit(start, c.CurrentTS(), [][]byte{key})
	var order []cdcpb.Event_LogType
	for done := false; !done; {
		e := f.waitEvent(wait, func(e *cdcpb.Event) bool { return e.GetEntries() != nil })
		for _, row := range e.GetEntries().GetEntries() {
			if string(row.Key) == string(key) && row.StartTs == start {
				order = append(order, row.Type)
				if row.Type == cdcpb.Event_COMMIT {
					require.Equal(t, "val", string(row.Value), "a COMMIT carries a short value")
				}
			}
			done = done || row.Type == cdcpb.Event_INITIALIZED
		}
	}
	require.Equal(t, []cdcpb.Event_LogType{cdcpb.Event_COMMIT, cdcpb.Event_PREWRITE}, order,
		"the live COMMIT overtakes the scanned PREWRITE")
}

// The table itself: every row of CONTRACT.md names a test that exists, and
// every version feature has a row.
func TestContractTableNamesRealTests(t *testing.T) {
	doc := readFile(t, "CONTRACT.md")
	src := readFile(t, "contract_test.go") + readFile(t, "cdc_server_test.go") + readFile(t, "faults_test.go")
	rows := 0
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| trigger") || strings.HasPrefix(line, "|--") {
			continue
		}
		cells := strings.Split(line, "|")
		for _, test := range strings.Split(cells[len(cells)-2], ",") {
			test = strings.Trim(strings.TrimSpace(test), "`")
			require.True(t, strings.HasPrefix(test, "Test"), "row without a test: %s", line)
			require.True(t, strings.Contains(src, "func "+test+"("), "row names a test that does not exist: %s", test)
		}
		rows++
	}
	require.GreaterOrEqual(t, rows, 20)
	for _, row := range VersionTable() {
		require.Contains(t, doc, string(row.Feature), "version feature %q has no row", row.Feature)
	}
	for _, v := range Verbs() {
		require.Contains(t, doc, "`"+string(v), "fault verb %q has no row", v)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	return string(b)
}

// Row: old values only when the request asks (ExtraOp ReadOldValue).
func TestContractOldValueOnlyWhenAsked(t *testing.T) {
	s := startSim(t, Config{Stores: 1, Regions: 1})
	c := s.Cluster()
	ri := c.Regions()[0]
	key, _ := c.RandomKeyIn(ri.ID, newTestRand(5))
	c.Commit1PC([]Mutation{{Key: key, Op: putOp, Value: []byte("first")}})
	f := openFeed(t, c.StoreAddr(1), feedOpts{})
	plain := registerReq(c, ri, 1, 0)
	withOld := registerReq(c, ri, 2, 0)
	withOld.ExtraOp = kvrpcpb.ExtraOp_ReadOldValue
	f.send(plain)
	f.send(withOld)
	f.waitEvent(wait, func(e *cdcpb.Event) bool { return e.RequestId == 1 && isInitialized(ri.ID)(e) })
	f.held = nil
	c.Commit1PC([]Mutation{{Key: key, Op: putOp, Value: []byte("second")}})
	got := map[uint64][]byte{}
	for len(got) < 2 {
		e := f.waitEvent(wait, func(e *cdcpb.Event) bool { return e.GetEntries() != nil })
		for _, row := range e.GetEntries().GetEntries() {
			if row.Type == cdcpb.Event_COMMITTED && string(row.Value) == "second" {
				got[e.RequestId] = row.OldValue
			}
		}
	}
	require.Nil(t, got[1], "no old value unless asked")
	require.Equal(t, "first", string(got[2]))
}
