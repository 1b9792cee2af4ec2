package snapshots

import (
	"sort"
	"strings"
	"time"
)

// Cursor is a position in a Recorder's timeline, with every region's mark
// at that moment. Moving it one frame applies that frame's deltas (forward:
// the new values, back: the old ones), so a step costs what changed, not
// the number of regions; State then rebuilds the snapshot of the moment.
// A Cursor belongs to its Recorder's goroutine; the Recorder may go on
// recording while it exists.
type Cursor struct {
	r     *Recorder
	pos   uint64 // frame number
	marks []mark
}

// Cursor starts a cursor at the newest moment; nil when nothing was
// recorded.
func (r *Recorder) Cursor() *Cursor {
	if len(r.frames) == 0 {
		return nil
	}
	return &Cursor{r: r, pos: r.newest(), marks: append([]mark(nil), r.base...)}
}

func (r *Recorder) newest() uint64 { return r.first + uint64(len(r.frames)) - 1 }

// Frame is the frame the cursor is at.
func (c *Cursor) Frame() *HistoryFrame { return &c.r.frames[c.pos-c.r.first] }

// At is the moment the cursor is at.
func (c *Cursor) At() time.Time { return c.Frame().At }

// Newest reports whether the cursor is at the newest moment recorded.
func (c *Cursor) Newest() bool { return c.pos == c.r.newest() }

// Oldest reports whether the cursor is at the oldest moment kept.
func (c *Cursor) Oldest() bool { return c.pos <= c.r.first }

// Step moves the cursor n frames (back when negative), stopping at the
// oldest and the newest; it returns how many it moved.
func (c *Cursor) Step(n int) int {
	c.resync()
	moved := 0
	for ; n < 0 && c.pos > c.r.first; n++ {
		c.apply(c.pos, false)
		c.pos--
		moved--
	}
	for ; n > 0 && c.pos < c.r.newest(); n-- {
		c.pos++
		c.apply(c.pos, true)
		moved++
	}
	return moved
}

// Seek moves the cursor to the last moment at or before t (the oldest if t
// is before it).
func (c *Cursor) Seek(t time.Time) {
	c.resync()
	frames := c.r.frames
	i := sort.Search(len(frames), func(i int) bool { return frames[i].At.After(t) }) - 1
	c.Step(max(i, 0) - int(c.pos-c.r.first))
}

// resync handles a cursor left behind by the recorder's trimming: it
// restarts from the newest moment and walks back to the oldest kept.
func (c *Cursor) resync() {
	if c.pos >= c.r.first {
		if len(c.marks) < len(c.r.base) {
			c.marks = append(c.marks, make([]mark, len(c.r.base)-len(c.marks))...)
		}
		return
	}
	c.pos, c.marks = c.r.newest(), append(c.marks[:0], c.r.base...)
	for c.pos > c.r.first {
		c.apply(c.pos, false)
		c.pos--
	}
}

// apply applies frame pos's deltas: its new values (forward) or its old
// ones (back). The recorder checked them when it made or loaded them.
func (c *Cursor) apply(pos uint64, forward bool) {
	d := c.r.reader(c.r.frames[pos-c.r.first].Deltas, int(pos-c.r.first))
	var o, n mark
	for {
		slot, mask, ok := d.next(&o, &n)
		if !ok {
			return
		}
		if forward {
			setFields(&c.marks[slot], &n, mask)
		} else {
			setFields(&c.marks[slot], &o, mask)
		}
	}
}

