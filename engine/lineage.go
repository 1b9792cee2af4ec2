package engine

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pulltop/pulltop/snapshots"
)

// Lineage: when a region splits or merges, TiKV answers its stream with
// EpochNotMatch, the engine reloads the range from PD, and PD answers with
// the new regions. The records they replace are still on the books then
// (waiting to reload), so each new record can say where it came from:
// "split from 70 at 00:28:20", and, through its parent's own lineage,
// "← 8" before that. The operator looking at a new region id then knows it
// is the old one's range, and the UI keeps showing the parent's history.

// maxLineage bounds a region's lineage (newest first).
const maxLineage = 8

// parentCandidates are the records of sub in span that PD's answer will
// replace: waiting for the range, not holding it.
func (e *Engine) parentCandidates(sub *subscription, span Span) []*regionState {
	var out []*regionState
	for _, r := range e.regionsIn(sub, span) {
		if r.lock == nil && !r.waitingLock {
			out = append(out, r)
		}
	}
	return out
}

// inheritLineage sets r's lineage from the record of the same region it
// replaces (old, may be nil) and from the records of other regions whose
// range it took over: a smaller range of one parent is a split from it, a
// larger one a merge with it.
// It returns how many steps it added (the parents found).
func inheritLineage(r, old *regionState, parents []*regionState, now time.Time) int {
	var lineage []snapshots.Origin
	if old != nil {
		lineage = old.lineage
	}
	steps := 0
	for _, p := range parents {
		if p.id == r.id || !overlapsRange(p.start, p.end, r.start, r.end) {
			continue
		}
		kind := snapshots.OriginSplit
		if within(p.start, p.end, r.start, r.end) && (p.start != r.start || p.end != r.end) {
			kind = snapshots.OriginMerge
		}
		// A new slice every time: lineages are shared with published
		// snapshots and between a parent's children.
		lineage = slices.Concat([]snapshots.Origin{{Kind: kind, From: p.id, At: now.UTC()}}, lineage, p.lineage)
		steps++
	}
	if len(lineage) > maxLineage {
		lineage = lineage[:maxLineage]
	}
	r.lineage = lineage // a new record: addRecord lists it for publish
	return min(steps, len(lineage))
}

// logLineage tells the event log where a new region came from ("region
// 81 split from 70"); a burst (a split storm) folds into one entry that
// counts.
func (e *Engine) logLineage(now time.Time, r *regionState, steps int) {
	var b strings.Builder
	b.WriteString("region ")
	b.WriteString(strconv.FormatUint(r.id, 10))
	for i, o := range r.lineage[:steps] {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(" ")
		b.WriteString(o.Phrase())
	}
	if len(e.subs) > 1 {
		b.WriteString(" (subscription " + strconv.FormatUint(r.sub.id, 10) + ")")
	}
	e.logEvent(now, snapshots.LogRegion, "region "+strconv.FormatUint(r.id, 10), b.String(), "lineage")
}
