package reload

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

// spansOf returns the spans and priorities of tasks, for compact asserts.
func spansOf(tasks []RangeTask) []string {
	var out []string
	for _, t := range tasks {
		out = append(out, fmt.Sprintf("sub%d [%s,%s) %v x%d", t.Sub, t.Span.Start, t.Span.End, t.Priority, t.MergedFrom))
	}
	return out
}

// TestMergesAdjacentKeepsPriority is TiCDC's
// TestRangeReloadAggregatorMergesSpans: [a,b)+[b,c)+[d,e) gives [a,c) HIGH
// (one of its inputs was HIGH) and [d,e) LOW.
func TestMergesAdjacentKeepsPriority(t *testing.T) {
	for _, highFirst := range []bool{true, false} {
		a := New(Config{})
		ab, bc := High, Low
		if !highFirst {
			ab, bc = Low, High
		}
		a.Add(1, sp("a", "b"), ab, "epoch_not_match", ms(0))
		a.Add(1, sp("d", "e"), Low, "region_not_found", ms(1))
		a.Add(1, sp("b", "c"), bc, "not_leader", ms(2))
		tasks := a.Tick(ms(25))
		require.Equal(t, []string{"sub1 [a,c) high x2", "sub1 [d,e) low x1"}, spansOf(tasks))
		require.Equal(t, []string{"epoch_not_match", "not_leader"}, tasks[0].Reasons)
		require.Equal(t, ms(0), tasks[0].FirstQueued)
		require.Equal(t, ms(1), tasks[1].FirstQueued)
		require.Equal(t, Stats{Flushes: 1, Tasks: 2, SpansMerged: 1}, a.Stats())
	}
}

func TestMergeShapes(t *testing.T) {
	a := New(Config{})
	a.Add(1, sp("a", "m"), Low, "x", ms(0))
	a.Add(1, sp("c", "d"), High, "y", ms(0)) // contained: lends its priority
	a.Add(1, sp("k", "p"), Low, "x", ms(0))  // overlapping
	a.Add(1, sp("k", "p"), Low, "x", ms(0))  // duplicate
	a.Add(1, sp("s", ""), Low, "z", ms(0))   // to +inf
	a.Add(1, sp("x", "y"), Low, "z", ms(0))  // inside [s, +inf)
	tasks := a.Tick(ms(25))
	require.Equal(t, []string{"sub1 [a,p) high x4", "sub1 [s,) low x2"}, spansOf(tasks))
	require.Equal(t, []string{"x", "y"}, tasks[0].Reasons, "reasons distinct and sorted")
	require.Equal(t, Stats{Flushes: 1, Tasks: 2, SpansMerged: 4}, a.Stats())
}

func TestDebounce(t *testing.T) {
	a := New(Config{})
	_, ok := a.DueAt()
	require.False(t, ok, "nothing queued")
	require.Nil(t, a.Tick(ms(0)))

	require.False(t, a.Add(1, sp("a", "b"), Low, "", ms(100)))
	due, ok := a.DueAt()
	require.True(t, ok)
	require.Equal(t, ms(125), due)

	// A later span joins the window but does not extend it.
	require.False(t, a.Add(1, sp("c", "d"), Low, "", ms(120)))
	due, _ = a.DueAt()
	require.Equal(t, ms(125), due)

	require.Nil(t, a.Tick(ms(124)), "not due yet")
	require.Equal(t, 2, a.Len())
	require.Len(t, a.Tick(ms(125)), 2, "due exactly at first + 25ms")
	require.Zero(t, a.Len())
	_, ok = a.DueAt()
	require.False(t, ok)

	// The next span opens a new window.
	a.Add(1, sp("e", "f"), Low, "", ms(200))
	due, _ = a.DueAt()
	require.Equal(t, ms(225), due)
}

func TestDebouncePerSubscription(t *testing.T) {
	a := New(Config{Debounce: 10 * time.Millisecond})
	a.Add(2, sp("a", "b"), Low, "", ms(5))
	a.Add(1, sp("a", "b"), Low, "", ms(0))
	a.Add(3, sp("a", "b"), Low, "", ms(8))
	due, _ := a.DueAt()
	require.Equal(t, ms(10), due, "earliest set")
	require.Equal(t, []string{"sub1 [a,b) low x1"}, spansOf(a.Tick(ms(12))))
	due, _ = a.DueAt()
	require.Equal(t, ms(15), due)
	require.Equal(t, []string{"sub2 [a,b) low x1", "sub3 [a,b) low x1"}, spansOf(a.Tick(ms(30))), "ordered by subscription")
}

