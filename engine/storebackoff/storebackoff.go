// Package storebackoff owns the per-store cooldown of the puller engine: after
// a store fails (stream broken, send error, ServerIsBusy, Congested, ...) the
// dispatcher leaves it alone for 200ms·2^(n−1), capped at 5s, and an operator
// may pause a store outright, which is a cooldown with no end (DESIGN §4
// item 3).
//
// It decides nothing but "may I send to this store now, and if not, for how
// long should I wait". It must never do I/O, start goroutines, sleep or read
// the wall clock on its own: time comes in through the clock given to New or
// the now argument, so every behaviour is testable with a fake clock.
//
// Success is called on every message received from a store, so its common
// case — nothing cooling, nothing paused — takes no lock and allocates
// nothing. This is the fix for review point 3 of TiCDC PR #4700, whose
// markSuccess took a mutex per received message.
package storebackoff

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// BaseCooldown is the cooldown after the first failure.
	BaseCooldown = 200 * time.Millisecond
	// MaxCooldown caps the doubling: a store that came back must not wait
	// longer than this to be tried again.
	MaxCooldown = 5 * time.Second
	// NoEnd is the wait Available reports for a paused store. It is the
	// longest time.Duration, so a caller that arms a timer with it simply
	// never fires; only Resume brings the store back.
	NoEnd time.Duration = math.MaxInt64
)

// Store states as the operator sees them. The strings match
// snapshots.StoreUp, StoreCooldown and StorePaused.
const (
	StateUp       = "up"
	StateCooldown = "cooldown"
	StatePaused   = "paused"
)

// StoreState is one store's row in the UI's Stores view.
type StoreState struct {
	StoreID   uint64
	StoreAddr string
	// State is StateUp, StateCooldown or StatePaused. A store whose cooldown
	// has run out without a Success is StateUp again (the dispatcher will try
	// it), but keeps its ConsecutiveFailures.
	State string
	// CooldownLeft is how long until the store may be tried again; zero
	// when up, and zero when paused (a pause has no end).
	CooldownLeft time.Duration
	// ConsecutiveFailures is the n in 200ms·2^(n−1): failures since the last
	// Success or Resume that each started or lengthened a cooldown.
	ConsecutiveFailures int
	// TotalFailures counts every Failure ever reported for the store,
	// including those that arrived while it was already cooling.
	TotalFailures uint64
}

// Tracker holds the cooldown and pause state of every store the engine knows.
//
// It is safe for concurrent use: stream workers report Success and Failure,
// the dispatcher asks Available, the operator pauses and resumes, and the
// snapshot builder reads States, all from their own goroutines. All state
// changes happen under mu; the atomics exist only so that Success and
// Available can skip mu when the store has nothing to clear.
type Tracker struct {
	clock func() time.Time

	// holding counts stores that have consecutive failures or are paused,
	// i.e. stores for which Success or Available might have to look closer.
	// It is only changed under mu, so it is exact whenever mu is free;
	// lock-free readers see either the value before or after a change, and
	// either is a valid order for calls that raced.
	// Padding keeps holding on a cache line of its own: Success reads it
	// on every received message, and sharing the line with something
	// written often made that read several times slower (-cpu 2).
	_       [64]byte
	holding atomic.Int64
	_       [56]byte

	// stores is copy-on-write: mu's holder publishes a new map when a store
	// is added or removed, so Success can look a store up without mu. Entries
	// themselves are shared and mutated in place under mu.
	stores atomic.Pointer[map[uint64]*storeEntry]

	mu sync.Mutex
}

type storeEntry struct {
	// clearable is true when Success would change this store: it has
	// consecutive failures and is not paused. Written under Tracker.mu, read
	// without it by Success.
	clearable atomic.Bool

	// Guarded by Tracker.mu.
	storeAddr           string
	paused              bool
	consecutiveFailures int
	totalFailures       uint64
	cooldownUntil       time.Time
}

// holding reports whether the entry counts in Tracker.holding.
func (e *storeEntry) holding() bool { return e.paused || e.consecutiveFailures > 0 }

// New returns a Tracker that reads the current time from clock (time.Now in
// production, a fake clock in tests). Failure is the only method that reads
// it; the others take the time as an argument or need none.
func New(clock func() time.Time) *Tracker {
	t := &Tracker{clock: clock}
	empty := map[uint64]*storeEntry{}
	t.stores.Store(&empty)
	return t
}

// Cooldown returns the cooldown after n consecutive failures:
// 200ms·2^(n−1), capped at MaxCooldown; zero for n <= 0.
func Cooldown(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	// Shifting past 2^5 already exceeds the cap; stopping there also keeps
	// the shift from overflowing for huge n.
	if n > 6 {
		return MaxCooldown
	}
	return min(BaseCooldown<<(n-1), MaxCooldown)
}

// SetAddr remembers a store's address for display, e.g. when the engine
// learns it from PD. It does not change the store's state.
func (t *Tracker) SetAddr(storeID uint64, storeAddr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entryLocked(storeID).storeAddr = storeAddr
}

