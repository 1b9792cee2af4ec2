package retry

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"time"
)

// Retry describes one scheduled retry. Key is its identity; the other fields
// are what the operator sees in the retry view.
type Retry struct {
	Key      Key
	RegionID uint64 // display only: the region that failed, 0 for a range retry
	Reason   Reason
	Attempt  int
}

// PendingRetry is a retry waiting in the scheduler, as shown to the operator.
type PendingRetry struct {
	Retry
	Due time.Time
}

// SchedulerStats are the scheduler's lifetime counters.
type SchedulerStats struct {
	Scheduled uint64 // Schedule/ScheduleAt calls accepted
	Replaced  uint64 // of those, how many replaced a pending entry for the same key
	Canceled  uint64 // pending entries removed by Cancel
	Fired     uint64 // actions handed off to the workers
	Queued    int    // handed-off actions waiting for a free worker
	Running   int    // actions running right now
}

// DefaultWorkers is the worker pool size when SchedulerOptions.Workers is 0.
const DefaultWorkers = 4

// SchedulerOptions configures NewScheduler.
type SchedulerOptions struct {
	// Workers is how many goroutines run due actions. Up to Workers-1 actions
	// may block without delaying any other retry.
	Workers int
}

// Scheduler fires retries at their due time with one goroutine and one timer
// for all of them, and lets the UI list what is waiting.
//
// The pending set (a heap indexed by Key) is guarded by mu and touched by
// callers of Schedule/Cancel/Pending and by the scheduler goroutine, which
// alone owns the timer and decides what is due. Due actions are not run on
// that goroutine: it hands them in batches to a FIFO drained by a small worker
// pool, so an action that blocks (say, on a full region-task queue) cannot
// stall other retries (the inline-run flaw of TiCDC PR #4700). Once handed
// off, an entry is no longer pending: Cancel cannot stop it and a new
// Schedule for its key creates a new entry.
//
// Actions must not call Stop.
type Scheduler struct {
	clock Clock
	epoch time.Time // due times are stored as nanoseconds since epoch

	mu      sync.Mutex
	queue   retryQueue
	stopped bool
	stats   SchedulerStats

	wake    chan struct{} // capacity 1: "the earliest due time changed"
	done    chan struct{}
	actions *actionQueue

	stopOnce sync.Once
	wg       sync.WaitGroup
}

// NewScheduler starts a scheduler reading time from clock. Stop ends its
// goroutines.
func NewScheduler(clock Clock, opts SchedulerOptions) *Scheduler {
	workers := opts.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	s := &Scheduler{
		clock:   clock,
		epoch:   clock.Now(),
		queue:   newRetryQueue(),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		actions: newActionQueue(),
	}
	s.wg.Add(1 + workers)
	go func() {
		defer s.wg.Done()
		s.run()
	}()
	for range workers {
		go func() {
			defer s.wg.Done()
			s.actions.work()
		}()
	}
	return s
}

// Schedule arranges for action to run once delay has passed, replacing any
// pending retry for r.Key (latest wins: the replaced action never runs). It
// never blocks on the scheduler goroutine and is a no-op after Stop.
func (s *Scheduler) Schedule(r Retry, delay time.Duration, action func()) {
	due := s.sinceEpoch(s.clock.Now())
	if delay > 0 {
		if due > math.MaxInt64-int64(delay) {
			due = math.MaxInt64
		} else {
			due += int64(delay)
		}
	}
	s.schedule(r, due, action)
}

// ScheduleAt is Schedule with an absolute due time.
func (s *Scheduler) ScheduleAt(r Retry, due time.Time, action func()) {
	s.schedule(r, s.sinceEpoch(due), action)
}

func (s *Scheduler) schedule(r Retry, due int64, action func()) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	headChanged, replaced := s.queue.schedule(r, due, action)
	s.stats.Scheduled++
	if replaced {
		s.stats.Replaced++
	}
	s.mu.Unlock()
	if headChanged {
		s.poke()
	}
}

// Cancel drops the pending retry for key and reports whether there was one.
// An action already handed off to the workers still runs.
func (s *Scheduler) Cancel(key Key) bool {
	s.mu.Lock()
	headChanged, found := s.queue.cancel(key)
	if found {
		s.stats.Canceled++
	}
	s.mu.Unlock()
	if headChanged {
		s.poke()
	}
	return found
}

// Len returns how many retries are pending.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queue.len()
}

// Stats returns the lifetime counters and the hand-off backlog.
func (s *Scheduler) Stats() SchedulerStats {
	s.mu.Lock()
	stats := s.stats
	s.mu.Unlock()
	stats.Queued, stats.Running = s.actions.backlog()
	return stats
}

// Pending lists the pending retries, earliest first (ties in scheduling
// order). The pending set is locked only while it is copied; sorting happens
// after, so the UI's once-a-second call does not hold up Schedule.
func (s *Scheduler) Pending() []PendingRetry {
	type order struct {
		due int64
		seq uint64
		at  int
	}
	s.mu.Lock()
	rows := make([]PendingRetry, len(s.queue.heap))
	orders := make([]order, len(s.queue.heap))
	for i, e := range s.queue.heap {
		rows[i].Retry = e.retry
		orders[i] = order{due: e.due, seq: e.seq, at: i}
	}
	s.mu.Unlock()

	slices.SortFunc(orders, func(a, b order) int {
		if c := cmp.Compare(a.due, b.due); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	sorted := make([]PendingRetry, len(rows))
	for i, o := range orders {
		sorted[i] = rows[o.at]
		sorted[i].Due = s.epoch.Add(time.Duration(o.due))
	}
	return sorted
}

// Stop ends the scheduler goroutine and the workers, dropping pending and
// queued-but-not-started actions. It waits for running actions to return, so
// the engine must unblock them first (cancel their context). Schedule after
// Stop is a no-op.
func (s *Scheduler) Stop() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopped = true
		s.queue.clear()
		s.mu.Unlock()
		close(s.done)
		s.actions.close()
	})
	s.wg.Wait()
}

// poke tells the scheduler goroutine that the earliest due time changed. A
// wake-up already pending covers this one, so it never blocks.
func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Scheduler) sinceEpoch(t time.Time) int64 {
	return int64(t.Sub(s.epoch))
}

// run is the scheduler goroutine: hand off everything due, re-arm the one
// timer to the new earliest due time if that changed, sleep until the timer
// fires or the earliest due time changes.
func (s *Scheduler) run() {
	timer := s.clock.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	armed := false
	var armedDue int64
	var batch []func()
	for {
		s.mu.Lock()
		now := s.sinceEpoch(s.clock.Now())
		batch = s.queue.popDue(now, batch[:0])
		s.stats.Fired += uint64(len(batch))
		nextDue, pending := s.queue.headDue()
		s.mu.Unlock()

		if len(batch) > 0 {
			s.actions.push(batch)
			clear(batch) // don't keep fired closures alive until the next wake-up
		}
		switch {
		case !pending:
			if armed {
				timer.Stop()
				armed = false
			}
		case !armed || nextDue != armedDue:
			// nextDue > now: popDue took everything due at now.
			timer.Reset(time.Duration(nextDue - now))
			armed, armedDue = true, nextDue
		}

		select {
		case <-s.done:
			return
		case <-s.wake:
		case <-timer.C():
			armed = false
		}
	}
}
