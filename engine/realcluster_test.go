package engine_test

// pulltop against the sim's version switches and real-cluster behaviours
// (issue 12), over real gRPC.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/stretchr/testify/require"
	"github.com/tikv/client-go/v2/oracle"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/pulltop/pulltop/engine"
	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
)

// PD before 8.2 has no BatchScanRegions: the engine pages through
// ScanRegions and every region initializes, on every supported pairing.
func TestSupportedVersionsEveryRegionInitialized(t *testing.T) {
	for _, v := range []struct{ pd, tikv sim.Version }{
		{sim.Version{Major: 8, Minor: 1}, sim.Version{Major: 8, Minor: 5}},
		{sim.Version{Major: 8, Minor: 1}, sim.Version{Major: 8, Minor: 1}},
		{sim.Version{Major: 7, Minor: 5}, sim.Version{Major: 7, Minor: 5}},
		{sim.Version{Major: 8, Minor: 5}, sim.Version{Major: 7, Minor: 5}},
	} {
		t.Run("pd"+v.pd.String()+"-tikv"+v.tikv.String(), func(t *testing.T) {
			h := startHarness(t, sim.Config{Stores: 3, Regions: 40, WriteRate: 300, PDVersion: v.pd, TiKVVersion: v.tikv}, fastCfg)
			st := h.waitFor("every region initialized", 20*time.Second, allInitialized(40))
			require.Zero(t, st.Totals.ErrorsByReason[snapshots.ReasonRPCCtxUnavailable], "no failed lookups")
			require.Empty(t, st.Source.PDError)
			require.Equal(t, v.tikv.String(), st.Stores[0].Version)
			// Splits need lookups again: still fine.
			_, err := h.sim.Cluster().Split(7, 3)
			require.NoError(t, err)
			h.waitFor("42 regions initialized", 20*time.Second, allInitialized(42))
			h.checkInvariants()
		})
	}
}

// TiKV 7.1 (and 7.3): the engine stops with an error naming the store, its
// address and version, and the minimum, within seconds.
func TestOldTiKVStopsTheEngine(t *testing.T) {
	for _, v := range []sim.Version{{Major: 7, Minor: 1}, {Major: 7, Minor: 3}} {
		t.Run(v.String(), func(t *testing.T) {
			h := startHarness(t, sim.Config{Stores: 2, Regions: 4, TiKVVersion: v}, nil)
			start := time.Now()
			st := h.waitFor("the engine error", 10*time.Second, func(st *snapshots.State) bool { return st.EngineError != "" })
			require.Less(t, time.Since(start), 10*time.Second)
			require.ErrorIs(t, h.eng.Err(), engine.ErrIncompatibleStore)
			require.Contains(t, st.EngineError, "runs TiKV "+v.String())
			require.Contains(t, st.EngineError, "7.5.0 or newer")
			require.Regexp(t, `store \d+ \(127\.0\.0\.1:\d+\)`, st.EngineError)
		})
	}
}

// TiFlash stores in PD are skipped: no version check trips on them, no
// stream is opened to them, every TiKV region initializes.
func TestTiFlashStoresIgnored(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 3, Regions: 12, WriteRate: 200, TiFlash: 2}, fastCfg)
	st := h.waitFor("every region initialized", 20*time.Second, allInitialized(12))
	require.Empty(t, st.EngineError)
	for _, s := range st.Stores {
		require.LessOrEqual(t, s.ID, uint64(3), "TiFlash store %d listed", s.ID)
	}
	h.checkInvariants()
}

// With the cluster's clock 30s ahead of or behind this host's, lag is
// computed in PD's time: lag_max stays small and the skew is reported.
func TestLagInPDTime(t *testing.T) {
	for _, off := range []time.Duration{30 * time.Second, -30 * time.Second} {
		t.Run(off.String(), func(t *testing.T) {
			h := startHarness(t, sim.Config{Stores: 2, Regions: 6, WriteRate: 200, TSOOffset: off}, fastCfg)
			h.waitFor("initialized", 20*time.Second, allInitialized(6))
			st := h.waitFor("resolved ts moving", 10*time.Second, func(st *snapshots.State) bool {
				return st.Subscriptions[0].ResolvedLagMs > 0
			})
			for i := 0; i < 5; i++ {
				st = h.waitFor("another snapshot", 5*time.Second, func(s *snapshots.State) bool { return s.Seq > st.Seq })
				require.Less(t, st.Totals.ResolvedLagMaxMs, int64(3000), "lag_max in PD's time")
				require.Less(t, st.Subscriptions[0].ResolvedLagMs, int64(3000))
			}
			require.InDelta(t, off.Milliseconds(), st.Source.ClockSkewMs, 1000, "the skew is reported")
		})
	}
}

