package sim

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	pd "github.com/tikv/pd/client"
	"github.com/tikv/pd/client/clients/router"
	"github.com/tikv/pd/client/opt"
	"github.com/tikv/pd/client/pkg/caller"
	"go.uber.org/goleak"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestMain fails the package's tests if any goroutine outlives them: the
// sim's servers and the pd clients tests create must all be shut down.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startPDServer serves backend on a fresh loopback port until the test ends.
func startPDServer(t *testing.T, backend pdBackend) (*pdServer, string) {
	t.Helper()
	srv := newPDServer(backend, zaptest.NewLogger(t, zaptest.Level(zapcore.DebugLevel)))
	addr, err := srv.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	return srv, addr
}

// newPDClient connects the real pd client, with the engine's options (the
// router client off: TestPDClientLooksUpRegionsWithoutQueryRegion), and closes
// it when the test ends (it runs background goroutines until Close).
func newPDClient(t *testing.T, addr string) pd.Client {
	t.Helper()
	// Not a timeout context: it is the parent of the client's whole life.
	cli, err := pd.NewClientWithContext(context.Background(), caller.TestComponent, []string{addr}, pd.SecurityOption{},
		opt.WithEnableRouterClient(false)) // as the engine: single-region lookups by unary RPC, not the QueryRegion stream
	require.NoError(t, err)
	t.Cleanup(cli.Close)
	return cli
}

// newRawPDClient is a bare pdpb client, for what the pd client hides: raw
// responses, stream framing and foreign cluster ids.
func newRawPDClient(t *testing.T, addr string) (pdpb.PDClient, *grpc.ClientConn) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return pdpb.NewPDClient(conn), conn
}

func pdTestCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func pdTestTS(physical, logical int64) uint64 { return uint64(physical)<<18 | uint64(logical) }

func pdRegionIDs(regions []*router.Region) []uint64 {
	ids := make([]uint64, 0, len(regions))
	for _, r := range regions {
		ids = append(ids, r.Meta.GetId())
	}
	return ids
}

func TestPDServerNewClientWithDefaults(t *testing.T) {
	_, addr := startPDServer(t, newFakePDBackend())

	begin := time.Now()
	cli := newPDClient(t, addr)
	elapsed := time.Since(begin)

	assert.Less(t, elapsed, time.Second, "pd.NewClient against the sim")
	assert.Equal(t, uint64(fakeClusterID), cli.GetClusterID(pdTestCtx(t)))
	assert.Equal(t, "http://"+addr, cli.GetLeaderURL())
}

func TestPDServerMembersClusterInfoAndHealth(t *testing.T) {
	_, addr := startPDServer(t, newFakePDBackend())
	raw, conn := newRawPDClient(t, addr)
	ctx := pdTestCtx(t)

	members, err := raw.GetMembers(ctx, &pdpb.GetMembersRequest{})
	require.NoError(t, err)
	assert.Equal(t, uint64(fakeClusterID), members.GetHeader().GetClusterId())
	assert.Nil(t, members.GetHeader().GetError())
	require.Len(t, members.GetMembers(), 1)
	leader := members.GetLeader()
	require.NotNil(t, leader)
	assert.Equal(t, "pd-sim", leader.GetName())
	assert.NotZero(t, leader.GetMemberId())
	assert.Equal(t, []string{"http://" + addr}, leader.GetClientUrls())
	assert.Equal(t, []string{"http://" + addr}, leader.GetPeerUrls())
	assert.Equal(t, leader.GetMemberId(), members.GetMembers()[0].GetMemberId())
	assert.Equal(t, leader.GetMemberId(), members.GetEtcdLeader().GetMemberId())

	info, err := raw.GetClusterInfo(ctx, &pdpb.GetClusterInfoRequest{})
	require.NoError(t, err)
	assert.Equal(t, uint64(fakeClusterID), info.GetHeader().GetClusterId())
	assert.Equal(t, []pdpb.ServiceMode{pdpb.ServiceMode_PD_SVC_MODE}, info.GetServiceModes())

	health, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, health.GetStatus())
}

