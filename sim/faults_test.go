package sim

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// pdRaw is a raw pdpb client, to see exactly what PD answers after a fault.
func pdRaw(t *testing.T, s *Sim) pdpb.PDClient {
	t.Helper()
	conn, err := grpc.NewClient(s.PDAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return pdpb.NewPDClient(conn)
}

func pdScan(t *testing.T, s *Sim, pd pdpb.PDClient) []*pdpb.Region {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	resp, err := pd.ScanRegions(ctx, &pdpb.ScanRegionsRequest{Header: &pdpb.RequestHeader{ClusterId: s.Cluster().ClusterID()}})
	require.NoError(t, err)
	return resp.Regions
}

func apply(t *testing.T, s *Sim, line string) {
	t.Helper()
	script, err := ParseScript("test.txt", strings.NewReader(line))
	require.NoError(t, err)
	require.Len(t, script.Actions, 1)
	require.NoError(t, s.faults.apply(&firing{a: script.Actions[0], rng: lineRand(1, 1, 0)}))
}

// subscribe registers every region on its leader and waits for INITIALIZED.
func subscribeAll(t *testing.T, s *Sim) map[uint64]*feed {
	t.Helper()
	c := s.Cluster()
	feeds := map[uint64]*feed{}
	for _, id := range c.StoreIDs() {
		feeds[id] = openFeed(t, c.StoreAddr(id), feedOpts{})
	}
	byStore := map[uint64][]uint64{}
	for _, ri := range c.Regions() {
		feeds[ri.LeaderStore].send(registerReq(c, ri, 1, 0))
		byStore[ri.LeaderStore] = append(byStore[ri.LeaderStore], ri.ID)
	}
	for store, ids := range byStore {
		feeds[store].waitInitialized(ids...)
	}
	return feeds
}

func TestFaultSplit(t *testing.T) {
	s := startSim(t, Config{Regions: 4})
	feeds := subscribeAll(t, s)
	ri, _ := s.Cluster().Region(2)
	apply(t, s, "at 0s split region 2 into 3")
	e := feeds[ri.LeaderStore].waitEvent(wait, isError(2))
	require.Len(t, e.GetError().GetEpochNotMatch().GetCurrentRegions(), 3)
	regions := pdScan(t, s, pdRaw(t, s))
	require.Len(t, regions, 6, "PD returns the new regions (no lag)")

	apply(t, s, "at 0s split random")
	require.Len(t, pdScan(t, s, pdRaw(t, s)), 7)
}

func TestFaultMerge(t *testing.T) {
	s := startSim(t, Config{Regions: 4})
	feeds := subscribeAll(t, s)
	src, _ := s.Cluster().Region(2)
	dst, _ := s.Cluster().Region(3)
	apply(t, s, "at 0s merge region 2")
	e := feeds[src.LeaderStore].waitEvent(wait, isError(src.ID))
	require.NotNil(t, e.GetError().GetEpochNotMatch())
	e = feeds[dst.LeaderStore].waitEvent(wait, isError(dst.ID))
	require.NotNil(t, e.GetError().GetEpochNotMatch())
	regions := pdScan(t, s, pdRaw(t, s))
	require.Len(t, regions, 3)
	require.Equal(t, dst.ID, regions[1].Region.Id)
	require.Equal(t, src.Start, regions[1].Region.StartKey)
}

func TestFaultTransferLeader(t *testing.T) {
	s := startSim(t, Config{Regions: 4})
	feeds := subscribeAll(t, s)
	ri, _ := s.Cluster().Region(1)
	to := ri.Stores[1]
	apply(t, s, "at 0s transfer-leader region 1 to "+itoa(to))
	e := feeds[ri.LeaderStore].waitEvent(wait, isError(1))
	require.Equal(t, to, e.GetError().GetNotLeader().GetLeader().GetStoreId())
	require.Equal(t, to, pdScan(t, s, pdRaw(t, s))[0].Leader.StoreId)

	before := s.Cluster().Regions()
	apply(t, s, "at 0s transfer-leader random")
	changed := 0
	for i, r := range s.Cluster().Regions() {
		if r.LeaderStore != before[i].LeaderStore {
			changed++
		}
	}
	require.Equal(t, 1, changed, "transfer-leader random moves exactly one leader")
}

func TestFaultStopStartRestartStore(t *testing.T) {
	s := startSim(t, Config{Regions: 3, ElectionTimeout: 100 * time.Millisecond})
	feeds := subscribeAll(t, s)
	apply(t, s, "at 0s stop-store 2")
	require.Equal(t, codes.Unavailable, status.Code(feeds[2].streamErr(wait)))
	f := openFeed(t, s.Cluster().StoreAddr(2), feedOpts{})
	require.Equal(t, codes.Unavailable, status.Code(f.streamErr(wait)), "a stopped store refuses streams")
	apply(t, s, "at 0s start-store 2")
	// Region 2 was led by store 2: after the election it is led elsewhere,
	// and the restarted store answers NotLeader naming the new leader.
	var ri RegionInfo
	require.Eventually(t, func() bool { ri, _ = s.Cluster().Region(2); return ri.LeaderStore != 0 && ri.LeaderStore != 2 }, wait, 10*time.Millisecond)
	f = openFeed(t, s.Cluster().StoreAddr(2), feedOpts{})
	f.send(registerReq(s.Cluster(), ri, 1, 0))
	e := f.waitEvent(wait, isError(2))
	require.Equal(t, ri.LeaderStore, e.GetError().GetNotLeader().GetLeader().GetStoreId(), "got %v", e.GetError())
	f2 := openFeed(t, leaderAddr(s, ri), feedOpts{})
	f2.send(registerReq(s.Cluster(), ri, 1, 0))
	f2.waitEvent(wait, isInitialized(2))

	leader := ri.LeaderStore
	apply(t, s, "at 0s restart-store "+itoa(leader)+" after 200ms")
	require.Equal(t, codes.Unavailable, status.Code(f2.streamErr(wait)))
	require.Eventually(t, func() bool { return s.stores[leader-1].running() }, wait, 10*time.Millisecond)
	require.Eventually(t, func() bool { ri, _ = s.Cluster().Region(2); return ri.LeaderStore != 0 }, wait, 10*time.Millisecond)
	f = openFeed(t, leaderAddr(s, ri), feedOpts{})
	f.send(registerReq(s.Cluster(), ri, 1, 0))
	f.waitEvent(wait, isInitialized(2))
}

// quietFor asserts the feed receives nothing for d.
func quietFor(t *testing.T, f *feed, d time.Duration) {
	t.Helper()
	select {
	case ev := <-f.events:
		t.Fatalf("expected silence, got %v", ev)
	case <-time.After(d):
	}
}

func TestFaultHangStore(t *testing.T) {
	s := startSim(t, Config{Regions: 3})
	feeds := subscribeAll(t, s)
	f := feeds[1]
	f.waitResolved(wait, func(*cdcpb.ResolvedTs) bool { return true })
	apply(t, s, "at 0s hang-store 1 for 600ms")
	drainFor(f, 60*time.Millisecond) // what was already in flight
	quietFor(t, f, 400*time.Millisecond)
	f.waitResolved(wait, func(*cdcpb.ResolvedTs) bool { return true })
}

func drainFor(f *feed, d time.Duration) {
	deadline := time.After(d)
	for {
		select {
		case <-f.events:
		case <-deadline:
			return
		}
	}
}

// busy-store is a busy raftstore: live regions fail with RegionNotFound
// (TiKV's catch-all), new registrations wait for their scan, and only those
// beyond the pending-scan limit get ServerIsBusy, with no BackoffMs.
func TestFaultBusyStore(t *testing.T) {
	s := startSim(t, Config{Regions: 3, PendingScanLimit: 1})
	feeds := subscribeAll(t, s)
	ri, _ := s.Cluster().Region(1)
	apply(t, s, "at 0s busy-store "+itoa(ri.LeaderStore)+" for 1s")
	f := feeds[ri.LeaderStore]
	e := f.waitEvent(wait, isError(1))
	require.Equal(t, ri.ID, e.GetError().GetRegionNotFound().GetRegionId(), "got %v", e.GetError())
	f.send(registerReq(s.Cluster(), ri, 1, 0)) // waits for its scan
	require.Eventually(t, func() bool { return s.Cluster().pendingScans(ri.LeaderStore) == 1 }, wait, 5*time.Millisecond)
	f.send(registerReq(s.Cluster(), ri, 2, 0)) // beyond the limit
	e = f.waitEvent(wait, isError(1))
	require.Equal(t, uint64(2), e.RequestId)
	busy := e.GetError().GetServerIsBusy()
	require.NotNil(t, busy, "got %v", e.GetError())
	require.Equal(t, "too many pending incremental scans", busy.Reason)
	require.Zero(t, busy.BackoffMs)
	e = f.waitEvent(wait, isInitialized(1))
	require.Equal(t, uint64(1), e.RequestId, "the waiting registration scans once the store is no longer busy")
}

func TestFaultCongestRegion(t *testing.T) {
	s := startSim(t, Config{Regions: 3})
	feeds := subscribeAll(t, s)
	ri, _ := s.Cluster().Region(2)
	apply(t, s, "at 0s congest-region 2 for 1s")
	e := feeds[ri.LeaderStore].waitEvent(wait, isError(2))
	require.Equal(t, uint64(2), e.GetError().GetCongested().GetRegionId(), "got %v", e.GetError())
}

func TestFaultSlowStore(t *testing.T) {
	s := startSim(t, Config{Regions: 1, Stores: 1})
	feeds := subscribeAll(t, s)
	apply(t, s, "at 0s slow-store 1 300ms for 5s")
	drainFor(feeds[1], 350*time.Millisecond)
	start := time.Now()
	commitRows(t, s.Cluster(), 1, 1, 9)
	feeds[1].waitEvent(wait, func(e *cdcpb.Event) bool {
		for _, r := range e.GetEntries().GetEntries() {
			if r.Type == cdcpb.Event_COMMIT {
				return true
			}
		}
		return false
	})
	require.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond, "a slow store delays what it sends")
}