func TestImmediateFlushAtMaxSpans(t *testing.T) {
	a := New(Config{})
	// Every other span, so nothing merges: 128 distinct spans.
	key := func(i int) string { return fmt.Sprintf("k%04d", i) }
	for i := range DefaultMaxSpans - 1 {
		require.False(t, a.Add(7, sp(key(2*i), key(2*i+1)), Low, "", ms(i/20)), "span %d", i)
	}
	a.Add(8, sp("a", "b"), Low, "", ms(1)) // another subscription, not full
	require.True(t, a.Add(7, sp(key(1000), key(1001)), High, "", ms(6)), "128th span")
	due, _ := a.DueAt()
	require.Equal(t, ms(6), due, "full set is due now")

	tasks := a.Tick(ms(6))
	require.Len(t, tasks, DefaultMaxSpans)
	for _, task := range tasks {
		require.Equal(t, uint64(7), task.Sub, "only the full set flushes")
	}
	require.Equal(t, 1, a.Len())
	due, _ = a.DueAt()
	require.Equal(t, ms(26), due, "sub 8 keeps its own window")

	// A full set that merges down still counts its inputs.
	for range DefaultMaxSpans - 1 {
		a.Add(9, sp("a", "b"), Low, "", ms(30))
	}
	require.True(t, a.Add(9, sp("a", "b"), Low, "", ms(30)))
	require.Equal(t, []string{"sub8 [a,b) low x1", "sub9 [a,b) low x128"}, spansOf(a.Tick(ms(30))))
	require.Equal(t, Stats{Flushes: 3, Tasks: 130, SpansMerged: 127}, a.Stats())
}

func TestStoppedSubscriptionSkipped(t *testing.T) {
	t.Run("Stop", func(t *testing.T) {
		a := New(Config{})
		a.Add(1, sp("a", "b"), Low, "", ms(0))
		a.Add(2, sp("a", "b"), Low, "", ms(0))
		a.Add(2, sp("c", "d"), Low, "", ms(0))
		a.Stop(2)
		require.Equal(t, 1, a.Len())
		require.False(t, a.Add(2, sp("e", "f"), High, "", ms(1)), "late span for a stopped subscription")
		require.Equal(t, []string{"sub1 [a,b) low x1"}, spansOf(a.Tick(ms(100))))
		require.Equal(t, uint64(3), a.Stats().Dropped)
		_, ok := a.DueAt()
		require.False(t, ok)
	})
	t.Run("predicate", func(t *testing.T) {
		stopped := map[uint64]bool{}
		a := New(Config{Stopped: func(sub uint64) bool { return stopped[sub] }})
		a.Add(1, sp("a", "b"), Low, "", ms(0))
		a.Add(2, sp("a", "b"), Low, "", ms(0))
		stopped[2] = true // the engine stops it while its set waits
		require.Len(t, a.Pending(ms(1)), 1, "a set its flush will drop is not shown")
		require.Equal(t, []string{"sub1 [a,b) low x1"}, spansOf(a.Tick(ms(25))))
		require.False(t, a.Add(2, sp("a", "b"), Low, "", ms(30)))
		require.Zero(t, a.Len())
		require.Equal(t, Stats{Flushes: 1, Tasks: 1, Dropped: 2}, a.Stats())
	})
}

func TestEmptySpanDropped(t *testing.T) {
	a := New(Config{})
	require.False(t, a.Add(1, sp("b", "a"), High, "", ms(0)))
	require.False(t, a.Add(1, sp("b", "b"), High, "", ms(0)))
	_, ok := a.DueAt()
	require.False(t, ok, "an empty span opens no window")
	require.Equal(t, uint64(2), a.Stats().Dropped)
}