func TestPDServerGetTSStrictlyIncreasing(t *testing.T) {
	_, addr := startPDServer(t, newFakePDBackend())
	cli := newPDClient(t, addr)
	ctx := pdTestCtx(t)

	var last uint64
	for i := range 500 {
		physical, logical, err := cli.GetTS(ctx)
		require.NoError(t, err)
		ts := pdTestTS(physical, logical)
		require.Greater(t, ts, last, "sequential GetTS #%d", i)
		last = ts
	}

	// Concurrent callers are batched into one TSO request by the client,
	// which then splits the batch: every ts must still be unique and each
	// caller's own sequence increasing.
	const goroutines, perGoroutine = 200, 20
	got := make([][]uint64, goroutines)
	errs := make([]error, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for range perGoroutine {
				physical, logical, err := cli.GetTS(ctx)
				if err != nil {
					errs[g] = err
					return
				}
				got[g] = append(got[g], pdTestTS(physical, logical))
			}
		})
	}
	wg.Wait()

	seen := make(map[uint64]int, goroutines*perGoroutine)
	for g := range goroutines {
		require.NoError(t, errs[g], "goroutine %d", g)
		require.True(t, sort.SliceIsSorted(got[g], func(i, j int) bool { return got[g][i] < got[g][j] }),
			"goroutine %d saw timestamps out of order", g)
		for _, ts := range got[g] {
			require.Greater(t, ts, last, "goroutine %d got a ts not after the sequential ones", g)
			prev, dup := seen[ts]
			require.False(t, dup, "ts %d handed to goroutines %d and %d", ts, prev, g)
			seen[ts] = g
		}
	}
	assert.Len(t, seen, goroutines*perGoroutine)
}

func TestPDServerTSOStreamFraming(t *testing.T) {
	_, addr := startPDServer(t, newFakePDBackend())
	raw, _ := newRawPDClient(t, addr)

	stream, err := raw.Tso(pdTestCtx(t))
	require.NoError(t, err)
	var lastOfPrevBatch uint64
	for _, count := range []uint32{1, 10, 3, 1000} {
		require.NoError(t, stream.Send(&pdpb.TsoRequest{
			Header: &pdpb.RequestHeader{ClusterId: fakeClusterID}, Count: count,
		}))
		resp, err := stream.Recv()
		require.NoError(t, err)
		assert.Equal(t, uint64(fakeClusterID), resp.GetHeader().GetClusterId())
		require.Equal(t, count, resp.GetCount(), "reply must echo the request count")
		ts := resp.GetTimestamp()
		// The batch is [logical-count+1, logical] within one physical tick.
		firstLogical := ts.GetLogical() - int64(count) + 1
		require.GreaterOrEqual(t, firstLogical, int64(0), "batch of %d straddles a physical tick", count)
		require.Greater(t, pdTestTS(ts.GetPhysical(), firstLogical), lastOfPrevBatch, "batch of %d", count)
		lastOfPrevBatch = pdTestTS(ts.GetPhysical(), ts.GetLogical())
	}

	require.NoError(t, stream.Send(&pdpb.TsoRequest{Header: &pdpb.RequestHeader{ClusterId: fakeClusterID}}))
	_, err = stream.Recv()
	assert.Equal(t, codes.InvalidArgument, status.Code(err), "count 0: %v", err)
}