func TestFaultKillStream(t *testing.T) {
	s := startSim(t, Config{Regions: 3})
	feeds := subscribeAll(t, s)
	apply(t, s, "at 0s kill-stream 1")
	require.Equal(t, codes.Unavailable, status.Code(feeds[1].streamErr(wait)))
	apply(t, s, "at 0s kill-stream 2 unknown")
	require.Equal(t, codes.Unknown, status.Code(feeds[2].streamErr(wait)))
}

func TestFaultLockRegion(t *testing.T) {
	s := startSim(t, Config{Regions: 2, Stores: 1})
	feeds := subscribeAll(t, s)
	f := feeds[1]
	apply(t, s, "at 0s lock region 1 for 500ms")
	pinned := f.waitResolved(wait, func(r *cdcpb.ResolvedTs) bool {
		return containsRegion(r.Regions, 1) && len(r.Regions) == 1 || r.Regions[0] == 1
	})
	again := f.waitResolved(wait, func(r *cdcpb.ResolvedTs) bool { return containsRegion(r.Regions, 1) })
	require.Equal(t, pinned.Ts, again.Ts, "the lock pins resolved ts")
	f.waitEvent(wait, func(e *cdcpb.Event) bool {
		for _, r := range e.GetEntries().GetEntries() {
			if r.Type == cdcpb.Event_COMMIT && r.StartTs == pinned.Ts {
				return true
			}
		}
		return false
	})
	f.waitResolved(wait, func(r *cdcpb.ResolvedTs) bool { return containsRegion(r.Regions, 1) && r.Ts > pinned.Ts })
}

