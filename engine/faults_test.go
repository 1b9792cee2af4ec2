package engine_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/pulltop/pulltop/engine"
	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
)

// seen records every state each region was published in, so a test can
// say "it passed through reload-wait" without racing the publisher.
type seen map[uint64]map[string]bool

func (s seen) add(st *snapshots.State) {
	for _, r := range st.Regions {
		if s[r.ID] == nil {
			s[r.ID] = map[string]bool{}
		}
		s[r.ID][r.State] = true
	}
}

// watch polls snapshots until cond holds, recording states on the way.
func (h *harness) watch(what string, timeout time.Duration, s seen, cond func(*snapshots.State) bool) *snapshots.State {
	h.t.Helper()
	return h.waitFor(what, timeout, func(st *snapshots.State) bool {
		s.add(st)
		return cond(st)
	})
}

func fastCfg(c *engine.Config) {
	c.PublishInterval = 10 * time.Millisecond
}

func TestSplitReloadsThenNewRegionsInitialize(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 3, Regions: 8, WriteRate: 500, PDLag: 800 * time.Millisecond}, fastCfg)
	h.waitFor("initialized", 20*time.Second, allInitialized(8))
	parts, err := h.sim.Cluster().Split(3, 3)
	require.NoError(t, err)
	s := seen{}
	h.watch("split region 3 seen reloading", 10*time.Second, s, func(*snapshots.State) bool { return s[3][snapshots.StateReloadWait] })
	st := h.watch("10 regions initialized", 20*time.Second, s, allInitialized(10))
	for _, p := range parts {
		r := regionByID(st, p.ID)
		require.NotNil(t, r, "new region %d", p.ID)
		require.Equal(t, p.Version, r.EpochVersion)
	}
	require.Positive(t, st.Totals.ErrorsByReason[snapshots.ReasonEpochNotMatch])
	require.Positive(t, st.Totals.ReloadsFlushed)
	h.checkInvariants()
}

func TestTransferLeaderRetriesOnNewStore(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 3, Regions: 8, WriteRate: 500}, fastCfg)
	h.waitFor("initialized", 20*time.Second, allInitialized(8))
	before, _ := h.sim.Cluster().Region(2)
	after, err := h.sim.Cluster().TransferLeader(2, 0)
	require.NoError(t, err)
	require.NotEqual(t, before.LeaderStore, after.LeaderStore)
	s := seen{}
	h.watch("region 2 in retry-wait", 10*time.Second, s, func(*snapshots.State) bool { return s[2][snapshots.StateRetryWait] })
	st := h.watch("region 2 initialized on the new store", 10*time.Second, s, func(st *snapshots.State) bool {
		r := regionByID(st, 2)
		return r != nil && r.State == snapshots.StateInitialized && r.StoreID == after.LeaderStore
	})
	require.Positive(t, st.Totals.ErrorsByReason[snapshots.ReasonNotLeader])
	h.checkInvariants()
}

func TestStopStoreCoolsDownAndRecoversAfterStart(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 3, Regions: 9, WriteRate: 500}, fastCfg)
	h.waitFor("initialized", 20*time.Second, allInitialized(9))
	require.NoError(t, h.sim.StopStore(2))
	s := seen{}
	st := h.watch("store 2 in cooldown and its regions waiting", 10*time.Second, s, func(st *snapshots.State) bool {
		cooling := false
		for _, store := range st.Stores {
			if store.ID == 2 && store.State == snapshots.StoreCooldown {
				cooling = true
			}
		}
		waiting := 0
		for _, r := range st.Regions {
			if r.StoreID == 2 && (r.State == snapshots.StateRetryWait || r.State == snapshots.StateParked) {
				waiting++
			}
		}
		return cooling && waiting > 0
	})
	require.Positive(t, st.Totals.ErrorsByReason[snapshots.ReasonStoreFailure])
	require.NoError(t, h.sim.StartStore(2))
	h.watch("all initialized after start-store", 20*time.Second, s, allInitialized(9))
	h.checkInvariants()
}

