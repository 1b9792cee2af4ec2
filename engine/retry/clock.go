package retry

import "time"

// Clock is the scheduler's only source of time, so tests (here and in the
// engine) can drive it with a FakeClock instead of sleeping.
type Clock interface {
	Now() time.Time
	// NewTimer returns a stopped timer.
	NewTimer() Timer
}

// Timer is a one-shot timer armed to an absolute deadline. Absolute, not
// relative like time.Timer.Reset: a duration computed from an earlier Now()
// would arm the timer late by however far the clock moved in between, which
// on a FakeClock is a whole Advance.
type Timer interface {
	C() <-chan time.Time
	// ResetAt arms the timer to fire at deadline, at once if that has
	// passed. No value from an earlier arming is delivered after it returns.
	ResetAt(deadline time.Time)
	// Stop disarms the timer and reports whether it was armed. No value is
	// delivered after it returns.
	Stop() bool
}

// SystemClock returns the Clock backed by package time.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer() Timer {
	t := systemTimer{time.NewTimer(time.Hour)}
	t.Stop()
	return t
}

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time { return t.t.C }

// Stop drains the channel when the timer had already fired, so a stale tick
// cannot be read later even under GODEBUG=asynctimerchan=1 (with the Go 1.23+
// synchronous timer channels the drain finds nothing).
func (t systemTimer) Stop() bool {
	if t.t.Stop() {
		return true
	}
	select {
	case <-t.t.C:
	default:
	}
	return false
}

func (t systemTimer) ResetAt(deadline time.Time) {
	t.Stop()
	t.t.Reset(time.Until(deadline))
}