func TestFaultSilenceRegion(t *testing.T) {
	s := startSim(t, Config{Regions: 2, Stores: 1})
	f := subscribeAll(t, s)[1]
	apply(t, s, "at 0s silence-region 1 for 2s")
	drainFor(f, 100*time.Millisecond)
	// Region 2 keeps advancing, region 1 is never mentioned again.
	var seen2 int
	for seen2 < 4 {
		r := f.waitResolved(wait, func(*cdcpb.ResolvedTs) bool { return true })
		require.False(t, containsRegion(r.Regions, 1), "a silenced region's resolved ts must stop")
		if containsRegion(r.Regions, 2) {
			seen2++
		}
	}
}

func TestFaultPDDown(t *testing.T) {
	s := startSim(t, Config{Regions: 2})
	pd := pdRaw(t, s)
	pdScan(t, s, pd)
	apply(t, s, "at 0s pd-down for 400ms")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_, err := pd.GetMembers(ctx, &pdpb.GetMembersRequest{})
	cancel()
	require.Error(t, err, "PD must be unreachable while down")
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := pd.GetMembers(ctx, &pdpb.GetMembersRequest{})
		return err == nil
	}, wait, 50*time.Millisecond)
}

func TestFaultWriteRate(t *testing.T) {
	s := startSim(t, Config{Regions: 4})
	require.Zero(t, s.Cluster().CommittedCount())
	apply(t, s, "at 0s write-rate 2000")
	require.Eventually(t, func() bool { return s.Cluster().CommittedCount() > 200 }, wait, 10*time.Millisecond)
	apply(t, s, "at 0s write-rate 0")
	// At most the tick already running may still commit; then nothing.
	n := s.Cluster().CommittedCount()
	time.Sleep(3 * workloadTick)
	n = s.Cluster().CommittedCount()
	time.Sleep(20 * workloadTick)
	require.Equal(t, n, s.Cluster().CommittedCount(), "write-rate 0 stops the workload")
}

// A whole script, timed: `every` repeats until stop-faults, which also ends
// the windows and brings stopped stores back.
func TestScriptEveryAndStopFaults(t *testing.T) {
	script, err := ParseScript("chaos.txt", strings.NewReader(strings.Join([]string{
		"every 20ms split random",
		"at 0s stop-store 3",
		"at 0s silence-region 1 for 1h",
		"at 300ms stop-faults",
	}, "\n")))
	require.NoError(t, err)
	s := startSim(t, Config{Regions: 8, Script: script})
	require.Eventually(t, func() bool { return s.Cluster().RegionCount() > 8 }, wait, 10*time.Millisecond)
	select {
	case <-s.faults.stopped:
	case <-time.After(wait):
		t.Fatal("stop-faults did not run")
	}
	s.faults.execMu.Lock() // as stopAll does: no action is running after this
	s.faults.execMu.Unlock()
	require.Eventually(t, func() bool { return s.stores[2].running() }, wait, 10*time.Millisecond, "stop-faults restarts stopped stores")
	n := s.Cluster().RegionCount()
	time.Sleep(100 * time.Millisecond) // several periods of the stopped `every`
	require.Equal(t, n, s.Cluster().RegionCount(), "every must stop after stop-faults")
	r, _ := s.Cluster().Region(1)
	require.NotZero(t, r.ID)
	s.Cluster().mu.Lock()
	silenced := s.Cluster().byID[1].silencedUntil.After(time.Now())
	s.Cluster().mu.Unlock()
	require.False(t, silenced, "stop-faults ends windows")
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }
