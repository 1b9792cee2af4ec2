package snapshots

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var histT0 = time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC)

// histRegion is a region as a test timeline needs it.
func histRegion(id uint64, store uint64) Region {
	return Region{ID: id, Subscription: 1, Start: fmt.Sprintf("74%04x", id), End: fmt.Sprintf("74%04x", id+1),
		StoreID: store, State: StateInitialized, Initialized: true, Cause: CauseHealthy, Since: histT0,
		ResolvedTs: 1, ResolvedLagMs: 500}
}

// timelineStates is a small incident: region 3 gets locked at t=3s and
// stays stuck, store 2 goes down at t=5s (regions 4, 5), region 6 appears
// at t=4s (a split) and region 7 disappears at t=6s (merged); region 1's
// lag jitters. One state per second, 10 of them.
func timelineStates() []*State {
	var out []*State
	for k := 0; k < 10; k++ {
		at := histT0.Add(time.Duration(k) * time.Second)
		var regs []Region
		for id := uint64(1); id <= 7; id++ {
			if id == 6 && k < 4 || id == 7 && k >= 6 {
				continue
			}
			r := histRegion(id, 1+id%2)
			r.ResolvedTs = uint64(100 + k) // advancing
			switch {
			case id == 1:
				r.ResolvedLagMs = int64(300 + (k%3)*400) // 300..1100ms: jitter within tolerance
			case id == 3 && k >= 3:
				r.ResolvedTs = 102 // stuck since k=2
				r.ResolvedLagMs = int64(k-2)*1000 + 500
				if k >= 5 {
					r.State, r.Cause, r.Since = StateStale, CauseLock, histT0.Add(2*time.Second)
					r.Diagnosis = fmt.Sprintf("pinned %ds by txn 42 holding t1_r1; no commit or rollback seen", k-2)
				}
			case (id == 4 || id == 5) && k >= 5:
				r.State, r.Initialized, r.Cause, r.Since = StateRetryWait, false, CauseStoreDown, histT0.Add(5*time.Second)
				r.Diagnosis = fmt.Sprintf("store 2 down since 14:00:05: %d failed attempts", k-3)
				r.LastError, r.LastErrorAt, r.RetryAttempts = "store_failure: connection refused", histT0.Add(5*time.Second), k-4
				r.ResolvedTs, r.ResolvedLagMs = 0, 0
			}
			regs = append(regs, r)
		}
		out = append(out, &State{Version: Version, TakenAt: at, Seq: uint64(k + 1), Regions: regs,
			Totals: Totals{Regions: len(regs), ResolvedLagMaxMs: int64(k) * 100},
			Stores: []Store{{ID: 1, State: StoreUp}, {ID: 2, State: StoreUp}}})
	}
	return out
}

// sameRegion asserts that a rebuilt region shows what the original did.
func sameRegion(t *testing.T, want, got *Region, at string) {
	t.Helper()
	where := fmt.Sprintf("%s region %d", at, want.ID)
	require.Equal(t, want.Subscription, got.Subscription, where)
	require.Equal(t, want.Start, got.Start, where)
	require.Equal(t, want.End, got.End, where)
	require.Equal(t, want.StoreID, got.StoreID, where)
	require.Equal(t, want.State, got.State, where)
	require.Equal(t, want.Initialized, got.Initialized, where)
	require.Equal(t, want.Cause, got.Cause, where)
	require.True(t, want.Since.Equal(got.Since), "%s since %s, want %s", where, got.Since, want.Since)
	require.True(t, sameWords(want.Diagnosis, got.Diagnosis), "%s diagnosis %q, want %q", where, got.Diagnosis, want.Diagnosis)
	require.Equal(t, want.LastError, got.LastError, where)
	require.True(t, want.LastErrorAt.Equal(got.LastErrorAt), where)
	require.Equal(t, want.RetryAttempts, got.RetryAttempts, where)
	require.InDelta(t, want.ResolvedLagMs, got.ResolvedLagMs, lagTolerance, "%s lag", where)
}

func requireSameState(t *testing.T, want, got *State) {
	t.Helper()
	at := want.TakenAt.Format("15:04:05")
	require.True(t, want.TakenAt.Equal(got.TakenAt), at)
	require.Equal(t, want.Seq, got.Seq, at)
	require.Equal(t, want.Totals, got.Totals, at)
	require.Equal(t, want.Stores, got.Stores, at)
	require.Len(t, got.Regions, len(want.Regions), at)
	byID := map[uint64]*Region{}
	for i := range got.Regions {
		byID[got.Regions[i].ID] = &got.Regions[i]
	}
	for i := range want.Regions {
		r := byID[want.Regions[i].ID]
		require.NotNil(t, r, "%s region %d missing", at, want.Regions[i].ID)
		sameRegion(t, &want.Regions[i], r, at)
	}
}

