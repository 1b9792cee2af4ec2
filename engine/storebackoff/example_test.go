package storebackoff_test

import (
	"fmt"
	"time"

	"github.com/pulltop/pulltop/engine/storebackoff"
)

// How the engine uses a Tracker: stream workers report failures and every
// received message; the dispatcher asks before sending.
func ExampleTracker() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	stores := storebackoff.New(func() time.Time { return now })
	stores.SetAddr(2, "127.0.0.1:20162")

	stores.Failure(2) // the stream to store 2 broke
	if ok, wait := stores.Available(2, now); !ok {
		fmt.Println("park store 2's tasks for", wait)
	}
	stores.Success(2) // the reconnected stream delivered a message
	ok, _ := stores.Available(2, now)
	fmt.Println("store 2 available:", ok)

	stores.Pause(2) // operator action
	if _, wait := stores.Available(2, now); wait == storebackoff.NoEnd {
		fmt.Println("store 2 paused until resumed")
	}
	// Output:
	// park store 2's tasks for 200ms
	// store 2 available: true
	// store 2 paused until resumed
}
