package storebackoff

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"
)

// fakeClock is a manual clock; safe for concurrent use so the stress test
// can share one.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// checkHolding asserts the invariant the lock-free fast path relies on:
// holding equals the number of stores that are paused or have failures, and
// each store's clearable flag matches its state.
func checkHolding(t *testing.T, tr *Tracker) {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var want int64
	for id, e := range *tr.stores.Load() {
		if e.holding() {
			want++
		}
		require.Equal(t, e.consecutiveFailures > 0 && !e.paused, e.clearable.Load(), "store %d clearable", id)
	}
	require.Equal(t, want, tr.holding.Load(), "holding counter")
}

func TestCooldown(t *testing.T) {
	for n, want := range map[int]time.Duration{
		-1: 0, 0: 0,
		1: 200 * time.Millisecond, 2: 400 * time.Millisecond, 3: 800 * time.Millisecond,
		4: 1600 * time.Millisecond, 5: 3200 * time.Millisecond,
		6: 5 * time.Second, 7: 5 * time.Second, 64: 5 * time.Second, 1 << 30: 5 * time.Second,
	} {
		require.Equal(t, want, Cooldown(n), "n=%d", n)
	}
}

func TestFailureGrowsToCap(t *testing.T) {
	clock := newFakeClock()
	tr := New(clock.Now)
	want := []time.Duration{200, 400, 800, 1600, 3200, 5000, 5000, 5000}
	for i, ms := range want {
		got := tr.Failure(2)
		require.Equal(t, ms*time.Millisecond, got, "failure %d", i+1)
		ok, wait := tr.Available(2, clock.Now())
		require.False(t, ok)
		require.Equal(t, got, wait)
		// Let the cooldown run out: the dispatcher retries, the store fails
		// again, and only that failed retry doubles the cooldown.
		clock.Advance(got)
		ok, _ = tr.Available(2, clock.Now())
		require.True(t, ok, "cooldown over without a Success")
	}
	s := tr.States(clock.Now())
	require.Len(t, s, 1)
	require.Equal(t, len(want), s[0].ConsecutiveFailures)
	require.Equal(t, uint64(len(want)), s[0].TotalFailures)
	require.Equal(t, StateUp, s[0].State, "expired cooldown shows up")
	checkHolding(t, tr)
}

func TestFailureDuringCooldownDoesNotEscalate(t *testing.T) {
	clock := newFakeClock()
	tr := New(clock.Now)
	require.Equal(t, 200*time.Millisecond, tr.Failure(1))
	clock.Advance(50 * time.Millisecond)
	// Many regions of the same broken store report it: same incident.
	for range 100 {
		require.Equal(t, 150*time.Millisecond, tr.Failure(1))
	}
	s := tr.States(clock.Now())[0]
	require.Equal(t, 1, s.ConsecutiveFailures)
	require.Equal(t, uint64(101), s.TotalFailures)
	require.Equal(t, 150*time.Millisecond, s.CooldownLeft)

	clock.Advance(150 * time.Millisecond)
	require.Equal(t, 400*time.Millisecond, tr.Failure(1), "first failure after the retry doubles")
}

func TestSuccessClearsCooldown(t *testing.T) {
	clock := newFakeClock()
	tr := New(clock.Now)
	tr.Failure(1)
	tr.Failure(3)
	clock.Advance(200 * time.Millisecond)
	tr.Failure(1)
	require.EqualValues(t, 2, tr.holding.Load())

	tr.Success(1)
	ok, wait := tr.Available(1, clock.Now())
	require.True(t, ok)
	require.Zero(t, wait)
	require.EqualValues(t, 1, tr.holding.Load(), "store 3 still counts")
	checkHolding(t, tr)

	// Failures start again from the base.
	require.Equal(t, 200*time.Millisecond, tr.Failure(1))

	s := tr.States(clock.Now())
	require.Equal(t, 1, s[0].ConsecutiveFailures, "one failure since the success")
	require.Equal(t, uint64(3), s[0].TotalFailures, "totals survive a success")

	tr.Success(1)
	tr.Success(3)
	require.Zero(t, tr.holding.Load())
	checkHolding(t, tr)
}

func TestSuccessOnUnknownOrHealthyStore(t *testing.T) {
	tr := New(newFakeClock().Now)
	tr.Success(9) // nothing known: fast path
	tr.Failure(1)
	tr.Success(9) // unknown store while another cools
	tr.SetAddr(4, "127.0.0.1:20164")
	tr.Success(4) // known, healthy
	require.EqualValues(t, 1, tr.holding.Load())
	require.Len(t, tr.States(time.Time{}), 2, "Success never adds a store")
	checkHolding(t, tr)
}