// Every recorded moment can be rebuilt, walking back one step at a time
// and forward again, and seeking by time.
func TestTimelineRebuildsEveryMoment(t *testing.T) {
	states := timelineStates()
	rec := NewRecorder(time.Hour)
	for _, s := range states {
		rec.Observe(s)
		rec.Observe(s) // the same snapshot twice is one moment
	}
	require.Equal(t, len(states), rec.Len())
	c := rec.Cursor()
	require.True(t, c.Newest())
	for k := len(states) - 1; k >= 0; k-- {
		requireSameState(t, states[k], c.State(nil))
		if k > 0 {
			require.Equal(t, -1, c.Step(-1))
		}
	}
	require.True(t, c.Oldest())
	require.Zero(t, c.Step(-1), "the oldest moment is the end")
	for k := 1; k < len(states); k++ {
		require.Equal(t, 1, c.Step(1))
		requireSameState(t, states[k], c.State(nil))
	}
	require.Zero(t, c.Step(1))
	c.Seek(histT0.Add(4500 * time.Millisecond))
	requireSameState(t, states[4], c.State(nil))
	c.Seek(histT0.Add(-time.Hour))
	requireSameState(t, states[0], c.State(nil))

	// Derived lists: region 4 and 5 wait in the retry heap at t=7s.
	c.Seek(histT0.Add(7 * time.Second))
	st := c.State(nil)
	require.Len(t, st.Retries, 2)
	require.Equal(t, ReasonStoreFailure, st.Retries[0].Reason)
	require.Equal(t, 3, st.Retries[0].Attempt)
}

// A stuck region's lag keeps growing in the rebuilt moments although only
// one delta recorded it; a jittering healthy one costs no delta at all.
func TestTimelineLagModel(t *testing.T) {
	states := timelineStates()
	rec := NewRecorder(time.Hour)
	for _, s := range states {
		rec.Observe(s)
	}
	c := rec.Cursor()
	lag := func(id uint64) int64 {
		for _, r := range c.State(nil).Regions {
			if r.ID == id {
				return r.ResolvedLagMs
			}
		}
		t.Fatalf("no region %d", id)
		return 0
	}
	require.InDelta(t, 7500, lag(3), lagTolerance)
	c.Step(-2)
	require.InDelta(t, 5500, lag(3), lagTolerance)

	changes := 0
	for _, p := range rec.frames[1:] {
		d := rec.reader(p.Deltas, 0)
		var o, n mark
		for {
			slot, mask, ok := d.next(&o, &n)
			if !ok {
				break
			}
			if rec.region(int32(slot)).ID == 1 {
				changes++
				t.Logf("region 1 changed: mask %b", mask)
			}
		}
	}
	require.Zero(t, changes, "region 1's lag stays within the tolerance of its first record")
}

// Saved and loaded, the timeline rebuilds the same moments.
func TestTimelineSurvivesSaveAndLoad(t *testing.T) {
	states := timelineStates()
	rec := NewRecorder(15 * time.Minute)
	for _, s := range states {
		rec.Observe(s)
	}
	saved := *states[len(states)-1]
	saved.History = rec.History()
	data, err := Marshal(&saved)
	require.NoError(t, err)
	loaded, err := Unmarshal(data, "snap.json")
	require.NoError(t, err)
	require.NotNil(t, loaded.History)
	require.Equal(t, int64(15*time.Minute/time.Millisecond), loaded.History.WindowMs)
	back, err := NewRecorderFrom(loaded.History)
	require.NoError(t, err)
	c := back.Cursor()
	for k := len(states) - 1; k >= 0; k-- {
		requireSameState(t, states[k], c.State(nil))
		c.Step(-1)
	}
}