// A --start-ts at or below the GC safe point is refused with the safe
// point in the message.
func TestStartTsBelowGCSafePointRefused(t *testing.T) {
	s, err := sim.Start(sim.Config{Stores: 1, Regions: 2, GCSafePointLag: 10 * time.Minute})
	require.NoError(t, err)
	defer s.Close()
	old := oracle.GoTimeToTS(time.Now().Add(-20 * time.Minute))
	_, err = engine.Start(engine.Config{PD: []string{s.PDAddr()}, StartTs: old})
	require.ErrorIs(t, err, engine.ErrStartTsBeforeGC)
	require.Contains(t, err.Error(), fmt.Sprint(old))
	require.Contains(t, err.Error(), "GC safe point")
	recent := oracle.GoTimeToTS(time.Now().Add(-time.Minute))
	eng, err := engine.Start(engine.Config{PD: []string{s.PDAddr()}, StartTs: recent})
	require.NoError(t, err, "a start ts above the safe point is fine")
	eng.Close()
}

// The preview shown before subscribing on a real cluster counts regions
// and stores; an error from it stops Start before anything is subscribed.
func TestPreviewBeforeSubscribe(t *testing.T) {
	s, err := sim.Start(sim.Config{Stores: 3, Regions: 20, TiFlash: 1})
	require.NoError(t, err)
	defer s.Close()
	var got engine.Preview
	declined := errors.New("declined")
	_, err = engine.Start(engine.Config{PD: []string{s.PDAddr()}, ScansPerStore: 4, BeforeSubscribe: func(p engine.Preview) error {
		got = p
		return declined
	}})
	require.ErrorIs(t, err, declined)
	require.Equal(t, 20, got.Regions)
	require.Equal(t, 3, got.Stores)
	require.Contains(t, got.String(), "20 regions on 3 TiKV stores")
	require.Contains(t, got.String(), "at most 4 initial scans per store")
	require.Contains(t, got.String(), "old values off")
}

// A store that was never reached from this host is reported as such, with
// the advice about advertise addresses, once in the log however often the
// engine retries.
func TestUnreachableStoreReportedOnce(t *testing.T) {
	s, err := sim.Start(sim.Config{Stores: 2, Regions: 4, ElectionTimeout: time.Hour, MinTsInterval: 100 * time.Millisecond})
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.StopStore(2)) // its leaders stay on it: nothing listens there
	core, logs := observer.New(zapcore.WarnLevel)
	eng, err := engine.Start(engine.Config{PD: []string{s.PDAddr()}, PublishInterval: 50 * time.Millisecond, Logger: zap.New(core)})
	require.NoError(t, err)
	defer eng.Close()
	addr := s.Cluster().StoreAddr(2)
	want := fmt.Sprintf("cannot reach TiKV store 2 at %s from this host: connection refused — the advertise address must be reachable from where pulltop runs", addr)
	var st *snapshots.State
	require.Eventually(t, func() bool {
		st = eng.Refresh()
		for _, store := range st.Stores {
			if store.ID == 2 && store.LastError == want && store.Failures >= 3 {
				return true
			}
		}
		return false
	}, 20*time.Second, 50*time.Millisecond, "store 2's error, after several retries")
	n := 0
	for _, e := range logs.All() {
		if strings.HasPrefix(e.Message, "cannot reach TiKV store 2") {
			n++
		}
	}
	require.Equal(t, 1, n, "reported once, not at every retry")
	inLog := 0
	for _, l := range st.Log {
		// The store's own entries: a cause appearing (store_cooling, then
		// store_down) quotes its diagnosis, which names the failure too.
		if l.Kind == snapshots.LogStore && strings.Contains(l.Text, "cannot reach TiKV store 2") {
			inLog++
		}
	}
	require.Equal(t, 1, inLog, "once in the event log too")
	found := false
	for _, r := range st.Regions {
		found = found || (r.StoreID == 2 && strings.Contains(r.LastError, "cannot reach TiKV store 2"))
	}
	require.True(t, found, "its regions carry the message")
}