// State rebuilds the snapshot of the cursor's moment. latest is the newest
// snapshot: its actions, recent flushes and retries and event log are
// kept with their times, so those up to the moment are shown; delivered
// rows up to the moment are the ones of latest's recent rows committed by
// then. What waits in the retry heap and the reload aggregator is rebuilt
// from the regions' states (without due times, which are not kept).
func (c *Cursor) State(latest *State) *State {
	r := c.r
	f := c.Frame()
	at := f.At.UnixMilli()
	s := &State{
		Version: Version, TakenAt: f.At, Seq: f.Seq, Source: f.Source, Totals: f.Totals, Progress: f.Progress,
		Subscriptions: f.Subscriptions, Stores: f.Stores, Causes: f.Causes, EngineError: f.EngineError, Sim: f.Sim,
	}
	n := 0
	for i := range c.marks {
		if c.marks[i].state != 0 {
			n++
		}
	}
	s.Regions = make([]Region, 0, n)
	for slot := range c.marks {
		m := &c.marks[slot]
		if m.state == 0 {
			continue
		}
		reg := r.region(int32(slot))
		row := Region{
			ID: reg.ID, Subscription: reg.Subscription, Start: reg.Start, End: reg.End, StoreID: r.stores[m.store],
			State: r.states[m.state], Initialized: m.flags&flagInitialized != 0, Cause: r.causes[m.cause],
			Since: timeMs(r.epoch.abs(m.since)), Diagnosis: r.strings[m.diag], LastError: r.strings[m.err],
			LastErrorAt: timeMs(r.epoch.abs(m.errAt)), RetryAttempts: int(m.attempts),
		}
		switch m.lag {
		case lagTracking:
			row.ResolvedLagMs = int64(m.lagRef)
			row.ResolvedTs = physicalTs(at - int64(m.lagRef))
		case lagFrozen:
			stopped := r.epoch.abs(m.lagRef)
			row.ResolvedLagMs = max(at-stopped, 0)
			row.ResolvedTs = physicalTs(stopped)
			row.LastAdvanceAt = timeMs(stopped)
		}
		s.Regions = append(s.Regions, row)
	}
	for i := range s.Regions {
		row := &s.Regions[i]
		switch row.State {
		case StateRetryWait:
			reason, _, _ := strings.Cut(row.LastError, ":")
			s.Retries = append(s.Retries, Retry{Subscription: row.Subscription, RegionID: row.ID, Start: row.Start, End: row.End,
				Reason: reason, Attempt: row.RetryAttempts, StoreID: row.StoreID})
		case StateReloadWait:
			reason, _, _ := strings.Cut(row.LastError, ":")
			s.Reloads = append(s.Reloads, Reload{Subscription: row.Subscription, Start: row.Start, End: row.End,
				Reason: reason, MergedFrom: 1})
		}
	}
	if latest != nil {
		s.Actions = upTo(latest.Actions, f.At, func(a *Action) time.Time { return a.At })
		s.RecentReloads = upTo(latest.RecentReloads, f.At, func(x *RecentReload) time.Time { return x.At })
		s.RecentRetries = upTo(latest.RecentRetries, f.At, func(x *RecentRetry) time.Time { return x.At })
		s.Log = upTo(latest.Log, f.At, func(x *LogEntry) time.Time { return x.At })
		for _, e := range latest.Events {
			if int64(e.CommitTs>>18) <= at {
				s.Events = append(s.Events, e)
			}
		}
	}
	return s
}

// upTo is the entries of xs (oldest first) at or before t.
func upTo[T any](xs []T, t time.Time, at func(*T) time.Time) []T {
	n := len(xs)
	for n > 0 && at(&xs[n-1]).After(t) {
		n--
	}
	return xs[:n:n]
}