// A crashed store's leaders are elected on the other stores after the
// election timeout (default 10s) and PD hears of them a pd lag later: every
// region is initialized on another store within election timeout + pd lag
// + the largest store-failure backoff (5s), without the store coming back.
func TestStopStoreRegionsMoveAfterElectionTimeout(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 3, Regions: 9, WriteRate: 300}, fastCfg)
	h.waitFor("initialized", 20*time.Second, allInitialized(9))
	require.NoError(t, h.sim.StopStore(2))
	stopped := time.Now()
	bound := sim.DefaultElectionTimeout + 100*time.Millisecond + 5*time.Second
	st := h.waitFor("every region initialized on a live store", bound+2*time.Second, func(st *snapshots.State) bool {
		for _, r := range st.Regions {
			if r.StoreID == 2 {
				return false
			}
		}
		return allInitialized(9)(st)
	})
	took := time.Since(stopped)
	t.Logf("regions moved %s after the crash", took.Round(time.Millisecond))
	require.Less(t, took, bound+2*time.Second, "within election timeout + pd lag + max backoff (+2s to observe it on a busy machine)")
	require.Positive(t, st.Totals.ErrorsByReason[snapshots.ReasonStoreFailure])
	h.checkInvariants()
}

// A busy raftstore (busy-store) fails live regions with RegionNotFound,
// TiKV's catch-all; registrations beyond the store's pending-scan limit are
// refused with ServerIsBusy. The engine retries both and recovers.
func TestBusyStoreRegionNotFoundThenServerIsBusy(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 1, Regions: 6, WriteRate: 200, PendingScanLimit: 2}, fastCfg)
	h.waitFor("initialized", 20*time.Second, allInitialized(6))
	require.NoError(t, h.sim.Cluster().SetStoreBusy(1, time.Now().Add(2*time.Second)))
	st := h.waitFor("region_not_found and server_is_busy errors", 15*time.Second, func(st *snapshots.State) bool {
		return st.Totals.ErrorsByReason[snapshots.ReasonRegionNotFound] >= 6 &&
			st.Totals.ErrorsByReason[snapshots.ReasonServerIsBusy] > 0
	})
	require.Empty(t, st.EngineError)
	h.waitFor("recovered", 20*time.Second, allInitialized(6))
	h.checkInvariants()
}

func TestSilencedRegionGoesStaleAndForceReloadRecovers(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 3, Regions: 6, WriteRate: 300}, func(c *engine.Config) {
		fastCfg(c)
		c.StaleAfter = time.Second
	})
	h.waitFor("initialized", 20*time.Second, allInitialized(6))
	require.NoError(t, h.sim.Cluster().SilenceRegion(4, time.Now().Add(time.Hour)))
	st := h.waitFor("region 4 stale", 10*time.Second, func(st *snapshots.State) bool {
		r := regionByID(st, 4)
		return r != nil && r.State == snapshots.StateStale
	})
	require.Equal(t, 1, st.Totals.Stale)
	// The sim keeps it silent only on the old registration; a fresh one
	// (after the reload) advances again, as after a TiKV leadership fix.
	require.NoError(t, h.sim.Cluster().SilenceRegion(4, time.Time{}))
	require.NoError(t, h.eng.ForceReloadRegion(1, 4))
	s := seen{}
	st = h.watch("region 4 initialized again", 10*time.Second, s, func(st *snapshots.State) bool {
		r := regionByID(st, 4)
		return r != nil && r.State == snapshots.StateInitialized && s[4][snapshots.StateReloadWait]
	})
	require.NotEmpty(t, st.Actions)
	require.Equal(t, "force-reload", st.Actions[len(st.Actions)-1].Action)
	h.checkInvariants()
}

