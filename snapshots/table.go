package snapshots

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// RegionTable is the regions of a State read in place: a live engine's
// publish does not copy a million regions into rows (the view package
// keeps them in chunks that versions share), and a reader asks for the
// rows it shows. Row i is the same region for the life of the table; rows
// are in no particular order (sort them). A loaded or hand-built State
// has its rows in Regions, read through the same interface (see
// State.RegionTable), so live mode and replay are the same UI.
//
// Implementations are immutable: safe for concurrent readers.
type RegionTable interface {
	Len() int
	// Static is row i without its moving parts: ResolvedTs,
	// ResolvedLagMs, Events and LastAdvanceAt may be zero there and are
	// read with the methods below. The pointer is to shared, immutable
	// memory: never write through it.
	Static(i int) *Region
	ResolvedTs(i int) uint64
	LagMs(i int) int64
	Events(i int) uint64
	LastAdvanceAt(i int) time.Time
	// Row is row i whole.
	Row(i int, dst *Region)
}

// RegionTable is s's regions: its Table, or its Regions.
func (s *State) RegionTable() RegionTable {
	if s.Table != nil {
		return s.Table
	}
	return sliceTable(s.Regions)
}

// NumRegions is how many region rows s has.
func (s *State) NumRegions() int {
	if s.Table != nil {
		return s.Table.Len()
	}
	return len(s.Regions)
}

// Rows is s's regions as rows: Regions, or, for a State read from a
// table, every row built now (a save, /snapshot, a test), ordered by
// subscription and start key as the engine's walk is.
func (s *State) Rows() []Region {
	t := s.Table
	if t == nil || s.Regions != nil {
		return s.Regions
	}
	idx := make([]int32, t.Len())
	for i := range idx {
		idx[i] = int32(i)
	}
	// A range's start in lowercase hex orders as its bytes do, and the
	// empty start (the beginning of the key space) comes first.
	slices.SortFunc(idx, func(a, b int32) int {
		x, y := t.Static(int(a)), t.Static(int(b))
		return cmp.Or(cmp.Compare(x.Subscription, y.Subscription), strings.Compare(x.Start, y.Start), cmp.Compare(x.ID, y.ID))
	})
	rows := make([]Region, len(idx))
	for k, i := range idx {
		t.Row(int(i), &rows[k])
	}
	return rows
}

// WithRows is s with its regions as rows: s itself when it has them, or
// a shallow copy with Rows() (s is shared and immutable).
func (s *State) WithRows() *State {
	if s == nil || s.Table == nil || s.Regions != nil {
		return s
	}
	c := *s
	c.Regions = s.Rows()
	c.Table = nil
	return &c
}

type sliceTable []Region

func (t sliceTable) Len() int                      { return len(t) }
func (t sliceTable) Static(i int) *Region          { return &t[i] }
func (t sliceTable) ResolvedTs(i int) uint64       { return t[i].ResolvedTs }
func (t sliceTable) LagMs(i int) int64             { return t[i].ResolvedLagMs }
func (t sliceTable) Events(i int) uint64           { return t[i].Events }
func (t sliceTable) LastAdvanceAt(i int) time.Time { return t[i].LastAdvanceAt }
func (t sliceTable) Row(i int, dst *Region)        { *dst = t[i] }
