package ui

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
	"github.com/pulltop/pulltop/view"
)

// tableOf is s with its regions in a view's table (as a live engine
// publishes them), put into b under handles.
func tableOf(b *view.Builder, handles []int32, s *snapshots.State) *snapshots.State {
	c := *s
	for i := range s.Regions {
		r := &s.Regions[i]
		b.Put(&handles[i], r)
		b.SetMoving(handles[i], r.ResolvedTs, r.LastAdvanceAt.UnixNano(), r.Events)
	}
	c.Regions = nil
	c.Table = b.Publish(s.TakenAt)
	return &c
}

// lagsFromTs makes s's lags those its resolved ts give at its time, as a
// table measures them.
func lagsFromTs(s *snapshots.State) {
	for i := range s.Regions {
		r := &s.Regions[i]
		r.ResolvedLagMs = view.LagMs(s.TakenAt.UnixMilli(), r.ResolvedTs)
	}
}

// The screens over a live engine's table are the screens over the same
// regions as rows: Overview, Regions, a region's detail with its history,
// across a refresh in which one region changed (told by the change log
// alone).
func TestTableSourceShowsWhatRowsShow(t *testing.T) {
	rows := fixtureState()
	lagsFromTs(rows)
	b := view.NewBuilder()
	handles := make([]int32, len(rows.Regions))
	table := tableOf(b, handles, rows)
	require.Nil(t, table.Regions)

	viaRows := newHarness(t, rows, func(o *Options) { o.History = 15 * time.Minute })
	viaTable := newHarness(t, table, func(o *Options) { o.History = 15 * time.Minute })

	// The next moment: one region fails.
	next := *rows
	next.Regions = append([]snapshots.Region(nil), rows.Regions...)
	next.Seq++
	next.TakenAt = rows.TakenAt.Add(time.Second)
	changed := &next.Regions[1]
	changed.State, changed.Cause, changed.LastError = snapshots.StateRetryWait, snapshots.CauseRegionChurn, "not_leader: moved"
	lagsFromTs(&next)
	nextTable := tableOf(b, handles, &next)
	ch, partial := nextTable.Table.(*view.Version).ChangesSince(table.Table.(*view.Version).Seq())
	require.True(t, partial)
	require.Len(t, ch, 1, "one region changed")

	for _, h := range []*harness{viaRows, viaTable} {
		h.resize(160, 50)
	}
	viaRows.now, viaTable.now = next.TakenAt, next.TakenAt
	viaRows.refresh(&next)
	viaTable.refresh(nextTable)
	for _, keys := range [][]string{{"1"}, {"2"}, {"2", "s"}, {"2", "/", "r", "e", "t", "r", "y", "enter"}} {
		viaRows.press(keys...)
		viaTable.press(keys...)
		require.Equal(t, viaRows.view(), viaTable.view(), "after %v", keys)
		viaRows.press("esc")
		viaTable.press("esc")
	}
	// The changed region's detail: its history has the failure.
	viaRows.press("2", "/", "r", "e", "t", "r", "y", "enter", "enter")
	viaTable.press("2", "/", "r", "e", "t", "r", "y", "enter", "enter")
	got := viaTable.view()
	require.Equal(t, viaRows.view(), got)
	require.Contains(t, got, "not_leader")
}
