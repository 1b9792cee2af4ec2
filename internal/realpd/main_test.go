package main

import (
	"context"
	"testing"
	"time"

	"github.com/pulltop/pulltop/sim"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startSim(t *testing.T, regions int) *sim.Sim {
	t.Helper()
	s, err := sim.Start(sim.Config{Stores: 1, Regions: regions})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// The parts of realpd that need no pd-server, against the sim's PD: the
// cluster id read from GetMembers, and the wait for PD to know the layout
// (it must not say ready on a PD that answers another layout).
func TestDialPDAndWaitPDKnows(t *testing.T) {
	a := startSim(t, 4)
	ctx := context.Background()
	conn, pd, id, err := dialPD(ctx, a.PDAddr())
	require.NoError(t, err)
	defer conn.Close()
	require.Equal(t, a.Cluster().ClusterID(), id)

	require.NoError(t, waitPDKnows(ctx, pd, id, a.Cluster(), 10*time.Second))

	b := startSim(t, 5) // a layout PD a does not have
	err = waitPDKnows(ctx, pd, id, b.Cluster(), time.Second)
	require.ErrorContains(t, err, "did not learn the 5 regions")
	require.ErrorContains(t, err, "4 regions")
}
