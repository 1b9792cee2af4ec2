package oracle

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
)

var t0 = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)

// run publishes every 500ms for 12s: region 1 (store 1) lags from 1s
// on and carries cause(t) then; region 2 is healthy throughout.
func run(cause func(at time.Duration) string) *Judge {
	j := NewJudge(DefaultRules(10 * time.Second))
	for at := time.Duration(0); at <= 12*time.Second; at += 500 * time.Millisecond {
		r1 := snapshots.Region{ID: 1, StoreID: 1, State: snapshots.StateInitialized, Cause: snapshots.CauseHealthy}
		if at >= time.Second {
			r1.ResolvedLagMs = (at - time.Second).Milliseconds()
			r1.Cause = cause(at)
		}
		j.Observe(&snapshots.State{TakenAt: t0.Add(at), Regions: []snapshots.Region{r1,
			{ID: 2, StoreID: 2, State: snapshots.StateInitialized, Cause: snapshots.CauseHealthy}},
			Stores: []snapshots.Store{{ID: 1, Condition: snapshots.CauseHealthy}}})
	}
	return j
}

var lock1 = []sim.FaultRecord{{Verb: sim.VerbLock, Start: t0.Add(time.Second), End: t0.Add(8 * time.Second), Store: 1, Region: 1,
	Touched: []sim.Touch{{Region: 1, At: t0.Add(time.Second), How: sim.TouchTarget}}}}

// A lock named 1s after the lag passed 3s is a hit with both budgets met.
func TestLockNamedInTimeMeetsBothBudgets(t *testing.T) {
	j := run(func(at time.Duration) string {
		if at >= 5*time.Second {
			return snapshots.CauseLock
		}
		return snapshots.CauseHealthy
	})
	rep := j.Judge(lock1, t0)
	v := rep.Verbs[sim.VerbLock]
	require.Equal(t, 1, v.Hits)
	require.Equal(t, time.Second, v.TimeToName[0], "lag passed 3s at 4s, named at 5s")
	ok, why := rep.Meets(sim.VerbLock)
	require.True(t, ok, why)
	require.Contains(t, rep.Table(), "| lock | lock |")
}

// The oracle can fail: named only at stale-after (10s of lag) is a recall
// miss; a wrong culprit is a precision miss, and so is a cause with no
// fault behind it.
func TestOracleCatchesLateAndWrongCauses(t *testing.T) {
	late := run(func(at time.Duration) string {
		if at >= 11*time.Second {
			return snapshots.CauseLock
		}
		return snapshots.CauseHealthy
	}).Judge(lock1, t0)
	require.Equal(t, 1, late.Verbs[sim.VerbLock].Misses)
	ok, _ := late.Meets(sim.VerbLock)
	require.False(t, ok)

	wrong := run(func(time.Duration) string { return snapshots.CauseStoreDown }).Judge(lock1, t0)
	v := wrong.Verbs[sim.VerbLock]
	require.Zero(t, v.Backed)
	require.Positive(t, v.Wrong[snapshots.CauseStoreDown])
	require.Less(t, v.Precision(), PrecisionBudget)

	none := run(func(time.Duration) string { return snapshots.CauseSilent }).Judge(nil, t0)
	require.Positive(t, none.NoFault)
	require.Less(t, none.cause(snapshots.CauseSilent).Backed, none.cause(snapshots.CauseSilent).Namings)
	require.Contains(t, none.Table(), "unbacked examples")
}

// Lagging claims no culprit: accepted on what any fault touches, and a
// cause stays backed for the grace after its fault ended, not beyond.
func TestLaggingAcceptedAndGraceBounded(t *testing.T) {
	rep := run(func(time.Duration) string { return CauseLagging }).Judge(lock1, t0)
	require.Equal(t, 1.0, rep.Verbs[sim.VerbLock].Precision())
	short := []sim.FaultRecord{lock1[0]}
	short[0].End = t0.Add(2 * time.Second)
	rep = run(func(time.Duration) string { return snapshots.CauseLock }).Judge(short, t0)
	cr := rep.cause(snapshots.CauseLock)
	require.Less(t, cr.Backed, cr.Namings, "a lock named 10s after it committed is not backed")
	require.Positive(t, cr.Backed)
}

