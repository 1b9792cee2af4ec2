package snapshots

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A region that flaps every second is capped: a burst, then one delta
// every capEveryMs, and its last state is recorded once it settles. The
// other regions' changes in the same moments are all recorded, and the
// saved timeline replays exactly what was recorded.
func TestTimelineCapsARegionThatChangesOften(t *testing.T) {
	const moments, flapUntil, flapper, steady = 400, 300, 7, 12
	rec := NewRecorder(time.Hour)
	var truth []*State
	for k := range moments {
		at := histT0.Add(time.Duration(k) * time.Second)
		var regs []Region
		for id := uint64(1); id <= 30; id++ {
			r := histRegion(id, 1)
			switch {
			case id == flapper && (k >= flapUntil || k%2 == 1):
				r.State, r.Cause = StateRetryWait, CauseRegionChurn
			case id == steady && k >= 100 && k < 200:
				r.State = StateRequested
			}
			regs = append(regs, r)
		}
		s := &State{Version: Version, TakenAt: at, Seq: uint64(k + 1), Regions: regs}
		rec.Observe(s)
		truth = append(truth, s)
	}
	require.Equal(t, moments, rec.Len())

	deltas := map[uint64]int{}
	for i := 1; i < len(rec.frames); i++ {
		d := rec.reader(rec.frames[i].Deltas, i)
		var o, n mark
		for {
			slot, _, ok := d.next(&o, &n)
			if !ok {
				break
			}
			deltas[rec.region(int32(slot)).ID]++
		}
		require.NoError(t, d.err)
	}
	most := capBurst + flapUntil*1000/capEveryMs + 1
	require.LessOrEqual(t, deltas[flapper], most, "the flapping region's deltas are capped")
	require.GreaterOrEqual(t, deltas[flapper], capBurst, "it records its burst")
	require.Equal(t, 2, deltas[steady], "a region that changes twice records both")

	c := rec.Cursor()
	for k := moments - 1; k >= 0; k-- {
		st := c.State(nil)
		byID := map[uint64]Region{}
		for _, r := range st.Regions {
			byID[r.ID] = r
		}
		require.Len(t, byID, 30)
		for _, want := range truth[k].Regions {
			got := byID[want.ID]
			if want.ID == flapper && k < flapUntil+capEveryMs/1000 {
				require.Contains(t, []string{StateInitialized, StateRetryWait}, got.State)
				continue
			}
			require.Equal(t, want.State, got.State, "moment %d region %d", k, want.ID)
		}
		c.Step(-1)
	}

	saved := *truth[moments-1]
	saved.History = rec.History()
	data, err := Marshal(&saved)
	require.NoError(t, err)
	loaded, err := Unmarshal(data, "snap.json")
	require.NoError(t, err)
	back, err := NewRecorderFrom(loaded.History)
	require.NoError(t, err)
	live, replay := rec.Cursor(), back.Cursor()
	for k := moments - 1; k >= 0; k-- {
		requireSameState(t, live.State(nil), replay.State(nil))
		live.Step(-1)
		replay.Step(-1)
	}
}
