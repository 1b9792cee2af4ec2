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
		st := eng.Refresh() // the fatal publish may still be under way
		for st.EngineError == "" {
			require.True(t, time.Now().Before(deadline), "the stop never reached a snapshot")
			time.Sleep(20 * time.Millisecond)
			st = eng.Refresh()
		}
		require.Contains(t, st.EngineError, "went backwards")
		found := false
		for _, e := range st.Log {
			found = found || strings.Contains(e.Text, "went backwards")
		}
		require.True(t, found, "the event log does not say it: %+v", st.Log)
	})
}

// Item 5: PD's region answers are checked. A degenerate region made the
// locator ask PD the same thing ~4000 times a second forever; a duplicate
// or overlap lost a region silently. Now each bad answer is a PD fault
// named in the snapshot's PD error (what was wrong), counted under
// pd_fault, and asked again with backoff: a handful of answers in a few
// seconds, not thousands.
func TestBadRegionAnswersArePDFaults(t *testing.T) {
	for _, tc := range []struct {
		fault misbehave.RegionFault
		says  string
	}{
		{misbehave.Degenerate, "which is empty (start = end)"},
		{misbehave.Reversed, "which ends before it starts"},
		{misbehave.Duplicate, "twice"},
		{misbehave.Overlap, "overlapping or before region"},
		{misbehave.Unordered, "overlapping or before region"},
		{misbehave.Behind, "which lies before the key asked for"},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			bad := &misbehave.Cluster{}
			bad.Regions.Store(int32(tc.fault))
			s := startMisbehaving(t, bad, sim.Config{Stores: 1, Regions: 6})
			eng, err := engine.Start(engine.Config{PD: []string{s.PDAddr()}, PublishInterval: 50 * time.Millisecond})
			require.NoError(t, err)
			defer eng.Close()
			deadline := time.Now().Add(20 * time.Second)
			var st = eng.Refresh()
			for st.Source.PDError == "" || st.Totals.ErrorsByReason["pd_fault"] < 3 {
				require.True(t, time.Now().Before(deadline), "no PD fault named: %q %v", st.Source.PDError, st.Totals.ErrorsByReason)
				time.Sleep(50 * time.Millisecond)
				st = eng.Refresh()
			}
			require.Contains(t, st.Source.PDError, "PD fault: ")
			require.Contains(t, st.Source.PDError, tc.says)
			// Backoff: 3 faults take ≥ 0.2+0.4 s; at most a few dozen
			// answers however long the test ran.
			begun := bad.RegionAnswers()
			time.Sleep(2 * time.Second)
			require.Less(t, bad.RegionAnswers()-begun, int64(20), "PD asked in a loop")
			found := false
			for _, e := range st.Log {
				found = found || strings.Contains(e.Text, "answering wrongly: PD fault")
			}
			require.True(t, found, "the event log does not say it: %+v", st.Log)
			// PD behaves again: everything is located and initialized.
			bad.Regions.Store(int32(misbehave.RegionsOK))
			for st.Totals.Initialized < 6 || st.Source.PDError != "" {
				require.True(t, time.Now().Before(deadline.Add(10*time.Second)), "never recovered: %d initialized, %q", st.Totals.Initialized, st.Source.PDError)
				time.Sleep(50 * time.Millisecond)
				st = eng.Refresh()
			}
		})
	}
}
