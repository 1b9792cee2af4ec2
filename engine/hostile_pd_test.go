package engine_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/engine"
	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/sim/misbehave"
)

// startMisbehaving starts a sim whose servers misbehave as bad says.
func startMisbehaving(t *testing.T, bad *misbehave.Cluster, cfg sim.Config) *sim.Sim {
	t.Helper()
	cfg.ServerOptions = bad.ServerOptions()
	if cfg.MinTsInterval == 0 {
		cfg.MinTsInterval = 100 * time.Millisecond
	}
	s, err := sim.Start(cfg)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// Issue 25 item 1: a PD whose TSO goes backwards (or is negative) used to
// kill the process from inside the pd client (log.Panic → log.Fatal →
// os.Exit), so this test process would die. Now the engine refuses to
// start, naming PD and both timestamps, or stops with that error mid-run.
func TestTSOFaultsAreErrorsNotExits(t *testing.T) {
	t.Run("negative physical at start", func(t *testing.T) {
		bad := &misbehave.Cluster{}
		bad.TSONegative.Store(true)
		s := startMisbehaving(t, bad, sim.Config{Stores: 1, Regions: 2})
		_, err := engine.Start(engine.Config{PD: []string{s.PDAddr()}, ConnectTimeout: 8 * time.Second})
		require.Error(t, err)
		require.True(t, errors.Is(err, engine.ErrTSOFault), "%v", err)
		require.Contains(t, err.Error(), "negative physical time")
		require.Contains(t, err.Error(), "PD "+s.PDAddr())
	})
	t.Run("fallback at start", func(t *testing.T) {
		bad := &misbehave.Cluster{}
		bad.TSOBackAfter.Store(1) // the start ts is read, then the clock is
		s := startMisbehaving(t, bad, sim.Config{Stores: 1, Regions: 2})
		_, err := engine.Start(engine.Config{PD: []string{s.PDAddr()}, ConnectTimeout: 8 * time.Second})
		require.Error(t, err)
		var fault *engine.TSOFaultError
		require.True(t, errors.As(err, &fault), "%v", err)
		require.Contains(t, err.Error(), "went backwards")
		require.NotZero(t, fault.Last)
		require.Less(t, fault.Got, fault.Last)
		// Both timestamps, as numbers and as times.
		require.Contains(t, err.Error(), strconv.FormatUint(fault.Last, 10))
		require.Contains(t, err.Error(), strconv.FormatUint(fault.Got, 10))
	})
	t.Run("fallback mid-run", func(t *testing.T) {
		bad := &misbehave.Cluster{}
		s := startMisbehaving(t, bad, sim.Config{Stores: 1, Regions: 4, WriteRate: 100})
		eng, err := engine.Start(engine.Config{PD: []string{s.PDAddr()}, PublishInterval: 50 * time.Millisecond,
			PDCheckInterval: 20 * time.Millisecond})
		require.NoError(t, err)
		defer eng.Close()
		bad.TSOBack.Store(true)
		deadline := time.Now().Add(20 * time.Second)
		for eng.Err() == nil {
			require.True(t, time.Now().Before(deadline), "the engine never noticed the TSO going backwards")
			time.Sleep(20 * time.Millisecond)
		}
		require.True(t, errors.Is(eng.Err(), engine.ErrTSOFault), "%v", eng.Err())
		st := eng.Snapshot()
		require.Contains(t, st.EngineError, "went backwards")
		found := false
		for _, e := range st.Log {
			found = found || strings.Contains(e.Text, "went backwards")
		}
		require.True(t, found, "the event log does not say it: %+v", st.Log)
	})
}
