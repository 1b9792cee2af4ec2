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
// Schedule only appends to an inbox (guarded by inboxMu), so callers on the
// engine's hot paths never wait for heap work. The pending set — a heap
// indexed by Key — is guarded by mu; it is changed by the scheduler goroutine,
// which alone owns the timer and decides what is due, and by the narrow
// synchronous methods (Cancel, Pending, Len, Stats), which first apply the
// inbox so they see every Schedule that returned before them.
//
// Due actions are not run on the scheduler goroutine: it hands them in batches
// to a FIFO drained by a small worker pool, so an action that blocks (say, on
// a full region-task queue) cannot stall other retries — the inline-run flaw
// of TiCDC PR #4700. Once handed off, an entry is no longer pending: Cancel
// cannot stop it and a new Schedule for its key creates a new entry.
//
// Actions must not call Stop.
type Scheduler struct {
	clock Clock
	epoch time.Time // due times are stored as nanoseconds since epoch

	inboxMu sync.Mutex
	inbox   []scheduleOp // Schedule calls not yet applied to queue, in call order
	stopped bool         // guarded by inboxMu

	mu    sync.Mutex // lock order: mu before inboxMu
	queue retryQueue
	spare []scheduleOp // the other inbox buffer, swapped in by applyInboxLocked
	stats SchedulerStats

	wake    chan struct{} // capacity 1: "the inbox or the earliest due time changed"
	done    chan struct{}
	actions *actionQueue

	stopOnce sync.Once
	wg       sync.WaitGroup
}

type scheduleOp struct {
	retry  Retry
	due    int64
	action func()
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
// never waits for the scheduler goroutine and is a no-op after Stop.
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
	s.inboxMu.Lock()
	if s.stopped {
		s.inboxMu.Unlock()
		return
	}
	s.inbox = append(s.inbox, scheduleOp{retry: r, due: due, action: action})
	first := len(s.inbox) == 1
	s.inboxMu.Unlock()
	// Only the first op of a batch wakes the scheduler goroutine: until it
	// has taken the inbox, that wake-up covers every later op too.
	if first {
		s.poke()
	}
}

// maxSpareInbox bounds the inbox buffer kept for reuse, so one burst of
// retries does not pin its peak memory for good.
const maxSpareInbox = 1 << 16

// takeInbox swaps out the Schedule calls made so far, in call order. The
// caller holds mu and must pass the ops to applyLocked.
func (s *Scheduler) takeInbox() []scheduleOp {
	s.inboxMu.Lock()
	ops := s.inbox
	s.inbox = s.spare[:0]
	s.inboxMu.Unlock()
	s.spare = nil
	return ops
}

// applyInboxLocked moves the inbox into the pending set and reports whether
// the earliest due time changed. The caller holds mu.
func (s *Scheduler) applyInboxLocked() (headChanged bool) {
	return s.applyLocked(s.takeInbox(), 0, nil)
}

// applyLocked adds ops to the pending set, in call order, and reports
// whether the earliest due time changed. The caller holds mu.
//
// Only the scheduler goroutine passes fire: an op already due at now skips
// the heap (replacing a pending entry for its key) and is appended to *fire,
// which keeps the heap and its index small when retries are due at once.
// Everyone else passes nil, so due-ness is decided on the scheduler goroutine
// alone.
func (s *Scheduler) applyLocked(ops []scheduleOp, now int64, fire *[]dueAction) (headChanged bool) {
	s.stats.Scheduled += uint64(len(ops))
	for i := range ops {
		op := &ops[i]
		var changed, replaced bool
		if fire != nil && op.due <= now {
			changed, replaced = s.queue.cancel(op.retry.Key)
			*fire = append(*fire, dueAction{due: op.due, action: op.action})
		} else {
			changed, replaced = s.queue.schedule(op.retry, op.due, op.action)
		}
		headChanged = headChanged || changed
		if replaced {
			s.stats.Replaced++
		}
	}
	clear(ops) // drop the closures and keys
	if cap(ops) <= maxSpareInbox {
		s.spare = ops[:0]
	}
	return headChanged
}

// Cancel drops the pending retry for key and reports whether there was one.
// An action already handed off to the workers still runs.
func (s *Scheduler) Cancel(key Key) bool {
	s.mu.Lock()
	headChanged := s.applyInboxLocked()
	changed, found := s.queue.cancel(key)
	if found {
		s.stats.Canceled++
	}
	s.mu.Unlock()
	if headChanged || changed {
		s.poke()
	}
	return found
}

// Len returns how many retries are pending.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	headChanged := s.applyInboxLocked()
	n := s.queue.len()
	s.mu.Unlock()
	if headChanged {
		s.poke()
	}
	return n
}

// Stats returns the lifetime counters and the hand-off backlog.
func (s *Scheduler) Stats() SchedulerStats {
	s.mu.Lock()
	headChanged := s.applyInboxLocked()
	stats := s.stats
	s.mu.Unlock()
	if headChanged {
		s.poke()
	}
	stats.Queued, stats.Running = s.actions.backlog()
	return stats
}

// Pending lists the pending retries, earliest first (ties in scheduling
// order). The pending set is locked only while it is copied; sorting happens
// after, so the UI's once-a-second call holds up the scheduler goroutine as
// little as possible (and Schedule not at all).
func (s *Scheduler) Pending() []PendingRetry {
	type order struct {
		due int64
		seq uint64
		at  int
	}
	s.mu.Lock()
	headChanged := s.applyInboxLocked()
	rows := make([]PendingRetry, len(s.queue.heap))
	orders := make([]order, len(s.queue.heap))
	for i, e := range s.queue.heap {
		rows[i].Retry = e.retry
		orders[i] = order{due: e.due, seq: e.seq, at: i}
	}
	s.mu.Unlock()
	if headChanged {
		s.poke()
	}

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
		s.inboxMu.Lock()
		s.stopped = true
		clear(s.inbox)
		s.inbox = nil
		s.inboxMu.Unlock()
		s.queue.clear()
		s.mu.Unlock()
		close(s.done)
		s.actions.close()
	})
	s.wg.Wait()
}

// poke tells the scheduler goroutine to look at the inbox and the earliest
// due time again. A wake-up already pending covers this one, so it never
// blocks.
func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Scheduler) sinceEpoch(t time.Time) int64 {
	return int64(t.Sub(s.epoch))
}

// run is the scheduler goroutine: apply the inbox, hand off everything due,
// re-arm the one timer if the earliest due time changed, and sleep until the
// timer fires or a poke arrives.
func (s *Scheduler) run() {
	timer := s.clock.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	armed := false
	var armedDue int64
	var batch []dueAction
	for {
		s.mu.Lock()
		ops := s.takeInbox()
		// Read the clock after taking the inbox, so every op in it that
		// was due when it was scheduled is due now; and pop the heap before
		// applying the ops, so retries that were already waiting are handed
		// off ahead of newcomers.
		now := s.sinceEpoch(s.clock.Now())
		batch = s.queue.popDue(now, batch[:0])
		s.applyLocked(ops, now, &batch)
		// Newcomers that were already due were appended after the heap's:
		// hand the batch off oldest-due first, as the heap would have.
		sortByDue(batch)
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

// sortByDue orders a batch of due actions by due time, keeping ties in
// scheduling order (heap entries come first and are older than the inbox's,
// and both parts are in scheduling order); it costs one pass when the batch
// is already in order.
func sortByDue(batch []dueAction) {
	if slices.IsSortedFunc(batch, compareDue) {
		return
	}
	slices.SortStableFunc(batch, compareDue)
}

func compareDue(a, b dueAction) int { return cmp.Compare(a.due, b.due) }
