package engine

import (
	"encoding/hex"
	"time"

	"github.com/pulltop/pulltop/engine/reload"
	"github.com/pulltop/pulltop/snapshots"
)

// What the operator can look back on (issue 17): the reload aggregator
// debounces for 25 ms and a retry waits a few hundred, so what waits at the
// instant of a snapshot is almost always nothing, and the merging and the
// retrying the Reloads and Retries views exist to show would be invisible.
// The engine therefore keeps the last flushes and the last fired retries.
const (
	// recentFlushCapacity bounds the flush history: one entry per merged
	// span a flush emitted.
	recentFlushCapacity = 256
	// recentRetryCapacity bounds the fired-retry history.
	recentRetryCapacity = 256
	// absorbedKept bounds the spans kept per flush entry (MergedFrom stays
	// the true count). A set flushes at 128 requests, so this keeps most of
	// a full one while a history of 256 entries stays a few hundred KiB.
	absorbedKept = 64
)

// history is a bounded ring of snapshot rows, oldest dropped first. Rows
// are stored in their snapshot form, hex keys and all, converted once when
// recorded, so a publish copies at most the ring's capacity of structs and
// converts nothing; an unchanged ring is not even copied.
//
// Owned by the event loop, like everything the snapshot is built from.
type history[T any] struct {
	rows  []T
	seqs  []uint64 // seqs[i] is the sequence number of rows[i]
	added uint64   // rows ever added; the newest has sequence number added
	// published is the last copy handed to a snapshot, oldest first; nil
	// once anything changed. Snapshots are immutable, so they share it.
	published []T
}

func newHistory[T any](capacity int) history[T] {
	return history[T]{rows: make([]T, capacity), seqs: make([]uint64, capacity)}
}

// add records row and returns its sequence number (from 1), by which it
// can be updated while it is still kept.
func (h *history[T]) add(row T) uint64 {
	h.added++
	i := int(h.added % uint64(len(h.rows)))
	h.rows[i], h.seqs[i] = row, h.added
	h.published = nil
	return h.added
}

// update changes the row with sequence number seq, if it is still kept.
func (h *history[T]) update(seq uint64, fn func(*T)) {
	if seq == 0 {
		return
	}
	if i := int(seq % uint64(len(h.rows))); h.seqs[i] == seq {
		fn(&h.rows[i])
		h.published = nil
	}
}

// len is how many rows are kept.
func (h *history[T]) len() int { return int(min(h.added, uint64(len(h.rows)))) }

// snapshot returns the kept rows oldest first; nil when there are none.
func (h *history[T]) snapshot() []T {
	n := h.len()
	if n == 0 {
		return nil
	}
	if h.published == nil {
		out := make([]T, n)
		first := h.added - uint64(n) + 1
		for k := range n {
			out[k] = h.rows[int((first+uint64(k))%uint64(len(h.rows)))]
		}
		h.published = out
	}
	return h.published
}

// recordFlush adds one merged span of a flush to the history and returns
// its sequence number, which the PD lookup of that span carries so its
// answer can be written next to it.
func (e *Engine) recordFlush(t reload.RangeTask, now time.Time) uint64 {
	kept := t.Absorbed[:min(len(t.Absorbed), absorbedKept)]
	absorbed := make([]snapshots.SpanReason, len(kept))
	for i, r := range kept {
		absorbed[i] = snapshots.SpanReason{
			Start: hex.EncodeToString([]byte(r.Span.Start)), End: hex.EncodeToString([]byte(r.Span.End)), Reason: r.Reason,
		}
	}
	return e.flushes.add(snapshots.RecentReload{
		At: now.UTC(), Subscription: t.Sub,
		Start: hex.EncodeToString([]byte(t.Span.Start)), End: hex.EncodeToString([]byte(t.Span.End)),
		Reasons: t.Reasons, MergedFrom: t.MergedFrom, Absorbed: absorbed,
		Regions: -1,
	})
}

// flushAnswered writes how many regions PD returned for a flushed span.
func (e *Engine) flushAnswered(seq uint64, regions int) {
	e.flushes.update(seq, func(r *snapshots.RecentReload) { r.Regions = regions })
}

// retryFired counts a retry that left the heap and records what came of it.
func (e *Engine) retryFired(row snapshots.RecentRetry) {
	e.stats.retriesFired++
	row.At = time.Now().UTC()
	e.fired.add(row)
}

// firedRegionRetry is the history row of a region's retry.
func firedRegionRetry(r *regionState, storeID uint64, reason string, attempt int, outcome string) snapshots.RecentRetry {
	return snapshots.RecentRetry{
		Subscription: r.sub.id, RegionID: r.id, StoreID: storeID, Start: r.startHex, End: r.endHex,
		Reason: reason, Attempt: attempt, Outcome: outcome,
	}
}