func TestPending(t *testing.T) {
	a := New(Config{})
	a.Add(1, sp("c", "d"), Low, "not_leader", ms(10))
	a.Add(1, sp("a", "b"), Low, "epoch_not_match", ms(12))
	a.Add(1, sp("b", "c"), High, "force_reload", ms(14))
	a.Add(1, sp("a", "b"), Low, "epoch_not_match", ms(16))
	a.Add(1, sp("x", "y"), Low, "region_not_found", ms(18))
	a.Add(2, sp("", ""), Low, "", ms(20))

	pending := a.Pending(ms(30))
	require.Equal(t, []PendingSpan{
		{RangeTask: RangeTask{Sub: 1, Span: sp("a", "d"), Priority: High, Reasons: []string{"epoch_not_match", "force_reload", "not_leader"}, MergedFrom: 4, FirstQueued: ms(10)}, QueuedFor: 20 * time.Millisecond},
		{RangeTask: RangeTask{Sub: 1, Span: sp("x", "y"), Priority: Low, Reasons: []string{"region_not_found"}, MergedFrom: 1, FirstQueued: ms(18)}, QueuedFor: 12 * time.Millisecond},
		{RangeTask: RangeTask{Sub: 2, Span: sp("", ""), Priority: Low, MergedFrom: 1, FirstQueued: ms(20)}, QueuedFor: 10 * time.Millisecond},
	}, pending)

	// Looking does not flush or count anything.
	require.Equal(t, 6, a.Len())
	require.Equal(t, Stats{}, a.Stats())
	var want []RangeTask
	for _, p := range pending {
		want = append(want, p.RangeTask)
	}
	for _, p := range pending {
		require.Nil(t, p.Absorbed, "Pending copies no requests")
	}
	tasks := a.Tick(ms(45))
	for i := range tasks {
		tasks[i].Absorbed = nil // compared in TestTickReportsAbsorbed
	}
	require.Equal(t, want, tasks, "Tick emits what Pending showed")
	require.Empty(t, a.Pending(ms(45)))
}

// TestTickReportsAbsorbed: each flushed task names the requests it absorbed,
// as they were added, sorted by start, each inside the merged span; their
// count is MergedFrom and their total is what the set held.
func TestTickReportsAbsorbed(t *testing.T) {
	a := New(Config{})
	a.Add(1, sp("c", "d"), Low, "not_leader", ms(10))
	a.Add(1, sp("a", "b"), Low, "epoch_not_match", ms(12))
	a.Add(1, sp("b", "c"), High, "force_reload", ms(14))
	a.Add(1, sp("a", "b"), Low, "epoch_not_match", ms(16))
	a.Add(1, sp("x", ""), Low, "region_not_found", ms(18))
	a.Add(1, sp("y", "z"), Low, "stale", ms(19))
	a.Add(2, sp("m", "n"), Low, "", ms(20))

	tasks := a.Tick(ms(45))
	require.Equal(t, []string{"sub1 [a,d) high x4", "sub1 [x,) low x2", "sub2 [m,n) low x1"}, spansOf(tasks))
	require.Equal(t, []Request{
		{Span: sp("a", "b"), Priority: Low, Reason: "epoch_not_match", QueuedAt: ms(12)},
		{Span: sp("a", "b"), Priority: Low, Reason: "epoch_not_match", QueuedAt: ms(16)},
		{Span: sp("b", "c"), Priority: High, Reason: "force_reload", QueuedAt: ms(14)},
		{Span: sp("c", "d"), Priority: Low, Reason: "not_leader", QueuedAt: ms(10)},
	}, sortedByQueued(tasks[0].Absorbed, 2))
	require.Equal(t, []Request{
		{Span: sp("x", ""), Priority: Low, Reason: "region_not_found", QueuedAt: ms(18)},
		{Span: sp("y", "z"), Priority: Low, Reason: "stale", QueuedAt: ms(19)},
	}, tasks[1].Absorbed)
	require.Equal(t, []Request{{Span: sp("m", "n"), QueuedAt: ms(20)}}, tasks[2].Absorbed)
	for _, task := range tasks {
		require.Len(t, task.Absorbed, task.MergedFrom)
		require.Equal(t, len(task.Absorbed), cap(task.Absorbed), "a task cannot append into its neighbour's requests")
	}

	// The next set is a new array: the last flush's requests stay as they were.
	a.Add(1, sp("a", "z"), Low, "later", ms(50))
	require.Len(t, a.Tick(ms(80)), 1)
	require.Equal(t, "epoch_not_match", tasks[0].Absorbed[0].Reason)
}

