package view

import (
	"testing"
	"time"

	"github.com/pulltop/pulltop/snapshots"
)

// The timeline recorded from the changes alone (Feed) rebuilds every
// moment as the one recorded from every row does: replay stays exact.
func TestFeedRecordsWhatAFullObserveRecords(t *testing.T) {
	b := NewBuilder()
	handles := make([]int32, 300)
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	put := func(i int, state, cause, err string) {
		r := region(uint64(i+1), state)
		r.Cause, r.LastError = cause, err
		b.Put(&handles[i], &r)
		b.SetMoving(handles[i], uint64(at.UnixMilli()-200)<<18, at.UnixNano(), 1)
	}
	for i := range handles {
		put(i, snapshots.StateInitialized, "healthy", "")
	}
	viaFeed, viaRows := snapshots.NewRecorder(time.Hour), snapshots.NewRecorder(time.Hour)
	var feed Feed
	var states []*snapshots.State
	for step := range 6 {
		switch step {
		case 1:
			put(7, snapshots.StateRetryWait, "region_churn", "not_leader")
			put(250, snapshots.StateStale, "silent", "")
		case 2:
			b.Remove(&handles[20]) // the last row moves into its place
		case 3:
			put(7, snapshots.StateInitialized, "healthy", "")
			var h int32
			r := region(1000, snapshots.StateQueued)
			b.Put(&h, &r)
		case 5:
			b.Remove(&handles[3])
			b.Remove(&handles[4])
		}
		s := &snapshots.State{Version: snapshots.Version, TakenAt: at, Seq: uint64(step + 1)}
		s.Table = b.Publish(at)
		feed.Observe(viaFeed, s)
		viaRows.Observe(s.WithRows())
		states = append(states, s)
		if step == 4 {
			feed = Feed{} // a reader that lost track reads every row
		}
		at = at.Add(time.Second)
	}
	hf, hr := viaFeed.Cursor(), viaRows.Cursor()
	for k := len(states) - 1; k >= 0; k-- {
		want, got := rowsByKey(hr.State(nil)), rowsByKey(hf.State(nil))
		if len(want) != len(got) {
			t.Fatalf("moment %d: %d regions via the feed, %d via rows", k, len(got), len(want))
		}
		for key, w := range want {
			g, ok := got[key]
			if !ok || g.State != w.State || g.Cause != w.Cause || g.LastError != w.LastError || g.StoreID != w.StoreID {
				t.Fatalf("moment %d region %v: via the feed %+v, via rows %+v", k, key, g, w)
			}
		}
		hf.Step(-1)
		hr.Step(-1)
	}
}

func rowsByKey(s *snapshots.State) map[Key]snapshots.Region {
	m := map[Key]snapshots.Region{}
	for _, r := range s.Rows() {
		m[Key{r.Subscription, r.ID}] = r
	}
	return m
}
