// Package reload owns the range-reload aggregator of the puller engine: the
// spans whose regions must be looked up again in PD (after EpochNotMatch,
// RegionNotFound, an unusable leader, an operator's force-reload, ...) are
// collected per subscription for a short debounce, then merged, so that a
// burst of region errors after a split storm turns into a few PD scans
// instead of one per region (DESIGN §4 item 4; TiCDC PR #4700's
// rangeReloadAggregator).
//
// The core is pure, shaped like etcd raft's RawNode: it never starts a
// goroutine, arms a timer, sleeps or reads a clock. Time comes in as the now
// argument; due work comes out of Tick. The engine goroutine that owns an
// Aggregator drives it with its own timer:
//
//	if agg.Add(sub, span, prio, reason, now()) { // set is full
//		dispatch(agg.Tick(now()))
//	}
//	rearm(timer, agg.DueAt()) // after every Add and every Tick
//	...
//	case <-timer.C:
//		dispatch(agg.Tick(now()))
//		rearm(timer, agg.DueAt())
//
// It must never block on, or call into, the engine: the merged range tasks
// are returned, and what to do with them (locate regions, honour store
// cooldowns, lock ranges) is the caller's business.
package reload

import (
	"cmp"
	"slices"
	"strconv"
	"time"
)

const (
	// DefaultDebounce is how long a subscription's set collects spans after
	// its first one before it is flushed. The window starts at the first
	// span and is not extended by later ones, so a steady trickle of errors
	// still reloads every 25ms rather than never.
	DefaultDebounce = 25 * time.Millisecond
	// DefaultMaxSpans flushes a set at once when it holds this many spans:
	// by then a split storm is under way and waiting out the debounce only
	// delays recovery.
	DefaultMaxSpans = 128
)

// Priority says how urgently a span must be reloaded. The zero value is Low.
type Priority uint8

const (
	// Low is a background reload, e.g. a range retried after an error.
	Low Priority = iota
	// High is a reload something is waiting on, e.g. an operator's force
	// reload or a region whose resolved ts is stuck.
	High
)

func (p Priority) String() string {
	switch p {
	case Low:
		return "low"
	case High:
		return "high"
	}
	return "priority(" + strconv.Itoa(int(p)) + ")"
}

// Config tunes an Aggregator; the zero value gives the defaults.
type Config struct {
	// Debounce is DefaultDebounce when zero.
	Debounce time.Duration
	// MaxSpans is DefaultMaxSpans when zero.
	MaxSpans int
	// Stopped, if set, tells whether a subscription has been stopped, so the
	// engine's own record is the single source of truth. Spans of a stopped
	// subscription are dropped when added and when flushed. Stop works with
	// or without it. It is called on the owner goroutine only.
	Stopped func(sub uint64) bool
}

// RangeTask is one merged span to reload, as emitted by Tick.
type RangeTask struct {
	Sub  uint64
	Span Span
	// Priority is the most urgent priority among the merged requests.
	Priority Priority
	// Reasons are the distinct non-empty reasons of the merged requests,
	// sorted, for logs and the UI.
	Reasons []string
	// MergedFrom is how many Add calls this task absorbed.
	MergedFrom int
	// FirstQueued is when the oldest of those requests was added.
	FirstQueued time.Time
	// Absorbed are the requests the task absorbed, as they were added,
	// sorted by start key; len(Absorbed) == MergedFrom. Only Tick fills it:
	// the flushed set is gone by then, so the task owns them and no copy is
	// made. Pending leaves it nil, so a snapshot of what waits copies
	// nothing per request.
	Absorbed []Request
}

// PendingSpan is a merged span still waiting in the aggregator, for the UI's
// Reloads view: what Tick would emit for it, plus how long it has waited.
type PendingSpan struct {
	RangeTask
	QueuedFor time.Duration
}

