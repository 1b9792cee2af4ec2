package retry

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
)

func newTestPolicy() *Policy { return NewPolicy(rand.NewPCG(5857, 4700)) }

func TestReasonsAreSnapshotReasons(t *testing.T) {
	for reason, want := range map[Reason]string{
		ReasonNotLeader:         snapshots.ReasonNotLeader,
		ReasonEpochNotMatch:     snapshots.ReasonEpochNotMatch,
		ReasonRegionNotFound:    snapshots.ReasonRegionNotFound,
		ReasonServerIsBusy:      snapshots.ReasonServerIsBusy,
		ReasonCongested:         snapshots.ReasonCongested,
		ReasonStoreFailure:      snapshots.ReasonStoreFailure,
		ReasonRPCCtxUnavailable: snapshots.ReasonRPCCtxUnavailable,
		ReasonUnknown:           snapshots.ReasonUnknown,
	} {
		require.Equal(t, want, string(reason))
	}
}

func TestRuleForEachReason(t *testing.T) {
	ms := time.Millisecond
	for reason, want := range map[Reason]Rule{
		ReasonNotLeader:         {50 * ms, time.Second},
		ReasonRPCCtxUnavailable: {100 * ms, time.Second},
		ReasonServerIsBusy:      {100 * ms, 3 * time.Second},
		ReasonCongested:         {100 * ms, 3 * time.Second},
		ReasonStoreFailure:      {200 * ms, 5 * time.Second},
		ReasonUnknown:           {200 * ms, 5 * time.Second},
		ReasonEpochNotMatch:     {50 * ms, 2 * time.Second},
		ReasonRegionNotFound:    {50 * ms, 2 * time.Second},
		Reason("something_new"): {200 * ms, 5 * time.Second},
	} {
		require.Equal(t, want, RuleFor(reason), "reason %s", reason)
	}
}

func TestRuleDoublesUpToMax(t *testing.T) {
	ms := time.Millisecond
	notLeader := RuleFor(ReasonNotLeader)
	var got []time.Duration
	for attempt := 1; attempt <= 7; attempt++ {
		got = append(got, notLeader.delay(attempt))
	}
	require.Equal(t, []time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}, got)

	storeFailure := RuleFor(ReasonStoreFailure)
	require.Equal(t, 3200*ms, storeFailure.delay(5))
	require.Equal(t, 5*time.Second, storeFailure.delay(6))
}

func TestRuleNeverOverflows(t *testing.T) {
	for _, attempt := range []int{32, 33, 62, 63, 64, 1000, math.MaxInt32, math.MaxInt} {
		for _, reason := range []Reason{ReasonNotLeader, ReasonStoreFailure, ReasonServerIsBusy} {
			rule := RuleFor(reason)
			require.Equal(t, rule.Max, rule.delay(attempt), "%s attempt %d", reason, attempt)
		}
	}
	huge := Rule{Base: time.Duration(math.MaxInt64 / 2), Max: time.Duration(math.MaxInt64)}
	require.Equal(t, huge.Max, huge.delay(3))
	require.Zero(t, Rule{Base: 0, Max: time.Second}.delay(5))
}

// Every delay lies in [d/2, d] for the un-jittered d of its attempt, and the
// jitter actually spreads over that interval.
func TestNextJitterWithinHalfToFull(t *testing.T) {
	p := newTestPolicy()
	now := t0
	for attempt := 1; attempt <= 8; attempt++ {
		want := RuleFor(ReasonNotLeader).delay(attempt)
		lowest, highest := want, time.Duration(0)
		for i := range 2000 {
			// A range per sample, each at the same attempt.
			key := rangeKey(uint64(attempt), fmt.Sprint(i), "")
			for range attempt - 1 {
				p.Next(now, key, ReasonNotLeader, 0)
			}
			delay, gotAttempt := p.Next(now, key, ReasonNotLeader, 0)
			require.Equal(t, attempt, gotAttempt)
			require.GreaterOrEqual(t, delay, want/2, "attempt %d", attempt)
			require.LessOrEqual(t, delay, want, "attempt %d", attempt)
			lowest, highest = min(lowest, delay), max(highest, delay)
		}
		spread := want / 2
		require.Less(t, lowest, want/2+spread/20, "attempt %d: jitter never near d/2", attempt)
		require.Greater(t, highest, want-spread/20, "attempt %d: jitter never near d", attempt)
	}
}

