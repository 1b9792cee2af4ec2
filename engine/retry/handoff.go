package retry

import "sync"

// actionQueue is the unbounded FIFO between the scheduler goroutine, which
// pushes due actions in batches, and the worker goroutines, which take them
// one at a time. Unbounded so that pushing never blocks the scheduler; one at
// a time so that an action that blocks holds up only its own worker, never
// the actions queued behind it. Guarded by mu.
type actionQueue struct {
	mu      sync.Mutex
	ready   sync.Cond // signalled when actions arrive or the queue closes
	ring    []func()  // len is a power of two
	head    int
	n       int
	idle    int // workers waiting on ready
	running int // workers inside an action
	closed  bool
}

func newActionQueue() *actionQueue {
	q := &actionQueue{ring: make([]func(), 1024)}
	q.ready.L = &q.mu
	return q
}

// push appends a batch and wakes as many idle workers as it can keep busy.
func (q *actionQueue) push(batch []dueAction) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	for q.n+len(batch) > len(q.ring) {
		q.grow()
	}
	mask := len(q.ring) - 1
	for i := range batch {
		q.ring[(q.head+q.n+i)&mask] = batch[i].action
	}
	q.n += len(batch)
	for wake := min(q.idle, len(batch)); wake > 0; wake-- {
		q.ready.Signal()
	}
	q.mu.Unlock()
}

func (q *actionQueue) grow() {
	bigger := make([]func(), 2*len(q.ring))
	mask := len(q.ring) - 1
	for i := 0; i < q.n; i++ {
		bigger[i] = q.ring[(q.head+i)&mask]
	}
	q.ring, q.head = bigger, 0
}

// work is a worker goroutine's loop: take the oldest action, run it, repeat
// until the queue is closed. Actions still queued at close are dropped.
func (q *actionQueue) work() {
	q.mu.Lock()
	for {
		for q.n == 0 && !q.closed {
			q.idle++
			q.ready.Wait()
			q.idle--
		}
		if q.closed {
			q.mu.Unlock()
			return
		}
		action := q.ring[q.head]
		q.ring[q.head] = nil
		q.head = (q.head + 1) & (len(q.ring) - 1)
		q.n--
		q.running++
		q.mu.Unlock()

		action()

		q.mu.Lock()
		q.running--
	}
}

// backlog returns how many handed-off actions wait for a worker and how many
// are running.
func (q *actionQueue) backlog() (queued, running int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n, q.running
}

func (q *actionQueue) close() {
	q.mu.Lock()
	q.closed = true
	clear(q.ring)
	q.n = 0
	q.ready.Broadcast()
	q.mu.Unlock()
}
