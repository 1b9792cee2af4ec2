package engine_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
)

// flushKey identifies one merged span of one flush across snapshots.
type flushKey struct {
	at    int64
	sub   uint64
	start string
}

// flushLog is every flush and fired retry seen in any snapshot. The engine
// keeps the last 256 of each; polling far more often than that many happen
// sees them all, so their sums can be held against the lifetime counters.
type flushLog struct {
	flushes map[flushKey]snapshots.RecentReload // the newest version of each
	retries map[snapshots.RecentRetry]bool
}

func (l *flushLog) add(st *snapshots.State) {
	for _, r := range st.RecentReloads {
		l.flushes[flushKey{r.At.UnixNano(), r.Subscription, r.Start}] = r
	}
	for _, r := range st.RecentRetries {
		l.retries[r] = true
	}
}

// hexWithin reports whether [start,end) lies inside [mStart,mEnd); keys are
// lowercase hex of memcomparable keys, whose order is the key order, and an
// empty end is +inf.
func hexWithin(start, end, mStart, mEnd string) bool {
	return start >= mStart && (mEnd == "" || (end != "" && end <= mEnd))
}

// TestSplitStormFlushHistory: under a split storm (a split every 20 ms, PD
// hearing of each 300 ms late, two store streams killed on the way) the
// snapshot's recent
// flushes show merges of more than one request, every absorbed span inside
// the span it was merged into, PD's answer for each, and a history that adds
// up to the aggregator's counters in the totals; fired retries add up to
// retries_fired and carry their outcome.
func TestSplitStormFlushHistory(t *testing.T) {
	h := startHarness(t, sim.Config{Stores: 3, Regions: 32, WriteRate: 500, PDLag: 300 * time.Millisecond, Seed: 11}, fastCfg)
	h.waitFor("initialized", 20*time.Second, allInitialized(32))
	script, err := sim.ParseScript("storm.txt", strings.NewReader(
		"every 20ms split random\nat 1s kill-stream 1\nat 2s kill-stream 2\nat 3s stop-faults\n"))
	require.NoError(t, err)
	log := &flushLog{flushes: map[flushKey]snapshots.RecentReload{}, retries: map[snapshots.RecentRetry]bool{}}
	stop := h.sim.RunScript(script)
	h.waitFor("storm over", 30*time.Second, func(st *snapshots.State) bool {
		log.add(st)
		select {
		case <-stop:
			return true
		default:
			return false
		}
	})
	quiet := h.waitFor("every region initialized again", 30*time.Second, func(st *snapshots.State) bool {
		log.add(st)
		if len(st.Retries) > 0 || len(st.Reloads) > 0 {
			return false
		}
		for _, r := range st.Regions {
			if r.State != snapshots.StateInitialized {
				return false
			}
		}
		return true
	})
	final := h.eng.Refresh()
	log.add(final)
	require.Equal(t, quiet.Totals.ReloadsFlushed, final.Totals.ReloadsFlushed, "nothing flushed after the quiet snapshot")

	flushes := map[[2]uint64]bool{} // (at, sub): one aggregator flush of one subscription
	var merged uint64
	multi := 0
	for _, r := range log.flushes {
		flushes[[2]uint64{uint64(r.At.UnixNano()), r.Subscription}] = true
		merged += uint64(r.MergedFrom - 1)
		if r.MergedFrom > 1 {
			multi++
		}
		require.NotEmpty(t, r.Absorbed, "flush %+v", r)
		require.LessOrEqual(t, len(r.Absorbed), r.MergedFrom)
		if r.MergedFrom <= 64 {
			require.Len(t, r.Absorbed, r.MergedFrom, "every absorbed span kept below the cap")
		}
		for _, a := range r.Absorbed {
			require.True(t, hexWithin(a.Start, a.End, r.Start, r.End), "absorbed [%s,%s) outside merged [%s,%s)", a.Start, a.End, r.Start, r.End)
			require.Contains(t, r.Reasons, a.Reason)
		}
		require.Positive(t, r.Regions, "PD answered every flushed span once the storm was over: %+v", r)
	}
	require.Equal(t, final.Totals.ReloadsFlushed, uint64(len(flushes)), "flushes in the history vs totals.reloads_flushed")
	require.Equal(t, final.Totals.ReloadSpansMerged, merged, "requests merged away in the history vs totals.reload_spans_merged")
	require.Positive(t, multi, "some flush merged more than one request (%s)", mergedHistogram(log))

	outcomes := map[string]int{}
	for r := range log.retries {
		outcomes[r.Outcome]++
		require.False(t, r.At.IsZero())
		if r.RegionID != 0 {
			require.NotZero(t, r.StoreID, "a region's retry names its store: %+v", r)
		}
	}
	require.Equal(t, final.Totals.RetriesFired, uint64(len(log.retries)), "fired retries in the history vs totals.retries_fired")
	require.Positive(t, outcomes[snapshots.OutcomeReload], "epoch_not_match after a split reloads its range: %v", outcomes)
	t.Logf("flush entries %d (merged >1: %d; %s), retries %v", len(log.flushes), multi, mergedHistogram(log), outcomes)
	h.checkInvariants()
}

func mergedHistogram(l *flushLog) string {
	hist := map[int]int{}
	for _, r := range l.flushes {
		hist[r.MergedFrom]++
	}
	return fmt.Sprintf("merged_from histogram %v", hist)
}