func TestPDServerRegionLookups(t *testing.T) {
	backend := newFakePDBackend()
	_, addr := startPDServer(t, backend)
	cli := newPDClient(t, addr)
	ctx := pdTestCtx(t)

	for _, tc := range []struct {
		key      string
		regionID uint64
	}{{"", 2}, {"a", 2}, {"b", 4}, {"c", 4}, {"i", 10}, {"j", 12}, {"zzzz", 12}} {
		r, err := cli.GetRegion(ctx, []byte(tc.key))
		require.NoError(t, err, "GetRegion(%q)", tc.key)
		require.NotNil(t, r, "GetRegion(%q)", tc.key)
		assert.Equal(t, tc.regionID, r.Meta.GetId(), "GetRegion(%q)", tc.key)
		assert.Equal(t, backend.RegionByID(tc.regionID).Leader.GetId(), r.Leader.GetId(), "GetRegion(%q) leader", tc.key)
		assert.NotZero(t, r.Leader.GetStoreId(), "GetRegion(%q) leader", tc.key)
	}

	// PD sends an empty peer, not none, for a region without a known leader.
	r, err := cli.GetRegion(ctx, []byte("e"))
	require.NoError(t, err)
	require.Equal(t, uint64(6), r.Meta.GetId())
	require.NotNil(t, r.Leader)
	assert.Zero(t, r.Leader.GetId())

	r, err = cli.GetPrevRegion(ctx, []byte("c"))
	require.NoError(t, err)
	require.NotNil(t, r)
	assert.Equal(t, uint64(2), r.Meta.GetId())
	r, err = cli.GetPrevRegion(ctx, []byte("a"))
	require.NoError(t, err)
	assert.Nil(t, r, "the first region has no predecessor")

	r, err = cli.GetRegionByID(ctx, 8)
	require.NoError(t, err)
	require.NotNil(t, r)
	assert.Equal(t, "f", string(r.Meta.GetStartKey()))
	assert.Equal(t, "h", string(r.Meta.GetEndKey()))
	assert.Equal(t, uint64(4), r.Meta.GetRegionEpoch().GetVersion())
	assert.Len(t, r.Meta.GetPeers(), 3)
	r, err = cli.GetRegionByID(ctx, 999)
	require.NoError(t, err)
	assert.Nil(t, r)

	// A key PD has no region for is not an error either.
	backend.dropRegion(8)
	r, err = cli.GetRegion(ctx, []byte("g"))
	require.NoError(t, err)
	assert.Nil(t, r)
	r, err = cli.GetRegionByID(ctx, 8)
	require.NoError(t, err)
	assert.Nil(t, r)
}

func TestPDServerScanRegions(t *testing.T) {
	backend := newFakePDBackend()
	_, addr := startPDServer(t, backend)
	cli := newPDClient(t, addr)
	ctx := pdTestCtx(t)

	for _, tc := range []struct {
		start, end string
		limit      int
		want       []uint64
	}{
		{"c", "g", 0, []uint64{4, 6, 8}},
		{"c", "g", 2, []uint64{4, 6}},
		{"b", "d", 0, []uint64{4}},
		{"", "", 0, []uint64{2, 4, 6, 8, 10, 12}},
		{"", "", 1, []uint64{2}},
		{"i", "", 0, []uint64{10, 12}},
		{"i", "", -1, []uint64{10, 12}},
	} {
		regions, err := cli.ScanRegions(ctx, []byte(tc.start), []byte(tc.end), tc.limit)
		require.NoError(t, err, "ScanRegions(%q, %q, %d)", tc.start, tc.end, tc.limit)
		assert.Equal(t, tc.want, pdRegionIDs(regions), "ScanRegions(%q, %q, %d)", tc.start, tc.end, tc.limit)
		for _, r := range regions {
			require.NotNil(t, r.Leader, "region %d", r.Meta.GetId())
			assert.Equal(t, backend.RegionByID(r.Meta.GetId()).Leader.GetId(), r.Leader.GetId(), "region %d", r.Meta.GetId())
		}
	}

	// Old clients read only the deprecated fields; they must agree.
	raw, _ := newRawPDClient(t, addr)
	//nolint:staticcheck // ScanRegions is deprecated in favour of BatchScanRegions but still served.
	resp, err := raw.ScanRegions(ctx, &pdpb.ScanRegionsRequest{
		Header: &pdpb.RequestHeader{ClusterId: fakeClusterID}, StartKey: []byte("c"), EndKey: []byte("g"),
	})
	require.NoError(t, err)
	require.Len(t, resp.GetRegions(), 3)
	require.Len(t, resp.GetRegionMetas(), 3)
	require.Len(t, resp.GetLeaders(), 3)
	for i, r := range resp.GetRegions() {
		assert.Equal(t, r.GetRegion().GetId(), resp.GetRegionMetas()[i].GetId())
		require.NotNil(t, resp.GetLeaders()[i])
		assert.Equal(t, r.GetLeader().GetId(), resp.GetLeaders()[i].GetId())
	}
}

