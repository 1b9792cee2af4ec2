// Package view is what operators see of the engine's regions, kept
// between the event loop and the screens the way client-go's informers
// keep objects between a watch and its listers: the loop tells a Builder
// what changed (a region's row, its resolved ts), and readers get an
// immutable Version that answers for any region without copying the
// others.
//
// A Version shares with the one before it every chunk of regions that did
// not change: publishing costs the chunks written since (copied once,
// then written in place until the next publish) and a pointer per chunk,
// not a row per region. The rows a reader reads (a page of a list, a
// detail) are read in place; a whole row set is built only to save.
//
// The view owns no goroutine. A Builder belongs to one goroutine (the
// event loop); Versions are immutable and may be read by any number of
// goroutines. The view never decides anything about a region (causes are
// engine/diagnose's) and never talks to the cluster.
package view

import (
	"time"

	"github.com/pulltop/pulltop/snapshots"
)

// Region rows are kept in chunks of staticLen (a chunk is copied whole
// when one of its rows changes: small, so that a thousand scattered
// changes copy a thousand small chunks), their moving parts (resolved ts,
// last advance, events) in chunks of movingLen (they change for most
// regions every second, and are small).
const (
	staticBits = 4
	staticLen  = 1 << staticBits
	movingBits = 10
	movingLen  = 1 << movingBits
)

type staticChunk struct {
	gen  uint64 // the builder generation that may write it in place
	rows [staticLen]snapshots.Region
}

type movingChunk struct {
	gen        uint64
	resolvedTs [movingLen]uint64
	advancedAt [movingLen]int64 // unix ns; 0: never
	events     [movingLen]uint64
}

// Key names a region across versions.
type Key struct{ Subscription, ID uint64 }

// Change is one entry of the change log: row Slot changed (or appeared)
// in the version Seq, or, Gone, the region Key left (its slot was given
// to another region or dropped).
type Change struct {
	Seq  uint64
	Slot int32
	Gone bool
	Key  Key
}

// Version is one published state of the regions. Immutable.
type Version struct {
	seq     uint64
	n       int
	static  []*staticChunk
	moving  []*movingChunk
	pdNowMs int64 // PD's clock at the publish, unix ms: lag is measured against it

	states map[string]int
	causes map[string]int

	// log[k] are the changes of the versions after logFloor, up to this
	// one (a prefix of the builder's log, never written again).
	log      []Change
	logFloor uint64
	worst    int // row of the worst lag; -1: none
}

// Worst is the row of the region with the worst lag.
func (v *Version) Worst() (int, bool) { return v.worst, v.worst >= 0 && v.worst < v.n }

var _ snapshots.RegionTable = (*Version)(nil)

// Seq is the publish this version was made by.
func (v *Version) Seq() uint64 { return v.seq }

// Len is how many regions there are; rows are 0..Len()-1.
func (v *Version) Len() int { return v.n }

// Static is row i without its moving parts (see snapshots.RegionTable).
func (v *Version) Static(i int) *snapshots.Region {
	return &v.static[i>>staticBits].rows[i&(staticLen-1)]
}

// ResolvedTs is region i's resolved ts: its own, or, while it does not
// hold its range, the range's.
func (v *Version) ResolvedTs(i int) uint64 {
	return v.moving[i>>movingBits].resolvedTs[i&(movingLen-1)]
}

// LagMs is region i's resolved-ts lag at the publish, in PD's time.
func (v *Version) LagMs(i int) int64 { return LagMs(v.pdNowMs, v.ResolvedTs(i)) }

// LagMs is the lag of resolved ts ts at PD time pdNowMs (unix ms): 0 for
// no ts, never negative.
func LagMs(pdNowMs int64, ts uint64) int64 {
	if ts == 0 {
		return 0
	}
	return max(pdNowMs-int64(ts>>18), 0)
}

// Events is how many rows region i delivered.
func (v *Version) Events(i int) uint64 { return v.moving[i>>movingBits].events[i&(movingLen-1)] }

// LastAdvanceAt is when region i's resolved ts last moved.
func (v *Version) LastAdvanceAt(i int) time.Time {
	return timeOf(v.moving[i>>movingBits].advancedAt[i&(movingLen-1)])
}

// Row is region i whole.
func (v *Version) Row(i int, dst *snapshots.Region) {
	*dst = *v.Static(i)
	dst.ResolvedTs = v.ResolvedTs(i)
	dst.ResolvedLagMs = LagMs(v.pdNowMs, dst.ResolvedTs)
	dst.Events = v.Events(i)
	dst.LastAdvanceAt = v.LastAdvanceAt(i)
}

// StateCounts is how many regions are in each state.
func (v *Version) StateCounts() map[string]int { return v.states }

// CauseCounts is how many regions have each cause (healthy included).
func (v *Version) CauseCounts() map[string]int { return v.causes }

// ChangesSince is what changed after version seq up to this one, oldest
// first, and false when the log no longer reaches back that far (the
// reader then reads every row).
func (v *Version) ChangesSince(seq uint64) ([]Change, bool) {
	if seq < v.logFloor || seq > v.seq {
		return nil, false
	}
	lo, hi := 0, len(v.log)
	for lo < hi {
		m := (lo + hi) / 2
		if v.log[m].Seq <= seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return v.log[lo:], true
}

// Find is the row of region key, by a walk over the rows (a detail
// looks its region up once per refresh).
func (v *Version) Find(sub, id uint64) (int, bool) {
	for c, ch := range v.static {
		rows := ch.rows[:min(staticLen, v.n-c*staticLen)]
		for k := range rows {
			if rows[k].ID == id && rows[k].Subscription == sub {
				return c*staticLen + k, true
			}
		}
	}
	return 0, false
}

func timeOf(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
