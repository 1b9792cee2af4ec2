package engine_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/pulltop/pulltop/engine"
	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
)

// TestRegionsShowWhilePDPages holds PD's second page of regions back: the
// first page's regions must be on the books (and scanning) before it
// comes, with the phase saying the engine is still locating. At a million
// regions PD pages for seconds; the operator must not look at nothing.
func TestRegionsShowWhilePDPages(t *testing.T) {
	const regions = 2500 // three pages of 1024
	release := make(chan struct{})
	var pages atomic.Int32
	hold := grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if method == "/pdpb.PD/BatchScanRegions" && pages.Add(1) == 2 {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	})
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	h := startHarness(t, sim.Config{Stores: 3, Regions: regions, WriteRate: 200}, func(c *engine.Config) {
		c.DialOptions = append(c.DialOptions, hold)
		fastCfg(c)
	})
	st := h.waitFor("the first page on the books and scanning", 20*time.Second, func(st *snapshots.State) bool {
		return st.Totals.Initialized > 0
	})
	require.Equal(t, snapshots.PhaseLocating, st.Progress.Phase, "detail: %s", st.Progress.Detail)
	require.Equal(t, 1024, st.Progress.Located)
	require.Len(t, st.Regions, 1024, "only the first page is known")
	require.Contains(t, st.Progress.Detail, "locating regions in PD: 1k so far")
	require.Positive(t, st.Progress.Scanned)

	close(release)
	released = true
	st = h.waitFor("every region initialized", 60*time.Second, allInitialized(regions))
	st = h.waitFor("streaming", 10*time.Second, func(st *snapshots.State) bool {
		return st.Progress.Phase == snapshots.PhaseStreaming
	})
	require.Equal(t, regions, st.Progress.Located)
	require.Equal(t, regions, st.Progress.Scanned)
	require.Equal(t, "streaming 2.5k regions", st.Progress.Detail)
	h.checkInvariants()
}
