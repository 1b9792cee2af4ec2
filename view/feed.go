package view

import "github.com/pulltop/pulltop/snapshots"

// Feed walks, for a consumer that keeps something per region (the UI's
// region history, the timeline recorder), the rows that changed between
// the tables it is given: all of them the first time, or when the change
// log no longer reaches back to the last one (or the table keeps none: a
// loaded file). Owned by the consumer's goroutine.
type Feed struct {
	seq  uint64   // the version last walked; 0: none
	seen []uint64 // a bit by row: visited in this walk (a row changed twice is visited once); all clear between walks
	row  snapshots.Region
}

// Walk is one table's worth of changes: Partial tells whether only the
// changed rows will be visited (the others are as they were).
type Walk struct {
	f       *Feed
	t       snapshots.RegionTable
	changes []Change
	Partial bool
}

// Begin starts the walk of t.
func (f *Feed) Begin(t snapshots.RegionTable) Walk {
	w := Walk{f: f, t: t}
	v, ok := t.(*Version)
	if !ok {
		f.seq = 0
		return w
	}
	if f.seq != 0 {
		w.changes, w.Partial = v.ChangesSince(f.seq)
	}
	f.seq = v.Seq()
	return w
}

// Each calls row for every row to visit (i, the row whole: only during
// the call) and gone for every region that left, in the order they
// happened.
func (w Walk) Each(row func(i int, r *snapshots.Region), gone func(Key)) {
	f, t, n := w.f, w.t, w.t.Len()
	if !w.Partial {
		for i := range n {
			t.Row(i, &f.row)
			row(i, &f.row)
		}
		return
	}
	// A bit a row, not a word: the feed lives as long as the timeline, at
	// a million regions.
	if words := (n + 63) / 64; len(f.seen) < words {
		f.seen = append(f.seen, make([]uint64, words-len(f.seen))...)
	}
	for _, c := range w.changes {
		switch {
		case c.Gone:
			gone(c.Key)
		case int(c.Slot) < n && f.seen[c.Slot>>6]&(1<<(c.Slot&63)) == 0:
			f.seen[c.Slot>>6] |= 1 << (c.Slot & 63)
			t.Row(int(c.Slot), &f.row)
			row(int(c.Slot), &f.row)
		}
	}
	for _, c := range w.changes { // clear what this walk set: work by changes, not rows
		if !c.Gone && int(c.Slot) < n {
			f.seen[c.Slot>>6] &^= 1 << (c.Slot & 63)
		}
	}
}

// Observe records s (whose regions are a table) in rec as Recorder.Observe
// would, reading only the rows that changed since the last call.
func (f *Feed) Observe(rec *snapshots.Recorder, s *snapshots.State) {
	t := s.RegionTable()
	last := f.seq
	w := f.Begin(t)
	if !rec.BeginObserveN(s, t.Len(), w.Partial) {
		f.seq = last // not recorded: the next walk starts from the version last recorded
		return
	}
	w.Each(rec.ObserveRegion, func(k Key) { rec.ObserveGone(k.Subscription, k.ID) })
	rec.EndObserve(s)
}
