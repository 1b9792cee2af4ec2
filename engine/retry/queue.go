package retry

// retryQueue is the scheduler's set of pending retries: a min-heap ordered by
// (due, seq) plus an index by Key, so re-scheduling a key moves its one entry
// instead of adding a second. Equal due times fire in scheduling order (seq).
//
// It is a plain data structure with no clock and no goroutines; Scheduler
// guards it with Scheduler.mu. Entries are recycled through a free list so the
// steady state allocates nothing per retry.
type retryQueue struct {
	heap  []heapSlot
	byKey map[Key]*pendingEntry
	free  []*pendingEntry
	seq   uint64
	peak  int // most entries since byKey was made; Go maps never shrink
}

// heapSlot keeps the ordering fields in the heap array itself, so sifting
// compares without chasing entry pointers.
type heapSlot struct {
	due   int64 // nanoseconds since the scheduler's epoch
	seq   uint64
	entry *pendingEntry
}

type pendingEntry struct {
	retry  Retry
	index  int // position in heap
	action func()
}

func newRetryQueue() retryQueue {
	return retryQueue{byKey: make(map[Key]*pendingEntry)}
}

func (q *retryQueue) len() int { return len(q.heap) }

// headDue returns the due time of the earliest entry.
func (q *retryQueue) headDue() (int64, bool) {
	if len(q.heap) == 0 {
		return 0, false
	}
	return q.heap[0].due, true
}

// schedule adds r, or replaces the pending entry for r.Key (latest wins). It
// reports whether the earliest entry changed, i.e. whether the timer must be
// re-armed, and whether an entry was replaced.
func (q *retryQueue) schedule(r Retry, due int64, action func()) (headChanged, replaced bool) {
	oldHead, oldDue := q.head()
	q.seq++
	if e, ok := q.byKey[r.Key]; ok {
		e.retry, e.action = r, action
		q.heap[e.index].due, q.heap[e.index].seq = due, q.seq
		q.fix(e.index)
		replaced = true
	} else {
		e := q.alloc()
		e.retry, e.action = r, action
		e.index = len(q.heap)
		q.heap = append(q.heap, heapSlot{due: due, seq: q.seq, entry: e})
		q.peak = max(q.peak, len(q.heap))
		q.byKey[r.Key] = e
		q.up(e.index)
	}
	newHead, newDue := q.head()
	return newHead != oldHead || newDue != oldDue, replaced
}

// cancel removes the pending entry for key, if any.
func (q *retryQueue) cancel(key Key) (headChanged, found bool) {
	e, ok := q.byKey[key]
	if !ok {
		return false, false
	}
	headChanged = e.index == 0
	q.removeAt(e.index)
	delete(q.byKey, key)
	q.release(e)
	q.shrinkIfEmpty()
	return headChanged, true
}

// dueAction is a retry the scheduler found due, on its way to the workers.
type dueAction struct {
	due    int64
	seq    uint64
	action func()
}

// popDue removes every entry due at or before now, in (due, seq) order, and
// appends it to fired.
func (q *retryQueue) popDue(now int64, fired []dueAction) []dueAction {
	for len(q.heap) > 0 && q.heap[0].due <= now {
		head := q.heap[0]
		e := head.entry
		q.removeAt(0)
		delete(q.byKey, e.retry.Key)
		fired = append(fired, dueAction{due: head.due, seq: head.seq, action: e.action})
		q.release(e)
	}
	q.shrinkIfEmpty()
	return fired
}

// shrinkIfEmpty drops the index after a burst has drained: a map that once
// held every region of a failed store keeps its size, and its lookups stay
// slow, until it is replaced.
func (q *retryQueue) shrinkIfEmpty() {
	if len(q.heap) == 0 && q.peak > maxFreeEntries {
		q.byKey = make(map[Key]*pendingEntry)
		q.heap = nil
		q.peak = 0
	}
}

// clear drops every entry.
func (q *retryQueue) clear() {
	for _, slot := range q.heap {
		q.release(slot.entry)
	}
	q.heap = nil
	q.byKey = make(map[Key]*pendingEntry)
	q.peak = 0
}

func (q *retryQueue) head() (*pendingEntry, int64) {
	if len(q.heap) == 0 {
		return nil, 0
	}
	return q.heap[0].entry, q.heap[0].due
}

func (q *retryQueue) alloc() *pendingEntry {
	if n := len(q.free); n > 0 {
		e := q.free[n-1]
		q.free[n-1] = nil
		q.free = q.free[:n-1]
		return e
	}
	return new(pendingEntry)
}

// maxFreeEntries bounds the free list, so a burst of retries (every region
// of a failed store at once) does not pin its peak memory for good.
const maxFreeEntries = 4096

// release returns e to the free list, dropping its references so a recycled
// entry does not keep a closure or key alive.
func (q *retryQueue) release(e *pendingEntry) {
	*e = pendingEntry{}
	if len(q.free) < maxFreeEntries {
		q.free = append(q.free, e)
	}
}

func (q *retryQueue) less(i, j int) bool {
	a, b := &q.heap[i], &q.heap[j]
	return a.due < b.due || (a.due == b.due && a.seq < b.seq)
}

func (q *retryQueue) swap(i, j int) {
	q.heap[i], q.heap[j] = q.heap[j], q.heap[i]
	q.heap[i].entry.index = i
	q.heap[j].entry.index = j
}

func (q *retryQueue) removeAt(i int) {
	last := len(q.heap) - 1
	if i != last {
		q.swap(i, last)
	}
	q.heap[last] = heapSlot{}
	q.heap = q.heap[:last]
	if i != last {
		q.fix(i)
	}
}

func (q *retryQueue) fix(i int) {
	if !q.down(i) {
		q.up(i)
	}
}

func (q *retryQueue) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !q.less(i, parent) {
			return
		}
		q.swap(i, parent)
		i = parent
	}
}

// down sifts i towards the leaves and reports whether it moved.
func (q *retryQueue) down(i int) bool {
	start, n := i, len(q.heap)
	for {
		child := 2*i + 1
		if child >= n {
			break
		}
		if right := child + 1; right < n && q.less(right, child) {
			child = right
		}
		if !q.less(child, i) {
			break
		}
		q.swap(i, child)
		i = child
	}
	return i > start
}