func TestPDServerRegionsCoverWholeKeyspace(t *testing.T) {
	_, addr := startPDServer(t, newFakePDBackend())
	cli := newPDClient(t, addr)

	regions, err := cli.ScanRegions(pdTestCtx(t), nil, nil, 0)
	require.NoError(t, err)
	require.NotEmpty(t, regions)
	assert.Empty(t, regions[0].Meta.GetStartKey(), "first region must start at -inf")
	assert.Empty(t, regions[len(regions)-1].Meta.GetEndKey(), "last region must end at +inf")
	for i := 1; i < len(regions); i++ {
		assert.Equal(t, regions[i-1].Meta.GetEndKey(), regions[i].Meta.GetStartKey(),
			"hole or overlap between regions %d and %d", regions[i-1].Meta.GetId(), regions[i].Meta.GetId())
	}
}

func pdKeyRanges(bounds ...string) []router.KeyRange {
	var ranges []router.KeyRange
	for i := 0; i+1 < len(bounds); i += 2 {
		ranges = append(ranges, router.KeyRange{StartKey: []byte(bounds[i]), EndKey: []byte(bounds[i+1])})
	}
	return ranges
}

func TestPDServerBatchScanRegions(t *testing.T) {
	backend := newFakePDBackend()
	_, addr := startPDServer(t, backend)
	cli := newPDClient(t, addr)
	ctx := pdTestCtx(t)

	// Region 4 (["b", "d")) overlaps the first two ranges but is returned once.
	ranges := pdKeyRanges("a", "ba", "bb", "bc", "e", "g")
	regions, err := cli.BatchScanRegions(ctx, ranges, 0)
	require.NoError(t, err)
	assert.Equal(t, []uint64{2, 4, 6, 8}, pdRegionIDs(regions))
	for _, r := range regions {
		require.NotNil(t, r.Leader, "region %d", r.Meta.GetId())
	}

	regions, err = cli.BatchScanRegions(ctx, ranges, 3)
	require.NoError(t, err)
	assert.Equal(t, []uint64{2, 4, 6}, pdRegionIDs(regions))

	regions, err = cli.BatchScanRegions(ctx, pdKeyRanges("c", "e", "i", ""), 0, opt.WithOutputMustContainAllKeyRange())
	require.NoError(t, err)
	assert.Equal(t, []uint64{4, 6, 10, 12}, pdRegionIDs(regions))

	for _, tc := range []struct {
		name   string
		ranges []router.KeyRange
		want   string
	}{
		{"overlapping", pdKeyRanges("a", "c", "b", "d"), "ranges overlapped"},
		{"unsorted", pdKeyRanges("e", "f", "a", "b"), "ranges overlapped"},
		{"after an unbounded range", pdKeyRanges("e", "", "f", "g"), "ranges overlapped"},
		{"start after end", pdKeyRanges("c", "a"), "start key > end key"},
	} {
		_, err := cli.BatchScanRegions(ctx, tc.ranges, 0)
		require.Error(t, err, tc.name)
		assert.Contains(t, err.Error(), tc.want, tc.name)
	}

	backend.dropRegion(8) // ["f", "h") is now a hole
	regions, err = cli.BatchScanRegions(ctx, pdKeyRanges("a", "c", "e", "g"), 0)
	require.NoError(t, err, "a hole is not an error without ContainAllKeyRange")
	assert.Equal(t, []uint64{2, 4, 6}, pdRegionIDs(regions))
	_, err = cli.BatchScanRegions(ctx, pdKeyRanges("a", "c", "e", "g"), 0, opt.WithOutputMustContainAllKeyRange())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "REGIONS_NOT_CONTAIN_ALL_KEY_RANGE")
	regions, err = cli.BatchScanRegions(ctx, pdKeyRanges("a", "c", "h", "i"), 0, opt.WithOutputMustContainAllKeyRange())
	require.NoError(t, err, "ranges clear of the hole")
	assert.Equal(t, []uint64{2, 4, 10}, pdRegionIDs(regions))
}

