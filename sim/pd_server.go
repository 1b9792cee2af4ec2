package sim

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pingcap/kvproto/pkg/meta_storagepb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

const (
	// pdSimMemberName and pdSimMemberID identify the single PD member the sim
	// advertises. The client only needs the leader to exist and to carry a
	// reachable client URL; the values themselves are arbitrary but fixed so
	// that a restart looks like the same member coming back.
	pdSimMemberName = "pd-sim"
	pdSimMemberID   = 0x7064_73696d // "pdsim"

	// pdMaxTSOCount is the largest batch one TSO request may ask for: a batch
	// must fit in the logical part of one physical tick (18 bits), because
	// the client derives the first ts of the batch as last-count+1.
	pdMaxTSOCount = 1 << 18

	// pdKeepaliveMinTime must be at most any client's ping interval
	// (TiCDC-style clients ping every 10 s; the pd client sets no keepalive
	// itself but callers may pass one through WithGRPCDialOptions). Go's
	// default of 5 min would answer their pings with GOAWAY too_many_pings
	// and drop the connection.
	pdKeepaliveMinTime = time.Second
)

// pdServer serves the PD gRPC API (pdpb.PD plus grpc health) over the
// cluster model, so that the real pd client, and everything built on it,
// runs against the sim unmodified.
//
// It owns only its listener and grpc.Server; all cluster state is read
// through pdBackend on every request, so it never caches a region, store or
// timestamp. Start and Stop may be called repeatedly (the `pd-down` fault is
// Stop then Start on the same address) and from any goroutine.
type pdServer struct {
	pdpb.UnimplementedPDServer

	backend pdBackend
	logger  *zap.Logger
	meta    *metaStorage
	// tls is the server TLS config, nil for plaintext; set before the first
	// Start and never changed. It also picks the advertised URL scheme.
	tls *tls.Config
	// extraOpts are Config.ServerOptions (tests' interceptors).
	extraOpts []grpc.ServerOption

	// lifecycle serialises Start and Stop. RPC handlers never take it, so
	// Stop may hold it while it waits for them to return.
	lifecycle  sync.Mutex
	grpcServer *grpc.Server           // nil while stopped; guarded by lifecycle
	serveDone  chan struct{}          // closed when Serve returns; guarded by lifecycle
	addr       atomic.Pointer[string] // last bound host:port; read by handlers
}

// newPDServer returns a stopped server over backend; call Start to serve.
func newPDServer(backend pdBackend, logger *zap.Logger) *pdServer {
	if logger == nil {
		logger = zap.NewNop()
	}
	return &pdServer{backend: backend, logger: logger.With(zap.String("component", "pd-sim")),
		meta: newMetaStorage(backend.ClusterID)}
}

// Start listens on addr and serves until Stop. It returns the actual
// host:port, which is also the URL PD advertises to clients, so pass
// "127.0.0.1:0" the first time and the returned address on a restart: the
// client only knows the URL it was given and the one GetMembers advertises.
// An empty addr means the address of the previous Start.
func (s *pdServer) Start(addr string) (string, error) {
	s.lifecycle.Lock()
	defer s.lifecycle.Unlock()

	if s.grpcServer != nil {
		return "", fmt.Errorf("pd server: start on %q: already serving on %s", addr, s.Addr())
	}
	if addr == "" {
		addr = s.Addr()
		if addr == "" {
			return "", errors.New("pd server: start: no address given and none bound before")
		}
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("pd server: listen on %s: %w", addr, err)
	}
	bound := lis.Addr().String()
	s.addr.Store(&bound)

	// A new grpc.Server each time: a stopped one cannot serve again.
	opts := []grpc.ServerOption{
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             pdKeepaliveMinTime,
			PermitWithoutStream: true,
		}),
		// Stop must not return while a handler may still call the backend
		// or log: after Stop the sim is entitled to tear the model down.
		grpc.WaitForHandlers(true),
	}
	if s.tls != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(s.tls)))
	}
	srv := grpc.NewServer(append(opts, s.extraOpts...)...)
	pdpb.RegisterPDServer(srv, s)
	meta_storagepb.RegisterMetaStorageServer(srv, s.meta)
	healthServer := health.NewServer()
	healthServer.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, healthServer)

	done := make(chan struct{})
	s.grpcServer, s.serveDone = srv, done
	go func() {
		defer close(done)
		if err := srv.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			s.logger.Warn("pd server stopped serving", zap.String("addr", bound), zap.Error(err))
		}
	}()
	s.logger.Debug("pd server started", zap.String("addr", bound))
	return bound, nil
}

