package retry

import (
	"math"
	"math/rand/v2"
	"time"
)

// Rule is the exponential backoff curve for one Reason: the n-th consecutive
// failure of a range waits min(Base·2^(n-1), Max), jittered.
type Rule struct {
	Base, Max time.Duration
}

// RuleFor returns the curve for reason. Reasons without their own curve back
// off like a store failure: when we do not know what went wrong, we assume
// the worst.
func RuleFor(reason Reason) Rule {
	switch reason {
	case ReasonNotLeader:
		return Rule{Base: 50 * time.Millisecond, Max: time.Second}
	case ReasonEpochNotMatch, ReasonRegionNotFound:
		// TiCDC #5857's single curve; these retries reload regions from PD.
		return Rule{Base: 50 * time.Millisecond, Max: 2 * time.Second}
	case ReasonRPCCtxUnavailable:
		return Rule{Base: 100 * time.Millisecond, Max: time.Second}
	case ReasonServerIsBusy, ReasonCongested:
		return Rule{Base: 100 * time.Millisecond, Max: 3 * time.Second}
	default: // ReasonStoreFailure, ReasonUnknown, anything new
		return Rule{Base: 200 * time.Millisecond, Max: 5 * time.Second}
	}
}

// delay returns the un-jittered delay for the attempt-th consecutive failure.
// The shift is capped and compared against Max before it is applied, so no
// attempt count can overflow it.
func (r Rule) delay(attempt int) time.Duration {
	if r.Base <= 0 || attempt <= 0 {
		return 0
	}
	shift := min(attempt-1, 62)
	if r.Base > r.Max>>shift {
		return r.Max
	}
	return r.Base << shift
}

const (
	// IdleExpiry is how long a range's backoff state outlives its last
	// delay without a new failure before it is forgotten (as TiCDC #5857).
	IdleExpiry = 5 * time.Minute
	// MaxServerBackoff caps TiKV's ServerIsBusy BackoffMs, so a bogus huge
	// hint cannot park a range for good (TiCDC's safeBackoffDuration).
	MaxServerBackoff = 10 * time.Minute
)

// ServerBusyBackoff converts ServerIsBusy.BackoffMs into the floor for Next,
// capped at MaxServerBackoff before it is multiplied so it cannot overflow.
func ServerBusyBackoff(backoffMs uint64) time.Duration {
	if backoffMs >= uint64(MaxServerBackoff/time.Millisecond) {
		return MaxServerBackoff
	}
	return time.Duration(backoffMs) * time.Millisecond
}

// RangeBackoff is what Policy remembers about one range, for display.
type RangeBackoff struct {
	Attempts    int           // consecutive failures since the last reset
	LastReason  Reason        // why it last failed
	LastDelay   time.Duration // the delay handed out for that failure
	LastFailure time.Time     // when it last failed
}

func (b *RangeBackoff) expired(now time.Time) bool {
	return now.Sub(b.LastFailure) > b.LastDelay+IdleExpiry
}

// Policy decides how long a failed range waits before it is retried. State is
// keyed by Key — subscription and logical key range — so a range that keeps
// failing while its region splits, merges or changes leader keeps backing off
// instead of starting over under each new region ID (TiCDC #5857).
//
// Policy is a plain data structure: time comes in as arguments and jitter
// from an injected random source. It is owned by the engine goroutine that
// handles region failures and is not safe for concurrent use; it has no mutex
// because everything that changes it (failures, initialization, successful
// requests, GC ticks) already happens on that goroutine.
//
// It is deliberately reset only by Reset on a region's INITIALIZED event or a
// successful request, never by resolved-ts events: those arrive for every
// region every second, and resetting there (as TiCDC PR #4700 did) would both
// wipe the backoff of a flapping range and put map work on the hottest path.
// There is no reset by region ID for the same reason.
type Policy struct {
	rng      *rand.Rand // nil when disabled
	disabled bool
	ranges   map[Key]*RangeBackoff
}

// NewPolicy returns a Policy drawing jitter from src (seed it in tests).
func NewPolicy(src rand.Source) *Policy {
	return &Policy{rng: rand.New(src), ranges: make(map[Key]*RangeBackoff)}
}

// NewDisabledPolicy returns a Policy that counts failures but always answers
// a zero delay, ignoring even ServerIsBusy hints. It exists to measure the
// retry storm that backoff prevents (the "backoff disabled" test mode); never
// use it in production.
func NewDisabledPolicy() *Policy {
	return &Policy{disabled: true, ranges: make(map[Key]*RangeBackoff)}
}

// maxAttempts saturates the failure count; the delay stopped growing long
// before.
const maxAttempts = math.MaxInt32

// Next records a failure of key at now for reason and returns how long to wait
// before retrying it and the attempt number (1 for the first failure since the
// last reset). serverBackoff is TiKV's ServerIsBusy hint (see
// ServerBusyBackoff), 0 otherwise: the delay is never below it, and it is
// capped at MaxServerBackoff.
func (p *Policy) Next(now time.Time, key Key, reason Reason, serverBackoff time.Duration) (delay time.Duration, attempt int) {
	b, ok := p.ranges[key]
	if !ok {
		b = new(RangeBackoff)
		p.ranges[key] = b
	} else if b.expired(now) {
		*b = RangeBackoff{}
	}
	if b.Attempts < maxAttempts {
		b.Attempts++
	}
	if !p.disabled {
		delay = p.jitter(RuleFor(reason).delay(b.Attempts))
		delay = max(delay, min(serverBackoff, MaxServerBackoff))
	}
	b.LastReason, b.LastDelay, b.LastFailure = reason, delay, now
	return delay, b.Attempts
}

// jitter spreads d uniformly over [d/2, d], so ranges that failed together
// (every region of one store) do not retry together.
func (p *Policy) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + time.Duration(p.rng.Int64N(int64(d-half)+1))
}

// Reset forgets key's failures. Call it when a region of the range is
// INITIALIZED or a request for it succeeds — never on resolved-ts events.
func (p *Policy) Reset(key Key) {
	delete(p.ranges, key)
}

// Attempts returns key's consecutive failures since the last reset (or since
// its state expired), 0 if Policy has no state for it.
func (p *Policy) Attempts(key Key) int {
	b, ok := p.ranges[key]
	if !ok {
		return 0
	}
	return b.Attempts
}

// Lookup returns what Policy remembers about key, for display.
func (p *Policy) Lookup(key Key) (RangeBackoff, bool) {
	b, ok := p.ranges[key]
	if !ok {
		return RangeBackoff{}, false
	}
	return *b, true
}

// Len returns how many ranges have backoff state.
func (p *Policy) Len() int { return len(p.ranges) }

// GC forgets every range that has not failed for its last delay plus
// IdleExpiry, and returns how many it forgot. The engine calls it from a
// periodic tick on the goroutine that owns the Policy. Next already treats
// expired state as fresh, so GC only reclaims memory: when it runs does not
// change any delay.
func (p *Policy) GC(now time.Time) int {
	forgotten := 0
	for key, b := range p.ranges {
		if b.expired(now) {
			delete(p.ranges, key)
			forgotten++
		}
	}
	return forgotten
}