// TestPDBatchScanRegionsSelection covers the selection rules without gRPC.
func TestPDBatchScanRegionsSelection(t *testing.T) {
	snapshot := newFakePDBackend().ScanRegions(nil, nil, 0)         // 2 … 12, bounds "", b, d, f, h, j, ""
	withHoles := []*PDRegion{snapshot[1], snapshot[2], snapshot[4]} // ["b","f") and ["h","j")

	pbRanges := func(bounds ...string) []*pdpb.KeyRange {
		var out []*pdpb.KeyRange
		for _, kr := range pdKeyRanges(bounds...) {
			out = append(out, &pdpb.KeyRange{StartKey: kr.StartKey, EndKey: kr.EndKey})
		}
		return out
	}
	ids := func(regions []*PDRegion) []uint64 {
		out := []uint64{}
		for _, r := range regions {
			out = append(out, r.Meta.GetId())
		}
		return out
	}

	for _, tc := range []struct {
		name       string
		snapshot   []*PDRegion
		ranges     []*pdpb.KeyRange
		limit      int
		containAll bool
		want       []uint64 // nil: expect errPDRegionsNotContainAllKeyRange
	}{
		{"no ranges", snapshot, nil, 0, true, []uint64{}},
		{"whole keyspace", snapshot, pbRanges("", ""), 0, true, []uint64{2, 4, 6, 8, 10, 12}},
		{"one region spans three ranges", snapshot, pbRanges("b", "ba", "bb", "bc", "bd", "be"), 0, true, []uint64{4}},
		{"range ends on a boundary", snapshot, pbRanges("a", "b"), 0, true, []uint64{2}},
		{"adjacent ranges", snapshot, pbRanges("a", "c", "c", "e"), 0, true, []uint64{2, 4, 6}},
		{"empty range selects nothing", snapshot, pbRanges("c", "c", "g", "i"), 0, true, []uint64{8, 10}},
		{"limit cuts inside a range", snapshot, pbRanges("", "g"), 2, true, []uint64{2, 4}},
		{"limit skips later ranges", withHoles, pbRanges("c", "d", "e", "g"), 1, true, []uint64{4}},
		{"hole past the limit not looked at", withHoles, pbRanges("b", "j"), 2, true, []uint64{4, 6}},
		{"hole before the limit", withHoles, pbRanges("b", "j"), 3, true, nil},
		{"hole ignored", withHoles, pbRanges("", ""), 0, false, []uint64{4, 6, 10}},
		{"hole at start", withHoles, pbRanges("a", "c"), 0, true, nil},
		{"hole in the middle", withHoles, pbRanges("e", "i"), 0, true, nil},
		{"hole at end", withHoles, pbRanges("i", "k"), 0, true, nil},
		{"hole to +inf", withHoles, pbRanges("i", ""), 0, true, nil},
		{"range inside a hole", withHoles, pbRanges("fa", "fb"), 0, true, nil},
		{"covered despite holes", withHoles, pbRanges("b", "f", "h", "j"), 0, true, []uint64{4, 6, 10}},
	} {
		got, err := pdBatchScanRegions(tc.snapshot, tc.ranges, tc.limit, tc.containAll)
		if tc.want == nil {
			assert.ErrorIs(t, err, errPDRegionsNotContainAllKeyRange, tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, ids(got), tc.name)
	}

	for _, tc := range []struct {
		name   string
		ranges []*pdpb.KeyRange
		want   string
	}{
		{"sorted and disjoint", pbRanges("a", "b", "b", "c", "d", ""), ""},
		{"empty range", pbRanges("a", "a"), ""},
		{"overlap", pbRanges("a", "c", "b", "d"), "invalid key range, ranges overlapped"},
		{"unbounded then more", pbRanges("a", "", "b", "c"), "invalid key range, ranges overlapped"},
		{"start after end", pbRanges("b", "a"), "invalid key range, start key > end key"},
	} {
		typ, msg := validatePDKeyRanges(tc.ranges)
		assert.Equal(t, tc.want, msg, tc.name)
		if msg != "" {
			assert.Equal(t, pdpb.ErrorType_UNKNOWN, typ, tc.name)
		}
	}
}

func TestPDServerStores(t *testing.T) {
	_, addr := startPDServer(t, newFakePDBackend())
	cli := newPDClient(t, addr)
	ctx := pdTestCtx(t)

	store, err := cli.GetStore(ctx, 2)
	require.NoError(t, err)
	require.NotNil(t, store)
	assert.Equal(t, "127.0.0.1:20162", store.GetAddress())
	assert.Equal(t, metapb.NodeState_Serving, store.GetNodeState())

	_, err = cli.GetStore(ctx, 99)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "invalid store ID 99, not found")

	all, err := cli.GetAllStores(ctx)
	require.NoError(t, err)
	assert.Len(t, all, 4)

	live, err := cli.GetAllStores(ctx, opt.WithExcludeTombstone())
	require.NoError(t, err)
	require.Len(t, live, 3)
	for _, s := range live {
		assert.NotEqual(t, metapb.StoreState_Tombstone, s.GetState(), "store %d", s.GetId())
	}
}

