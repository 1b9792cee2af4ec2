package retry_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/pulltop/pulltop/engine/retry"
)

// The engine's wiring: the goroutine that handles region failures asks the
// Policy how long to wait and hands the retry to the Scheduler; the action
// only re-queues the region task. The UI lists Scheduler.Pending().
func Example() {
	start := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := retry.NewFakeClock(start) // retry.SystemClock() in production
	policy := retry.NewPolicy(rand.NewPCG(1, 2))
	scheduler := retry.NewScheduler(clock, retry.SchedulerOptions{})
	defer scheduler.Stop()
	regionTasks := make(chan uint64, 16) // the engine's region-task queue

	// Region 42 answered NotLeader for [t1, t2) of subscription 7.
	key := retry.Key{Subscription: 7, Start: "t1", End: "t2"}
	delay, attempt := policy.Next(clock.Now(), key, retry.ReasonNotLeader, 0)
	r := retry.Retry{Key: key, RegionID: 42, Reason: retry.ReasonNotLeader, Attempt: attempt}
	scheduler.Schedule(r, delay, func() {
		// Runs on a worker: if the queue is full this blocks one worker,
		// never the scheduler or other retries.
		regionTasks <- 42
	})

	for _, p := range scheduler.Pending() {
		fmt.Printf("pending: region %d %s attempt %d, due within 50ms: %v\n",
			p.RegionID, p.Reason, p.Attempt, p.Due.Sub(start) <= 50*time.Millisecond)
	}
	clock.Advance(50 * time.Millisecond)
	fmt.Println("re-queued region", <-regionTasks)

	// The re-requested region reports INITIALIZED: its range starts over.
	policy.Reset(key)
	fmt.Println("attempts after INITIALIZED:", policy.Attempts(key))
	// Output:
	// pending: region 42 not_leader attempt 1, due within 50ms: true
	// re-queued region 42
	// attempts after INITIALIZED: 0
}