// A region that carried another fault's cause is masked only while that
// fault lasts: a cause left over from an older fault is a miss.
func TestMaskedOnlyByAFaultThatLasts(t *testing.T) {
	churn := func(at time.Duration) string {
		if at >= time.Second {
			return snapshots.CauseRegionChurn
		}
		return snapshots.CauseHealthy
	}
	split := sim.FaultRecord{Verb: sim.VerbSplit, Start: t0.Add(500 * time.Millisecond), End: t0.Add(500 * time.Millisecond),
		Touched: []sim.Touch{{Region: 1, At: t0.Add(500 * time.Millisecond), How: sim.TouchTarget}}}
	rep := run(churn).Judge([]sim.FaultRecord{lock1[0], split}, t0)
	require.Equal(t, 1, rep.Verbs[sim.VerbLock].Misses, "the split was over before the lock's trouble showed")
	split.End = t0.Add(9 * time.Second)
	rep = run(churn).Judge([]sim.FaultRecord{lock1[0], split}, t0)
	require.Equal(t, 1, rep.Verbs[sim.VerbLock].Masked)
}

// A drained region re-scanned on its new leader within the window, named
// meanwhile only scan_pending, recovered: not a recall miss. One named
// wrong on the way is still a miss.
func TestRecoveredBeforeTheWindowIsNotAMiss(t *testing.T) {
	drain := []sim.FaultRecord{{Verb: sim.VerbDrainStore, Start: t0.Add(time.Second), Store: 1,
		Touched: []sim.Touch{{Region: 1, At: t0.Add(time.Second), How: sim.TouchLed}}}}
	blip := func(cause string) *Judge {
		j := NewJudge(DefaultRules(10 * time.Second))
		for at := time.Duration(0); at <= 8*time.Second; at += 500 * time.Millisecond {
			r1 := snapshots.Region{ID: 1, StoreID: 2, State: snapshots.StateInitialized, Cause: snapshots.CauseHealthy}
			if at == 1500*time.Millisecond {
				r1.State, r1.Cause = snapshots.StateRequested, cause
			}
			// The store row names the drain (judged on its own: below).
			s1 := snapshots.Store{ID: 1, Condition: CauseStoreDraining}
			j.Observe(&snapshots.State{TakenAt: t0.Add(at), Regions: []snapshots.Region{r1}, Stores: []snapshots.Store{s1}})
		}
		return j
	}
	v := blip(snapshots.CauseScanPending).Judge(drain, t0).Verbs[sim.VerbDrainStore]
	require.Equal(t, 1, v.Recovered)
	require.Zero(t, v.Misses)
	require.Equal(t, 1, v.Hits, "the store pair")
	v = blip(snapshots.CauseSilent).Judge(drain, t0).Verbs[sim.VerbDrainStore]
	require.Zero(t, v.Recovered)
	require.Equal(t, 1, v.Misses)
}

// A drain and a removal are judged on the store row as well: its
// condition within the window of the fault's start; masked by PD down.
func TestDrainJudgedOnTheStoreRow(t *testing.T) {
	remove := sim.FaultRecord{Verb: sim.VerbRemoveStore, Start: t0.Add(time.Second), Store: 3}
	judge := func(condition func(at time.Duration) string, records ...sim.FaultRecord) *VerbResult {
		j := NewJudge(DefaultRules(10 * time.Second))
		for at := time.Duration(0); at <= 8*time.Second; at += 500 * time.Millisecond {
			j.Observe(&snapshots.State{TakenAt: t0.Add(at), Stores: []snapshots.Store{{ID: 3, Condition: condition(at)}}})
		}
		return j.Judge(records, t0).Verbs[sim.VerbRemoveStore]
	}
	after := func(d time.Duration, c string) func(time.Duration) string {
		return func(at time.Duration) string {
			if at >= d {
				return c
			}
			return snapshots.CauseHealthy
		}
	}
	v := judge(after(2500*time.Millisecond, CauseStoreRemoved), remove)
	require.Equal(t, 1, v.Hits)
	require.Equal(t, []time.Duration{1500 * time.Millisecond}, v.TimeToName)
	v = judge(after(3500*time.Millisecond, CauseStoreRemoved), remove)
	require.Equal(t, 1, v.Misses, "named 2.5s after PD listed it")
	pdDown := sim.FaultRecord{Verb: sim.VerbPDDown, Start: t0, End: t0.Add(5 * time.Second), All: true}
	v = judge(after(0, snapshots.CausePDUnreachable), remove, pdDown)
	require.Equal(t, 1, v.Masked)
	// Removed while PD was down: PD's states are read once it answers
	// (5s), so the name is due by 7s.
	v = judge(after(6500*time.Millisecond, CauseStoreRemoved), remove, pdDown)
	require.Equal(t, 1, v.Hits)
	require.Equal(t, []time.Duration{1500 * time.Millisecond}, v.TimeToName)
}