// Stats are cumulative counters for the snapshot totals.
type Stats struct {
	// Flushes counts sets flushed, one per subscription per flush
	// (snapshot totals.reloads_flushed).
	Flushes uint64
	// Tasks counts merged range tasks emitted.
	Tasks uint64
	// SpansMerged counts requests merged away: inputs − outputs over all
	// flushes (snapshot totals.reload_spans_merged).
	SpansMerged uint64
	// Dropped counts requests thrown away: for a stopped subscription, or
	// for an empty span.
	Dropped uint64
}

// Aggregator collects spans to reload per subscription and hands them back
// merged once due.
//
// Owner: the single engine goroutine that calls Add and Tick. It is not safe
// for concurrent use; other goroutines (the snapshot builder, the operator)
// must go through that goroutine. Pending and Stats are cheap enough for
// the owner to call on every snapshot.
type Aggregator struct {
	debounce  time.Duration
	maxSpans  int
	isStopped func(sub uint64) bool

	sets    map[uint64]*pendingSet
	stopped map[uint64]struct{}
	queued  int // requests in all sets
	stats   Stats
}

// pendingSet is one subscription's requests since its last flush.
type pendingSet struct {
	requests []Request
	// dueAt is first request + debounce, or the moment the set filled up.
	dueAt time.Time
}

// Request is one Add call.
type Request struct {
	Span     Span
	Priority Priority
	Reason   string
	QueuedAt time.Time
}

// New returns an empty Aggregator.
func New(cfg Config) *Aggregator {
	a := &Aggregator{
		debounce:  cfg.Debounce,
		maxSpans:  cfg.MaxSpans,
		isStopped: cfg.Stopped,
		sets:      map[uint64]*pendingSet{},
		stopped:   map[uint64]struct{}{},
	}
	if a.debounce <= 0 {
		a.debounce = DefaultDebounce
	}
	if a.maxSpans <= 0 {
		a.maxSpans = DefaultMaxSpans
	}
	return a
}

// Add queues span of subscription sub for reload and reports whether a flush
// is due right now (the set just reached MaxSpans); if so, call Tick(now).
// Otherwise the set is due at DueAt, which the first span of an empty set
// moves to now + Debounce. Spans of stopped subscriptions and empty spans
// are dropped.
func (a *Aggregator) Add(sub uint64, span Span, prio Priority, reason string, now time.Time) (flushNow bool) {
	if span.IsEmpty() || a.subStopped(sub) {
		a.stats.Dropped++
		return false
	}
	set := a.sets[sub]
	if set == nil {
		set = &pendingSet{dueAt: now.Add(a.debounce)}
		a.sets[sub] = set
	}
	set.requests = append(set.requests, Request{Span: span, Priority: prio, Reason: reason, QueuedAt: now})
	a.queued++
	if len(set.requests) >= a.maxSpans {
		if now.Before(set.dueAt) {
			set.dueAt = now
		}
		return true
	}
	return false
}

// DueAt returns when the next set is due; ok is false when nothing is
// queued. The owner arms its timer for it after every Add and Tick. A set
// that filled up is due at the moment it did, which may be in the past.
func (a *Aggregator) DueAt() (due time.Time, ok bool) {
	for _, set := range a.sets {
		if !ok || set.dueAt.Before(due) {
			due, ok = set.dueAt, true
		}
	}
	return due, ok
}

// Tick flushes every set due at now and returns its merged range tasks,
// ordered by subscription and start key; nil when nothing is due. Sets of
// stopped subscriptions are dropped without emitting anything.
func (a *Aggregator) Tick(now time.Time) []RangeTask {
	var due []uint64
	for sub, set := range a.sets {
		if !now.Before(set.dueAt) {
			due = append(due, sub)
		}
	}
	if len(due) == 0 {
		return nil
	}
	slices.Sort(due)
	var tasks []RangeTask
	for _, sub := range due {
		set := a.sets[sub]
		delete(a.sets, sub)
		a.queued -= len(set.requests)
		if a.subStopped(sub) {
			a.stats.Dropped += uint64(len(set.requests))
			continue
		}
		before := len(tasks)
		tasks = appendMerged(tasks, sub, set.requests, true)
		emitted := len(tasks) - before
		a.stats.Flushes++
		a.stats.Tasks += uint64(emitted)
		a.stats.SpansMerged += uint64(len(set.requests) - emitted)
	}
	return tasks
}

