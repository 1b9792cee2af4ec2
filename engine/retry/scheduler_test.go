package retry

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// waitLimit bounds how long a test waits for something that should happen
// promptly; it is a failure deadline, never a sleep.
const waitLimit = 5 * time.Second

func newTestScheduler(t *testing.T, workers int) (*Scheduler, *FakeClock) {
	t.Helper()
	clock := NewFakeClock(t0)
	s := NewScheduler(clock, SchedulerOptions{Workers: workers})
	t.Cleanup(s.Stop)
	return s, clock
}

// signal returns an action that closes a channel when it runs, and the channel.
func signal() (func(), chan struct{}) {
	ch := make(chan struct{})
	return func() { close(ch) }, ch
}

func requireClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitLimit):
		t.Fatalf("%s: not fired within %v", what, waitLimit)
	}
}

func requireOpen(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("%s: fired, want still pending", what)
	default:
	}
}

func TestSchedulerFiresInDueOrder(t *testing.T) {
	// One worker runs the hand-off FIFO in order, so the order actions run
	// in is the order the scheduler found them due.
	s, clock := newTestScheduler(t, 1)
	var mu sync.Mutex
	var fired []string
	all := make(chan struct{})
	delays := []time.Duration{5, 1, 4, 2, 3, 2} // seconds; the two 2s fire in scheduling order
	for i, d := range delays {
		name := fmt.Sprintf("%ds#%d", d, i)
		s.Schedule(Retry{Key: rangeKey(1, name, name+"~")}, d*time.Second, func() {
			mu.Lock()
			defer mu.Unlock()
			fired = append(fired, name)
			if len(fired) == len(delays) {
				close(all)
			}
		})
	}
	// Len applies every Schedule that returned, so all six are in the heap
	// before the clock moves; otherwise the scheduler may first see some of
	// them after they are already due and hand those off in a batch of
	// their own.
	require.Equal(t, len(delays), s.Len())
	clock.Advance(10 * time.Second)
	requireClosed(t, all, "all retries")
	require.Equal(t, []string{"1s#1", "2s#3", "2s#5", "3s#4", "4s#2", "5s#0"}, fired)
}

// Retries the scheduler first sees when they are already overdue skip the
// heap, yet are still handed off in due order together with the heap's.
func TestSchedulerHandsOffOverdueRetriesInDueOrder(t *testing.T) {
	s, clock := newTestScheduler(t, 1)
	var mu sync.Mutex
	var fired []string
	all := make(chan struct{})
	schedule := func(name string, d time.Duration) {
		s.Schedule(Retry{Key: rangeKey(1, name, name+"~")}, d, func() {
			mu.Lock()
			defer mu.Unlock()
			fired = append(fired, name)
			if len(fired) == 4 {
				close(all)
			}
		})
	}
	schedule("a1s", time.Second)
	require.True(t, clock.WaitArmed(t0.Add(time.Second), waitLimit))
	// Not earlier than the armed timer, so these wait in the inbox until it
	// fires, and by then all are overdue.
	schedule("x5s", 5*time.Second)
	schedule("y2s", 2*time.Second)
	schedule("z3s", 3*time.Second)
	clock.Advance(10 * time.Second)
	requireClosed(t, all, "all retries")
	require.Equal(t, []string{"a1s", "y2s", "z3s", "x5s"}, fired)
}

func TestSchedulerRearmsTimerForEarlierRetry(t *testing.T) {
	s, clock := newTestScheduler(t, 0)
	late, lateFired := signal()
	early, earlyFired := signal()
	lateKey, earlyKey := rangeKey(1, "a", "m"), rangeKey(1, "m", "z")

	s.Schedule(Retry{Key: lateKey, Reason: ReasonStoreFailure}, 10*time.Second, late)
	s.Schedule(Retry{Key: earlyKey, Reason: ReasonNotLeader}, time.Second, early)
	clock.Advance(time.Second)

	requireClosed(t, earlyFired, "retry due at +1s")
	requireOpen(t, lateFired, "retry due at +10s")
	pending := s.Pending()
	require.Len(t, pending, 1)
	require.Equal(t, lateKey, pending[0].Key)
	require.Equal(t, t0.Add(10*time.Second), pending[0].Due)

	clock.Advance(9 * time.Second)
	requireClosed(t, lateFired, "retry due at +10s")
	require.Zero(t, s.Len())
	require.EqualValues(t, 2, s.Stats().Fired)
}