// Stop hard-stops the server: the listener and every connection close at
// once and in-flight RPCs (including TSO streams) fail on the client side
// with Unavailable, as when a PD process dies. It returns after every
// handler has returned. Stopping a stopped server does nothing.
func (s *pdServer) Stop() {
	s.lifecycle.Lock()
	defer s.lifecycle.Unlock()

	if s.grpcServer == nil {
		return
	}
	s.grpcServer.Stop()
	<-s.serveDone
	s.grpcServer, s.serveDone = nil, nil
	s.logger.Debug("pd server stopped", zap.String("addr", s.Addr()))
}

// Addr returns the host:port of the last Start, even while stopped, so the
// sim can restart PD on the same address; "" before the first Start.
func (s *pdServer) Addr() string {
	if p := s.addr.Load(); p != nil {
		return *p
	}
	return ""
}

// checkClusterID rejects a request meant for another cluster, as real PD
// does, so a client pointed at the wrong cluster fails loudly instead of
// reading foreign regions. A zero id is accepted because the client sends
// no header on its bootstrap calls (GetMembers, GetClusterInfo).
func (s *pdServer) checkClusterID(method string, got uint64) error {
	want := s.backend.ClusterID()
	if got == 0 || got == want {
		return nil
	}
	s.logger.Debug("pd request rejected: cluster id mismatch",
		zap.String("method", method), zap.Uint64("want", want), zap.Uint64("got", got))
	return status.Errorf(codes.FailedPrecondition,
		"pd sim %s: mismatch cluster id, need %d but got %d", method, want, got)
}

func (s *pdServer) header() *pdpb.ResponseHeader {
	return &pdpb.ResponseHeader{ClusterId: s.backend.ClusterID()}
}

// errorHeader reports a request-level failure the way PD does: in the
// header of a successful RPC, which the client turns into an error
// carrying the type and message.
func (s *pdServer) errorHeader(typ pdpb.ErrorType, msg string) *pdpb.ResponseHeader {
	h := s.header()
	h.Error = &pdpb.Error{Type: typ, Message: msg}
	return h
}

func (s *pdServer) member() *pdpb.Member {
	// The pd client dials the advertised URL whose scheme matches its own
	// TLS setting (tlsutil.PickMatchedURL), as real PD advertises https://
	// when it serves TLS.
	scheme := "http://"
	if s.tls != nil {
		scheme = "https://"
	}
	url := scheme + s.Addr()
	return &pdpb.Member{
		Name:       pdSimMemberName,
		MemberId:   pdSimMemberID,
		PeerUrls:   []string{url},
		ClientUrls: []string{url},
	}
}

// GetMembers answers the client's bootstrap and its periodic member refresh.
// The client replaces the URLs it was configured with by the advertised
// ClientUrls and dials the leader's, so these must be exactly the address
// the server is reachable on.
func (s *pdServer) GetMembers(_ context.Context, req *pdpb.GetMembersRequest) (*pdpb.GetMembersResponse, error) {
	if err := s.checkClusterID("GetMembers", req.GetHeader().GetClusterId()); err != nil {
		return nil, err
	}
	m := s.member()
	s.logger.Debug("pd GetMembers", zap.Strings("client-urls", m.ClientUrls))
	return &pdpb.GetMembersResponse{
		Header:     s.header(),
		Members:    []*pdpb.Member{m},
		Leader:     m,
		EtcdLeader: m,
	}, nil
}

