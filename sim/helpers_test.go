package sim

import (
	"context"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

const testVersion = "8.5.0"

// startSim starts a small sim with fast resolved ts and registers cleanup.
func startSim(t *testing.T, cfg Config) *Sim {
	t.Helper()
	if cfg.MinTsInterval == 0 {
		cfg.MinTsInterval = 50 * time.Millisecond
	}
	if cfg.Stores == 0 {
		cfg.Stores = 3
	}
	if cfg.Regions == 0 {
		cfg.Regions = 8
	}
	s, err := Start(cfg)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// feed is a raw EventFeed client over real gRPC, as the engine would open.
type feed struct {
	t      *testing.T
	conn   *grpc.ClientConn
	stream grpc.BidiStreamingClient[cdcpb.ChangeDataRequest, cdcpb.ChangeDataEvent]
	events chan *cdcpb.ChangeDataEvent
	err    chan error
	cancel context.CancelFunc
	held   []*cdcpb.Event // events of a message not yet looked at by waitEvent
}

type feedOpts struct {
	v1       bool   // EventFeed instead of EventFeedV2
	features string // features header; "" = stream-multiplexing, "-" = none
}

func openFeed(t *testing.T, addr string, o feedOpts) *feed {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	client := cdcpb.NewChangeDataClient(conn)
	f := &feed{t: t, conn: conn, cancel: cancel, events: make(chan *cdcpb.ChangeDataEvent, 4096), err: make(chan error, 1)}
	if o.v1 {
		f.stream, err = client.EventFeed(ctx)
	} else {
		features := o.features
		if features == "" {
			features = featureMultiplex
		}
		if features != "-" {
			ctx = metadata.AppendToOutgoingContext(ctx, featuresHeaderKey, features)
		}
		f.stream, err = client.EventFeedV2(ctx)
	}
	t.Cleanup(f.close)
	if err != nil { // e.g. the store is down: the stream has already ended
		f.err <- err
		close(f.events)
		return f
	}
	go func() {
		for {
			ev, err := f.stream.Recv()
			if err != nil {
				f.err <- err
				close(f.events)
				return
			}
			f.events <- ev
		}
	}()
	return f
}

func (f *feed) close() {
	f.cancel()
	_ = f.conn.Close()
	for range f.events { //nolint:revive // drain until the receiver exits
	}
}

func (f *feed) send(req *cdcpb.ChangeDataRequest) {
	f.t.Helper()
	require.NoError(f.t, f.stream.Send(req))
}

func registerReq(c *Cluster, ri RegionInfo, requestID, checkpoint uint64) *cdcpb.ChangeDataRequest {
	return &cdcpb.ChangeDataRequest{
		Header:       &cdcpb.Header{ClusterId: c.ClusterID(), TicdcVersion: testVersion},
		RegionId:     ri.ID,
		RequestId:    requestID,
		RegionEpoch:  &metapb.RegionEpoch{Version: ri.Version, ConfVer: ri.ConfVer},
		CheckpointTs: checkpoint,
		StartKey:     ri.Start,
		EndKey:       ri.End,
	}
}

// next returns the next message or fails after timeout.
func (f *feed) next(timeout time.Duration) *cdcpb.ChangeDataEvent {
	f.t.Helper()
	select {
	case ev, ok := <-f.events:
		if !ok {
			f.t.Fatalf("stream ended: %v", <-f.err)
		}
		return ev
	case <-time.After(timeout):
		f.t.Fatalf("no event within %s", timeout)
		return nil
	}
}

// waitEvent returns the first Event (not resolved ts) matching pred.
func (f *feed) waitEvent(timeout time.Duration, pred func(*cdcpb.Event) bool) *cdcpb.Event {
	f.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for len(f.held) > 0 {
			e := f.held[0]
			f.held = f.held[1:]
			if pred(e) {
				return e
			}
		}
		if !time.Now().Before(deadline) {
			f.t.Fatalf("no matching event within %s", timeout)
		}
		f.held = append(f.held, f.next(time.Until(deadline)).Events...)
	}
}

// waitResolved returns the first batched resolved ts matching pred.
func (f *feed) waitResolved(timeout time.Duration, pred func(*cdcpb.ResolvedTs) bool) *cdcpb.ResolvedTs {
	f.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ev := f.next(time.Until(deadline))
		if ev.ResolvedTs != nil && pred(ev.ResolvedTs) {
			return ev.ResolvedTs
		}
	}
	f.t.Fatalf("no matching resolved ts within %s", timeout)
	return nil
}

// streamErr waits for the stream to end and returns its error.
func (f *feed) streamErr(timeout time.Duration) error {
	f.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case _, ok := <-f.events:
			if !ok {
				return <-f.err
			}
		case <-deadline:
			f.t.Fatalf("stream still open after %s", timeout)
			return nil
		}
	}
}

// waitInitialized waits for INITIALIZED of every region, in any order.
func (f *feed) waitInitialized(ids ...uint64) {
	f.t.Helper()
	want := map[uint64]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for len(want) > 0 {
		e := f.waitEvent(wait, func(e *cdcpb.Event) bool { return want[e.RegionId] && isInitialized(e.RegionId)(e) })
		delete(want, e.RegionId)
	}
}

func isInitialized(regionID uint64) func(*cdcpb.Event) bool {
	return func(e *cdcpb.Event) bool {
		if e.RegionId != regionID || e.GetEntries() == nil {
			return false
		}
		for _, r := range e.GetEntries().GetEntries() {
			if r.Type == cdcpb.Event_INITIALIZED {
				return true
			}
		}
		return false
	}
}

func isError(regionID uint64) func(*cdcpb.Event) bool {
	return func(e *cdcpb.Event) bool { return e.RegionId == regionID && e.GetError() != nil }
}

func containsRegion(ids []uint64, id uint64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// leaderAddr is the address of a region's leader store.
func leaderAddr(s *Sim, ri RegionInfo) string { return s.Cluster().StoreAddr(ri.LeaderStore) }