func TestSchedulerRearmsTimerOnlyWhenEarliestDueChanges(t *testing.T) {
	s, clock := newTestScheduler(t, 0)
	schedule := func(start string, d time.Duration) {
		s.Schedule(Retry{Key: rangeKey(1, start, start+"~")}, d, func() {})
	}

	schedule("a", 5*time.Second)
	require.True(t, clock.WaitArmed(t0.Add(5*time.Second), waitLimit), "timer armed for the first retry")
	resets := clock.Resets()

	// Neither of these is earlier than the head: the timer stays as it is.
	schedule("b", 10*time.Second)
	schedule("c", 7*time.Second)
	// This one wakes the scheduler but fires at once, leaving the head as
	// it was: no re-arm either.
	now, nowFired := signal()
	s.Schedule(Retry{Key: rangeKey(1, "now", "now~")}, 0, now)
	requireClosed(t, nowFired, "zero-delay retry")
	schedule("d", time.Second) // earlier: exactly one re-arm
	require.True(t, clock.WaitArmed(t0.Add(time.Second), waitLimit), "timer re-armed for the earlier retry")
	require.Equal(t, resets+1, clock.Resets(), "timer resets")
	require.Equal(t, 4, s.Len())
}

func TestSchedulerPendingSortsManyRetries(t *testing.T) {
	s, _ := newTestScheduler(t, 0)
	const n = 500
	for i := range n {
		// Scattered due times with ties, so heap order is not sorted order.
		delay := time.Duration(1+(i*7919)%97) * time.Millisecond
		s.Schedule(Retry{Key: rangeKey(1, fmt.Sprint(i), ""), Attempt: i}, delay, func() {})
	}
	pending := s.Pending()
	require.Len(t, pending, n)
	for i := 1; i < n; i++ {
		prev, cur := pending[i-1], pending[i]
		require.False(t, cur.Due.Before(prev.Due), "position %d: %v after %v", i, cur.Due, prev.Due)
		if cur.Due.Equal(prev.Due) {
			// Attempt doubles as the scheduling order here.
			require.Less(t, prev.Attempt, cur.Attempt, "tie at position %d out of scheduling order", i)
		}
	}
}

func TestSchedulerRescheduleReplacesPendingRetry(t *testing.T) {
	s, clock := newTestScheduler(t, 0)
	key := rangeKey(3, "t1_r0", "t1_r9")
	first, firstFired := signal()
	second, secondFired := signal()

	s.Schedule(Retry{Key: key, RegionID: 10, Reason: ReasonNotLeader, Attempt: 1}, 5*time.Second, first)
	s.Schedule(Retry{Key: key, RegionID: 11, Reason: ReasonEpochNotMatch, Attempt: 2}, 3*time.Second, second)

	require.Equal(t, []PendingRetry{{
		Retry: Retry{Key: key, RegionID: 11, Reason: ReasonEpochNotMatch, Attempt: 2},
		Due:   t0.Add(3 * time.Second),
	}}, s.Pending())

	clock.Advance(5 * time.Second)
	requireClosed(t, secondFired, "latest retry")
	require.Zero(t, s.Len())
	stats := s.Stats()
	require.EqualValues(t, 1, stats.Fired, "the replaced retry must not fire")
	require.EqualValues(t, 2, stats.Scheduled)
	require.EqualValues(t, 1, stats.Replaced)
	requireOpen(t, firstFired, "replaced retry")
}

func TestSchedulerRescheduleLaterPostponesRetry(t *testing.T) {
	s, clock := newTestScheduler(t, 0)
	key := rangeKey(1, "a", "b")
	first, firstFired := signal()
	second, secondFired := signal()

	s.Schedule(Retry{Key: key, Attempt: 1}, time.Second, first)
	require.True(t, clock.WaitArmed(t0.Add(time.Second), waitLimit), "timer armed for the first retry")
	// Moving the only retry later need not wake the scheduler: its timer
	// fires at +1s, finds nothing due and re-arms for +5s.
	s.Schedule(Retry{Key: key, Attempt: 2}, 5*time.Second, second)
	clock.Advance(time.Second)
	require.True(t, clock.WaitArmed(t0.Add(5*time.Second), waitLimit), "timer re-armed for the replacement")
	require.Zero(t, s.Stats().Fired)
	require.Equal(t, 1, s.Len())

	clock.Advance(4 * time.Second)
	requireClosed(t, secondFired, "latest retry")
	require.EqualValues(t, 1, s.Stats().Fired)
	requireOpen(t, firstFired, "replaced retry")
}