// GetClusterInfo says the sim is a plain PD (not the API/microservice mode),
// so the client keeps TSO on the PD stream. It is answered explicitly rather
// than left Unimplemented because the client recognises Unimplemented only
// by matching the error text.
func (s *pdServer) GetClusterInfo(_ context.Context, req *pdpb.GetClusterInfoRequest) (*pdpb.GetClusterInfoResponse, error) {
	// kvproto declares this request's header as a ResponseHeader; it still
	// carries the caller's cluster id.
	if err := s.checkClusterID("GetClusterInfo", req.GetHeader().GetClusterId()); err != nil {
		return nil, err
	}
	s.logger.Debug("pd GetClusterInfo")
	return &pdpb.GetClusterInfoResponse{
		Header:       s.header(),
		ServiceModes: []pdpb.ServiceMode{pdpb.ServiceMode_PD_SVC_MODE},
	}, nil
}

// Tso serves one TSO stream. The client batches concurrent GetTS calls into
// one request of Count n and hands out the n timestamps ending at the
// returned one, so the reply must echo Count and carry the batch's last ts;
// a wrong Count makes the client reset the stream.
func (s *pdServer) Tso(stream pdpb.PD_TsoServer) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			// The client went away or the server is stopping; nothing to answer.
			return err
		}
		if err := s.checkClusterID("Tso", req.GetHeader().GetClusterId()); err != nil {
			return err
		}
		count := req.GetCount()
		if count == 0 || count > pdMaxTSOCount {
			return status.Errorf(codes.InvalidArgument,
				"pd sim Tso: count %d out of range [1, %d]", count, pdMaxTSOCount)
		}
		physical, logical := s.backend.AllocTSO(count)
		s.logger.Debug("pd Tso", zap.Uint32("count", count),
			zap.Int64("physical", physical), zap.Int64("logical", logical))
		if err := stream.Send(&pdpb.TsoResponse{
			Header:    s.header(),
			Count:     count,
			Timestamp: &pdpb.Timestamp{Physical: physical, Logical: logical},
		}); err != nil {
			return err
		}
	}
}

// pdLeaderOrEmpty mirrors PD, which sends an empty peer rather than none when
// it knows no leader for a region.
func pdLeaderOrEmpty(r *PDRegion) *metapb.Peer {
	if r.Leader == nil {
		return &metapb.Peer{}
	}
	return r.Leader
}

// regionResponse builds the reply shared by the three point lookups. An
// absent region is a successful reply with no region, which the client
// returns as (nil, nil): callers retry on that rather than fail.
func (s *pdServer) regionResponse(r *PDRegion) *pdpb.GetRegionResponse {
	if r == nil {
		return &pdpb.GetRegionResponse{Header: s.header()}
	}
	return &pdpb.GetRegionResponse{Header: s.header(), Region: r.Meta, Leader: pdLeaderOrEmpty(r),
		DownPeers: pdDownPeers(r), PendingPeers: r.PendingPeers}
}

// pdDownPeers is the down-peer list PD returns with a region.
func pdDownPeers(r *PDRegion) []*pdpb.PeerStats {
	if len(r.DownPeers) == 0 {
		return nil
	}
	out := make([]*pdpb.PeerStats, len(r.DownPeers))
	for i, d := range r.DownPeers {
		out[i] = &pdpb.PeerStats{Peer: d.Peer, DownSeconds: d.DownSeconds}
	}
	return out
}

// pdRegionMsg is one region of a scan answer.
func pdRegionMsg(r *PDRegion) *pdpb.Region {
	return &pdpb.Region{Region: r.Meta, Leader: pdLeaderOrEmpty(r), DownPeers: pdDownPeers(r), PendingPeers: r.PendingPeers}
}

func pdRegionIDOf(r *PDRegion) uint64 {
	if r == nil {
		return 0
	}
	return r.Meta.GetId()
}

// GetRegion returns PD's (possibly lagging) view of the region containing
// the key.
func (s *pdServer) GetRegion(_ context.Context, req *pdpb.GetRegionRequest) (*pdpb.GetRegionResponse, error) {
	if err := s.checkClusterID("GetRegion", req.GetHeader().GetClusterId()); err != nil {
		return nil, err
	}
	r := s.backend.RegionByKey(req.GetRegionKey())
	s.logger.Debug("pd GetRegion", zap.Binary("key", req.GetRegionKey()), zap.Uint64("region", pdRegionIDOf(r)))
	return s.regionResponse(r), nil
}

