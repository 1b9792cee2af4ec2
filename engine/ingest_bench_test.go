package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"github.com/tikv/client-go/v2/util/codec"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/pulltop/pulltop/engine"
)

// The ingest benchmark compares the engine with a bare gRPC receive+decode
// loop over the same pre-encoded ChangeDataEvents from the same loopback
// server (DESIGN §8: the engine must reach ≥ 70% of the bare loop).
//
//	go test -run '^$' -bench Ingest -count 5 ./engine/

const (
	ingestRegions     = 100
	ingestRowsPerMsg  = 64
	ingestCycle       = 256 // distinct pre-encoded messages, sent round-robin
	ingestClusterID   = 4242
	ingestBaseTs      = uint64(400000) << 18
	ingestValueBytes  = 64
	ingestMsgsPerPass = ingestCycle
)

// rawCodec lets the fake store send bytes that were marshalled once, so
// server-side encoding costs nothing in either run.
type rawCodec struct{}

type preEncoded []byte

func (rawCodec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case preEncoded:
		return m, nil
	case interface{ Marshal() ([]byte, error) }:
		return m.Marshal()
	}
	return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	return v.(interface{ Unmarshal([]byte) error }).Unmarshal(data)
}

func (rawCodec) Name() string { return "proto" }

// ingestStore is a ChangeData server that answers every registration with
// INITIALIZED and, once all regions are registered, streams `total`
// pre-encoded messages.
type ingestStore struct {
	cdcpb.UnimplementedChangeDataServer
	msgs  []preEncoded
	total atomic.Int64
	rows  int // rows per full pass of msgs
}

func newIngestStore() *ingestStore {
	s := &ingestStore{}
	value := make([]byte, ingestValueBytes)
	for i := 0; i < ingestCycle; i++ {
		ev := &cdcpb.ChangeDataEvent{}
		if i == ingestCycle-1 {
			ids := make([]uint64, ingestRegions)
			for r := range ids {
				ids[r] = uint64(r + 1)
			}
			// Below every row's commit ts: the resolved path runs, nothing
			// is ever behind it.
			ev.ResolvedTs = &cdcpb.ResolvedTs{Regions: ids, Ts: ingestBaseTs + 1, RequestId: 1}
		} else {
			for j := 0; j < ingestRowsPerMsg; j++ {
				n := i*ingestRowsPerMsg + j
				region := n % ingestRegions // its index in ingestPD's regions
				ev.Events = append(ev.Events, &cdcpb.Event{
					RegionId: uint64(region + 1), RequestId: 1,
					Event: &cdcpb.Event_Entries_{Entries: &cdcpb.Event_Entries{Entries: []*cdcpb.Event_Row{{
						StartTs: ingestBaseTs + 10, CommitTs: ingestBaseTs + 20 + uint64(n),
						Type: cdcpb.Event_COMMITTED, OpType: cdcpb.Event_Row_PUT,
						// Inside its region, [t<region>, t<region+1>): the
						// engine drops a row outside its region's range.
						Key: []byte(fmt.Sprintf("t%03d_r%08d", region, n)), Value: value,
					}}}},
				})
				s.rows++
			}
		}
		b, err := ev.Marshal()
		if err != nil {
			panic(err)
		}
		s.msgs = append(s.msgs, b)
	}
	return s
}

func (s *ingestStore) EventFeedV2(stream cdcpb.ChangeData_EventFeedV2Server) error {
	registered := map[uint64]bool{}
	for len(registered) < ingestRegions {
		req, err := stream.Recv()
		if err != nil {
			return err
		}
		if req.GetDeregister() != nil || registered[req.RegionId] {
			continue
		}
		registered[req.RegionId] = true
		init := &cdcpb.ChangeDataEvent{Events: []*cdcpb.Event{{
			RegionId: req.RegionId, RequestId: req.RequestId,
			Event: &cdcpb.Event_Entries_{Entries: &cdcpb.Event_Entries{Entries: []*cdcpb.Event_Row{{Type: cdcpb.Event_INITIALIZED}}}},
		}}}
		if err := stream.Send(init); err != nil {
			return err
		}
	}
	go func() { // drain later requests
		for {
			if _, err := stream.Recv(); err != nil {
				return
			}
		}
	}()
	for sent := int64(0); sent < s.total.Load(); sent++ {
		if err := stream.SendMsg(s.msgs[sent%int64(len(s.msgs))]); err != nil {
			return err
		}
	}
	<-stream.Context().Done()
	return nil
}

