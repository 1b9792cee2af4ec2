package sim

import (
	"bytes"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const wait = 5 * time.Second

// committedRow is one row a test committed.
type committedRow struct {
	Key      []byte // raw
	StartTs  uint64
	CommitTs uint64
}

// commitRows commits n one-row 2PC transactions into a region and returns
// their commit timestamps.
func commitRows(t *testing.T, c *Cluster, regionID uint64, n int, seed int64) []committedRow {
	t.Helper()
	rng := newTestRand(seed)
	var rows []committedRow
	for i := 0; i < n; i++ {
		key, ok := c.RandomKeyIn(regionID, rng)
		require.True(t, ok)
		start := c.CurrentTS()
		require.Len(t, c.Prewrite(start, []Mutation{{Key: key, Op: putOp, Value: []byte{byte(i)}}}), 1)
		commit := c.CurrentTS()
		c.Commit(start, commit, [][]byte{key})
		rows = append(rows, committedRow{Key: key, StartTs: start, CommitTs: commit})
	}
	return rows
}

// Behaviour 13: scan rows (PREWRITE for locks, COMMITTED for commits newer
// than the checkpoint), then exactly one INITIALIZED as the last scan row,
// before any resolved ts covering the region.
func TestRegisterScansThenInitializedBeforeResolvedTs(t *testing.T) {
	s := startSim(t, Config{})
	c := s.Cluster()
	ri, _ := c.Region(3)
	old := commitRows(t, c, ri.ID, 3, 1)
	checkpoint := old[len(old)-1].CommitTs // rows up to here are not re-sent
	fresh := commitRows(t, c, ri.ID, 4, 2)
	lockKey, _ := c.RandomKeyIn(ri.ID, newTestRand(3))
	lockTs := c.CurrentTS()
	require.Len(t, c.Prewrite(lockTs, []Mutation{{Key: lockKey, Op: putOp, Value: []byte("x")}}), 1)

	f := openFeed(t, leaderAddr(s, ri), feedOpts{})
	f.send(registerReq(c, ri, 7, checkpoint))

	var committed, prewrites, initialized int
	var lastKey []byte
	for initialized == 0 {
		ev := f.next(wait)
		if ev.ResolvedTs != nil {
			require.False(t, containsRegion(ev.ResolvedTs.Regions, ri.ID), "resolved ts before INITIALIZED")
			continue
		}
		for _, e := range ev.Events {
			require.Equal(t, ri.ID, e.RegionId)
			require.Equal(t, uint64(7), e.RequestId)
			for _, row := range e.GetEntries().GetEntries() {
				require.Zero(t, initialized, "row after INITIALIZED")
				switch row.Type {
				case cdcpb.Event_COMMITTED:
					require.Greater(t, row.CommitTs, checkpoint)
					committed++
				case cdcpb.Event_PREWRITE:
					require.Equal(t, lockTs, row.StartTs)
					prewrites++
				case cdcpb.Event_INITIALIZED:
					initialized++
					continue
				default:
					t.Fatalf("unexpected scan row type %v", row.Type)
				}
				require.True(t, lastKey == nil || bytes.Compare(lastKey, row.Key) <= 0, "scan rows out of key order")
				lastKey = row.Key
			}
		}
	}
	require.Equal(t, len(fresh), committed)
	require.Equal(t, 1, prewrites)
	// Then resolved ts arrive for it, pinned at or below the lock.
	rts := f.waitResolved(wait, func(r *cdcpb.ResolvedTs) bool { return containsRegion(r.Regions, ri.ID) })
	require.LessOrEqual(t, rts.Ts, lockTs)
	require.Equal(t, uint64(7), rts.RequestId)
}

// Behaviour 11: a duplicate (request id, region) is refused; the same
// region under another request id is accepted.
func TestDuplicateRequest(t *testing.T) {
	s := startSim(t, Config{})
	c := s.Cluster()
	ri, _ := c.Region(2)
	f := openFeed(t, leaderAddr(s, ri), feedOpts{})
	f.send(registerReq(c, ri, 1, 0))
	f.waitEvent(wait, isInitialized(ri.ID))
	f.send(registerReq(c, ri, 1, 0))
	e := f.waitEvent(wait, isError(ri.ID))
	require.NotNil(t, e.GetError().GetDuplicateRequest(), "got %v", e.GetError())
	require.Equal(t, ri.ID, e.GetError().GetDuplicateRequest().RegionId)
	f.send(registerReq(c, ri, 2, 0))
	e = f.waitEvent(wait, func(e *cdcpb.Event) bool { return e.RequestId == 2 && (isInitialized(ri.ID)(e) || e.GetError() != nil) })
	require.Nil(t, e.GetError())
}

// Behaviour 12: region_not_found on a store without the region, not_leader
// with the leader peer on a follower, epoch_not_match with the current
// region for a stale or zero version.
func TestRegisterRegionErrors(t *testing.T) {
	s := startSim(t, Config{Stores: 4})
	c := s.Cluster()
	ri, _ := c.Region(1)
	var absent, follower uint64
	for _, id := range c.StoreIDs() {
		switch {
		case !containsRegion(ri.Stores, id):
			absent = id
		case id != ri.LeaderStore:
			follower = id
		}
	}
	require.NotZero(t, absent)
	require.NotZero(t, follower)

	f := openFeed(t, c.StoreAddr(absent), feedOpts{})
	f.send(registerReq(c, ri, 1, 0))
	e := f.waitEvent(wait, isError(ri.ID))
	require.Equal(t, ri.ID, e.GetError().GetRegionNotFound().GetRegionId(), "got %v", e.GetError())

	f = openFeed(t, c.StoreAddr(follower), feedOpts{})
	f.send(registerReq(c, ri, 1, 0))
	e = f.waitEvent(wait, isError(ri.ID))
	nl := e.GetError().GetNotLeader()
	require.NotNil(t, nl, "got %v", e.GetError())
	require.Equal(t, ri.LeaderStore, nl.GetLeader().GetStoreId())
	require.Equal(t, ri.LeaderPeer, nl.GetLeader().GetId())

	f = openFeed(t, leaderAddr(s, ri), feedOpts{})
	for i, version := range []uint64{0, ri.Version + 5} {
		req := registerReq(c, ri, uint64(10+i), 0)
		req.RegionEpoch = &metapb.RegionEpoch{Version: version, ConfVer: ri.ConfVer}
		f.send(req)
		e = f.waitEvent(wait, isError(ri.ID))
		enm := e.GetError().GetEpochNotMatch()
		require.NotNil(t, enm, "version %d: got %v", version, e.GetError())
		require.Len(t, enm.CurrentRegions, 1)
		require.Equal(t, ri.Version, enm.CurrentRegions[0].RegionEpoch.Version)
	}
	// conf_ver is ignored, as in TiKV.
	req := registerReq(c, ri, 20, 0)
	req.RegionEpoch.ConfVer += 3
	f.send(req)
	e = f.waitEvent(wait, func(e *cdcpb.Event) bool { return e.RequestId == 20 })
	require.Nil(t, e.GetError())
}

// Behaviour 9 and 10: cluster id is checked from version 5.3.0 on; a non-TiDB
// kv_api gets Compatibility.
func TestClusterIDAndCompatibility(t *testing.T) {
	s := startSim(t, Config{})
	c := s.Cluster()
	ri, _ := c.Region(1)
	f := openFeed(t, leaderAddr(s, ri), feedOpts{})
	req := registerReq(c, ri, 1, 0)
	req.Header.ClusterId = 42
	f.send(req)
	e := f.waitEvent(wait, isError(ri.ID))
	mm := e.GetError().GetClusterIdMismatch()
	require.NotNil(t, mm, "got %v", e.GetError())
	require.Equal(t, c.ClusterID(), mm.Current)
	require.Equal(t, uint64(42), mm.Request)

	old := openFeed(t, leaderAddr(s, ri), feedOpts{})
	req = registerReq(c, ri, 1, 0)
	req.Header = &cdcpb.Header{ClusterId: 42, TicdcVersion: "5.2.0"}
	old.send(req)
	e = old.waitEvent(wait, func(e *cdcpb.Event) bool { return e.RegionId == ri.ID })
	require.Nil(t, e.GetError(), "a pre-5.3.0 client is not cluster-checked")

	req = registerReq(c, ri, 2, 0)
	req.KvApi = cdcpb.ChangeDataRequest_RawKV
	f.send(req)
	e = f.waitEvent(wait, func(e *cdcpb.Event) bool { return e.RequestId == 2 && e.GetError() != nil })
	require.Equal(t, "6.2.0", e.GetError().GetCompatibility().GetRequiredVersion())
}

// Behaviour 7: an unknown features token fails the stream with
// UNIMPLEMENTED before any event.
func TestUnknownFeatureFailsStream(t *testing.T) {
	s := startSim(t, Config{})
	for _, features := range []string{"stream-multiplexing,teleport", " "} {
		f := openFeed(t, s.Cluster().StoreAddr(1), feedOpts{features: features})
		err := f.streamErr(wait)
		require.Equal(t, codes.Unimplemented, status.Code(err), "features %q: %v", features, err)
	}
}

// Behaviour 16: resolved ts about every interval, grouped 8/32/128, request
// id only with multiplexing, in its own ChangeDataEvent, never decreasing,
// re-sent unchanged; the per-region form for pre-4.0.8 clients.
func TestResolvedTsBatching(t *testing.T) {
	s := startSim(t, Config{Stores: 1, Regions: 50})
	c := s.Cluster()
	f := openFeed(t, c.StoreAddr(1), feedOpts{})
	for _, ri := range c.Regions() {
		f.send(registerReq(c, ri, 9, 0))
	}
	last := map[uint64]uint64{}
	var sizes []int
	deadline := time.Now().Add(wait)
	for len(last) < 50 || len(sizes) < 8 {
		require.True(t, time.Now().Before(deadline), "resolved ts did not cover all regions")
		ev := f.next(wait)
		if ev.ResolvedTs == nil {
			continue
		}
		require.Empty(t, ev.Events, "resolved ts shares a message with events")
		require.Equal(t, uint64(9), ev.ResolvedTs.RequestId)
		for _, id := range ev.ResolvedTs.Regions {
			require.GreaterOrEqual(t, ev.ResolvedTs.Ts, last[id], "resolved ts went backwards")
			last[id] = ev.ResolvedTs.Ts
		}
		sizes = append(sizes, len(ev.ResolvedTs.Regions))
	}
	require.Contains(t, sizes, 8)
	require.Contains(t, sizes, 32)

	v1 := openFeed(t, c.StoreAddr(1), feedOpts{v1: true})
	ri := c.Regions()[0]
	v1.send(registerReq(c, ri, 4, 0))
	rts := v1.waitResolved(wait, func(r *cdcpb.ResolvedTs) bool { return containsRegion(r.Regions, ri.ID) })
	require.Zero(t, rts.RequestId, "request id is set only with multiplexing")

	legacy := openFeed(t, c.StoreAddr(1), feedOpts{v1: true})
	req := registerReq(c, ri, 5, 0)
	req.Header.TicdcVersion = "4.0.7"
	legacy.send(req)
	e := legacy.waitEvent(wait, func(e *cdcpb.Event) bool { _, ok := e.Event.(*cdcpb.Event_ResolvedTs); return ok })
	require.Equal(t, ri.ID, e.RegionId)
	require.Equal(t, uint64(5), e.RequestId)
}

// Behaviour 17: an uncommitted lock pins the region's resolved ts at or
// below its start ts, re-sent unchanged, until it commits.
func TestLockPinsResolvedTs(t *testing.T) {
	s := startSim(t, Config{Stores: 1, Regions: 2})
	c := s.Cluster()
	ri, _ := c.Region(1)
	key, _ := c.RandomKeyIn(ri.ID, newTestRand(1))
	lockTs := c.CurrentTS()
	c.Prewrite(lockTs, []Mutation{{Key: key, Op: putOp, Value: []byte("v")}})
	f := openFeed(t, c.StoreAddr(1), feedOpts{})
	f.send(registerReq(c, ri, 1, 0))
	for i := 0; i < 3; i++ {
		rts := f.waitResolved(wait, func(r *cdcpb.ResolvedTs) bool { return containsRegion(r.Regions, ri.ID) })
		require.Equal(t, lockTs, rts.Ts, "resolved ts must stay pinned at the lock")
	}
	c.Commit(lockTs, c.CurrentTS(), [][]byte{key})
	f.waitResolved(wait, func(r *cdcpb.ResolvedTs) bool { return containsRegion(r.Regions, ri.ID) && r.Ts > lockTs })
}

// Behaviour 18 and 22: a split sends EpochNotMatch listing every resulting
// region; after it nothing more arrives for that (region, request id). PD
// learns of the split only after the lag.
func TestSplitEpochNotMatchThenSilence(t *testing.T) {
	s := startSim(t, Config{Stores: 1, Regions: 4, PDLag: 300 * time.Millisecond})
	c := s.Cluster()
	ri, _ := c.Region(2)
	f := openFeed(t, c.StoreAddr(1), feedOpts{})
	f.send(registerReq(c, ri, 1, 0))
	f.waitEvent(wait, isInitialized(ri.ID))

	parts, err := c.Split(ri.ID, 3)
	require.NoError(t, err)
	require.Len(t, parts, 3)
	require.Equal(t, ri.ID, parts[2].ID, "right-derive: the original id keeps the right-most range")
	require.Equal(t, ri.Start, parts[0].Start)
	require.Equal(t, ri.End, parts[2].End)
	for _, p := range parts {
		require.Equal(t, ri.Version+2, p.Version)
	}
	// PD still has the old region during the lag.
	require.Equal(t, ri.End, c.RegionByID(ri.ID).Meta.EndKey)
	require.Eventually(t, func() bool { return bytes.Equal(c.RegionByID(ri.ID).Meta.StartKey, parts[2].Start) }, wait, 10*time.Millisecond)

	e := f.waitEvent(wait, isError(ri.ID))
	enm := e.GetError().GetEpochNotMatch()
	require.NotNil(t, enm, "got %v", e.GetError())
	require.Len(t, enm.CurrentRegions, 3)

	// Nothing more for (region, request 1), while writes land in it.
	commitRows(t, c, ri.ID, 3, 4)
	until := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(until) {
		select {
		case ev := <-f.events:
			for _, e := range ev.Events {
				require.NotEqual(t, ri.ID, e.RegionId, "event after the region's error")
			}
			if ev.ResolvedTs != nil {
				require.False(t, containsRegion(ev.ResolvedTs.Regions, ri.ID), "resolved ts after the region's error")
			}
		case <-time.After(time.Until(until)):
		}
	}
}

// Behaviour 22 (merge): both source and target get an empty EpochNotMatch.
func TestMergeEpochNotMatch(t *testing.T) {
	s := startSim(t, Config{Stores: 1, Regions: 4})
	c := s.Cluster()
	src, _ := c.Region(2)
	dst, _ := c.Region(3)
	f := openFeed(t, c.StoreAddr(1), feedOpts{})
	f.send(registerReq(c, src, 1, 0))
	f.send(registerReq(c, dst, 1, 0))
	f.waitInitialized(src.ID, dst.ID)
	merged, err := c.Merge(src.ID)
	require.NoError(t, err)
	require.Equal(t, dst.ID, merged.ID)
	require.Equal(t, src.Start, merged.Start)
	require.Greater(t, merged.Version, dst.Version)
	seen := map[uint64]bool{}
	for len(seen) < 2 {
		e := f.waitEvent(wait, func(e *cdcpb.Event) bool { return e.GetError() != nil })
		require.NotNil(t, e.GetError().GetEpochNotMatch(), "got %v", e.GetError())
		require.Empty(t, e.GetError().GetEpochNotMatch().CurrentRegions)
		seen[e.RegionId] = true
	}
	require.True(t, seen[src.ID] && seen[dst.ID])
	_, ok := c.Region(src.ID)
	require.False(t, ok)
}

// Behaviour 23: a leader transfer sends NotLeader with the new leader, and PD
// learns it after the lag.
func TestTransferLeaderNotLeader(t *testing.T) {
	s := startSim(t, Config{PDLag: 200 * time.Millisecond})
	c := s.Cluster()
	ri, _ := c.Region(1)
	f := openFeed(t, leaderAddr(s, ri), feedOpts{})
	f.send(registerReq(c, ri, 1, 0))
	f.waitEvent(wait, isInitialized(ri.ID))
	var to uint64
	for _, id := range ri.Stores {
		if id != ri.LeaderStore {
			to = id
			break
		}
	}
	after, err := c.TransferLeader(ri.ID, to)
	require.NoError(t, err)
	require.Equal(t, to, after.LeaderStore)
	e := f.waitEvent(wait, isError(ri.ID))
	require.Equal(t, to, e.GetError().GetNotLeader().GetLeader().GetStoreId(), "got %v", e.GetError())
	require.Equal(t, ri.LeaderStore, c.RegionByID(ri.ID).Leader.StoreId, "PD must not know before the lag")
	require.Eventually(t, func() bool { return c.RegionByID(ri.ID).Leader.StoreId == to }, wait, 10*time.Millisecond)

	// The new leader accepts the registration.
	f2 := openFeed(t, c.StoreAddr(to), feedOpts{})
	f2.send(registerReq(c, after, 1, 0))
	f2.waitEvent(wait, isInitialized(ri.ID))
}

// Behaviour 19: deregister of a region or of a whole request id answers
// region_not_found for each removed downstream; an unknown pair is a no-op.
func TestDeregister(t *testing.T) {
	s := startSim(t, Config{Stores: 1, Regions: 4})
	c := s.Cluster()
	f := openFeed(t, c.StoreAddr(1), feedOpts{})
	regions := c.Regions()
	for _, ri := range regions {
		f.send(registerReq(c, ri, 1, 0))
	}
	ids := make([]uint64, len(regions))
	for i, ri := range regions {
		ids[i] = ri.ID
	}
	f.waitInitialized(ids...)
	hdr := &cdcpb.Header{ClusterId: c.ClusterID(), TicdcVersion: testVersion}
	dereg := &cdcpb.ChangeDataRequest_Deregister_{Deregister: &cdcpb.ChangeDataRequest_Deregister{}}
	f.send(&cdcpb.ChangeDataRequest{Header: hdr, RequestId: 1, RegionId: regions[0].ID, Request: dereg})
	e := f.waitEvent(wait, isError(regions[0].ID))
	require.Equal(t, regions[0].ID, e.GetError().GetRegionNotFound().GetRegionId())

	f.send(&cdcpb.ChangeDataRequest{Header: hdr, RequestId: 99, RegionId: regions[1].ID, Request: dereg}) // unknown: no-op
	f.send(&cdcpb.ChangeDataRequest{Header: hdr, RequestId: 1, Request: dereg})
	seen := map[uint64]bool{}
	for len(seen) < len(regions)-1 {
		e := f.waitEvent(wait, func(e *cdcpb.Event) bool { return e.GetError() != nil })
		require.NotNil(t, e.GetError().GetRegionNotFound(), "got %v", e.GetError())
		require.Equal(t, uint64(1), e.RequestId)
		require.False(t, seen[e.RegionId], "region %d removed twice", e.RegionId)
		seen[e.RegionId] = true
	}
	require.False(t, seen[regions[0].ID])
}

// Behaviour 20 and 25: CloseSend ends the stream with OK; NotifyTxnStatus
// fails it with Internal.
func TestCloseSendAndNotifyTxnStatus(t *testing.T) {
	s := startSim(t, Config{Stores: 1, Regions: 2})
	c := s.Cluster()
	f := openFeed(t, c.StoreAddr(1), feedOpts{})
	f.send(registerReq(c, c.Regions()[0], 1, 0))
	require.NoError(t, f.stream.CloseSend())
	require.ErrorContains(t, f.streamErr(wait), "EOF")

	f = openFeed(t, c.StoreAddr(1), feedOpts{})
	f.send(&cdcpb.ChangeDataRequest{
		Header:  &cdcpb.Header{ClusterId: c.ClusterID(), TicdcVersion: testVersion},
		Request: &cdcpb.ChangeDataRequest_NotifyTxnStatus_{NotifyTxnStatus: &cdcpb.ChangeDataRequest_NotifyTxnStatus{}},
	})
	require.Equal(t, codes.Internal, status.Code(f.streamErr(wait)))
}

// Behaviour 21: a stopped store fails its streams with Unavailable and no
// error events; restarted on the same address it takes new streams with no
// subscriptions left.
func TestStoreStopAndRestart(t *testing.T) {
	s := startSim(t, Config{Stores: 1, Regions: 2, ElectionTimeout: 50 * time.Millisecond})
	c := s.Cluster()
	addr := c.StoreAddr(1)
	f := openFeed(t, addr, feedOpts{})
	ri := c.Regions()[0]
	f.send(registerReq(c, ri, 1, 0))
	f.waitEvent(wait, isInitialized(ri.ID))
	require.NoError(t, s.StopStore(1))
	deadline := time.After(wait)
	for done := false; !done; {
		select {
		case ev, ok := <-f.events:
			if !ok {
				done = true
				break
			}
			for _, e := range ev.Events {
				require.Nil(t, e.GetError(), "a crashed store sends no error events")
			}
		case <-deadline:
			t.Fatal("stream did not fail after the store stopped")
		}
	}
	require.Equal(t, codes.Unavailable, status.Code(<-f.err))
	require.NoError(t, s.StartStore(1))
	require.Equal(t, addr, c.StoreAddr(1))
	// Its only peer is back: it is elected after the election timeout.
	require.Eventually(t, func() bool { r, _ := c.Region(ri.ID); return r.LeaderStore == 1 }, wait, 10*time.Millisecond)
	f = openFeed(t, addr, feedOpts{})
	f.send(registerReq(c, ri, 1, 0))
	e := f.waitEvent(wait, func(e *cdcpb.Event) bool { return e.RegionId == ri.ID })
	require.Nil(t, e.GetError(), "no stale subscription survives a restart")
}