// GetPrevRegion returns the region just before the one containing the key.
func (s *pdServer) GetPrevRegion(_ context.Context, req *pdpb.GetRegionRequest) (*pdpb.GetRegionResponse, error) {
	if err := s.checkClusterID("GetPrevRegion", req.GetHeader().GetClusterId()); err != nil {
		return nil, err
	}
	r := s.backend.PrevRegion(req.GetRegionKey())
	s.logger.Debug("pd GetPrevRegion", zap.Binary("key", req.GetRegionKey()), zap.Uint64("region", pdRegionIDOf(r)))
	return s.regionResponse(r), nil
}

// GetRegionByID returns the region with the id, if PD still knows it.
func (s *pdServer) GetRegionByID(_ context.Context, req *pdpb.GetRegionByIDRequest) (*pdpb.GetRegionResponse, error) {
	if err := s.checkClusterID("GetRegionByID", req.GetHeader().GetClusterId()); err != nil {
		return nil, err
	}
	r := s.backend.RegionByID(req.GetRegionId())
	s.logger.Debug("pd GetRegionByID", zap.Uint64("region", req.GetRegionId()), zap.Bool("found", r != nil))
	return s.regionResponse(r), nil
}

// ScanRegions fills both the current Regions field and the deprecated
// RegionMetas/Leaders pair, as PD does, so clients of either vintage read
// the same answer.
func (s *pdServer) ScanRegions(_ context.Context, req *pdpb.ScanRegionsRequest) (*pdpb.ScanRegionsResponse, error) {
	if err := s.checkClusterID("ScanRegions", req.GetHeader().GetClusterId()); err != nil {
		return nil, err
	}
	limit := max(int(req.GetLimit()), 0) // PD treats any limit ≤ 0 as none
	found := s.backend.ScanRegions(req.GetStartKey(), req.GetEndKey(), limit)
	resp := &pdpb.ScanRegionsResponse{
		Header:      s.header(),
		Regions:     make([]*pdpb.Region, 0, len(found)),
		RegionMetas: make([]*metapb.Region, 0, len(found)),
		Leaders:     make([]*metapb.Peer, 0, len(found)),
	}
	for _, r := range found {
		leader := pdLeaderOrEmpty(r)
		resp.Regions = append(resp.Regions, pdRegionMsg(r))
		resp.RegionMetas = append(resp.RegionMetas, r.Meta)
		resp.Leaders = append(resp.Leaders, leader)
	}
	s.logger.Debug("pd ScanRegions", zap.Binary("start", req.GetStartKey()), zap.Binary("end", req.GetEndKey()),
		zap.Int32("limit", req.GetLimit()), zap.Int("regions", len(found)))
	return resp, nil
}

