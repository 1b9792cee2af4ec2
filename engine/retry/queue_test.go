package retry

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func rangeKey(sub uint64, start, end string) Key {
	return Key{Subscription: sub, Start: start, End: end}
}

// recorder returns actions that append their name to fired when run inline
// by a test (the queue itself never runs them).
type recorder struct{ fired []string }

func (r *recorder) action(name string) func() {
	return func() { r.fired = append(r.fired, name) }
}

func runAll(fired []dueAction) {
	for _, f := range fired {
		f.action()
	}
}

func TestQueuePopsInDueOrderTiesInSchedulingOrder(t *testing.T) {
	q := newRetryQueue()
	rec := &recorder{}
	rng := rand.New(rand.NewPCG(1, 2))
	type want struct {
		due  int64
		name string
	}
	var wants []want
	for i := range 500 {
		due := rng.Int64N(50) // many ties
		name := fmt.Sprintf("r%03d", i)
		q.schedule(Retry{Key: rangeKey(1, name, name+"\xff")}, due, rec.action(name))
		wants = append(wants, want{due, name})
	}
	slices.SortStableFunc(wants, func(a, b want) int { return int(a.due - b.due) })

	runAll(q.popDue(49, nil))

	require.Len(t, rec.fired, len(wants))
	for i, w := range wants {
		require.Equal(t, w.name, rec.fired[i], "position %d (due %d)", i, w.due)
	}
	require.Zero(t, q.len())
	require.Empty(t, q.byKey)
}

func TestQueuePopDueLeavesFutureEntries(t *testing.T) {
	q := newRetryQueue()
	rec := &recorder{}
	q.schedule(Retry{Key: rangeKey(1, "c", "d")}, 30, rec.action("c"))
	q.schedule(Retry{Key: rangeKey(1, "a", "b")}, 10, rec.action("a"))
	q.schedule(Retry{Key: rangeKey(1, "b", "c")}, 20, rec.action("b"))

	runAll(q.popDue(20, nil))
	require.Equal(t, []string{"a", "b"}, rec.fired)
	due, ok := q.headDue()
	require.True(t, ok)
	require.EqualValues(t, 30, due)
}

func TestQueueRescheduleReplacesPendingEntry(t *testing.T) {
	q := newRetryQueue()
	rec := &recorder{}
	key := rangeKey(7, "a", "z")
	_, replaced := q.schedule(Retry{Key: key, Attempt: 1}, 50, rec.action("first"))
	require.False(t, replaced)
	q.schedule(Retry{Key: rangeKey(7, "z", "")}, 40, rec.action("other"))
	_, replaced = q.schedule(Retry{Key: key, Attempt: 2}, 10, rec.action("second"))
	require.True(t, replaced)
	require.Equal(t, 2, q.len())

	runAll(q.popDue(100, nil))
	require.Equal(t, []string{"second", "other"}, rec.fired)
}

func TestQueueReportsHeadChanges(t *testing.T) {
	q := newRetryQueue()
	head := func(changed, _ bool) bool { return changed }

	require.True(t, head(q.schedule(Retry{Key: rangeKey(1, "a", "b")}, 100, func() {})), "first entry")
	require.False(t, head(q.schedule(Retry{Key: rangeKey(1, "b", "c")}, 200, func() {})), "later entry")
	require.False(t, head(q.schedule(Retry{Key: rangeKey(1, "c", "d")}, 100, func() {})), "tie goes behind the head")
	require.True(t, head(q.schedule(Retry{Key: rangeKey(1, "d", "e")}, 50, func() {})), "earlier entry")
	require.True(t, head(q.schedule(Retry{Key: rangeKey(1, "d", "e")}, 300, func() {})), "head moved later")
	require.False(t, head(q.cancel(rangeKey(1, "b", "c"))), "cancel behind the head")
	require.True(t, head(q.cancel(rangeKey(1, "a", "b"))), "cancel the head")
	due, _ := q.headDue()
	require.EqualValues(t, 100, due)
}

func TestQueueCancel(t *testing.T) {
	q := newRetryQueue()
	rec := &recorder{}
	q.schedule(Retry{Key: rangeKey(1, "a", "b")}, 10, rec.action("a"))
	q.schedule(Retry{Key: rangeKey(1, "b", "c")}, 20, rec.action("b"))

	_, found := q.cancel(rangeKey(1, "a", "b"))
	require.True(t, found)
	_, found = q.cancel(rangeKey(1, "a", "b"))
	require.False(t, found)
	_, found = q.cancel(rangeKey(2, "b", "c")) // same range, other subscription
	require.False(t, found)

	runAll(q.popDue(100, nil))
	require.Equal(t, []string{"b"}, rec.fired)
}

// Random schedules, replacements and cancels against a trivially correct
// model: the heap and its index must agree with it at every step.
func TestQueueMatchesModel(t *testing.T) {
	q := newRetryQueue()
	rng := rand.New(rand.NewPCG(3, 4))
	model := map[Key]int64{}
	keys := make([]Key, 64)
	for i := range keys {
		keys[i] = rangeKey(uint64(i%3), fmt.Sprint(i), fmt.Sprint(i+1))
	}
	now := int64(0)
	for step := range 20_000 {
		key := keys[rng.IntN(len(keys))]
		switch rng.IntN(4) {
		case 0, 1:
			due := now + rng.Int64N(100)
			q.schedule(Retry{Key: key}, due, func() {})
			model[key] = due
		case 2:
			_, found := q.cancel(key)
			_, inModel := model[key]
			require.Equal(t, inModel, found, "step %d", step)
			delete(model, key)
		case 3:
			now += rng.Int64N(20)
			fired := q.popDue(now, nil)
			wantFired := 0
			for k, due := range model {
				if due <= now {
					wantFired++
					delete(model, k)
				}
			}
			require.Len(t, fired, wantFired, "step %d", step)
		}
		require.Equal(t, len(model), q.len(), "step %d", step)
		require.Equal(t, len(model), len(q.byKey), "step %d", step)
		for i, slot := range q.heap {
			require.Equal(t, i, slot.entry.index, "step %d", step)
			require.Equal(t, model[slot.entry.retry.Key], slot.due, "step %d", step)
			if i > 0 {
				require.False(t, q.less(i, (i-1)/2), "step %d: heap order broken at %d", step, i)
			}
		}
	}
}

// After a burst drains, the heap array and the index are dropped, so their
// peak size is not kept (Go maps never shrink) and lookups stay cheap.
func TestQueueForgetsBurstSizeWhenDrained(t *testing.T) {
	q := newRetryQueue()
	for i := range 2 * maxFreeEntries {
		q.schedule(Retry{Key: rangeKey(1, fmt.Sprint(i), "")}, int64(i), func() {})
	}
	require.Len(t, q.popDue(int64(maxFreeEntries), nil), maxFreeEntries+1)
	require.NotZero(t, cap(q.heap), "not drained yet")
	q.popDue(math.MaxInt64, nil)
	require.Zero(t, q.len())
	require.Zero(t, cap(q.heap))
	require.Zero(t, q.peak)
	require.Len(t, q.free, maxFreeEntries, "free list stays bounded")
}
