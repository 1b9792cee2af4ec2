package retry

import (
	"cmp"
	"fmt"
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
	StoreID  uint64 // display only: the store its error came from, 0 for a range retry
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
// The timer is re-armed only when the earliest due time changes. A Schedule
// that makes something due earlier than the timer wakes the scheduler
// goroutine at once; one that only moves the earliest retry later (a
// replacement with a longer delay) does not, and the timer then fires early
// once, finds nothing due and re-arms. Waking is never needed for lateness,
// so a storm of retries costs one wake-up, not one per retry.
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
	inbox   opInbox // Schedule calls not yet applied to queue
	stopped bool
	// lookAt is when the scheduler goroutine will next take the inbox by
	// itself: schedulerAwake while it runs, its timer's due time while it
	// sleeps on the timer, math.MaxInt64 while it sleeps with nothing
	// pending. Schedule wakes it only for a retry due before that, so a
	// storm of retries costs one wake-up, not one per retry. Guarded by
	// inboxMu.
	lookAt int64

	mu    sync.Mutex // lock order: mu before inboxMu
	queue retryQueue
	stats SchedulerStats

	wake    chan struct{} // capacity 1: "look at the inbox and the earliest due time again"
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
// never waits for the scheduler goroutine and is a no-op after Stop. A nil
// action is a bug in the caller and panics here rather than in a worker.
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
	if action == nil {
		panic(fmt.Sprintf("retry: nil action scheduled for %v", r.Key))
	}
	s.inboxMu.Lock()
	if s.stopped {
		s.inboxMu.Unlock()
		return
	}
	s.inbox.add(scheduleOp{retry: r, due: due, action: action})
	wake := due < s.lookAt
	if wake {
		s.lookAt = schedulerAwake
	}
	s.inboxMu.Unlock()
	if wake {
		s.poke()
	}
}

// schedulerAwake is lookAt while the scheduler goroutine runs: it takes the
// inbox again before it sleeps, so nobody needs to wake it.
const schedulerAwake = math.MinInt64

// takeInboxLocked empties the inbox and unlocks inboxMu. The caller holds
// mu and must pass what it took to applyLocked.
func (s *Scheduler) takeInboxLocked() []*opChunk {
	taken := s.inbox.take()
	s.inboxMu.Unlock()
	return taken
}

// applyInboxLocked moves the inbox into the pending set and reports whether
// the earliest due time changed. The caller holds mu.
func (s *Scheduler) applyInboxLocked() (headChanged bool) {
	s.inboxMu.Lock()
	return s.applyLocked(s.takeInboxLocked(), 0, nil)
}

// applyLocked adds taken Schedule calls to the pending set, in call order,
// recycles their chunks, and reports whether the earliest due time changed.
// The caller holds mu.
//
// Only the scheduler goroutine passes fire: an op already due at now skips
// the heap (replacing a pending entry for its key) and is appended to *fire,
// which keeps the heap and its index small when retries are due at once.
// Everyone else passes nil, so due-ness is decided on the scheduler goroutine
// alone.
func (s *Scheduler) applyLocked(taken []*opChunk, now int64, fire *[]dueAction) (headChanged bool) {
	if len(taken) == 0 {
		return false
	}
	for _, chunk := range taken {
		s.stats.Scheduled += uint64(chunk.n)
		for i := range chunk.ops[:chunk.n] {
			op := &chunk.ops[i]
			var changed, replaced bool
			if fire != nil && op.due <= now {
				changed, replaced = s.queue.cancel(op.retry.Key)
				s.queue.seq++
				*fire = append(*fire, dueAction{due: op.due, seq: s.queue.seq, action: op.action})
			} else {
				changed, replaced = s.queue.schedule(op.retry, op.due, op.action)
			}
			headChanged = headChanged || changed
			if replaced {
				s.stats.Replaced++
			}
		}
	}
	s.inboxMu.Lock()
	s.inbox.recycle(taken)
	s.inboxMu.Unlock()
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
	for i, slot := range s.queue.heap {
		rows[i].Retry = slot.entry.retry
		orders[i] = order{due: slot.due, seq: slot.seq, at: i}
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
		s.inbox.drop()
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
	timer := s.clock.NewTimer()
	defer timer.Stop()
	armed := false
	var armedDue int64
	var batch []dueAction
	for {
		batch = batch[:0]
		s.mu.Lock()
		s.inboxMu.Lock()
		s.lookAt = schedulerAwake
		ops := s.takeInboxLocked()
		// Read the clock after taking the inbox, so every op in it that
		// was due when it was scheduled is due now. Apply the ops before
		// popping the heap: a newer Schedule for a key replaces the pending
		// entry even if that entry became due meanwhile.
		now := s.sinceEpoch(s.clock.Now())
		s.applyLocked(ops, now, &batch)
		batch = s.queue.popDue(now, batch)
		// Newcomers that were already due come first in the batch: hand
		// it off oldest-due first, as if every retry had gone through the
		// heap.
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
			timer.ResetAt(s.epoch.Add(time.Duration(nextDue)))
			armed, armedDue = true, nextDue
		}

		s.inboxMu.Lock()
		if !s.inbox.empty() {
			// More retries arrived while this round ran; their
			// Schedule calls saw the goroutine awake and did not poke.
			s.inboxMu.Unlock()
			continue
		}
		s.lookAt = math.MaxInt64
		if armed {
			s.lookAt = armedDue
		}
		s.inboxMu.Unlock()

		select {
		case <-s.done:
			return
		case <-s.wake:
		case <-timer.C():
			armed = false
		}
	}
}

// sortByDue orders a batch of due actions by (due, seq), i.e. by due time
// with ties in scheduling order; it costs one pass when the batch is already
// in order.
func sortByDue(batch []dueAction) {
	if slices.IsSortedFunc(batch, compareDue) {
		return
	}
	slices.SortFunc(batch, compareDue)
}

func compareDue(a, b dueAction) int {
	if c := cmp.Compare(a.due, b.due); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}