// BatchScanRegions returns the regions overlapping any of several key
// ranges. All ranges are answered from one backend scan so the result is a
// single consistent view of PD even while the model splits and merges.
func (s *pdServer) BatchScanRegions(_ context.Context, req *pdpb.BatchScanRegionsRequest) (*pdpb.BatchScanRegionsResponse, error) {
	if !s.backend.HasPDFeature(FeatureBatchScanRegions) {
		// The method does not exist in this release's service.
		return nil, status.Error(codes.Unimplemented, "unknown method BatchScanRegions for service pdpb.PD")
	}
	if err := s.checkClusterID("BatchScanRegions", req.GetHeader().GetClusterId()); err != nil {
		return nil, err
	}
	ranges := req.GetRanges()
	if typ, msg := validatePDKeyRanges(ranges); msg != "" {
		s.logger.Debug("pd BatchScanRegions rejected", zap.Int("ranges", len(ranges)), zap.String("reason", msg))
		return &pdpb.BatchScanRegionsResponse{Header: s.errorHeader(typ, msg)}, nil
	}
	limit := max(int(req.GetLimit()), 0)
	// Only the regions the answer can hold are read: each range yields at
	// most limit of them (PD's scanRegion stops there too), so a paged
	// lookup of a million regions reads each region once, not the whole
	// rest of the key space for every page.
	var snapshot []*PDRegion
	for _, kr := range ranges {
		for _, r := range s.backend.ScanRegions(kr.GetStartKey(), kr.GetEndKey(), limit) {
			// Adjacent ranges may share a region: keep the snapshot disjoint.
			if n := len(snapshot); n > 0 && snapshot[n-1].Meta.GetId() == r.Meta.GetId() {
				continue
			}
			snapshot = append(snapshot, r)
		}
	}
	found, err := pdBatchScanRegions(snapshot, ranges, limit, req.GetContainAllKeyRange())
	if err != nil {
		s.logger.Debug("pd BatchScanRegions failed", zap.Int("ranges", len(ranges)), zap.Error(err))
		return &pdpb.BatchScanRegionsResponse{
			Header: s.errorHeader(pdpb.ErrorType_REGIONS_NOT_CONTAIN_ALL_KEY_RANGE, err.Error()),
		}, nil
	}
	resp := &pdpb.BatchScanRegionsResponse{Header: s.header(), Regions: make([]*pdpb.Region, 0, len(found))}
	for _, r := range found {
		resp.Regions = append(resp.Regions, pdRegionMsg(r))
	}
	s.logger.Debug("pd BatchScanRegions", zap.Int("ranges", len(ranges)), zap.Int32("limit", req.GetLimit()),
		zap.Bool("contain-all", req.GetContainAllKeyRange()), zap.Int("regions", len(found)))
	return resp, nil
}

// validatePDKeyRanges applies PD's checks on BatchScanRegions input: every
// range has start ≤ end (an empty end is +∞) and the ranges are sorted and
// disjoint. It returns an empty message when the ranges are acceptable.
// Unlike PD, a range open to +∞ followed by another range counts as an
// overlap (PD's byte comparison lets that through).
func validatePDKeyRanges(ranges []*pdpb.KeyRange) (pdpb.ErrorType, string) {
	for i, kr := range ranges {
		if len(kr.GetEndKey()) > 0 && bytes.Compare(kr.GetStartKey(), kr.GetEndKey()) > 0 {
			return pdpb.ErrorType_UNKNOWN, "invalid key range, start key > end key"
		}
		if i == 0 {
			continue
		}
		prevEnd := ranges[i-1].GetEndKey()
		if len(prevEnd) == 0 || bytes.Compare(kr.GetStartKey(), prevEnd) < 0 {
			return pdpb.ErrorType_UNKNOWN, "invalid key range, ranges overlapped"
		}
	}
	return pdpb.ErrorType_OK, ""
}

// errPDRegionsNotContainAllKeyRange marks a key range PD has no region for,
// which a ContainAllKeyRange request must report instead of answering in
// part.
var errPDRegionsNotContainAllKeyRange = errors.New("regions not contain all key range")