func TestNextIsDeterministicForASeed(t *testing.T) {
	a, b := newTestPolicy(), newTestPolicy()
	key := rangeKey(1, "a", "z")
	for range 20 {
		da, _ := a.Next(t0, key, ReasonStoreFailure, 0)
		db, _ := b.Next(t0, key, ReasonStoreFailure, 0)
		require.Equal(t, da, db)
	}
}

func TestNextGrowsAcrossReasonsOfOneRange(t *testing.T) {
	p := newTestPolicy()
	key := rangeKey(1, "a", "z")
	for i, reason := range []Reason{ReasonNotLeader, ReasonEpochNotMatch, ReasonNotLeader, ReasonStoreFailure} {
		delay, attempt := p.Next(t0, key, reason, 0)
		require.Equal(t, i+1, attempt)
		want := RuleFor(reason).delay(attempt)
		require.GreaterOrEqual(t, delay, want/2)
		require.LessOrEqual(t, delay, want)
	}
	state, ok := p.Lookup(key)
	require.True(t, ok)
	require.Equal(t, ReasonStoreFailure, state.LastReason)
	require.Equal(t, 4, state.Attempts)
	require.Equal(t, t0, state.LastFailure)
}

func TestNextAttemptSaturates(t *testing.T) {
	p := newTestPolicy()
	key := rangeKey(1, "a", "z")
	p.Next(t0, key, ReasonStoreFailure, 0)
	p.ranges[key].Attempts = maxAttempts
	delay, attempt := p.Next(t0, key, ReasonStoreFailure, 0)
	require.Equal(t, maxAttempts, attempt)
	require.GreaterOrEqual(t, delay, 5*time.Second/2)
	require.LessOrEqual(t, delay, 5*time.Second)
}

func TestNextServerBusyFloor(t *testing.T) {
	p := newTestPolicy()
	key := rangeKey(1, "a", "z")

	// Far above the busy curve's 3s max: TiKV's hint wins.
	delay, _ := p.Next(t0, key, ReasonServerIsBusy, ServerBusyBackoff(7000))
	require.Equal(t, 7*time.Second, delay)

	// Below the jittered delay: the curve wins.
	for range 5 {
		p.Next(t0, key, ReasonServerIsBusy, 0)
	}
	delay, attempt := p.Next(t0, key, ReasonServerIsBusy, ServerBusyBackoff(1))
	require.Equal(t, 7, attempt)
	require.GreaterOrEqual(t, delay, 1500*time.Millisecond)

	// A bogus hint cannot park the range for more than 10 minutes, however
	// it reaches Next.
	delay, _ = p.Next(t0, key, ReasonServerIsBusy, ServerBusyBackoff(math.MaxUint64))
	require.Equal(t, MaxServerBackoff, delay)
	delay, _ = p.Next(t0, key, ReasonServerIsBusy, time.Duration(math.MaxInt64))
	require.Equal(t, MaxServerBackoff, delay)
	delay, _ = p.Next(t0, key, ReasonServerIsBusy, -time.Hour)
	require.LessOrEqual(t, delay, 3*time.Second)
}

func TestServerBusyBackoff(t *testing.T) {
	require.Zero(t, ServerBusyBackoff(0))
	require.Equal(t, 250*time.Millisecond, ServerBusyBackoff(250))
	require.Equal(t, 10*time.Minute-time.Millisecond, ServerBusyBackoff(599_999))
	require.Equal(t, MaxServerBackoff, ServerBusyBackoff(600_000))
	require.Equal(t, MaxServerBackoff, ServerBusyBackoff(math.MaxUint64/1000))
	require.Equal(t, MaxServerBackoff, ServerBusyBackoff(math.MaxUint64))
}

