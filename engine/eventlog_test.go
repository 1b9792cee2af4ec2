package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
)

func TestEventLogFoldsBurstsOfOneGroup(t *testing.T) {
	l := newEventLog()
	t0 := time.Date(2026, 11, 27, 0, 27, 0, 0, time.UTC)
	l.add(t0, snapshots.LogRegion, "region 81", "region 81 split from 70", "lineage")
	l.add(t0.Add(100*time.Millisecond), snapshots.LogStore, "store 2", "UP -> COOLDOWN", "")
	l.add(t0.Add(500*time.Millisecond), snapshots.LogRegion, "region 82", "region 82 split from 81", "lineage")
	l.add(t0.Add(1500*time.Millisecond), snapshots.LogRegion, "region 83", "region 83 split from 5", "lineage")
	log := l.snapshot()
	require.Len(t, log, 2, "%v", log)
	require.Equal(t, "region 83 split from 5 (3× in 1.5s)", log[0].Text, "the burst keeps its first time and says the newest")
	require.Equal(t, t0, log[0].At)
	require.Equal(t, "UP -> COOLDOWN", log[1].Text)
	require.Same(t, &log[0], &l.snapshot()[0], "an unchanged log is shared between snapshots")

	// After a pause longer than the window, a new entry starts.
	l.add(t0.Add(10*time.Second), snapshots.LogRegion, "region 90", "region 90 split from 9", "lineage")
	log2 := l.snapshot()
	require.Len(t, log2, 3)
	require.Equal(t, "region 90 split from 9", log2[2].Text)
	require.Equal(t, "region 83 split from 5 (3× in 1.5s)", log[0].Text, "published logs never change")
}

func TestEventLogIsBounded(t *testing.T) {
	l := newEventLog()
	t0 := time.Now()
	for i := range logCapacity + 10 {
		l.add(t0.Add(time.Duration(i)*time.Second), snapshots.LogStore, "store 1", "x", "")
	}
	require.Len(t, l.snapshot(), logCapacity)
	l.note(t0, snapshots.LogFault, "script line 1", "at 1s pd-down for 3s", "")
	require.Len(t, l.snapshot(), logCapacity, "a note waits for the next publish")
	l.takeNoted()
	require.Equal(t, "at 1s pd-down for 3s", l.snapshot()[logCapacity-1].Text)
}

func TestErrorWindowKeepsTheLastMinute(t *testing.T) {
	var w errorWindow
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	w.add(snapshots.ReasonServerIsBusy, 2, t0)
	w.add(snapshots.ReasonServerIsBusy, 1, t0.Add(30*time.Second))
	w.add(snapshots.ReasonServerIsBusy, 2, t0.Add(31*time.Second))
	w.add(snapshots.ReasonRPCCtxUnavailable, 0, t0.Add(31*time.Second))

	var tot snapshots.Totals
	w.fill(&tot, t0.Add(40*time.Second))
	require.Equal(t, map[string]int64{snapshots.ReasonServerIsBusy: 3, snapshots.ReasonRPCCtxUnavailable: 1}, tot.ErrorsLastMinute)
	require.Equal(t, map[string][]uint64{snapshots.ReasonServerIsBusy: {1, 2}}, tot.ErrorStores)

	tot = snapshots.Totals{}
	w.fill(&tot, t0.Add(75*time.Second))
	require.Equal(t, map[string]int64{snapshots.ReasonServerIsBusy: 2, snapshots.ReasonRPCCtxUnavailable: 1}, tot.ErrorsLastMinute, "t0's error is over a minute old")
	tot = snapshots.Totals{}
	w.fill(&tot, t0.Add(200*time.Second))
	require.Nil(t, tot.ErrorsLastMinute)
	require.Nil(t, tot.ErrorStores)
}