func TestSchedulerBlockedActionDoesNotDelayOtherRetries(t *testing.T) {
	s, clock := newTestScheduler(t, 2)
	release := make(chan struct{})
	blockedStarted := make(chan struct{})
	defer close(release) // before the Cleanup's Stop, which waits for running actions

	s.Schedule(Retry{Key: rangeKey(1, "a", "b")}, time.Second, func() {
		close(blockedStarted)
		<-release // e.g. a full region-task queue
	})
	next, nextFired := signal()
	s.Schedule(Retry{Key: rangeKey(1, "b", "c")}, time.Second, next) // due in the same wake-up
	clock.Advance(time.Second)
	requireClosed(t, blockedStarted, "blocking retry")
	requireClosed(t, nextFired, "retry due together with the blocked one")

	// And later retries keep firing while it is still blocked.
	later, laterFired := signal()
	s.Schedule(Retry{Key: rangeKey(1, "c", "d")}, time.Second, later)
	clock.Advance(time.Second)
	requireClosed(t, laterFired, "retry due after the blocked one")
	require.EqualValues(t, 3, s.Stats().Fired)
}

func TestSchedulerZeroDelayFiresWithoutAdvancingClock(t *testing.T) {
	s, _ := newTestScheduler(t, 0)
	now, nowFired := signal()
	past, pastFired := signal()
	s.Schedule(Retry{Key: rangeKey(1, "a", "b")}, 0, now)
	s.ScheduleAt(Retry{Key: rangeKey(1, "b", "c")}, t0.Add(-time.Minute), past)
	requireClosed(t, nowFired, "zero delay")
	requireClosed(t, pastFired, "due in the past")
}

func TestSchedulerCancel(t *testing.T) {
	s, clock := newTestScheduler(t, 0)
	canceled, canceledFired := signal()
	kept, keptFired := signal()
	key := rangeKey(1, "a", "b")
	s.Schedule(Retry{Key: key}, time.Second, canceled)
	s.Schedule(Retry{Key: rangeKey(1, "b", "c")}, 2*time.Second, kept)

	require.True(t, s.Cancel(key))
	require.False(t, s.Cancel(key), "second cancel")
	require.False(t, s.Cancel(rangeKey(2, "a", "b")), "same range, other subscription")

	clock.Advance(2 * time.Second)
	requireClosed(t, keptFired, "retry that was not canceled")
	require.EqualValues(t, 1, s.Stats().Fired)
	require.EqualValues(t, 1, s.Stats().Canceled)
	requireOpen(t, canceledFired, "canceled retry")
}

func TestSchedulerPendingListsRetriesEarliestFirst(t *testing.T) {
	s, _ := newTestScheduler(t, 0)
	retries := []struct {
		retry Retry
		delay time.Duration
	}{
		{Retry{Key: rangeKey(1, "c", "d"), RegionID: 30, Reason: ReasonStoreFailure, Attempt: 3}, 3 * time.Second},
		{Retry{Key: rangeKey(1, "a", "b"), RegionID: 10, Reason: ReasonNotLeader, Attempt: 1}, time.Second},
		{Retry{Key: rangeKey(2, "a", "z"), Reason: ReasonRegionNotFound, Attempt: 2}, 2 * time.Second},
		{Retry{Key: rangeKey(1, "b", "c"), RegionID: 20, Reason: ReasonServerIsBusy, Attempt: 5}, time.Second},
	}
	for _, r := range retries {
		s.Schedule(r.retry, r.delay, func() {})
	}
	require.Equal(t, []PendingRetry{
		{Retry: retries[1].retry, Due: t0.Add(time.Second)},
		{Retry: retries[3].retry, Due: t0.Add(time.Second)}, // tie: scheduling order
		{Retry: retries[2].retry, Due: t0.Add(2 * time.Second)},
		{Retry: retries[0].retry, Due: t0.Add(3 * time.Second)},
	}, s.Pending())
	require.Equal(t, 4, s.Len())
}

