package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// tsoGuard checks every TSO answer before the pd client sees it. The pd
// client treats a timestamp that does not move forward as a broken
// invariant: its TSO dispatcher calls log.Panic("[tso] timestamp
// fallback") inside the stream's receive loop (clients/tso/dispatcher.go,
// checkMonotonicity), whose recover turns it into log.Fatal — os.Exit(1)
// from a goroutine pulltop does not own, with no message on the terminal,
// no snapshot and the TUI's terminal left raw. A PD whose clock was set
// back, a failover to a PD that lost its timestamp window, or a hostile
// server can all send one.
//
// The guard sits in the client's gRPC stream (an interceptor on the PD and
// TSO connections) and refuses such an answer as a failed receive: the
// client then fails the pending GetTS calls and reconnects, which it
// survives, and the engine learns why from Fault. It also refuses what the
// client would turn into nonsense: a negative physical time, a logical
// part that does not fit its 18 bits, a batch that starts below zero.
//
// It is stricter than the client, never looser: it compares each answer's
// first timestamp with the largest it has let through, where the client
// compares with the largest it had seen when the request was sent.
type tsoGuard struct {
	mu       sync.Mutex
	last     uint64 // largest timestamp let through (last of its batch)
	lastAt   time.Time
	fault    atomic.Pointer[TSOFaultError]
	received atomic.Int64
}

// TSOFaultError is a TSO answer the guard refused: PD's timestamps went
// backwards (or stood still), or were malformed.
type TSOFaultError struct {
	PD       string // the address the answer came from
	Last     uint64 // the largest timestamp before it (0 if none)
	LastAt   time.Time
	Got      uint64 // the first timestamp of the refused batch
	Physical int64  // as PD sent them
	Logical  int64
	Problem  string // what was wrong, in words
}

func (e *TSOFaultError) Error() string {
	got := fmt.Sprintf("physical %d ms, logical %d", e.Physical, e.Logical)
	if e.Physical >= 0 {
		got = fmt.Sprintf("%d (%s)", e.Got, tsoTime(e.Got))
	}
	last := "none"
	if e.Last != 0 {
		last = fmt.Sprintf("%d (%s)", e.Last, tsoTime(e.Last))
	}
	return fmt.Sprintf("PD %s: %s: got TSO %s after TSO %s; pulltop stopped rather than use it (check PD's clock and leader, then restart pulltop)",
		e.PD, e.Problem, got, last)
}

// ErrTSOFault marks a refused TSO answer (errors.Is).
var ErrTSOFault = errors.New("PD TSO fault")

func (e *TSOFaultError) Is(target error) bool { return target == ErrTSOFault }

func tsoTime(ts uint64) string {
	return time.UnixMilli(int64(ts >> 18)).UTC().Format("2006-01-02T15:04:05.000Z")
}

// maxLogical is the TSO's logical part's bound (18 bits).
const maxLogical = 1 << 18

// check judges one answer: count timestamps ending at (physical, logical).
func (g *tsoGuard) check(pd string, physical, logical int64, count uint32) error {
	g.received.Add(1)
	first := logical - int64(count) + 1
	fault := &TSOFaultError{PD: pd, Physical: physical, Logical: first}
	switch {
	case physical < 0:
		fault.Problem = "PD's TSO has a negative physical time"
	case physical >= 1<<46:
		fault.Problem = "PD's TSO physical time does not fit a timestamp"
	case logical >= maxLogical || first < 0:
		fault.Problem = fmt.Sprintf("PD's TSO logical part %d (batch of %d) is outside 0..%d", logical, count, maxLogical-1)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	fault.Last, fault.LastAt = g.last, g.lastAt
	if fault.Problem == "" {
		fault.Got = uint64(physical)<<18 | uint64(first)
		if g.last != 0 && fault.Got <= g.last {
			fault.Problem = "PD's TSO went backwards"
			if fault.Got == g.last {
				fault.Problem = "PD's TSO did not move forward"
			}
		}
	}
	if fault.Problem != "" {
		g.fault.CompareAndSwap(nil, fault)
		return fault
	}
	g.last, g.lastAt = uint64(physical)<<18|uint64(logical), time.Now()
	return nil
}

// Fault is the first answer the guard refused, nil if none.
func (g *tsoGuard) Fault() *TSOFaultError { return g.fault.Load() }

// dialOption is the interceptor that routes every TSO stream through the
// guard (pdpb.PD/Tso, and tsopb.TSO/Tso of a TSO microservice).
func (g *tsoGuard) dialOption() grpc.DialOption {
	return grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn,
		method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil || !strings.HasSuffix(method, "/Tso") {
			return cs, err
		}
		return &guardedTSOStream{ClientStream: cs, g: g, pd: targetAddr(cc.Target())}, nil
	})
}

// targetAddr is a gRPC target without its scheme (passthrough:///h:p).
func targetAddr(target string) string {
	if i := strings.LastIndex(target, "/"); i >= 0 {
		return target[i+1:]
	}
	return target
}

type guardedTSOStream struct {
	grpc.ClientStream
	g  *tsoGuard
	pd string
}

// tsoAnswer is what pdpb.TsoResponse and tsopb.TsoResponse share.
type tsoAnswer interface {
	GetTimestamp() *pdpb.Timestamp
	GetCount() uint32
}

func (s *guardedTSOStream) RecvMsg(m any) error {
	if err := s.ClientStream.RecvMsg(m); err != nil {
		return err
	}
	a, ok := m.(tsoAnswer)
	if !ok {
		return nil
	}
	ts := a.GetTimestamp()
	if err := s.g.check(s.pd, ts.GetPhysical(), ts.GetLogical(), a.GetCount()); err != nil {
		// A failed receive: the client fails the batch and reconnects.
		return status.Error(codes.DataLoss, err.Error())
	}
	return nil
}
