package ui

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
)

func withHistory(d time.Duration) harnessOpt { return func(o *Options) { o.History = d } }

// incident feeds the harness the fixture then 5 more refreshes, one a
// second: region 4 (stale in the fixture) recovers at the 2nd and region 2
// gets locked from the 4th on. It returns the snapshots, oldest first.
func incident(h *harness) []*snapshots.State {
	states := []*snapshots.State{h.src.s}
	s := h.src.s
	for k := 1; k <= 5; k++ {
		s = next(s, func(s *snapshots.State) {
			if k >= 2 {
				s.Regions[2].State, s.Regions[2].Cause, s.Regions[2].Diagnosis = snapshots.StateInitialized, snapshots.CauseHealthy, ""
				s.Regions[2].ResolvedLagMs = 400
			}
			if k >= 4 {
				r := &s.Regions[0]
				r.State, r.Cause, r.Since = snapshots.StateStale, snapshots.CauseLock, fixtureTaken.Add(4*time.Second)
				r.Diagnosis = "pinned 1s by txn 7 holding t100_r1; no commit or rollback seen (prewrite seen live)"
			}
		})
		h.now = s.TakenAt.Add(100 * time.Millisecond)
		h.refresh(s)
		states = append(states, s)
	}
	return states
}

func regionState(h *harness, id uint64) string {
	r := findRegion(h.m.a.shown, 1, id)
	if r == nil {
		return ""
	}
	return r.State
}

// [ steps back one refresh at a time, the header says where, every view
// shows that moment; ] steps forward and, past the newest, is live again.
func TestTimelineScrubsBackAndForward(t *testing.T) {
	h := newHarness(t, fixtureState(), withHistory(15*time.Minute))
	states := incident(h)
	h.requireContains("[live]", "Timeline       12:00:00–12:00:05 (6 moments)")
	require.Equal(t, snapshots.StateStale, regionState(h, 2))

	h.press("[")
	h.requireContains("AT 12:00:04 (−1.0s)", "TIMELINE 12:00:04 (−1.0s) behind the newest")
	h.requireNotContains("[live]")
	require.Equal(t, states[4].Seq, h.m.a.shown.Seq)
	h.press("[", "[")
	h.requireContains("AT 12:00:02 (−3.0s)")
	require.Equal(t, snapshots.StateInitialized, regionState(h, 2), "region 2 not locked yet at 12:00:02")
	h.press("[")
	require.Equal(t, snapshots.StateStale, regionState(h, 4), "region 4 still stale at 12:00:01")

	// Every view shows the moment: Regions lists it, its detail too.
	h.press("2")
	h.requireContains("AT 12:00:01 (−4.0s)")
	l := h.m.a.lists[viewRegions]
	require.Equal(t, len(states[1].Regions), l.total)

	// New snapshots are recorded but do not move the screen.
	later := next(states[5], nil)
	h.now = later.TakenAt
	h.refresh(later)
	h.requireContains("AT 12:00:01 (−5.0s)")

	h.press("{")
	h.requireContains("AT 12:00:00 (−6.0s)")
	h.requireContains("the oldest moment kept")
	h.press("}")
	h.requireContains("[live]", "snapshot #"+strconv.FormatUint(later.Seq, 10))
	h.requireNotContains("TIMELINE 12")

	h.press("[", "]")
	h.requireContains("[live]")
	h.press("]")
	h.requireContains("already live")
}

// space in the past is the way back to live too; countdowns do not tick
// on a past moment, and what the timeline does not keep is "-".
func TestTimelinePastMomentShowsWhatItKept(t *testing.T) {
	h := newHarness(t, fixtureState(), withHistory(time.Minute))
	incident(h)
	h.press("[", "[", "[", "[", "[", "3")
	h.requireContains("AT 12:00:00")
	require.Equal(t, int64(0), h.m.a.elapsedMs())
	// Retries rebuilt from the regions waiting: due times are not kept.
	h.requireContains("waiting")
	h.press("2")
	require.Contains(t, h.cursorLine(), "  -  ", "events per region are not kept")
	h.press("space")
	h.requireContains("[live]")
}

// A region's detail draws its timeline: a state letter per bucket, the
// moment on screen marked, its causes with when each began.
func TestRegionDetailTimelineStrip(t *testing.T) {
	h := newHarness(t, fixtureState(), withHistory(15*time.Minute))
	incident(h)
	h.press("2", "/")
	h.typeText("region:4")
	h.press("enter", "enter")
	v := h.view()
	require.Contains(t, v, "TIMELINE")
	require.Regexp(t, `\|S+I+\|`, v, "stale, then initialized")
	require.Contains(t, v, "causes: 12:00:00 lock → 12:00:02 healthy")
	require.Contains(t, v, "I initialized")
	h.press("[", "[", "[", "[")
	require.Contains(t, h.view(), "^ 12:00:01 (on screen)")
	require.Contains(t, h.view(), "Region 4", "the detail follows the region into the past")
}

// Without a timeline the keys say why nothing happens.
func TestTimelineOff(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("[")
	h.requireContains("no timeline: --history is 0", "[live]")
	h.requireContains("Timeline       off (--history 0)")

	// A replayed version 1 file (no timeline).
	r := newHarness(t, fixtureState(), readOnly("replay of old.json: a saved snapshot, actions are disabled"))
	r.press("[")
	r.requireContains("this snapshot has no timeline", "[replay]")
}

// A replayed snapshot with its timeline scrubs the same way, and ] past
// the newest returns to the file's own snapshot.
func TestReplayScrubsTheSavedTimeline(t *testing.T) {
	rec := snapshots.NewRecorder(15 * time.Minute)
	live := newHarness(t, fixtureState(), withHistory(15*time.Minute))
	states := incident(live)
	for _, s := range states {
		rec.Observe(s)
	}
	saved := *states[len(states)-1]
	saved.History = rec.History()

	h := newHarness(t, &saved, readOnly("replay of snap.json: a saved snapshot, actions are disabled"))
	h.requireContains("[replay]", "Timeline       12:00:00–12:00:05 (6 moments)")
	h.press("[", "[")
	h.requireContains("AT 12:00:03 (−2.0s)")
	h.press("]", "]")
	h.requireContains("[replay]", "newest moment")
	require.Same(t, h.m.a.latest, h.m.a.shown)
	// There is no live in a replay: ] at the newest says so (issue 27).
	h.press("]")
	h.requireContains("newest moment: [ steps back in time")
	h.requireNotContains("already live")
}

// ctrl+s saves the newest snapshot with the timeline, wherever the screen
// is.
func TestSaveCarriesTheTimeline(t *testing.T) {
	var saved *snapshots.State
	h := newHarness(t, fixtureState(), withHistory(15*time.Minute), func(o *Options) {
		o.SaveSnapshot = func(s *snapshots.State) (string, error) { saved = s; return "/tmp/s.json", nil }
	})
	states := incident(h)
	h.press("[", "[", "ctrl+s")
	require.NotNil(t, saved)
	require.Equal(t, states[5].Seq, saved.Seq, "the newest snapshot")
	require.NotNil(t, saved.History)
	require.Len(t, saved.History.Frames, 6)
	require.Equal(t, int64(15*time.Minute/time.Millisecond), saved.Source.HistoryMs)
	require.Nil(t, states[5].History, "the snapshot the source gave is not modified")
	require.NoError(t, saved.Validate())
}