// ingestPD is the smallest PD the engine needs: one store, 100 regions.
type ingestPD struct {
	pdpb.UnimplementedPDServer
	addr, storeAddr string
	regions         []*pdpb.Region
	mu              sync.Mutex
	physical        int64
}

func newIngestPD(storeAddr string) *ingestPD {
	p := &ingestPD{storeAddr: storeAddr}
	for i := 0; i < ingestRegions; i++ {
		r := &metapb.Region{Id: uint64(i + 1), RegionEpoch: &metapb.RegionEpoch{ConfVer: 1, Version: 1},
			Peers: []*metapb.Peer{{Id: uint64(1000 + i), StoreId: 1}}}
		if i > 0 {
			r.StartKey = codec.EncodeBytes(nil, []byte(fmt.Sprintf("t%03d", i)))
		}
		if i < ingestRegions-1 {
			r.EndKey = codec.EncodeBytes(nil, []byte(fmt.Sprintf("t%03d", i+1)))
		}
		p.regions = append(p.regions, &pdpb.Region{Region: r, Leader: r.Peers[0]})
	}
	return p
}

func (p *ingestPD) hdr() *pdpb.ResponseHeader {
	return &pdpb.ResponseHeader{ClusterId: ingestClusterID}
}

func (p *ingestPD) GetMembers(context.Context, *pdpb.GetMembersRequest) (*pdpb.GetMembersResponse, error) {
	m := &pdpb.Member{Name: "pd", MemberId: 1, ClientUrls: []string{"http://" + p.addr}, PeerUrls: []string{"http://" + p.addr}}
	return &pdpb.GetMembersResponse{Header: p.hdr(), Members: []*pdpb.Member{m}, Leader: m, EtcdLeader: m}, nil
}

func (p *ingestPD) GetClusterInfo(context.Context, *pdpb.GetClusterInfoRequest) (*pdpb.GetClusterInfoResponse, error) {
	return &pdpb.GetClusterInfoResponse{Header: p.hdr(), ServiceModes: []pdpb.ServiceMode{pdpb.ServiceMode_PD_SVC_MODE}}, nil
}

func (p *ingestPD) Tso(stream pdpb.PD_TsoServer) error {
	for {
		req, err := stream.Recv()
		if err != nil {
			return nil
		}
		p.mu.Lock()
		p.physical++
		phys := int64(ingestBaseTs>>18) + p.physical
		p.mu.Unlock()
		if err := stream.Send(&pdpb.TsoResponse{Header: p.hdr(), Count: req.Count,
			Timestamp: &pdpb.Timestamp{Physical: phys, Logical: int64(req.Count)}}); err != nil {
			return nil
		}
	}
}

// BatchScanRegions answers as PD does: the regions overlapping each range
// asked for, in key order, at most Limit (the engine refuses an answer
// that lies outside what it asked).
func (p *ingestPD) BatchScanRegions(_ context.Context, req *pdpb.BatchScanRegionsRequest) (*pdpb.BatchScanRegionsResponse, error) {
	resp := &pdpb.BatchScanRegionsResponse{Header: p.hdr()}
	for _, kr := range req.Ranges {
		for _, r := range p.regions {
			endsAfterStart := len(r.Region.EndKey) == 0 || bytes.Compare(r.Region.EndKey, kr.StartKey) > 0
			startsBeforeEnd := len(kr.EndKey) == 0 || bytes.Compare(r.Region.StartKey, kr.EndKey) < 0
			if endsAfterStart && startsBeforeEnd && (req.Limit <= 0 || len(resp.Regions) < int(req.Limit)) {
				resp.Regions = append(resp.Regions, r)
			}
		}
	}
	return resp, nil
}

// GetGCSafePoint: nothing was ever collected, so every start ts is safe.
func (p *ingestPD) GetGCSafePoint(context.Context, *pdpb.GetGCSafePointRequest) (*pdpb.GetGCSafePointResponse, error) {
	return &pdpb.GetGCSafePointResponse{Header: p.hdr()}, nil
}

func (p *ingestPD) store() *metapb.Store {
	return &metapb.Store{Id: 1, Address: p.storeAddr, Version: "8.5.0", State: metapb.StoreState_Up}
}