// Failure records a failure of the store and returns how long it now cools
// down for (zero while paused: the pause already keeps it out).
//
// A failure reported while an earlier cooldown is still running counts in
// TotalFailures but does not lengthen the cooldown: nothing has been sent to
// the store since, so it is the same incident seen by another region or an
// in-flight request, not a new failed attempt. Without this, one broken
// stream reported by a hundred regions would jump straight to the cap.
//
// A cooldown that has run out makes the store available again without a
// Success; ConsecutiveFailures keeps counting across that, so the next
// Failure after the retry doubles the cooldown. Only Success or Resume
// clears it.
func (t *Tracker) Failure(storeID uint64) time.Duration {
	now := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entryLocked(storeID)
	before := e.holding()
	e.totalFailures++
	var cooldown time.Duration
	switch {
	case e.paused:
	case now.Before(e.cooldownUntil):
		cooldown = e.cooldownUntil.Sub(now)
	default:
		e.consecutiveFailures++
		cooldown = Cooldown(e.consecutiveFailures)
		e.cooldownUntil = now.Add(cooldown)
	}
	t.settleLocked(e, before)
	return cooldown
}

// Success records that the store answered, which ends any cooldown and
// resets the failure count. It does not end a pause: an operator's pause
// holds until Resume, whatever the store says.
//
// When no store is cooling or paused this is one atomic load: no lock, no
// allocation. When some store is, a store that has nothing to clear is
// still decided without the lock.
func (t *Tracker) Success(storeID uint64) {
	if t.holding.Load() == 0 {
		return
	}
	e := (*t.stores.Load())[storeID]
	if e == nil || !e.clearable.Load() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// Re-read under mu: a Pause or another Success may have won the race.
	if e.paused || e.consecutiveFailures == 0 {
		return
	}
	before := e.holding()
	e.consecutiveFailures = 0
	e.cooldownUntil = time.Time{}
	t.settleLocked(e, before)
}

// Available reports whether the dispatcher may send to the store at now. If
// not, wait is how long until it may: the rest of the cooldown, or NoEnd for
// a paused store (park its tasks until Resume).
func (t *Tracker) Available(storeID uint64, now time.Time) (ok bool, wait time.Duration) {
	if t.holding.Load() == 0 {
		return true, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := (*t.stores.Load())[storeID]
	switch {
	case e == nil:
		return true, 0
	case e.paused:
		return false, NoEnd
	case now.Before(e.cooldownUntil):
		return false, e.cooldownUntil.Sub(now)
	default:
		return true, 0
	}
}

// Pause takes the store out of dispatch until Resume. Success does not
// undo it. Pausing a paused store does nothing.
func (t *Tracker) Pause(storeID uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entryLocked(storeID)
	before := e.holding()
	e.paused = true
	t.settleLocked(e, before)
}

// Resume returns the store to up: it ends the pause and also forgets its
// failures and any cooldown, because the operator asked for it to be tried
// now. Resuming a store that is not paused clears its cooldown just the same.
func (t *Tracker) Resume(storeID uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entryLocked(storeID)
	before := e.holding()
	e.paused = false
	e.consecutiveFailures = 0
	e.cooldownUntil = time.Time{}
	t.settleLocked(e, before)
}

// Remove forgets a store, e.g. one PD reports as tombstone, so the table
// does not grow with every store the cluster ever had.
func (t *Tracker) Remove(storeID uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.stores.Load()
	e := old[storeID]
	if e == nil {
		return
	}
	// Reset the entry as well as unlinking it: a Success that looked it up
	// before the unlink must find nothing to clear once it gets mu, or it
	// would take the store out of holding a second time.
	before := e.holding()
	e.paused = false
	e.consecutiveFailures = 0
	e.cooldownUntil = time.Time{}
	t.settleLocked(e, before)
	next := make(map[uint64]*storeEntry, len(old))
	for id, other := range old {
		if id != storeID {
			next[id] = other
		}
	}
	t.stores.Store(&next)
}

// States returns every known store's state at now, sorted by store id.
func (t *Tracker) States(now time.Time) []StoreState {
	t.mu.Lock()
	stores := *t.stores.Load()
	states := make([]StoreState, 0, len(stores))
	for id, e := range stores {
		s := StoreState{
			StoreID:             id,
			StoreAddr:           e.storeAddr,
			State:               StateUp,
			ConsecutiveFailures: e.consecutiveFailures,
			TotalFailures:       e.totalFailures,
		}
		switch {
		case e.paused:
			s.State = StatePaused
		case now.Before(e.cooldownUntil):
			s.State = StateCooldown
			s.CooldownLeft = e.cooldownUntil.Sub(now)
		}
		states = append(states, s)
	}
	t.mu.Unlock()
	slices.SortFunc(states, func(a, b StoreState) int {
		switch {
		case a.StoreID < b.StoreID:
			return -1
		case a.StoreID > b.StoreID:
			return 1
		}
		return 0
	})
	return states
}

// entryLocked returns the store's entry, adding it if new. Caller holds mu.
func (t *Tracker) entryLocked(storeID uint64) *storeEntry {
	old := *t.stores.Load()
	if e := old[storeID]; e != nil {
		return e
	}
	e := &storeEntry{}
	next := make(map[uint64]*storeEntry, len(old)+1)
	for id, other := range old {
		next[id] = other
	}
	next[storeID] = e
	t.stores.Store(&next)
	return e
}

// settleLocked brings holding and e.clearable in line with e after a change
// made under mu; before is e.holding() from before the change. Doing this in
// one place, always under mu, is what keeps the counter exact under races.
func (t *Tracker) settleLocked(e *storeEntry, before bool) {
	after := e.holding()
	switch {
	case after && !before:
		t.holding.Add(1)
	case before && !after:
		t.holding.Add(-1)
	}
	e.clearable.Store(e.consecutiveFailures > 0 && !e.paused)
}
