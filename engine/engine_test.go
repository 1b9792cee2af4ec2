package engine_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/engine"
	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
)

// harness runs the engine against an in-process sim over loopback gRPC and
// checks DESIGN §9 invariants 1–3 on everything the engine delivers.
type harness struct {
	t   *testing.T
	sim *sim.Sim
	eng *engine.Engine

	// storm is closed when a fault script the test started has stopped.
	storm <-chan struct{}

	mu       sync.Mutex
	resolved map[uint64]uint64 // per subscription, last seen
	problems []string
	rows     int
}

func startHarness(t *testing.T, simCfg sim.Config, mutate func(*engine.Config)) *harness {
	t.Helper()
	if simCfg.MinTsInterval == 0 {
		simCfg.MinTsInterval = 100 * time.Millisecond
	}
	simCfg.KeepGroundTruth = true
	s, err := sim.Start(simCfg)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	h := &harness{t: t, sim: s, resolved: map[uint64]uint64{}}
	cfg := engine.Config{
		PD:              []string{s.PDAddr()},
		EmbeddedSim:     true,
		GroundTruth:     s.Cluster(),
		PublishInterval: 100 * time.Millisecond,
		StaleAfter:      2 * time.Second,
		OnRow:           h.onRow,
		OnResolved:      h.onResolved,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	eng, err := engine.Start(cfg)
	require.NoError(t, err)
	t.Cleanup(eng.Close)
	h.eng = eng
	return h
}

func (h *harness) onRow(sub uint64, row engine.Row) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rows++
	if row.CommitTs <= h.resolved[sub] {
		h.problems = append(h.problems, fmt.Sprintf("sub %d: row at commit ts %d delivered after resolved ts %d (invariant 3)", sub, row.CommitTs, h.resolved[sub]))
	}
}

func (h *harness) onResolved(sub, ts uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ts < h.resolved[sub] {
		h.problems = append(h.problems, fmt.Sprintf("sub %d: resolved ts went back from %d to %d (invariant 2)", sub, h.resolved[sub], ts))
	}
	h.resolved[sub] = ts
}

// checkInvariants fails on any invariant broken so far, including rows the
// sim committed and the engine never delivered (invariant 1).
func (h *harness) checkInvariants() {
	h.t.Helper()
	st := h.eng.Refresh()
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Empty(h.t, h.problems)
	require.NotNil(h.t, st.Sim)
	require.Zero(h.t, st.Sim.MissingRows, "rows committed at or below resolved ts but never delivered")
}

// waitFor polls snapshots until cond holds.
func (h *harness) waitFor(what string, timeout time.Duration, cond func(*snapshots.State) bool) *snapshots.State {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	var st *snapshots.State
	for time.Now().Before(deadline) {
		st = h.eng.Snapshot()
		if st != nil && cond(st) {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("timed out after %s waiting for %s; last snapshot: %s", timeout, what, describe(st))
	return nil
}

func describe(st *snapshots.State) string {
	if st == nil {
		return "none"
	}
	counts := map[string]int{}
	for _, r := range st.Regions {
		counts[r.State]++
	}
	return fmt.Sprintf("regions=%d states=%v stores=%v retries=%d reloads=%d err=%q", len(st.Regions), counts, st.Stores, len(st.Retries), len(st.Reloads), st.EngineError)
}

func allInitialized(want int) func(*snapshots.State) bool {
	return func(st *snapshots.State) bool {
		if len(st.Regions) != want {
			return false
		}
		for _, r := range st.Regions {
			if r.State != snapshots.StateInitialized {
				return false
			}
		}
		return true
	}
}

func regionByID(st *snapshots.State, id uint64) *snapshots.Region {
	for i := range st.Regions {
		if st.Regions[i].ID == id {
			return &st.Regions[i]
		}
	}
	return nil
}

func TestAllRegionsInitializeAndNothingIsLost(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 3, Regions: 64, WriteRate: 2000}, nil)
	h.waitFor("64 regions initialized", 20*time.Second, allInitialized(64))
	first := h.eng.Snapshot().Subscriptions[0].ResolvedTs
	st := h.waitFor("resolved ts advancing and rows delivered", 10*time.Second, func(st *snapshots.State) bool {
		return st.Subscriptions[0].ResolvedTs > first && st.Totals.Events > 500 && st.Sim.CommittedRows > 500
	})
	require.True(t, st.Subscriptions[0].Initialized)
	h.checkInvariants()
	require.Empty(t, st.EngineError)
	for _, s := range st.Stores {
		require.Equal(t, snapshots.StoreUp, s.State, "store %d", s.ID)
	}
	_ = bytes.Compare
}