func TestPDServerRejectsClusterIDMismatch(t *testing.T) {
	_, addr := startPDServer(t, newFakePDBackend())
	raw, _ := newRawPDClient(t, addr)
	ctx := pdTestCtx(t)

	const foreignID = 42
	wrong := &pdpb.RequestHeader{ClusterId: foreignID}
	calls := map[string]func(*pdpb.RequestHeader) error{
		"GetMembers": func(h *pdpb.RequestHeader) error {
			_, err := raw.GetMembers(ctx, &pdpb.GetMembersRequest{Header: h})
			return err
		},
		"GetClusterInfo": func(h *pdpb.RequestHeader) error {
			// kvproto types this request's header as a ResponseHeader.
			var header *pdpb.ResponseHeader
			if h != nil {
				header = &pdpb.ResponseHeader{ClusterId: h.GetClusterId()}
			}
			_, err := raw.GetClusterInfo(ctx, &pdpb.GetClusterInfoRequest{Header: header})
			return err
		},
		"GetRegion": func(h *pdpb.RequestHeader) error {
			_, err := raw.GetRegion(ctx, &pdpb.GetRegionRequest{Header: h, RegionKey: []byte("a")})
			return err
		},
		"GetPrevRegion": func(h *pdpb.RequestHeader) error {
			_, err := raw.GetPrevRegion(ctx, &pdpb.GetRegionRequest{Header: h, RegionKey: []byte("c")})
			return err
		},
		"GetRegionByID": func(h *pdpb.RequestHeader) error {
			_, err := raw.GetRegionByID(ctx, &pdpb.GetRegionByIDRequest{Header: h, RegionId: 2})
			return err
		},
		"ScanRegions": func(h *pdpb.RequestHeader) error {
			//nolint:staticcheck // deprecated but served
			_, err := raw.ScanRegions(ctx, &pdpb.ScanRegionsRequest{Header: h})
			return err
		},
		"BatchScanRegions": func(h *pdpb.RequestHeader) error {
			_, err := raw.BatchScanRegions(ctx, &pdpb.BatchScanRegionsRequest{Header: h})
			return err
		},
		"GetStore": func(h *pdpb.RequestHeader) error {
			_, err := raw.GetStore(ctx, &pdpb.GetStoreRequest{Header: h, StoreId: 1})
			return err
		},
		"GetAllStores": func(h *pdpb.RequestHeader) error {
			_, err := raw.GetAllStores(ctx, &pdpb.GetAllStoresRequest{Header: h})
			return err
		},
		"Tso": func(h *pdpb.RequestHeader) error {
			stream, err := raw.Tso(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = stream.CloseSend() }()
			if err := stream.Send(&pdpb.TsoRequest{Header: h, Count: 1}); err != nil {
				return err
			}
			_, err = stream.Recv()
			return err
		},
	}
	for method, call := range calls {
		err := call(wrong)
		require.Error(t, err, method)
		assert.Equal(t, codes.FailedPrecondition, status.Code(err), "%s: %v", method, err)
		msg := status.Convert(err).Message()
		assert.Contains(t, msg, fmt.Sprint(fakeClusterID), method)
		assert.Contains(t, msg, fmt.Sprint(foreignID), method)
		assert.Contains(t, msg, method)

		assert.NoError(t, call(&pdpb.RequestHeader{ClusterId: fakeClusterID}), "%s with our id", method)
		assert.NoError(t, call(nil), "%s without a header", method)
	}
}