func TestPauseBeatsSuccess(t *testing.T) {
	clock := newFakeClock()
	tr := New(clock.Now)
	tr.Failure(5)
	tr.Pause(5)
	tr.Success(5)
	ok, wait := tr.Available(5, clock.Now())
	require.False(t, ok, "success must not end a pause")
	require.Equal(t, NoEnd, wait)

	clock.Advance(time.Hour)
	ok, wait = tr.Available(5, clock.Now())
	require.False(t, ok, "a pause has no end")
	require.Equal(t, NoEnd, wait)

	require.Zero(t, tr.Failure(5), "failures while paused add no cooldown")
	s := tr.States(clock.Now())[0]
	require.Equal(t, StatePaused, s.State)
	require.Zero(t, s.CooldownLeft)
	require.Equal(t, 1, s.ConsecutiveFailures)
	require.Equal(t, uint64(2), s.TotalFailures)

	tr.Pause(5) // idempotent
	require.EqualValues(t, 1, tr.holding.Load())
	checkHolding(t, tr)
}

func TestResume(t *testing.T) {
	clock := newFakeClock()
	tr := New(clock.Now)
	tr.Pause(7)
	require.EqualValues(t, 1, tr.holding.Load(), "a pause alone counts")
	tr.Failure(7)
	tr.Resume(7)
	ok, _ := tr.Available(7, clock.Now())
	require.True(t, ok)
	s := tr.States(clock.Now())[0]
	require.Equal(t, StateUp, s.State)
	require.Zero(t, s.ConsecutiveFailures, "resume clears failures")
	require.Zero(t, tr.holding.Load())

	// Resume of a cooling (not paused) store also lets it be tried now.
	tr.Failure(7)
	tr.Resume(7)
	ok, _ = tr.Available(7, clock.Now())
	require.True(t, ok)
	require.Equal(t, 200*time.Millisecond, tr.Failure(7), "growth restarts after resume")
	checkHolding(t, tr)
}

func TestAvailableWaits(t *testing.T) {
	clock := newFakeClock()
	tr := New(clock.Now)
	ok, wait := tr.Available(1, clock.Now())
	require.True(t, ok)
	require.Zero(t, wait)

	tr.Failure(1)
	var elapsed time.Duration
	for _, step := range []time.Duration{0, 50, 100, 49} {
		clock.Advance(step * time.Millisecond)
		elapsed += step * time.Millisecond
		ok, wait = tr.Available(1, clock.Now())
		require.False(t, ok)
		require.Equal(t, 200*time.Millisecond-elapsed, wait)
	}
	clock.Advance(time.Millisecond)
	ok, wait = tr.Available(1, clock.Now())
	require.True(t, ok, "available exactly at cooldownUntil")
	require.Zero(t, wait)

	// Other stores are unaffected by store 1 cooling.
	ok, _ = tr.Available(2, clock.Now())
	require.True(t, ok)
}

func TestStates(t *testing.T) {
	clock := newFakeClock()
	tr := New(clock.Now)
	tr.SetAddr(3, "127.0.0.1:20163")
	tr.SetAddr(1, "127.0.0.1:20161")
	tr.SetAddr(2, "127.0.0.1:20162")
	tr.Failure(2)
	tr.Pause(3)
	clock.Advance(30 * time.Millisecond)
	require.Equal(t, []StoreState{
		{StoreID: 1, StoreAddr: "127.0.0.1:20161", State: StateUp},
		{StoreID: 2, StoreAddr: "127.0.0.1:20162", State: StateCooldown, CooldownLeft: 170 * time.Millisecond, ConsecutiveFailures: 1, TotalFailures: 1},
		{StoreID: 3, StoreAddr: "127.0.0.1:20163", State: StatePaused},
	}, tr.States(clock.Now()))

	tr.SetAddr(2, "127.0.0.1:30162") // address change keeps the state
	s := tr.States(clock.Now())[1]
	require.Equal(t, "127.0.0.1:30162", s.StoreAddr)
	require.Equal(t, StateCooldown, s.State)
}

func TestRemove(t *testing.T) {
	clock := newFakeClock()
	tr := New(clock.Now)
	tr.Failure(1)
	tr.Pause(2)
	tr.Remove(1)
	tr.Remove(1)
	tr.Remove(42)
	require.EqualValues(t, 1, tr.holding.Load())
	ok, _ := tr.Available(1, clock.Now())
	require.True(t, ok)
	require.Len(t, tr.States(clock.Now()), 1)
	tr.Remove(2)
	require.Zero(t, tr.holding.Load())
	checkHolding(t, tr)
}