func (p *ingestPD) GetStore(context.Context, *pdpb.GetStoreRequest) (*pdpb.GetStoreResponse, error) {
	return &pdpb.GetStoreResponse{Header: p.hdr(), Store: p.store()}, nil
}

func (p *ingestPD) GetAllStores(context.Context, *pdpb.GetAllStoresRequest) (*pdpb.GetAllStoresResponse, error) {
	return &pdpb.GetAllStoresResponse{Header: p.hdr(), Stores: []*metapb.Store{p.store()}}, nil
}

type ingestCluster struct {
	store     *ingestStore
	pdAddr    string
	storeAddr string
	stop      func()
}

func startIngestCluster(b *testing.B) *ingestCluster {
	store := newIngestStore()
	sl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ss := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}))
	cdcpb.RegisterChangeDataServer(ss, store)
	go func() { _ = ss.Serve(sl) }()
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	pd := newIngestPD(sl.Addr().String())
	pd.addr = pl.Addr().String()
	ps := grpc.NewServer()
	pdpb.RegisterPDServer(ps, pd)
	go func() { _ = ps.Serve(pl) }()
	return &ingestCluster{store: store, pdAddr: pd.addr, storeAddr: sl.Addr().String(), stop: func() { ss.Stop(); ps.Stop() }}
}

func (c *ingestCluster) setMessages(b *testing.B) (msgs int64, rows int64) {
	msgs = int64(b.N)
	c.store.total.Store(msgs)
	// rows in the first msgs messages of the cycle
	full := msgs / int64(len(c.store.msgs))
	rows = full * int64(c.store.rows)
	for i := int64(0); i < msgs%int64(len(c.store.msgs)); i++ {
		if i != int64(len(c.store.msgs))-1 {
			rows += ingestRowsPerMsg
		}
	}
	return msgs, rows
}

// BenchmarkIngest: one op is one ChangeDataEvent received (63 of every 64
// carry 64 rows). Compare rows/s of bare and engine in the same run.
func BenchmarkIngest(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		c := startIngestCluster(b)
		defer c.stop()
		_, wantRows := c.setMessages(b)
		conn, err := grpc.NewClient(c.storeAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20)))
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(context.Background(), "features", "stream-multiplexing"))
		defer cancel()
		stream, err := cdcpb.NewChangeDataClient(conn).EventFeedV2(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for r := 1; r <= ingestRegions; r++ {
			if err := stream.Send(&cdcpb.ChangeDataRequest{RegionId: uint64(r), RequestId: 1}); err != nil {
				b.Fatal(err)
			}
		}
		for inits := 0; inits < ingestRegions; {
			ev, err := stream.Recv()
			if err != nil {
				b.Fatal(err)
			}
			inits += len(ev.Events)
		}
		b.ResetTimer()
		start := time.Now()
		var rows int64
		for rows < wantRows {
			ev, err := stream.Recv()
			if err != nil {
				b.Fatal(err)
			}
			for _, e := range ev.Events {
				rows += int64(len(e.GetEntries().GetEntries()))
			}
		}
		b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
	})
	b.Run("engine", func(b *testing.B) {
		c := startIngestCluster(b)
		defer c.stop()
		_, wantRows := c.setMessages(b)
		var rows atomic.Int64
		done := make(chan struct{})
		eng, err := engine.Start(engine.Config{
			PD:              []string{c.pdAddr},
			StartTs:         ingestBaseTs + 2, // below every row, above the resolved ts
			PublishInterval: time.Hour,        // the snapshot builder is not what is measured
			OnRow: func(uint64, engine.Row) {
				if rows.Add(1) == wantRows {
					close(done)
				}
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		defer eng.Close()
		start := time.Now()
		select {
		case <-done:
		case <-time.After(time.Minute):
			st := eng.Refresh()
			b.Fatalf("engine delivered %d of %d rows (engine error %q, PD error %q, %d regions, %d initialized, errors %v)",
				rows.Load(), wantRows, st.EngineError, st.Source.PDError, st.Totals.Regions, st.Totals.Initialized, st.Totals.ErrorsByReason)
		}
		b.ReportMetric(float64(wantRows)/time.Since(start).Seconds(), "rows/s")
	})
}
