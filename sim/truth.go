package sim

// truthLog is the sim's ground truth: every committed row, in commit order,
// addressed by a running index, for one consumer (the embedded engine's
// lost-row check) that reads it forward with CommittedFrom.
//
// Its memory is bounded three ways (issue 15: it used to keep ~430 B per
// row forever):
//   - a sim nobody reads (`pulltop sim`) keeps no rows at all, only the count;
//   - rows are kept compactly (a key's linear position and the commit ts,
//     16 B), not as the committed row;
//   - rows the consumer has read are dropped, and when the consumer lags by
//     more than maxRows (its resolved ts stuck for a long time) the oldest
//     rows are dropped too; the consumer learns how far they reached, so it
//     can stop waiting for them.
//
// Guarded by Cluster.mu; CommittedFrom reads rows without it (they are never
// modified once appended, only resliced or copied away).
type truthLog struct {
	keep    bool
	maxRows int

	base      int // index of rows[0]
	rows      []truthRow
	odd       map[int][]byte // raw keys that are not workload row keys, by index
	dropped   uint64         // highest commit ts dropped unread
	committed int            // rows ever appended
}

type truthRow struct {
	pos      int64 // linear key position (keys.go), or -1: the key is in odd
	commitTs uint64
}

// defaultTruthRows bounds the rows kept for a consumer whose resolved ts is
// stuck: 1M rows is 16 MiB here (and about 33 minutes at the default 500
// rows/s before anything is dropped).
const defaultTruthRows = 1 << 20

func (t *truthLog) add(raw []byte, commitTs uint64) {
	t.committed++
	if !t.keep {
		return
	}
	pos, ok := rawKeyPos(raw)
	if !ok {
		pos = -1
		if t.odd == nil {
			t.odd = map[int][]byte{}
		}
		t.odd[t.base+len(t.rows)] = raw
	}
	t.rows = append(t.rows, truthRow{pos: pos, commitTs: commitTs})
	if len(t.rows) > t.maxRows {
		n := len(t.rows) / 4 // drop in chunks, not row by row
		for _, r := range t.rows[:n] {
			t.dropped = max(t.dropped, r.commitTs)
		}
		t.trimTo(t.base + n)
	}
}

// trimTo forgets rows below index i.
func (t *truthLog) trimTo(i int) {
	n := min(i-t.base, len(t.rows))
	if n <= 0 {
		return
	}
	for j := t.base; j < t.base+n && len(t.odd) > 0; j++ {
		delete(t.odd, j)
	}
	t.rows = t.rows[n:]
	t.base += n
	if cap(t.rows) > 1024 && len(t.rows) < cap(t.rows)/4 {
		// Reslicing keeps the old array alive: copy what is left.
		t.rows = append(make([]truthRow, 0, 2*len(t.rows)+64), t.rows...)
	}
}

// CommittedFrom calls fn for committed rows from index from on, in commit
// order, until fn returns false, and returns the index of the first row not
// consumed. It is the engine's ground-truth feed (engine.GroundTruth): its
// single consumer's from says it is done with every row before it, so those
// are dropped. droppedTs is the highest commit ts of rows dropped before the
// consumer read them (0 if none): the consumer cannot check rows at or below
// it any more.
func (c *Cluster) CommittedFrom(from int, fn func(rawKey []byte, commitTs uint64) bool) (next int, droppedTs uint64) {
	c.mu.Lock()
	t := &c.truth
	t.trimTo(from)
	i := max(from, t.base)
	rows := t.rows[i-t.base:]
	droppedTs = t.dropped
	var odd map[int][]byte
	if len(t.odd) > 0 {
		odd = make(map[int][]byte, len(t.odd))
		for k, v := range t.odd {
			odd[k] = v
		}
	}
	c.mu.Unlock()
	for _, r := range rows {
		key := posKeyOr(r, odd[i])
		if !fn(key, r.commitTs) {
			break
		}
		i++
	}
	return i, droppedTs
}

func posKeyOr(r truthRow, odd []byte) []byte {
	if r.pos >= 0 {
		return posKey(r.pos)
	}
	return odd
}

// CommittedCount is the number of rows committed so far.
func (c *Cluster) CommittedCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.truth.committed
}

// truthKept is how many rows the ground truth holds now (tests).
func (c *Cluster) truthKept() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.truth.rows)
}
