package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
)

// streamWorker owns one store's EventFeedV2 stream: a goroutine that
// connects when there is something to send, sends the queued requests, and
// a receive goroutine that posts every ChangeDataEvent to the event loop.
//
// The failure protocol keeps registrations exact: when the stream breaks,
// the worker stops sending, waits for its receive goroutine (so every event
// of the dead stream is already in the event loop's inbox), posts one
// msgStreamFailed, and waits for the event loop's ack. The event loop fails
// every region it had given this worker and clears the queue before it acks,
// so no request meant for the dead stream can leak onto the next one (which
// would come back as DuplicateRequest).
type streamWorker struct {
	e       *Engine
	storeID uint64
	addr    string
	logger  *zap.Logger

	mu     sync.Mutex
	queue  []*cdcpb.ChangeDataRequest
	notify chan struct{}
	ack    chan struct{}

	connected   atomic.Bool
	opened      atomic.Bool  // a stream to the store has opened at least once
	opens       atomic.Int64 // how many streams to the store delivered something
	initialized atomic.Int64 // initialized regions on the stream
	// lastRecv is when the stream last delivered anything (unix ns): the
	// diagnosis of a stalled store says whether its stream went quiet.
	lastRecv atomic.Int64

	// Owned by the event loop.
	regions streamRegions
	// deregPending holds keys deregistered by pulltop whose old downstream
	// has not yet said its last word. After a per-region Deregister TiKV
	// sends exactly one error for the old downstream (the Deregister's
	// region_not_found, or an error that was already in flight), and
	// nothing after it; until then every event for the key is the old
	// downstream's, even if the region was registered again meanwhile.
	deregPending map[dsKey]bool
}

// dsKey identifies a region on a multiplexed stream: (request id =
// subscription, region id), packed in one word: PD allocates region ids one
// by one (far below 2^52) and subscriptions number below 2^12. A map keyed
// by one word is the fast path of Go's maps, and a million regions are
// looked up every second.
type dsKey uint64

func keyOf(requestID, regionID uint64) dsKey { return dsKey(regionID ^ requestID<<52) }

var (
	errConnectTimeout = errors.New("connect timed out")
	errStreamClosed   = errors.New("store closed the stream")
)

func newStreamWorker(e *Engine, storeID uint64, addr string) *streamWorker {
	return &streamWorker{
		e: e, storeID: storeID, addr: addr,
		logger:       e.logger.With(zap.Uint64("store", storeID), zap.String("addr", addr)),
		notify:       make(chan struct{}, 1),
		ack:          make(chan struct{}, 1),
		deregPending: make(map[dsKey]bool),
	}
}

func (w *streamWorker) enqueue(req *cdcpb.ChangeDataRequest) {
	w.mu.Lock()
	w.queue = append(w.queue, req)
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// takeQueue returns and clears the queued requests.
func (w *streamWorker) takeQueue() []*cdcpb.ChangeDataRequest {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queue
	w.queue = nil
	return q
}

func (w *streamWorker) hasQueued() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue) > 0
}

func (w *streamWorker) run(ctx context.Context) {
	for {
		for !w.hasQueued() {
			select {
			case <-ctx.Done():
				return
			case <-w.notify:
			}
		}
		err := w.runStream(ctx)
		if ctx.Err() != nil {
			return
		}
		w.logger.Info("stream failed", zap.Error(err))
		if !w.e.post(ctx, message{kind: msgStreamFailed, worker: w, err: err}) {
			return
		}
		select {
		case <-w.ack:
		case <-ctx.Done():
			return
		}
	}
}

func (w *streamWorker) dialOptions() []grpc.DialOption {
	return append([]grpc.DialOption{
		grpc.WithTransportCredentials(w.e.creds),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 3 * time.Second, PermitWithoutStream: true}),
		// TiKV caps a message at 6 MiB; Go's default limit is 4 MiB.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256 << 20)),
		// No fixed flow-control windows: TiCDC's 64 KiB per stream suits
		// its many streams per store, but with one stream per store it
		// throttles ingest to about two thirds of what gRPC's dynamic
		// (BDP-estimated) windows allow (measured by BenchmarkIngest).
	}, w.e.cfg.DialOptions...)
}

func (w *streamWorker) runStream(ctx context.Context) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("store %d (%s): "+format, append([]any{w.storeID, w.addr}, args...)...)
	}
	conn, err := grpc.NewClient(w.addr, w.dialOptions()...)
	if err != nil {
		return fail("dial: %w", err)
	}
	defer conn.Close()
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sctx = metadata.AppendToOutgoingContext(sctx, "features", "stream-multiplexing")
	connectTimer := time.AfterFunc(w.e.cfg.ConnectTimeout, func() { cancel(errConnectTimeout) })
	stream, err := cdcpb.NewChangeDataClient(conn).EventFeedV2(sctx, newEventCodec().callOption())
	connectTimer.Stop()
	if err != nil {
		if cause := context.Cause(sctx); cause != nil && ctx.Err() == nil {
			err = cause
		}
		return fail("open EventFeedV2: %w", err)
	}
	w.connected.Store(true)
	w.opened.Store(true)
	defer w.connected.Store(false)

	recvDone := make(chan error, 1)
	go func() { recvDone <- w.recvLoop(sctx, stream) }()
	stop := func(cause error) error {
		cancel(cause)
		<-recvDone
		return cause
	}
	// No idle timeout: a quiet stream is normal (regions with no writes
	// whose resolved ts is held on TiKV's side), and a dead connection is
	// found by gRPC keepalive (10s ping, 3s timeout), as in TiCDC.
	// What was queued before the stream opened goes out now: the wake-up
	// that started this stream was already taken by run, and waiting for
	// another would strand a lone request until something else is queued.
	for _, req := range w.takeQueue() {
		if err := stream.Send(req); err != nil {
			return fail("send: %w", stop(err))
		}
	}
	for {
		select {
		case <-ctx.Done():
			return stop(ctx.Err())
		case err := <-recvDone:
			return fail("stream failed: %w", err)
		case <-w.notify:
			for _, req := range w.takeQueue() {
				if err := stream.Send(req); err != nil {
					return fail("send: %w", stop(err))
				}
			}
		}
	}
}

func (w *streamWorker) recvLoop(ctx context.Context, stream grpc.BidiStreamingClient[cdcpb.ChangeDataRequest, cdcpb.ChangeDataEvent]) error {
	served := false
	for {
		// Decoded into pooled slabs (eventCodec), given back by the event
		// loop once handled.
		ev := &decodedEvent{}
		err := stream.RecvMsg(ev)
		if err != nil {
			if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
				return cause
			}
			if errors.Is(err, io.EOF) {
				return errStreamClosed
			}
			return err
		}
		w.lastRecv.Store(time.Now().UnixNano())
		if !served {
			served = true
			w.opens.Add(1)
		}
		w.e.storeCooldown.Success(w.storeID)
		if !w.e.post(ctx, message{kind: msgEvents, worker: w, event: &ev.ChangeDataEvent, decoded: ev}) {
			return ctx.Err()
		}
	}
}