// secondClient is an independent change-data client (like the cluster's
// own TiCDC) subscribing ten regions per store; it records every error it
// gets.
type secondClient struct {
	errs chan *cdcpb.Error
}

func startSecondClient(t *testing.T, s *sim.Sim, ctx context.Context) *secondClient {
	c := s.Cluster()
	sc := &secondClient{errs: make(chan *cdcpb.Error, 1024)}
	streams := map[uint64]grpc.BidiStreamingClient[cdcpb.ChangeDataRequest, cdcpb.ChangeDataEvent]{}
	for _, id := range c.StoreIDs() {
		conn, err := grpc.NewClient(c.StoreAddr(id), grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		sctx := metadata.AppendToOutgoingContext(ctx, "features", "stream-multiplexing")
		stream, err := cdcpb.NewChangeDataClient(conn).EventFeedV2(sctx)
		require.NoError(t, err)
		streams[id] = stream
		go func() {
			for {
				ev, err := stream.Recv()
				if err != nil {
					return
				}
				for _, e := range ev.Events {
					if x := e.GetError(); x != nil {
						select {
						case sc.errs <- x:
						default:
						}
					}
				}
			}
		}()
	}
	perStore := map[uint64]int{}
	for _, ri := range c.Regions() {
		if perStore[ri.LeaderStore]++; perStore[ri.LeaderStore] > 10 {
			continue // a few regions per store, well within TiKV's limits on its own
		}
		require.NoError(t, streams[ri.LeaderStore].Send(&cdcpb.ChangeDataRequest{
			Header:      &cdcpb.Header{ClusterId: c.ClusterID(), TicdcVersion: "8.5.0"},
			RegionId:    ri.ID,
			RequestId:   99,
			RegionEpoch: regionEpoch(ri),
			StartKey:    ri.Start,
			EndKey:      ri.End,
		}))
	}
	return sc
}

// The sim's store-wide limits (pending scans, sink memory quota) shared
// with a second, independent client: pulltop on its --pd defaults (4 scans
// per store, no old values) never causes that client a ServerIsBusy or a
// Congested; pulltop with the embedded sim's 128 scans per store does, so
// the test can fail.
func TestSecondClientNeverBusyOrCongested(t *testing.T) {
	run := func(scansPerStore int) (busy, congested int) {
		s, err := sim.Start(sim.Config{Stores: 2, Regions: 200, WriteRate: 2000, MinTsInterval: 100 * time.Millisecond,
			PendingScanLimit: 40, ScanConcurrency: 2, InterleaveScan: true, ScanDelay: 50 * time.Millisecond,
			SinkMemoryQuota: 8 << 20, KeepGroundTruth: true})
		require.NoError(t, err)
		defer s.Close()
		eng, err := engine.Start(engine.Config{PD: []string{s.PDAddr()}, ScansPerStore: scansPerStore, PublishInterval: 50 * time.Millisecond})
		require.NoError(t, err)
		defer eng.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// The second client arrives while pulltop's initial scans run.
		require.Eventually(t, func() bool {
			for _, id := range s.Cluster().StoreIDs() {
				if s.Cluster().PendingScans(id) < min(scansPerStore, 4) {
					return false
				}
			}
			return true
		}, 20*time.Second, time.Millisecond, "pulltop's scans under way")
		sc := startSecondClient(t, s, ctx)
		require.Eventually(t, func() bool { return allInitialized(200)(eng.Refresh()) }, 60*time.Second, 50*time.Millisecond)
		for {
			select {
			case e := <-sc.errs:
				if e.GetServerIsBusy() != nil {
					busy++
				}
				if e.GetCongested() != nil {
					congested++
				}
				continue
			default:
			}
			return busy, congested
		}
	}
	busy, congested := run(4)
	require.Zero(t, busy, "pulltop's defaults made the other client busy")
	require.Zero(t, congested, "pulltop's defaults congested the other client")
	busy, _ = run(128)
	require.Positive(t, busy, "control: 128 scans per store crowd the other client out")
}

func regionEpoch(ri sim.RegionInfo) *metapb.RegionEpoch {
	return &metapb.RegionEpoch{Version: ri.Version, ConfVer: ri.ConfVer}
}