// TestFastPathAllocs proves the claim the engine's receive loop depends on.
func TestFastPathAllocs(t *testing.T) {
	clock := newFakeClock()
	tr := New(clock.Now)
	for id := uint64(1); id <= 3; id++ {
		tr.SetAddr(id, fmt.Sprintf("127.0.0.1:2016%d", id))
	}
	now := clock.Now()
	require.Zero(t, testing.AllocsPerRun(1000, func() { tr.Success(2) }), "Success, nothing cooling")
	require.Zero(t, testing.AllocsPerRun(1000, func() { tr.Available(2, now) }), "Available, nothing cooling")

	tr.Failure(1)
	require.Zero(t, testing.AllocsPerRun(1000, func() { tr.Success(2) }), "Success on a healthy store while another cools")
	require.Zero(t, testing.AllocsPerRun(1000, func() {
		tr.Failure(3)
		clock.Advance(time.Minute)
		tr.Success(3)
	}), "clearing a cooldown")
}

// TestConcurrentStress hammers one Tracker from many goroutines; run with
// -race. Afterwards the counter must still equal the number of holding
// stores, and once everything is resumed the fast path must be back.
func TestConcurrentStress(t *testing.T) {
	clock := newFakeClock()
	tr := New(clock.Now)
	const (
		workers = 8
		stores  = 4
	)
	ops := 20000
	if testing.Short() {
		ops = 2000
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range ops {
				store := rng.Uint64N(stores) + 1
				switch op := rng.IntN(100); {
				case op < 60:
					tr.Success(store) // the hot path dominates, as in the engine
				case op < 80:
					tr.Failure(store)
				case op < 85:
					tr.Pause(store)
				case op < 90:
					tr.Resume(store)
				case op < 95:
					tr.Available(store, clock.Now())
				case op < 97:
					clock.Advance(time.Duration(rng.IntN(300)) * time.Millisecond)
				case op < 98:
					tr.States(clock.Now())
				case op < 99:
					tr.Remove(store)
				default:
					tr.SetAddr(store, "addr")
				}
			}
		}()
	}
	// Check the invariant while the workers run, too: mu makes the view
	// consistent.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for checking := true; checking; {
		select {
		case <-done:
			checking = false
		default:
			checkHolding(t, tr)
		}
	}
	checkHolding(t, tr)

	for id := uint64(1); id <= stores; id++ {
		tr.Resume(id)
	}
	checkHolding(t, tr)
	require.Zero(t, tr.holding.Load())
	for _, s := range tr.States(clock.Now()) {
		require.Equal(t, StateUp, s.State)
	}
}

// TestScript runs the behaviour-over-time scripts in testdata/.
func TestScript(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		clock := newFakeClock()
		tr := New(clock.Now)
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			var store uint64
			if d.HasArg("store") {
				d.ScanArgs(t, "store", &store)
			}
			switch d.Cmd {
			case "advance":
				var by string
				d.ScanArgs(t, "by", &by)
				dur, err := time.ParseDuration(by)
				require.NoError(t, err)
				clock.Advance(dur)
				return ""
			case "addr":
				var addr string
				d.ScanArgs(t, "addr", &addr)
				tr.SetAddr(store, addr)
				return ""
			case "failure":
				return fmt.Sprintf("cooldown %v", tr.Failure(store))
			case "success":
				tr.Success(store)
				return ""
			case "pause":
				tr.Pause(store)
				return ""
			case "resume":
				tr.Resume(store)
				return ""
			case "available":
				ok, wait := tr.Available(store, clock.Now())
				switch {
				case ok:
					return "yes"
				case wait == NoEnd:
					return "no, paused"
				default:
					return fmt.Sprintf("no, wait %v", wait)
				}
			case "states":
				var b strings.Builder
				for _, s := range tr.States(clock.Now()) {
					fmt.Fprintf(&b, "store %d (%s): %s", s.StoreID, s.StoreAddr, s.State)
					if s.CooldownLeft > 0 {
						fmt.Fprintf(&b, " left=%v", s.CooldownLeft)
					}
					fmt.Fprintf(&b, " failures=%d total=%d\n", s.ConsecutiveFailures, s.TotalFailures)
				}
				return b.String()
			default:
				d.Fatalf(t, "unknown command %q", d.Cmd)
				return ""
			}
		})
	})
}