func TestResetStartsRangeOver(t *testing.T) {
	p := newTestPolicy()
	key, other := rangeKey(1, "a", "m"), rangeKey(1, "m", "z")
	for range 4 {
		p.Next(t0, key, ReasonNotLeader, 0)
	}
	p.Next(t0, other, ReasonNotLeader, 0)

	p.Reset(key) // region INITIALIZED
	require.Zero(t, p.Attempts(key))
	_, ok := p.Lookup(key)
	require.False(t, ok)
	require.Equal(t, 1, p.Attempts(other), "other ranges keep their state")

	delay, attempt := p.Next(t0, key, ReasonNotLeader, 0)
	require.Equal(t, 1, attempt)
	require.LessOrEqual(t, delay, 50*time.Millisecond)
}

// The state follows the logical range, not the region: the region serving
// [a, z) fails as region 10, is re-created as region 11 after a leader
// transfer or merge, and keeps backing off; a split child is a new range.
func TestBackoffSurvivesRegionIDChange(t *testing.T) {
	p := newTestPolicy()
	span := rangeKey(1, "a", "z")
	failures := []Retry{
		{Key: span, RegionID: 10, Reason: ReasonNotLeader},
		{Key: span, RegionID: 11, Reason: ReasonEpochNotMatch},
		{Key: span, RegionID: 12, Reason: ReasonNotLeader},
	}
	for i, f := range failures {
		_, attempt := p.Next(t0, f.Key, f.Reason, 0)
		require.Equal(t, i+1, attempt, "region %d", f.RegionID)
	}
	require.Equal(t, 3, p.Attempts(span))
	require.Zero(t, p.Attempts(rangeKey(1, "a", "m")), "split child")
	require.Zero(t, p.Attempts(rangeKey(2, "a", "z")), "same range, other subscription")
}

func TestIdleStateExpires(t *testing.T) {
	p := newTestPolicy()
	key, busy := rangeKey(1, "a", "m"), rangeKey(1, "m", "z")
	delay, _ := p.Next(t0, key, ReasonNotLeader, 0)
	busyDelay, _ := p.Next(t0, busy, ReasonServerIsBusy, 8*time.Minute)
	require.Equal(t, 8*time.Minute, busyDelay)

	expiry := t0.Add(delay + IdleExpiry)
	require.Zero(t, p.GC(expiry), "exactly at expiry")
	require.Equal(t, 2, p.Len())
	require.Equal(t, 1, p.GC(expiry.Add(time.Nanosecond)))
	require.Zero(t, p.Attempts(key))
	require.Equal(t, 1, p.Attempts(busy), "a long delay keeps its state longer")

	require.Equal(t, 1, p.GC(t0.Add(busyDelay+IdleExpiry+time.Nanosecond)))
	require.Zero(t, p.Len())
}

// GC only reclaims memory: a failure after the expiry starts over whether or
// not GC ran in between.
func TestExpiredStateStartsOverWithoutGC(t *testing.T) {
	p := newTestPolicy()
	key := rangeKey(1, "a", "z")
	var delay time.Duration
	for range 5 {
		delay, _ = p.Next(t0, key, ReasonStoreFailure, 0)
	}
	later := t0.Add(delay + IdleExpiry + time.Second)
	_, attempt := p.Next(later, key, ReasonStoreFailure, 0)
	require.Equal(t, 1, attempt)

	// Within the expiry it keeps counting.
	_, attempt = p.Next(later.Add(IdleExpiry), key, ReasonStoreFailure, 0)
	require.Equal(t, 2, attempt)
}

func TestDisabledPolicyNeverWaits(t *testing.T) {
	p := NewDisabledPolicy()
	key := rangeKey(1, "a", "z")
	for i := 1; i <= 10; i++ {
		delay, attempt := p.Next(t0, key, ReasonServerIsBusy, ServerBusyBackoff(5000))
		require.Zero(t, delay)
		require.Equal(t, i, attempt, "attempts are still counted for display")
	}
	state, _ := p.Lookup(key)
	require.Equal(t, ReasonServerIsBusy, state.LastReason)
	require.Equal(t, 1, p.GC(t0.Add(IdleExpiry+time.Nanosecond)))
}