func TestPauseParksAndResumeRecovers(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 3, Regions: 9, WriteRate: 300}, fastCfg)
	h.waitFor("initialized", 20*time.Second, allInitialized(9))
	require.NoError(t, h.eng.PauseStore(1))
	st := h.waitFor("store 1 paused, its regions parked", 5*time.Second, func(st *snapshots.State) bool {
		paused := false
		for _, s := range st.Stores {
			paused = paused || (s.ID == 1 && s.State == snapshots.StorePaused)
		}
		parked, onStore := 0, 0
		for _, r := range st.Regions {
			if r.StoreID == 1 {
				onStore++
				if r.State == snapshots.StateParked {
					parked++
				}
			}
		}
		return paused && onStore > 0 && parked == onStore
	})
	require.Contains(t, st.Actions[len(st.Actions)-1].Result, "parked")
	require.NoError(t, h.eng.ResumeStore(1))
	h.waitFor("all initialized after resume", 10*time.Second, allInitialized(9))
	h.checkInvariants()
}

func TestKillStreamAndMergeRecover(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 3, Regions: 8, WriteRate: 500}, fastCfg)
	h.waitFor("initialized", 20*time.Second, allInitialized(8))
	require.NoError(t, h.sim.Cluster().KillStreams(1, codes.Unknown))
	_, err := h.sim.Cluster().Merge(5)
	require.NoError(t, err)
	h.waitFor("7 regions initialized", 20*time.Second, allInitialized(7))
	h.checkInvariants()
}

// A quiet stream is not a hung store: with no writes and one store's
// regions silenced (resolved ts held on TiKV's side, no error), no stream is
// restarted, and those regions go stale from --stale-after on and stay
// stale. A hung store (connection open, nothing sent) is the same: quiet,
// not failed; keepalive finds dead connections.
func TestQuietStoreStaysStaleWithoutRestarts(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 2, Regions: 6, WriteRate: 0}, func(c *engine.Config) {
		fastCfg(c)
		c.StaleAfter = time.Second
	})
	h.waitFor("initialized", 20*time.Second, allInitialized(6))
	var silenced []uint64
	for _, ri := range h.sim.Cluster().Regions() {
		if ri.LeaderStore == 1 {
			silenced = append(silenced, ri.ID)
			require.NoError(t, h.sim.Cluster().SilenceRegion(ri.ID, time.Now().Add(time.Hour)))
		}
	}
	require.NotEmpty(t, silenced)
	before := h.eng.Refresh().Totals.RegionRequests
	allStale := func(st *snapshots.State) bool {
		for _, id := range silenced {
			if r := regionByID(st, id); r == nil || r.State != snapshots.StateStale {
				return false
			}
		}
		return true
	}
	st := h.waitFor("the silenced regions stale", 10*time.Second, allStale)
	staleAt := st.TakenAt
	require.NoError(t, h.sim.Cluster().SetStoreHung(2, time.Now().Add(3*time.Second)))
	// Watch for 4s (longer than the hang and four stale thresholds):
	// every snapshot still has them stale, and nothing was restarted.
	st = h.waitFor("4s of quiet", 10*time.Second, func(st *snapshots.State) bool {
		require.True(t, allStale(st), "a silenced region stopped being stale")
		return st.TakenAt.Sub(staleAt) >= 4*time.Second
	})
	require.Zero(t, st.Totals.ErrorsByReason[snapshots.ReasonStoreFailure], "no stream was killed for being quiet")
	require.Equal(t, before, st.Totals.RegionRequests, "no region was registered again")
	h.checkInvariants()
}

// A region keeps its last-advance time across re-registrations of its
// range: re-requesting a stuck region does not reset its stale clock.
func TestStaleClockSurvivesReregistration(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 2, Regions: 4, WriteRate: 100}, func(c *engine.Config) {
		fastCfg(c)
		c.StaleAfter = 2 * time.Second
	})
	h.waitFor("initialized", 20*time.Second, allInitialized(4))
	require.NoError(t, h.sim.Cluster().SilenceRegion(3, time.Now().Add(time.Hour)))
	st := h.waitFor("region 3 stale", 10*time.Second, func(st *snapshots.State) bool {
		r := regionByID(st, 3)
		return r != nil && r.State == snapshots.StateStale
	})
	lastAdvance := regionByID(st, 3).LastAdvanceAt
	require.False(t, lastAdvance.IsZero())
	require.NoError(t, h.eng.ForceReloadRegion(1, 3))
	s := seen{}
	st = h.watch("region 3 registered again and stale at once", 10*time.Second, s, func(st *snapshots.State) bool {
		r := regionByID(st, 3)
		return r != nil && s[3][snapshots.StateReloadWait] && r.State == snapshots.StateStale
	})
	r := regionByID(st, 3)
	require.Equal(t, lastAdvance, r.LastAdvanceAt, "the last advance is the range's, not the registration's")
	require.Less(t, st.TakenAt.Sub(st.Actions[len(st.Actions)-1].At), 2*time.Second, "stale again before a whole --stale-after passed")
	h.checkInvariants()
}

