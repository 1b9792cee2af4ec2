package retry

import (
	"sync"
	"time"
)

// FakeClock is a manually advanced Clock for tests of the scheduler and of
// the engine built on it: time moves only in Advance, and a timer fires (a
// value is sent on its channel) when Advance or Reset finds its deadline
// reached. It is safe for concurrent use; its state is guarded by mu.
type FakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	resets  int
	changed chan struct{} // closed and replaced whenever a timer is (re)armed or stopped
}

// NewFakeClock returns a FakeClock reading t0.
func NewFakeClock(t0 time.Time) *FakeClock {
	return &FakeClock{now: t0, changed: make(chan struct{})}
}

// Now returns the fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a stopped timer.
func (c *FakeClock) NewTimer() Timer {
	t := &fakeTimer{clock: c, ch: make(chan time.Time, 1)}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	return t
}

// Advance moves the clock forward by d and fires every armed timer whose
// deadline is now reached.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		t.fireIfDueLocked()
	}
}

// Resets counts the ResetAt calls on this clock's timers, so a test can check
// that the scheduler re-arms its timer only when the earliest deadline
// changes.
func (c *FakeClock) Resets() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resets
}

// WaitArmed blocks until some timer is armed to fire exactly at deadline, and
// reports false if that has not happened within timeout (real time). It is
// the sync point a test needs before asserting how the scheduler's timer is
// armed; firing never needs it, because Advance and ResetAt fire timers whose
// deadline has already passed.
func (c *FakeClock) WaitArmed(deadline time.Time, timeout time.Duration) bool {
	giveUp := time.NewTimer(timeout)
	defer giveUp.Stop()
	for {
		c.mu.Lock()
		changed := c.changed
		for _, t := range c.timers {
			if t.armed && t.deadline.Equal(deadline) {
				c.mu.Unlock()
				return true
			}
		}
		c.mu.Unlock()
		select {
		case <-changed:
		case <-giveUp.C:
			return false
		}
	}
}

func (c *FakeClock) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// fakeTimer is guarded by its clock's mu.
type fakeTimer struct {
	clock    *FakeClock
	ch       chan time.Time
	deadline time.Time
	armed    bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) ResetAt(deadline time.Time) {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resets++
	t.drainLocked()
	t.deadline = deadline
	t.armed = true
	t.fireIfDueLocked()
	c.notifyLocked()
}

func (t *fakeTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	wasArmed := t.armed
	t.armed = false
	t.drainLocked()
	c.notifyLocked()
	return wasArmed
}

// drainLocked discards an undelivered tick, giving ResetAt and Stop the Go
// 1.23 guarantee that no stale value is received afterwards.
func (t *fakeTimer) drainLocked() {
	select {
	case <-t.ch:
	default:
	}
}

func (t *fakeTimer) fireIfDueLocked() {
	if !t.armed || t.deadline.After(t.clock.now) {
		return
	}
	t.armed = false
	select {
	case t.ch <- t.clock.now:
	default: // cannot happen: the channel was drained when the timer was armed
	}
}
