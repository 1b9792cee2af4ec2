package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/pulltop/pulltop/engine"
	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
)

func storeByID(st *snapshots.State, id uint64) *snapshots.Store {
	for i := range st.Stores {
		if st.Stores[i].ID == id {
			return &st.Stores[i]
		}
	}
	return nil
}

func logHas(st *snapshots.State, kind, subject, text string) bool {
	for _, e := range st.Log {
		if e.Kind == kind && (subject == "" || e.Subject == subject) && strings.Contains(e.Text, text) {
			return true
		}
	}
	return false
}

// A hung store says so before anything fails (issue 18): its stream is
// open but quiet, so after half the stale threshold it is suspect, its
// last message ages, and its regions' lag (MAX LAG) grows; the other
// stores stay talking. The event log says it went quiet and came back.
func TestHungStoreIsSuspectBeforeItFails(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 2, Regions: 8, WriteRate: 200}, func(c *engine.Config) {
		fastCfg(c)
		c.StaleAfter = 4 * time.Second
	})
	st := h.waitFor("initialized", 20*time.Second, allInitialized(8))
	for _, s := range st.Stores {
		require.False(t, s.Suspect, "store %d talks", s.ID)
		require.False(t, s.LastMsgAt.IsZero(), "store %d: last message known", s.ID)
		require.Zero(t, s.Waiting, "store %d", s.ID)
	}
	require.Equal(t, int64(4000), st.Source.StaleAfterMs)

	require.NoError(t, h.sim.Cluster().SetStoreHung(1, time.Now().Add(6*time.Second)))
	st = h.waitFor("store 1 suspect", 15*time.Second, func(st *snapshots.State) bool {
		s := storeByID(st, 1)
		return s != nil && s.Suspect
	})
	s1, s2 := storeByID(st, 1), storeByID(st, 2)
	require.GreaterOrEqual(t, st.TakenAt.Sub(s1.LastMsgAt), 2*time.Second, "quiet for half of --stale-after")
	require.Equal(t, snapshots.StoreUp, s1.State, "suspect before failed")
	require.GreaterOrEqual(t, s1.MaxLagMs, int64(2000), "its regions lag")
	require.False(t, s2.Suspect, "store 2 still talks")
	require.Less(t, st.TakenAt.Sub(s2.LastMsgAt), 2*time.Second)
	require.Less(t, s2.MaxLagMs, s1.MaxLagMs)
	maxLag := int64(0)
	for _, r := range st.Regions {
		if r.StoreID == 1 {
			maxLag = max(maxLag, r.ResolvedLagMs)
		}
	}
	require.Equal(t, maxLag, s1.MaxLagMs, "MAX LAG is the largest lag of its regions")
	require.True(t, logHas(st, snapshots.LogStore, "store 1", "quiet"), "log: %v", st.Log)

	h.waitFor("store 1 talks again", 20*time.Second, func(st *snapshots.State) bool {
		s := storeByID(st, 1)
		return s != nil && !s.Suspect && logHas(st, snapshots.LogStore, "store 1", "talking again")
	})
}

// A stopped store: its last error is the stream's, with its time; errors
// of the last minute count by reason with the stores they came from; the
// event log has the failure and the recovery; the regions waiting on it
// are counted as WAITING.
func TestStoppedStoreLastErrorAndErrorsOfTheLastMinute(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 3, Regions: 9, WriteRate: 200, ElectionTimeout: 2 * time.Second}, fastCfg)
	h.waitFor("initialized", 20*time.Second, allInitialized(9))
	start := time.Now()
	require.NoError(t, h.sim.StopStore(3))
	st := h.waitFor("store 3 failing with its error", 15*time.Second, func(st *snapshots.State) bool {
		s := storeByID(st, 3)
		return s != nil && s.State != snapshots.StoreUp && s.LastError != "" &&
			len(st.Totals.ErrorStores[snapshots.ReasonStoreFailure]) > 0
	})
	s3 := storeByID(st, 3)
	require.False(t, s3.LastErrorAt.Before(start.Add(-time.Second)), "its error is from the stop: %v", s3.LastErrorAt)
	require.Positive(t, st.Totals.ErrorsLastMinute[snapshots.ReasonStoreFailure])
	require.LessOrEqual(t, st.Totals.ErrorsLastMinute[snapshots.ReasonStoreFailure], st.Totals.ErrorsByReason[snapshots.ReasonStoreFailure])
	require.Contains(t, st.Totals.ErrorStores[snapshots.ReasonStoreFailure], uint64(3))
	require.NotContains(t, st.Totals.ErrorStores[snapshots.ReasonStoreFailure], uint64(1), "store 1 never failed")
	require.True(t, logHas(st, snapshots.LogStore, "store 3", "UP -> "), "the failure is logged: %v", st.Log)
	waiting := 0
	for _, r := range st.Regions {
		if r.StoreID == 3 && !r.Initialized {
			waiting++
		}
	}
	require.Equal(t, waiting, s3.Waiting)

	// A restarted store leads nothing; a store whose stream broke
	// reconnects and recovers, and the log says after how long.
	require.NoError(t, h.sim.StartStore(3))
	h.waitFor("initialized again", 30*time.Second, allInitialized(9))
	require.NoError(t, h.sim.Cluster().KillStreams(1, codes.Unavailable))
	h.waitFor("recovery logged", 30*time.Second, func(st *snapshots.State) bool {
		return logHas(st, snapshots.LogStore, "store 1", "recovered after")
	})
	h.checkInvariants()
}

