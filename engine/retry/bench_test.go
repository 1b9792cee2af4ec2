package retry

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// retriesPerRound is how many retries one benchmark iteration schedules and
// waits for (DESIGN §8: 1M schedule+fire).
const retriesPerRound = 1_000_000

// benchKeys returns n distinct adjacent ranges of one subscription.
func benchKeys(n int) []Key {
	keys := make([]Key, n)
	for i := range keys {
		keys[i] = Key{Subscription: 1, Start: fmt.Sprintf("t%08d", i), End: fmt.Sprintf("t%08d", i+1)}
	}
	return keys
}

// benchSpreads are the delay ranges benchmarked. 0-100µs is the budget's
// "short delays" (DESIGN §8): a round is bounded by scheduling cost, yet
// retries are still ordered by due time. 0-50ms makes most retries wait in
// the heap (or, for the baseline, the runtime timer heap) while the round is
// scheduled, as in a storm of store-failure retries.
var benchSpreads = []struct {
	name   string
	spread time.Duration
}{
	{"delays=0-100us", 100 * time.Microsecond},
	{"delays=0-50ms", 50 * time.Millisecond},
}

// benchDelay spreads due times over [0, spread) in 1µs steps, interleaved so
// consecutive retries are not in due order.
func benchDelay(i int, spread time.Duration) time.Duration {
	steps := int(spread / time.Microsecond)
	return time.Duration((i*7919)%steps) * time.Microsecond
}

// roundCounter counts fired retries and closes done when a round is complete.
type roundCounter struct {
	fired atomic.Int64
	done  chan struct{}
}

func newRoundCounter() *roundCounter { return &roundCounter{done: make(chan struct{})} }

func (c *roundCounter) fire() {
	if c.fired.Add(1) == retriesPerRound {
		close(c.done)
	}
}

// BenchmarkScheduleFire pushes 1M retries with distinct keys through a real
// Scheduler and waits until every action has run.
func BenchmarkScheduleFire(b *testing.B) {
	keys := benchKeys(retriesPerRound)
	for _, spread := range benchSpreads {
		b.Run(spread.name, func(b *testing.B) {
			s := NewScheduler(SystemClock(), SchedulerOptions{})
			defer s.Stop()
			b.ReportAllocs()
			for b.Loop() {
				round := newRoundCounter()
				for i := range keys {
					// A closure per retry, as the engine will capture its
					// region task.
					s.Schedule(Retry{Key: keys[i], Reason: ReasonNotLeader, Attempt: 1}, benchDelay(i, spread.spread), func() { round.fire() })
				}
				<-round.done
			}
			b.ReportMetric(float64(b.N)*retriesPerRound/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// BenchmarkAfterFuncPerRetry is the baseline: TiCDC #5857's scheme of one
// time.AfterFunc per retry, with a per-key generation so that only the latest
// scheduling of a key fires.
func BenchmarkAfterFuncPerRetry(b *testing.B) {
	keys := benchKeys(retriesPerRound)
	var mu sync.Mutex
	generation := make(map[Key]uint64)
	schedule := func(key Key, delay time.Duration, action func()) {
		mu.Lock()
		generation[key]++
		gen := generation[key]
		mu.Unlock()
		time.AfterFunc(delay, func() {
			mu.Lock()
			if generation[key] != gen {
				mu.Unlock()
				return
			}
			delete(generation, key)
			mu.Unlock()
			action()
		})
	}
	for _, spread := range benchSpreads {
		b.Run(spread.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				round := newRoundCounter()
				for i := range keys {
					schedule(keys[i], benchDelay(i, spread.spread), func() { round.fire() })
				}
				<-round.done
			}
			b.ReportMetric(float64(b.N)*retriesPerRound/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// BenchmarkPending measures the UI's once-a-second listing of 10k retries.
func BenchmarkPending(b *testing.B) {
	const n = 10_000
	clock := NewFakeClock(time.Unix(1_700_000_000, 0))
	s := NewScheduler(clock, SchedulerOptions{})
	defer s.Stop()
	for i, key := range benchKeys(n) {
		// Scattered due times, all in the future so nothing fires.
		s.Schedule(Retry{Key: key, Reason: ReasonStoreFailure, Attempt: 1}, time.Duration(1+(i*7919)%n)*time.Millisecond, func() {})
	}
	b.ReportAllocs()
	for b.Loop() {
		if got := len(s.Pending()); got != n {
			b.Fatalf("Pending() listed %d retries, want %d", got, n)
		}
	}
}