// Stop drops the subscription's pending spans and any it is given later.
// Subscription ids are never reused and few, so remembering them is cheap.
func (a *Aggregator) Stop(sub uint64) {
	a.stopped[sub] = struct{}{}
	if set := a.sets[sub]; set != nil {
		delete(a.sets, sub)
		a.queued -= len(set.requests)
		a.stats.Dropped += uint64(len(set.requests))
	}
}

// Pending returns what is waiting, merged as Tick would merge it, ordered by
// subscription and start key. Sets that their flush will drop, because the
// Stopped predicate now says so, are left out.
func (a *Aggregator) Pending(now time.Time) []PendingSpan {
	subs := make([]uint64, 0, len(a.sets))
	for sub := range a.sets {
		if !a.subStopped(sub) {
			subs = append(subs, sub)
		}
	}
	slices.Sort(subs)
	var tasks []RangeTask
	for _, sub := range subs {
		// Merging reorders the set's requests in place; their order carries
		// no meaning, and the flush's sort then finds them sorted.
		tasks = appendMerged(tasks, sub, a.sets[sub].requests, false)
	}
	pending := make([]PendingSpan, len(tasks))
	for i, t := range tasks {
		pending[i] = PendingSpan{RangeTask: t, QueuedFor: now.Sub(t.FirstQueued)}
	}
	return pending
}

// Len returns how many requests are queued, before merging.
func (a *Aggregator) Len() int { return a.queued }

// Stats returns the cumulative counters.
func (a *Aggregator) Stats() Stats { return a.stats }

func (a *Aggregator) subStopped(sub uint64) bool {
	if _, ok := a.stopped[sub]; ok {
		return true
	}
	return a.isStopped != nil && a.isStopped(sub)
}

// appendMerged merges one subscription's requests the way MergeSpans merges
// spans (sort by start, fold overlapping and adjacent ones) while keeping
// the bookkeeping a RangeTask carries, and appends the result to tasks.
// With absorbed, each task's Absorbed is its run of the sorted requests (a
// subslice: the caller must be done with requests).
func appendMerged(tasks []RangeTask, sub uint64, requests []Request, absorbed bool) []RangeTask {
	slices.SortFunc(requests, func(x, y Request) int { return compareStart(x.Span, y.Span) })
	first := len(tasks)
	runStart := 0
	for i, r := range requests {
		if n := len(tasks); n > first && touches(tasks[n-1].Span, r.Span) {
			t := &tasks[n-1]
			t.Span.End = laterEnd(t.Span.End, r.Span.End)
			t.Priority = max(t.Priority, r.Priority)
			t.Reasons = addReason(t.Reasons, r.Reason)
			t.MergedFrom++
			if r.QueuedAt.Before(t.FirstQueued) {
				t.FirstQueued = r.QueuedAt
			}
			continue
		}
		if absorbed && len(tasks) > first {
			tasks[len(tasks)-1].Absorbed = requests[runStart:i:i]
		}
		runStart = i
		tasks = append(tasks, RangeTask{
			Sub:         sub,
			Span:        r.Span,
			Priority:    r.Priority,
			Reasons:     addReason(nil, r.Reason),
			MergedFrom:  1,
			FirstQueued: r.QueuedAt,
		})
	}
	if absorbed && len(tasks) > first {
		tasks[len(tasks)-1].Absorbed = requests[runStart:len(requests):len(requests)]
	}
	return tasks
}

// addReason inserts reason into the sorted, distinct list reasons.
func addReason(reasons []string, reason string) []string {
	if reason == "" {
		return reasons
	}
	i, found := slices.BinarySearchFunc(reasons, reason, cmp.Compare[string])
	if found {
		return reasons
	}
	return slices.Insert(reasons, i, reason)
}
