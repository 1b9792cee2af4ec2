package retry

import "time"

// Clock is the scheduler's only source of time, so tests (here and in the
// engine) can drive it with a FakeClock instead of sleeping.
type Clock interface {
	Now() time.Time
	// NewTimer returns an armed timer that delivers on C() once d has passed.
	NewTimer(d time.Duration) Timer
}

// Timer is a resettable one-shot timer, the subset of *time.Timer the
// scheduler needs.
type Timer interface {
	C() <-chan time.Time
	// Reset re-arms the timer to fire once d has passed. No value from an
	// earlier arming is delivered after Reset returns.
	Reset(d time.Duration)
	// Stop disarms the timer and reports whether it was armed. No value is
	// delivered after Stop returns.
	Stop() bool
}

// SystemClock returns the Clock backed by package time.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

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

func (t systemTimer) Reset(d time.Duration) {
	t.Stop()
	t.t.Reset(d)
}