// sortedByQueued orders the first n requests (equal spans, in any order
// after the sort by start) by when they were queued.
func sortedByQueued(rs []Request, n int) []Request {
	out := slices.Clone(rs)
	slices.SortFunc(out[:n], func(x, y Request) int { return x.QueuedAt.Compare(y.QueuedAt) })
	return out
}

func TestPriorityString(t *testing.T) {
	require.Equal(t, "low", Low.String())
	require.Equal(t, "high", High.String())
	require.Equal(t, "priority(7)", Priority(7).String())
}

// TestScript runs the behaviour-over-time scripts in testdata/script.
func TestScript(t *testing.T) {
	datadriven.Walk(t, "testdata/script", func(t *testing.T, path string) {
		now := t0
		stopped := map[uint64]bool{}
		a := New(Config{Stopped: func(sub uint64) bool { return stopped[sub] }})
		render := func(tasks []RangeTask) string {
			var b strings.Builder
			for _, task := range tasks {
				fmt.Fprintf(&b, "sub %d [%s, %s) %v from=%d reasons=%s queued=%v\n",
					task.Sub, task.Span.Start, task.Span.End, task.Priority, task.MergedFrom,
					strings.Join(task.Reasons, ","), task.FirstQueued.Sub(t0))
			}
			return b.String()
		}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			var sub uint64
			if d.HasArg("sub") {
				d.ScanArgs(t, "sub", &sub)
			}
			switch d.Cmd {
			case "advance":
				var by string
				d.ScanArgs(t, "by", &by)
				dur, err := time.ParseDuration(by)
				require.NoError(t, err)
				now = now.Add(dur)
				return ""
			case "add":
				// One span per input line: start end [high] [reason]; "-" is
				// an empty key (the smallest start, or +inf as an end).
				var out []string
				for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
					f := strings.Fields(line)
					key := func(s string) string {
						if s == "-" {
							return ""
						}
						return s
					}
					prio, reason := Low, ""
					for _, extra := range f[2:] {
						if extra == "high" {
							prio = High
						} else {
							reason = extra
						}
					}
					if a.Add(sub, sp(key(f[0]), key(f[1])), prio, reason, now) {
						out = append(out, "flush now")
					}
				}
				return strings.Join(out, "\n")
			case "due":
				due, ok := a.DueAt()
				if !ok {
					return "nothing queued"
				}
				return fmt.Sprintf("due at %v", due.Sub(t0))
			case "tick":
				return render(a.Tick(now))
			case "pending":
				var b strings.Builder
				for _, p := range a.Pending(now) {
					fmt.Fprintf(&b, "%sago=%v\n", render([]RangeTask{p.RangeTask}), p.QueuedFor)
				}
				return b.String()
			case "stop":
				a.Stop(sub)
				return ""
			case "stop-engine":
				stopped[sub] = true
				return ""
			case "stats":
				s := a.Stats()
				return fmt.Sprintf("flushes=%d tasks=%d merged=%d dropped=%d queued=%d", s.Flushes, s.Tasks, s.SpansMerged, s.Dropped, a.Len())
			default:
				d.Fatalf(t, "unknown command %q", d.Cmd)
				return ""
			}
		})
	})
}

// The UI must see the same data Tick would flush even for a large set; this
// guards Pending from diverging from Tick through in-place reordering.
func TestPendingThenTickLarge(t *testing.T) {
	a := New(Config{MaxSpans: 1 << 20})
	in := randomSpans(5000, 3)
	for i, s := range in {
		a.Add(1, s, Priority(i%2), "", t0)
	}
	pending := a.Pending(t0)
	tasks := a.Tick(t0.Add(time.Second))
	require.Len(t, tasks, len(pending))
	merged := MergeSpans(slices.Clone(in))
	absorbed := 0
	for i := range tasks {
		require.Len(t, tasks[i].Absorbed, tasks[i].MergedFrom)
		absorbed += len(tasks[i].Absorbed)
		tasks[i].Absorbed = nil // Pending never lists them
		require.Equal(t, pending[i].RangeTask, tasks[i])
		require.Equal(t, merged[i], tasks[i].Span)
	}
	require.Equal(t, len(in), absorbed)
}
