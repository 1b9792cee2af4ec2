package retry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func ticked(timer Timer) bool {
	select {
	case <-timer.C():
		return true
	default:
		return false
	}
}

func TestFakeClockFiresTimersWhenAdvancedPastDeadline(t *testing.T) {
	clock := NewFakeClock(t0)
	timer := clock.NewTimer()
	clock.Advance(time.Hour)
	require.False(t, ticked(timer), "a new timer is stopped")

	deadline := clock.Now().Add(time.Second)
	timer.ResetAt(deadline)
	clock.Advance(999 * time.Millisecond)
	require.False(t, ticked(timer))
	clock.Advance(time.Millisecond)
	require.Equal(t, deadline, <-timer.C())
	require.Equal(t, deadline, clock.Now())
	clock.Advance(time.Hour)
	require.False(t, ticked(timer), "a timer fires once")
}

func TestFakeTimerResetAtAndStopDropStaleTicks(t *testing.T) {
	clock := NewFakeClock(t0)
	timer := clock.NewTimer()
	timer.ResetAt(t0.Add(time.Second))
	clock.Advance(time.Second) // tick waiting in the channel

	timer.ResetAt(t0.Add(2 * time.Second))
	require.False(t, ticked(timer), "stale tick after ResetAt")
	clock.Advance(time.Second)
	require.True(t, ticked(timer))

	timer.ResetAt(t0.Add(3 * time.Second))
	require.True(t, timer.Stop())
	require.False(t, timer.Stop())
	clock.Advance(time.Hour)
	require.False(t, ticked(timer), "stopped timer fired")

	// The deadline is absolute: arming for a time the clock has already
	// passed fires at once, however long ago it was computed.
	timer.ResetAt(t0.Add(time.Minute))
	require.True(t, ticked(timer))
	require.Equal(t, 4, clock.Resets())
}

func TestFakeClockWaitArmed(t *testing.T) {
	clock := NewFakeClock(t0)
	timer := clock.NewTimer()
	timer.ResetAt(t0.Add(time.Second))
	require.True(t, clock.WaitArmed(t0.Add(time.Second), waitLimit))
	require.False(t, clock.WaitArmed(t0.Add(2*time.Second), time.Millisecond))

	done := make(chan bool)
	go func() { done <- clock.WaitArmed(t0.Add(3*time.Second), waitLimit) }()
	timer.ResetAt(t0.Add(3 * time.Second))
	require.True(t, <-done)
}

func TestSystemClockTimer(t *testing.T) {
	clock := SystemClock()
	timer := clock.NewTimer()
	require.False(t, timer.Stop(), "a new timer is stopped")
	timer.ResetAt(clock.Now().Add(time.Millisecond))
	select {
	case <-timer.C():
	case <-time.After(waitLimit):
		t.Fatal("system timer did not fire")
	}
	require.False(t, timer.Stop())
	timer.ResetAt(clock.Now().Add(time.Hour))
	require.True(t, timer.Stop())
}