func timeMs(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// physicalTs is a TSO with physical time ms (TiDB's TSO: ms << 18).
func physicalTs(ms int64) uint64 {
	if ms <= 0 {
		return 0
	}
	return uint64(ms) << 18
}

// RegionPoint is one change in a region's timeline.
type RegionPoint struct {
	At      time.Time
	Present bool
	State   string
	Cause   string
}

// RegionTimeline is a region's states and causes over the timeline, oldest
// first: where it was at the oldest moment kept, then every change. nil if
// the timeline never saw the region.
func (r *Recorder) RegionTimeline(sub, id uint64) []RegionPoint {
	slot, ok := r.slots.Get((*slotKeys)(r), historyKey(sub, id))
	if !ok || len(r.frames) == 0 {
		return nil
	}
	point := func(at time.Time, m *mark) RegionPoint {
		return RegionPoint{At: at, Present: m.state != 0, State: r.states[m.state], Cause: r.causes[m.cause]}
	}
	// Walk back from the newest mark, collecting the changes of the slot.
	cur := r.base[slot]
	var rev []RegionPoint
	for i := len(r.frames) - 1; i >= 1; i-- {
		d := r.reader(r.frames[i].Deltas, i)
		var o, n mark
		for {
			s, mask, ok := d.next(&o, &n)
			if !ok {
				break
			}
			if s != int(slot) || mask&fState == 0 {
				continue
			}
			rev = append(rev, point(r.frames[i].At, &cur))
			setFields(&cur, &o, mask)
		}
	}
	out := make([]RegionPoint, 0, len(rev)+1)
	out = append(out, point(r.frames[0].At, &cur))
	for i := len(rev) - 1; i >= 0; i-- {
		out = append(out, rev[i])
	}
	return out
}

// RegionTrack follows one region's timeline as the recorder goes on: the
// first Points walks every frame kept (at 100k regions and 15 minutes of
// incidents, tens of milliseconds), later ones only the frames recorded
// since. For a view that shows a region's timeline on every refresh.
type RegionTrack struct {
	r       *Recorder
	sub, id uint64
	points  []RegionPoint
	upTo    uint64 // the newest frame number points include
	valid   bool
}

// Track starts following a region's timeline.
func (r *Recorder) Track(sub, id uint64) *RegionTrack { return &RegionTrack{r: r, sub: sub, id: id} }

// Points is the region's timeline as RegionTimeline gives it, kept up to
// date with what was recorded since the last call.
func (t *RegionTrack) Points() []RegionPoint {
	r := t.r
	if len(r.frames) == 0 {
		return nil
	}
	newest := r.newest()
	slot, known := r.slots.Get((*slotKeys)(r), historyKey(t.sub, t.id))
	switch {
	case !known:
		t.points, t.valid = nil, false
		return nil
	case !t.valid || t.upTo < r.first:
		t.points, t.upTo, t.valid = r.RegionTimeline(t.sub, t.id), newest, true
		return t.points
	}
	// Frames recorded since: their changes of the slot, new values.
	cur := mark{}
	if n := len(t.points); n > 0 {
		p := t.points[n-1]
		cur.state, cur.cause = r.stateIndex(p.State), r.causeIndex(p.Cause)
		if !p.Present {
			cur.state = 0
		}
	}
	for pos := t.upTo + 1; pos <= newest; pos++ {
		i := int(pos - r.first)
		d := r.reader(r.frames[i].Deltas, i)
		var o, n mark
		for {
			s, mask, ok := d.next(&o, &n)
			if !ok {
				break
			}
			if s == int(slot) && mask&fState != 0 {
				setFields(&cur, &n, mask)
				t.points = append(t.points, RegionPoint{At: r.frames[i].At, Present: cur.state != 0,
					State: r.states[cur.state], Cause: r.causes[cur.cause]})
			}
		}
	}
	t.upTo = newest
	// Points before the oldest moment kept: the last of them is where the
	// region was at the oldest moment.
	oldest := r.frames[0].At
	k := 0
	for k+1 < len(t.points) && !t.points[k+1].At.After(oldest) {
		k++
	}
	if k > 0 || (len(t.points) > 0 && t.points[0].At.Before(oldest)) {
		t.points = append(t.points[:0:0], t.points[k:]...)
		t.points[0].At = oldest
	}
	return t.points
}

// Times are the moments kept, oldest first.
func (r *Recorder) Times() []time.Time {
	out := make([]time.Time, len(r.frames))
	for i := range r.frames {
		out[i] = r.frames[i].At
	}
	return out
}
