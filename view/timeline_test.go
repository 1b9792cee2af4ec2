package view

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pulltop/pulltop/snapshots"
)

// churn is a view whose regions change, leave, come back and split, with
// the rows of every region the test put (the truth).
type churn struct {
	b       *Builder
	handles map[uint64]*int32
	rows    map[uint64]snapshots.Region // every region ever put, as last put
	at      time.Time
}

func newChurn() *churn {
	return &churn{b: NewBuilder(), handles: map[uint64]*int32{}, rows: map[uint64]snapshots.Region{},
		at: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
}

func (c *churn) put(r snapshots.Region) {
	h := c.handles[r.ID]
	if h == nil {
		h = new(int32)
		c.handles[r.ID] = h
	}
	c.rows[r.ID] = r
	c.b.Put(h, &r)
	c.b.SetMoving(*h, uint64(c.at.UnixMilli()-300)<<18, c.at.UnixNano(), 1)
}

func (c *churn) remove(id uint64) { c.b.Remove(c.handles[id]) }

// split gives id the left half of its range and a new region, newID, the
// right half, as TiKV does.
func (c *churn) split(id, newID uint64) {
	left := c.rows[id]
	right := left
	mid := left.Start + "80"
	left.End, right.Start, right.ID = mid, mid, newID
	c.put(left)
	c.put(right)
}

// publish moves every region's resolved ts (the feed re-models a lag only
// when its row changes) and publishes.
func (c *churn) publish(seq int) *snapshots.State {
	for _, h := range c.handles {
		if *h != 0 {
			c.b.SetMoving(*h, uint64(c.at.UnixMilli()-300)<<18, c.at.UnixNano(), 1)
		}
	}
	s := &snapshots.State{Version: snapshots.Version, TakenAt: c.at, Seq: uint64(seq)}
	s.Table = c.b.Publish(c.at)
	c.at = c.at.Add(time.Second)
	return s
}

// A timeline recorded from a live view's versions (Feed: only what
// changed, the keys read from the versions) rebuilds every moment as one
// recorded from every row does, keys included: of regions that left long
// ago (their rows since given to others), that left and came back within
// one walk of the feed, and that split (the timeline names a region by
// the range it first saw). Saved and loaded, it rebuilds the same moments.
func TestTimelineOverAChurningView(t *testing.T) {
	c := newChurn()
	rng := rand.New(rand.NewPCG(23, 64))
	// Not stale: a stale region's lag is modelled as frozen, re-modelled by
	// the feed only when its row changes (by design), by rows every moment.
	states := []string{snapshots.StateInitialized, snapshots.StateRetryWait, snapshots.StateRequested}
	next := uint64(1)
	for ; next <= 200; next++ {
		c.put(region(next, snapshots.StateInitialized))
	}
	viaFeed, viaRows := snapshots.NewRecorder(time.Hour), snapshots.NewRecorder(time.Hour)
	var feed Feed
	observe := func(s *snapshots.State) {
		feed.Observe(viaFeed, s)
		viaRows.Observe(s.WithRows())
	}
	observe(c.publish(1))
	seq, moments := 1, 1
	left := []uint64{}
	present := func(id uint64) bool { h := c.handles[id]; return h != nil && *h != 0 }
	for step := range 80 {
		for range 3 {
			id := 1 + rng.Uint64N(next-1)
			if r, ok := c.rows[id]; ok && present(id) {
				r.State = states[rng.IntN(len(states))]
				r.LastError = fmt.Sprintf("error %d", rng.IntN(3))
				c.put(r)
			}
		}
		switch id := 1 + rng.Uint64N(next-1); {
		case step%5 == 1 && present(id): // a region leaves; the last row takes its place
			c.remove(id)
			left = append(left, id)
		case step%5 == 2 && present(id):
			c.split(id, next)
			next++
		case step%5 == 3 && len(left) > 0: // one that left comes back
			c.put(c.rows[left[0]])
			left = left[1:]
		}
		seq++
		s := c.publish(seq)
		if step%4 == 3 {
			continue // the next walk covers two versions
		}
		observe(s)
		moments++
	}
	// Left and back within one walk, seen before its leaving is read: a
	// change to the last row (X moves there on the way back), X leaves,
	// X comes back in the last row.
	x := uint64(5)
	lastRow := c.b.Len() - 1
	for id, h := range c.handles {
		if *h == int32(lastRow+1) {
			r := c.rows[id]
			r.State = snapshots.StateRetryWait
			c.put(r)
		}
	}
	seq++
	c.publish(seq)
	c.remove(x)
	seq++
	c.publish(seq)
	c.put(c.rows[x])
	seq++
	observe(c.publish(seq))
	moments++

	if viaFeed.Len() != moments || viaRows.Len() != moments {
		t.Fatalf("recorded %d moments via the feed, %d via rows; want %d", viaFeed.Len(), viaRows.Len(), moments)
	}
	if got := viaFeed.Cursor().State(nil); !hasRegion(got, x) {
		t.Fatalf("region %d left and came back within one walk: missing from the newest moment", x)
	}
	sameTimeline(t, "live", viaRows, viaFeed)

	saved := &snapshots.State{Version: snapshots.Version, TakenAt: c.at, Seq: uint64(seq + 1), History: viaFeed.History()}
	data, err := snapshots.Marshal(saved)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := snapshots.Unmarshal(data, "churn.json")
	if err != nil {
		t.Fatal(err)
	}
	replay, err := snapshots.NewRecorderFrom(loaded.History)
	if err != nil {
		t.Fatal(err)
	}
	sameTimeline(t, "replayed", viaRows, replay)
}

func hasRegion(s *snapshots.State, id uint64) bool {
	for _, r := range s.Rows() {
		if r.ID == id {
			return true
		}
	}
	return false
}

// sameTimeline checks that got rebuilds every moment want does, newest
// to oldest.
func sameTimeline(t *testing.T, what string, want, got *snapshots.Recorder) {
	t.Helper()
	cw, cg := want.Cursor(), got.Cursor()
	for k := want.Len() - 1; ; k-- {
		w, g := rowsByKey(cw.State(nil)), rowsByKey(cg.State(nil))
		if len(w) != len(g) {
			t.Fatalf("%s moment %d: %d regions, want %d", what, k, len(g), len(w))
		}
		for key, wr := range w {
			gr, ok := g[key]
			if !ok {
				t.Fatalf("%s moment %d: region %v missing", what, k, key)
			}
			if gr.Start != wr.Start || gr.End != wr.End || gr.State != wr.State || gr.Cause != wr.Cause ||
				gr.LastError != wr.LastError || gr.StoreID != wr.StoreID || gr.ResolvedLagMs != wr.ResolvedLagMs {
				t.Fatalf("%s moment %d region %v:\n got %+v\nwant %+v", what, k, key, gr, wr)
			}
		}
		if k == 0 {
			break
		}
		if cw.Step(-1) != -1 || cg.Step(-1) != -1 {
			t.Fatalf("%s moment %d: cannot step back", what, k)
		}
	}
	if !cg.Oldest() {
		t.Fatalf("%s: more moments than %d", what, want.Len())
	}
}

// A snapshot the recorder refuses (its time went back) is not taken by
// the feed either: the next walk still brings its changes.
func TestFeedKeepsWhatTheRecorderRefused(t *testing.T) {
	c := newChurn()
	for id := uint64(1); id <= 40; id++ {
		c.put(region(id, snapshots.StateInitialized))
	}
	rec := snapshots.NewRecorder(time.Hour)
	var feed Feed
	feed.Observe(rec, c.publish(1))
	r := c.rows[3]
	r.State = snapshots.StateRetryWait
	c.put(r)
	c.remove(10)
	refused := c.publish(2)
	refused.TakenAt = refused.TakenAt.Add(-time.Hour)
	feed.Observe(rec, refused)
	feed.Observe(rec, c.publish(3))
	if rec.Len() != 2 {
		t.Fatalf("%d moments recorded, want 2", rec.Len())
	}
	got := rowsByKey(rec.Cursor().State(nil))
	if len(got) != 39 || got[Key{1, 3}].State != snapshots.StateRetryWait {
		t.Fatalf("after a refused snapshot: %d regions, region 3 %q; want 39, %q", len(got), got[Key{1, 3}].State, snapshots.StateRetryWait)
	}
}

// A region that left keeps its history and its keys after every version
// that held it is gone and its row was given to others; a region that
// split is named by the range the timeline first saw, the new one by its
// own.
func TestTimelineKeepsTheKeysOfRegionsTheViewNoLongerHas(t *testing.T) {
	c := newChurn()
	for id := uint64(1); id <= 20; id++ {
		c.put(region(id, snapshots.StateInitialized))
	}
	rec := snapshots.NewRecorder(time.Hour)
	var feed Feed
	seq := 1
	feed.Observe(rec, c.publish(seq))
	c.remove(3) // region 20 moves into its row
	c.split(7, 21)
	for range 5 {
		seq++
		feed.Observe(rec, c.publish(seq))
		for id := uint64(22 + seq); id < uint64(25+seq); id++ {
			c.put(region(id, snapshots.StateRequested))
		}
		c.remove(uint64(8 + seq)) // rows keep moving
	}
	seq++
	feed.Observe(rec, c.publish(seq))

	keys := map[uint64]snapshots.HistoryRegion{}
	for _, r := range rec.History().Regions {
		keys[r.ID] = r
	}
	for _, want := range []snapshots.HistoryRegion{
		{Subscription: 1, ID: 3, Start: "00000003", End: "00000004"},
		{Subscription: 1, ID: 7, Start: "00000007", End: "00000008"},
		{Subscription: 1, ID: 21, Start: "0000000780", End: "00000008"},
		{Subscription: 1, ID: 10, Start: "0000000a", End: "0000000b"},
	} {
		if got := keys[want.ID]; got != want {
			t.Errorf("region %d: keys %+v, want %+v", want.ID, got, want)
		}
	}
	points := rec.RegionTimeline(1, 3)
	if len(points) != 2 || !points[0].Present || points[1].Present {
		t.Fatalf("region 3's timeline: %+v; want present, then gone", points)
	}
	cur := rec.Cursor()
	cur.Seek(time.Time{})
	first := rowsByKey(cur.State(nil))
	if r := first[Key{1, 3}]; r.Start != "00000003" || r.End != "00000004" {
		t.Fatalf("region 3 at the first moment: %+v", r)
	}
}