// A region cut from another's range knows where it came from: a split's new
// regions say "split from" the parent, a merge's survivor "merge" with the
// region it absorbed; the event log says so, folded into one entry.
func TestLineageOfSplitAndMergedRegions(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 2, Regions: 6, WriteRate: 200}, fastCfg)
	h.waitFor("initialized", 20*time.Second, allInitialized(6))
	parts, err := h.sim.Cluster().Split(3, 3)
	require.NoError(t, err)
	st := h.waitFor("8 regions initialized", 20*time.Second, allInitialized(8))
	for _, p := range parts {
		r := regionByID(st, p.ID)
		require.NotNil(t, r)
		if p.ID == 3 {
			require.Empty(t, r.Lineage, "region 3 kept its id (and the right-most range)")
			continue
		}
		require.NotEmpty(t, r.Lineage, "region %d", p.ID)
		require.Equal(t, snapshots.Origin{Kind: "split", From: 3, At: r.Lineage[0].At}, r.Lineage[0])
		require.False(t, r.Lineage[0].At.IsZero())
	}
	require.True(t, logHas(st, snapshots.LogRegion, "", "split from 3"), "log: %v", st.Log)

	// Merge a split-off region into its right neighbour: the survivor
	// took its range, and keeps its history through it.
	child := parts[0].ID
	target, err := h.sim.Cluster().Merge(child)
	require.NoError(t, err)
	st = h.waitFor("7 regions initialized", 20*time.Second, allInitialized(7))
	r := regionByID(st, target.ID)
	require.NotNil(t, r)
	require.NotEmpty(t, r.Lineage)
	require.Equal(t, "merge", r.Lineage[0].Kind)
	require.Equal(t, child, r.Lineage[0].From)
	require.Contains(t, r.Lineage, snapshots.Origin{Kind: "split", From: 3, At: r.Lineage[1].At},
		"the absorbed region's own lineage comes along: %+v", r.Lineage)
	require.True(t, logHas(st, snapshots.LogRegion, "", "merged with"), "log: %v", st.Log)
	h.checkInvariants()
}

// The event log has PD going away and coming back, operator actions, and
// notes from outside (the embedded sim's fault lines), a burst of which is
// folded into one entry that counts.
func TestEventLogPDActionsAndNotes(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 2, Regions: 4, WriteRate: 100}, func(c *engine.Config) {
		fastCfg(c)
		c.PDCheckInterval = 100 * time.Millisecond
	})
	st := h.waitFor("initialized", 20*time.Second, allInitialized(4))
	require.True(t, logHas(st, snapshots.LogEngine, "engine", "subscribed 1 span"), "log: %v", st.Log)
	require.True(t, logHas(st, snapshots.LogState, "regions", "all 4 regions initialized"), "log: %v", st.Log)

	h.sim.PDDown()
	h.waitFor("PD down logged", 15*time.Second, func(st *snapshots.State) bool {
		return logHas(st, snapshots.LogPD, "pd", "not answering")
	})
	require.NoError(t, h.sim.PDUp())
	h.waitFor("PD back logged", 15*time.Second, func(st *snapshots.State) bool {
		return logHas(st, snapshots.LogPD, "pd", "answering again after")
	})

	require.NoError(t, h.eng.PauseStore(2))
	require.NoError(t, h.eng.ResumeStore(2))
	for range 5 {
		h.eng.Note(time.Now(), snapshots.LogFault, "script line 1", "every 10ms split random", "script line 1")
	}
	h.eng.Note(time.Now(), snapshots.LogFault, "script line 2", "at 1s stop-store \x1b[31m2", "script line 2")
	st = h.eng.Refresh()
	require.True(t, logHas(st, snapshots.LogAction, "", "pause-store: ok"), "log: %v", st.Log)
	require.True(t, logHas(st, snapshots.LogAction, "", "resume-store: ok"))
	folded := 0
	for _, e := range st.Log {
		if e.Subject == "script line 1" {
			folded++
			require.Contains(t, e.Text, "every 10ms split random (5× in")
		}
		require.NotContains(t, e.Text, "\x1b", "notes are cleaned")
	}
	require.Equal(t, 1, folded, "a burst of one line is one entry")
	require.True(t, logHas(st, snapshots.LogFault, "script line 2", "stop-store"))
	for i := 1; i < len(st.Log); i++ {
		require.False(t, st.Log[i].At.Before(st.Log[i-1].At.Add(-time.Second)), "oldest first: %v", st.Log)
	}
}