// stopWithin stops s, failing the test instead of hanging if Stop does not
// return.
func stopWithin(t *testing.T, s *Scheduler) {
	t.Helper()
	stopped := make(chan struct{})
	go func() {
		s.Stop()
		close(stopped)
	}()
	requireClosed(t, stopped, "Stop")
}

func TestSchedulerStopEndsGoroutinesAndIgnoresLaterCalls(t *testing.T) {
	before := goleak.IgnoreCurrent()
	clock := NewFakeClock(t0)
	s := NewScheduler(clock, SchedulerOptions{Workers: 3})
	dropped, droppedFired := signal()
	s.Schedule(Retry{Key: rangeKey(1, "a", "b")}, time.Second, dropped)

	stopWithin(t, s)
	goleak.VerifyNone(t, before)

	s.Schedule(Retry{Key: rangeKey(1, "b", "c")}, 0, func() { t.Error("retry scheduled after Stop ran") })
	s.ScheduleAt(Retry{Key: rangeKey(1, "c", "d")}, t0, func() { t.Error("retry scheduled after Stop ran") })
	clock.Advance(time.Hour)
	require.Zero(t, s.Len())
	require.Empty(t, s.Pending())
	require.False(t, s.Cancel(rangeKey(1, "a", "b")))
	stopWithin(t, s) // idempotent
	requireOpen(t, droppedFired, "retry pending at Stop")
}

// Stop waits for a running action, then returns; nothing leaks.
func TestSchedulerStopWaitsForRunningAction(t *testing.T) {
	clock := NewFakeClock(t0)
	s := NewScheduler(clock, SchedulerOptions{})
	started, release := make(chan struct{}), make(chan struct{})
	var actionReturned atomic.Bool
	s.Schedule(Retry{Key: rangeKey(1, "a", "b")}, 0, func() {
		close(started)
		<-release
		actionReturned.Store(true)
	})
	requireClosed(t, started, "blocking retry")
	stopped := make(chan struct{})
	go func() {
		s.Stop()
		close(stopped)
	}()
	// Stop has begun once done is closed. Proving it then does not return
	// needs a grace period: no channel can show that something will not
	// happen.
	<-s.done
	select {
	case <-stopped:
		t.Fatal("Stop returned while an action was running")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	requireClosed(t, stopped, "Stop after the action returned")
	require.True(t, actionReturned.Load(), "Stop returned before the running action")
}

// Many goroutines schedule, cancel and list at once on the real clock; the
// race detector checks the locking, every retry due soon fires exactly once,
// and only the canceled far-off retries leave the pending set.
func TestSchedulerConcurrentUse(t *testing.T) {
	s := NewScheduler(SystemClock(), SchedulerOptions{})
	defer s.Stop()
	const producers, perProducer = 4, 2000
	var mu sync.Mutex
	firedBy := map[Key]int{}
	allFired := make(chan struct{})
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range perProducer {
				key := rangeKey(uint64(p), fmt.Sprint(i), fmt.Sprint(i+1))
				s.Schedule(Retry{Key: key, Attempt: 1}, time.Duration(i%50)*time.Microsecond, func() {
					mu.Lock()
					defer mu.Unlock()
					firedBy[key]++
					if len(firedBy) == producers*perProducer && firedBy[key] == 1 {
						close(allFired)
					}
				})
				if i%10 == 0 {
					farKey := rangeKey(uint64(p)+100, fmt.Sprint(i), fmt.Sprint(i+1))
					s.Schedule(Retry{Key: farKey}, time.Hour, func() { t.Error("far-off retry fired") })
					if i%20 == 0 {
						require.True(t, s.Cancel(farKey))
					}
				}
				if i%100 == 0 {
					_ = s.Pending()
					_ = s.Stats()
				}
			}
		})
	}
	wg.Wait()
	requireClosed(t, allFired, "every retry due soon")

	mu.Lock()
	defer mu.Unlock()
	for key, n := range firedBy {
		require.Equal(t, 1, n, "%v fired %d times", key, n)
	}
	require.Equal(t, producers*perProducer/20, s.Len(), "far-off retries not canceled")
	require.EqualValues(t, producers*perProducer, s.Stats().Fired)
}

func TestSchedulerNilActionPanicsAtCaller(t *testing.T) {
	s, _ := newTestScheduler(t, 0)
	require.Panics(t, func() { s.Schedule(Retry{Key: rangeKey(1, "a", "b")}, 0, nil) })
	require.Zero(t, s.Len())
}