// With PD down, TiKV gets no TSO: every region's resolved ts stops and
// nothing commits. pd-down for 15s with --stale-after 5s: every region goes
// stale with the PD error shown, and all recover after it.
func TestPDOutageStallsEveryRegionAndRecovers(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 3, Regions: 8, WriteRate: 500}, func(c *engine.Config) {
		fastCfg(c)
		c.StaleAfter = 5 * time.Second
		c.PDCheckInterval = 500 * time.Millisecond
	})
	h.waitFor("initialized", 20*time.Second, allInitialized(8))
	stopped := h.sim.RunScript(mustScript(t, "at 0s pd-down for 15s\nat 15s stop-faults"))
	st := h.waitFor("every region stale with the PD error shown", 14*time.Second, func(st *snapshots.State) bool {
		return st.Source.PDError != "" && st.Totals.Stale == 8
	})
	committed := h.sim.Cluster().CommittedCount()
	later := h.waitFor("a second later, PD still down", 5*time.Second, func(s *snapshots.State) bool {
		return s.TakenAt.Sub(st.TakenAt) >= time.Second
	})
	require.NotEmpty(t, later.Source.PDError)
	require.False(t, later.Source.PDErrorSince.IsZero(), "when the outage began")
	require.True(t, later.Source.PDLastOK.Before(later.Source.PDErrorSince), "PD's last good answer came before it")
	require.Positive(t, later.Source.PDFailuresPerSec)
	require.Equal(t, committed, h.sim.Cluster().CommittedCount(), "nothing commits while PD is down")
	require.Empty(t, st.EngineError)
	<-stopped
	h.waitFor("PD healthy and every region advancing again", 20*time.Second, func(st *snapshots.State) bool {
		return st.Source.PDError == "" && st.Totals.Stale == 0 && allInitialized(8)(st)
	})
	require.Greater(t, h.sim.Cluster().CommittedCount(), committed, "commits resume")
	// A split needs PD again: it works.
	_, err := h.sim.Cluster().Split(2, 2)
	require.NoError(t, err)
	h.waitFor("9 regions initialized", 20*time.Second, allInitialized(9))
	h.checkInvariants()
}

func mustScript(t *testing.T, text string) *sim.Script {
	t.Helper()
	script, err := sim.ParseScript("test.txt", strings.NewReader(text))
	require.NoError(t, err)
	return script
}

// A PD of one cluster with stores of another: the engine stops with an
// error naming both, instead of retrying forever.
func TestClusterIDMismatchStopsTheEngine(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 1, Regions: 2, StoresClusterID: 12345}, nil)
	st := h.waitFor("the engine error", 10*time.Second, func(st *snapshots.State) bool { return st.EngineError != "" })
	require.Contains(t, st.EngineError, "12345")
	require.Contains(t, st.EngineError, "another cluster")
	require.Error(t, h.eng.Err())
}

// A sink that cannot be written stops the engine with an error naming the
// file, rather than dropping rows silently.
func TestSinkWriteFailureStopsTheEngine(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full on this system")
	}
	h := startHarness(t, sim.Config{Stores: 1, Regions: 2, WriteRate: 2000}, func(c *engine.Config) {
		c.SinkPath = "/dev/full"
	})
	st := h.waitFor("the sink error", 20*time.Second, func(st *snapshots.State) bool { return st.EngineError != "" })
	require.Contains(t, st.EngineError, "--sink /dev/full")
}