// pdBatchScanRegions selects from snapshot (PD's regions in key order, disjoint)
// those overlapping any of ranges (validated: sorted, disjoint), in key
// order, each once, at most limit of them (0: no limit). With containAll, a
// key of a range covered by no region is an error naming the range; as in
// PD, ranges after the limit is reached are not checked. Empty ranges
// (start == end) contain no key and select nothing.
func pdBatchScanRegions(snapshot []*PDRegion, ranges []*pdpb.KeyRange, limit int, containAll bool) ([]*PDRegion, error) {
	var out []*PDRegion
	for _, kr := range ranges {
		if limit > 0 && len(out) >= limit {
			break
		}
		start, end := kr.GetStartKey(), kr.GetEndKey()
		if len(end) > 0 && bytes.Equal(start, end) {
			continue
		}
		// First region ending after start; regions before it cannot overlap.
		first := sort.Search(len(snapshot), func(i int) bool {
			regionEnd := snapshot[i].Meta.GetEndKey()
			return len(regionEnd) == 0 || bytes.Compare(regionEnd, start) > 0
		})
		covered := start // every key in [start, covered) has a region
		coveredToInf := false
		inRange := 0 // regions of this range so far
		for _, r := range snapshot[first:] {
			regionStart, regionEnd := r.Meta.GetStartKey(), r.Meta.GetEndKey()
			if len(end) > 0 && bytes.Compare(regionStart, end) >= 0 {
				break
			}
			if limit > 0 && inRange >= limit {
				break
			}
			inRange++
			if containAll && !coveredToInf && bytes.Compare(regionStart, covered) > 0 {
				return nil, fmt.Errorf("%w: no region for [%q, %q) within range [%q, %q)",
					errPDRegionsNotContainAllKeyRange, covered, regionStart, start, end)
			}
			if len(regionEnd) == 0 {
				coveredToInf = true
			} else {
				covered = regionEnd
			}
			// Adjacent ranges may share a region; ranges are sorted, so a
			// repeat can only be the region appended last.
			if n := len(out); n > 0 && out[n-1].Meta.GetId() == r.Meta.GetId() {
				continue
			}
			out = append(out, r)
		}
		// A range cut by the limit is not checked past the cut (PD's
		// scanRegion: !exceedLimit()).
		cut := limit > 0 && inRange >= limit
		if containAll && !cut && !coveredToInf && (len(end) == 0 || bytes.Compare(covered, end) < 0) {
			return nil, fmt.Errorf("%w: no region for [%q, %q) within range [%q, %q)",
				errPDRegionsNotContainAllKeyRange, covered, end, start, end)
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// GetGCSafePoint returns the cluster's GC safe point (GrpcServer.
// GetGCSafePoint): --gc-safepoint-lag behind the TSO clock.
func (s *pdServer) GetGCSafePoint(_ context.Context, req *pdpb.GetGCSafePointRequest) (*pdpb.GetGCSafePointResponse, error) {
	if err := s.checkClusterID("GetGCSafePoint", req.GetHeader().GetClusterId()); err != nil {
		return nil, err
	}
	return &pdpb.GetGCSafePointResponse{Header: s.header(), SafePoint: s.backend.GCSafePoint()}, nil
}

// GetStore answers an unknown id the way PD does, with an UNKNOWN header
// error; the CDC client treats that as "store gone" and reloads the region.
func (s *pdServer) GetStore(_ context.Context, req *pdpb.GetStoreRequest) (*pdpb.GetStoreResponse, error) {
	if err := s.checkClusterID("GetStore", req.GetHeader().GetClusterId()); err != nil {
		return nil, err
	}
	id := req.GetStoreId()
	for _, store := range s.backend.Stores() {
		if store.GetId() == id {
			s.logger.Debug("pd GetStore", zap.Uint64("store", id), zap.String("addr", store.GetAddress()))
			return &pdpb.GetStoreResponse{Header: s.header(), Store: store}, nil
		}
	}
	s.logger.Debug("pd GetStore: not found", zap.Uint64("store", id))
	return &pdpb.GetStoreResponse{
		Header: s.errorHeader(pdpb.ErrorType_UNKNOWN, fmt.Sprintf("invalid store ID %d, not found", id)),
	}, nil
}

// pdIsTombstone covers both generations of PD's store state: the legacy
// StoreState and the newer NodeState.
func pdIsTombstone(store *metapb.Store) bool {
	return store.GetState() == metapb.StoreState_Tombstone || store.GetNodeState() == metapb.NodeState_Removed
}

// GetAllStores returns every store PD knows, without tombstones when asked.
func (s *pdServer) GetAllStores(_ context.Context, req *pdpb.GetAllStoresRequest) (*pdpb.GetAllStoresResponse, error) {
	if err := s.checkClusterID("GetAllStores", req.GetHeader().GetClusterId()); err != nil {
		return nil, err
	}
	all := s.backend.Stores()
	stores := make([]*metapb.Store, 0, len(all))
	for _, store := range all {
		if req.GetExcludeTombstoneStores() && pdIsTombstone(store) {
			continue
		}
		stores = append(stores, store)
	}
	s.logger.Debug("pd GetAllStores", zap.Bool("exclude-tombstone", req.GetExcludeTombstoneStores()),
		zap.Int("stores", len(stores)))
	return &pdpb.GetAllStoresResponse{Header: s.header(), Stores: stores}, nil
}
