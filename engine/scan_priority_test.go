package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
)

// Every initial-scan request asks TiKV for a low scan priority, the first
// registrations and the ones after a split alike: a console yields to
// production changefeeds (TiCDC #5480). The engine and the sim talk real
// gRPC over loopback (PD and every store on 127.0.0.1), and the sim
// records what each ChangeDataRequest it decoded asked for: this is the
// priority on the wire. Before kvproto 20260724 it was UNKNOWN (absent).
func TestInitialScansAskForLowPriority(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 3, Regions: 8, WriteRate: 200}, nil)
	h.waitFor("8 regions initialized", 20*time.Second, allInitialized(8))
	_, err := h.sim.Cluster().Split(3, 2)
	require.NoError(t, err)
	st := h.waitFor("9 regions initialized after the split", 20*time.Second, allInitialized(9))
	require.True(t, strings.HasPrefix(h.sim.PDAddr(), "127.0.0.1:"), h.sim.PDAddr())
	require.Len(t, st.Stores, 3)
	for _, s := range st.Stores {
		require.True(t, strings.HasPrefix(s.Addr, "127.0.0.1:"), "store %d at %q: the requests go over loopback gRPC", s.ID, s.Addr)
	}

	c := h.sim.Cluster()
	for _, r := range st.Regions {
		require.Equal(t, []cdcpb.ScanPriority{cdcpb.ScanPriority_SCAN_PRIORITY_LOW}, c.ScanPriorities(r.ID),
			"region %d: the priority its registration asked for", r.ID)
	}
	asked := c.ScanPrioritiesAsked()
	require.Equal(t, []cdcpb.ScanPriority{cdcpb.ScanPriority_SCAN_PRIORITY_LOW}, keysOf(asked),
		"every registration the stores received, by priority: %v", asked)
	require.GreaterOrEqual(t, asked[cdcpb.ScanPriority_SCAN_PRIORITY_LOW], 9)
	require.Equal(t, "low", st.Source.ScanPriority, "the snapshot says what the engine asks for")
	require.Equal(t, snapshots.Version, st.Version)
}

func keysOf[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
