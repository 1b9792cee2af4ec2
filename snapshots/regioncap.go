package snapshots

// A region that changes often (a flapping leader, a retry loop) is capped
// in the timeline, not the whole table: each region may record a burst of
// capBurst deltas, then one every capEveryMs. A change past its cap is
// held back (the timeline keeps the region's last recorded mark) and
// recorded, as the region is then, once the region may record again: its
// timeline is coarser, never wrong, and replays exactly as recorded.
// Appearing and leaving are always recorded, and not counted: a million
// regions appear in the first moment.
//
// The state is kept only for the regions that changed lately, so a table
// whose regions are quiet costs nothing here (a map that grew in an
// incident is made again once most of it was forgotten: maps do not
// shrink).
const (
	capBurst   = 16
	capEveryMs = 10_000
)

// regionCap is the per-region rate of the timeline's deltas: a generic
// cell rate algorithm (one theoretical arrival time per region), and the
// marks held back. Owned by its Recorder's goroutine.
type regionCap struct {
	due       map[int32]int64 // slot → theoretical arrival time (ms); absent: a full burst
	held      map[int32]mark  // slot → its mark, not yet recorded
	lastSweep int64
	peak      int // len(due) at most since the map was made
}

// take counts a delta of slot at at (ms) and says whether it is within
// the slot's cap.
func (c *regionCap) take(slot int32, at int64) bool {
	due, ok := c.due[slot]
	if !ok || due < at {
		due = at
	}
	if due-at > (capBurst-1)*capEveryMs {
		return false
	}
	if c.due == nil {
		c.due = map[int32]int64{}
	}
	c.due[slot] = due + capEveryMs
	c.peak = max(c.peak, len(c.due))
	return true
}

// sweep forgets the slots whose burst is full again at at: once a minute
// of recording, a pass over the regions that changed lately.
func (c *regionCap) sweep(at int64) {
	if at-c.lastSweep < 60_000 {
		return
	}
	c.lastSweep = at
	for slot, due := range c.due {
		if due <= at {
			delete(c.due, slot)
		}
	}
	if 4*len(c.due) < c.peak {
		// Copied entry by entry: maps.Clone keeps the old one's size.
		due := make(map[int32]int64, len(c.due))
		for slot, at := range c.due {
			due[slot] = at
		}
		c.due, c.peak = due, len(due)
	}
}