// A damaged timeline is refused when the snapshot is loaded, with the
// reason, never a panic while scrubbing.
func TestCorruptHistoryIsAnError(t *testing.T) {
	fresh := func() *State {
		rec := NewRecorder(time.Hour)
		for _, s := range timelineStates() {
			rec.Observe(s)
		}
		s := *timelineStates()[9]
		s.History = rec.History()
		return &s
	}
	for name, tc := range map[string]struct {
		damage func(h *History)
		want   string
	}{
		"truncated deltas":    {func(h *History) { f := &h.Frames[5]; f.Deltas = f.Deltas[:len(f.Deltas)-1] }, "corrupt"},
		"slot out of range":   {func(h *History) { h.Regions = h.Regions[:2] }, "slot"},
		"string out of range": {func(h *History) { h.Strings = h.Strings[:1] }, "string index"},
		"no empty entry":      {func(h *History) { h.States[0] = "x" }, "tables"},
		"frames out of order": {func(h *History) { h.Frames[2].At = h.Frames[8].At }, "time order"},
		"bad key":             {func(h *History) { h.Regions[0].Start = "zz" }, "hex"},
		"garbage base":        {func(h *History) { h.Base = []byte{0xff} }, "corrupt"},
	} {
		t.Run(name, func(t *testing.T) {
			s := fresh()
			tc.damage(s.History)
			data, err := json.Marshal(s) // Marshal itself refuses to write it
			require.NoError(t, err)
			_, err = Unmarshal(data, "snap.json")
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// Moments older than the window are dropped; a cursor left on one comes
// back to the oldest kept.
func TestTimelineWindow(t *testing.T) {
	states := timelineStates()
	rec := NewRecorder(3 * time.Second)
	for _, s := range states[:6] {
		rec.Observe(s)
	}
	require.Equal(t, 4, rec.Len(), "t=2s..5s")
	c := rec.Cursor()
	c.Step(-10)
	requireSameState(t, states[2], c.State(nil))
	for _, s := range states[6:] {
		rec.Observe(s)
	}
	require.Equal(t, 4, rec.Len(), "t=6s..9s")
	c.Step(-1) // its moment was dropped: it starts again from the oldest kept
	requireSameState(t, states[6], c.State(nil))
	c.Step(100)
	requireSameState(t, states[9], c.State(nil))
	require.Nil(t, NewRecorder(0).Cursor(), "--history 0 records nothing")
	off := NewRecorder(0)
	off.Observe(states[0])
	require.Zero(t, off.Len())
	require.Nil(t, off.History())
}

// A region's timeline lists its states and causes with their times.
func TestRegionTimeline(t *testing.T) {
	rec := NewRecorder(time.Hour)
	for _, s := range timelineStates() {
		rec.Observe(s)
	}
	var got []string
	for _, p := range rec.RegionTimeline(1, 4) {
		got = append(got, fmt.Sprintf("%s %v %s %s", p.At.Format("05"), p.Present, p.State, p.Cause))
	}
	require.Equal(t, []string{"00 true initialized healthy", "05 true retry-wait store_down"}, got)
	got = nil
	for _, p := range rec.RegionTimeline(1, 7) {
		got = append(got, fmt.Sprintf("%s %v %s", p.At.Format("05"), p.Present, p.State))
	}
	require.Equal(t, []string{"00 true initialized", "06 false "}, got)
	require.Nil(t, rec.RegionTimeline(1, 99))
}

func TestSameWords(t *testing.T) {
	require.True(t, sameWords("pinned 12s by txn 42", "pinned 13s by txn 43"))
	require.True(t, sameWords("next try in 1.6s", "next try in 12.25s"))
	require.False(t, sameWords("pinned 12s by txn 42", "pinned 12ms by txn 42"))
	require.False(t, sameWords("store 2 down", "store 2 busy"))
	require.False(t, sameWords("a", "ab"))
	require.True(t, sameWords("", ""))
}

// Recording a snapshot in which nothing changed allocates nothing per
// region.
func TestObserveAllocatesNothingPerUnchangedRegion(t *testing.T) {
	s := &State{TakenAt: histT0}
	for id := uint64(1); id <= 10000; id++ {
		r := histRegion(id, 1+id%3)
		r.LastError = "not_leader: not leader"
		s.Regions = append(s.Regions, r)
	}
	rec := NewRecorder(time.Hour)
	rec.Observe(s)
	k := 0
	allocs := testing.AllocsPerRun(20, func() {
		k++
		next := *s
		next.Seq, next.TakenAt = uint64(k+1), histT0.Add(time.Duration(k)*time.Second)
		rec.Observe(&next)
	})
	require.LessOrEqual(t, allocs, 2.0, "per snapshot, not per region")
	require.True(t, strings.HasPrefix(rec.strings[1], "not_leader"))
}

// A tracked region's timeline follows the recorder as it goes on, and
// equals the timeline computed from scratch, also after trimming.
func TestRegionTrackFollowsTheRecorder(t *testing.T) {
	states := timelineStates()
	rec := NewRecorder(4 * time.Second)
	tracks := map[uint64]*RegionTrack{}
	for id := uint64(1); id <= 7; id++ {
		tracks[id] = rec.Track(1, id)
	}
	for _, s := range states {
		rec.Observe(s)
		for id, tr := range tracks {
			require.Equal(t, rec.RegionTimeline(1, id), tr.Points(), "region %d after %s", id, s.TakenAt.Format("05"))
		}
	}
	require.Nil(t, rec.Track(1, 99).Points())
}