func TestPDServerStopAndRestart(t *testing.T) {
	srv, addr := startPDServer(t, newFakePDBackend())
	cli := newPDClient(t, addr)
	ctx := pdTestCtx(t)

	physical, logical, err := cli.GetTS(ctx)
	require.NoError(t, err)
	beforeStop := pdTestTS(physical, logical)

	srv.Stop()
	srv.Stop() // idempotent
	assert.Equal(t, addr, srv.Addr(), "the address survives Stop for the restart")

	downCtx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err = cli.GetRegion(downCtx, []byte("a"))
	cancel()
	assert.Error(t, err, "GetRegion while PD is down")
	downCtx, cancel = context.WithTimeout(ctx, 500*time.Millisecond)
	_, _, err = cli.GetTS(downCtx)
	cancel()
	assert.Error(t, err, "GetTS while PD is down")

	restarted, err := srv.Start(addr)
	require.NoError(t, err)
	require.Equal(t, addr, restarted)

	// The client reconnects on its own, with a 1 s → 3 s dial backoff.
	deadline := time.Now().Add(10 * time.Second)
	var afterRestart uint64
	for {
		attemptCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		physical, logical, err = cli.GetTS(attemptCtx)
		cancel()
		if err == nil {
			afterRestart = pdTestTS(physical, logical)
			break
		}
		require.True(t, time.Now().Before(deadline), "client did not recover after restart: %v", err)
		time.Sleep(50 * time.Millisecond) // polling a third-party client's reconnect; no event to wait on
	}
	assert.Greater(t, afterRestart, beforeStop)

	r, err := cli.GetRegion(pdTestCtx(t), []byte("a"))
	require.NoError(t, err)
	require.NotNil(t, r)
	assert.Equal(t, uint64(2), r.Meta.GetId())
}

func TestPDServerStartErrors(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = taken.Close() }()

	srv := newPDServer(newFakePDBackend(), zaptest.NewLogger(t))
	_, err = srv.Start(taken.Addr().String())
	require.Error(t, err)
	assert.Contains(t, err.Error(), taken.Addr().String())

	_, err = srv.Start("")
	require.Error(t, err, "no previous address to reuse")

	addr, err := srv.Start("127.0.0.1:0")
	require.NoError(t, err)
	defer srv.Stop()
	_, err = srv.Start(addr)
	require.Error(t, err, "already serving")
	assert.True(t, strings.Contains(err.Error(), addr), "error names the address: %v", err)
}
