package ui

import (
	"slices"

	"pulltop/snapshots"
)

// listModel is what a list view (Regions, Retries, …) tells the generic
// list about its rows. Rows are addressed by their index in the snapshot's
// slice; the model reads them straight from the State it was last given.
type listModel interface {
	rowRenderer
	// noun names the rows in the status line ("regions").
	noun() string
	columns() []column
	fields() []field
	defaultSort() (col int, desc bool)
	setState(s *snapshots.State)
	length() int
	// compare orders rows a and b by column col (ascending).
	compare(a, b int32, col int) int
	// rowID identifies a row across snapshots, so the cursor can follow it.
	rowID(i int32) rowID
}

// rowID identifies a row across snapshots: (subscription, region) for a
// region, the store ID for a store, and so on; t tells apart rows of a
// history (a flush, a fired retry) by when they happened.
type rowID struct {
	a, b uint64
	s    string
	t    int64
}

// groupedModel is a listModel whose rows fall into groups shown one after
// the other whatever the sort: what waits now above what already happened
// (Retries, Reloads). Sorting orders rows within their group.
type groupedModel interface {
	listModel
	group(i int32) int
}

// listView is one list view: a listModel plus its table, filter, sort and
// the derived row order. Deriving (filter, then sort) happens once per
// snapshot or per change of filter or sort, never in View.
type listView struct {
	model  listModel
	tbl    table
	fields []field
	filter filter
	idx    []int32 // derived: indices into the snapshot's rows, in display order
	total  int     // rows before filtering
	sel    rowID   // the row the cursor is on, followed across refreshes
	hasSel bool
	dirty  bool
	names  *keyNames
	// stickyTop keeps a cursor on the first row there, instead of
	// following that row down: in a log (events, actions) the top is
	// "the newest", and that is what an operator at the top wants to see.
	stickyTop bool
}

func newListView(m listModel, names *keyNames) *listView {
	col, desc := m.defaultSort()
	return &listView{
		model:  m,
		tbl:    newTable(m.columns(), col, desc),
		fields: m.fields(),
		dirty:  true,
		names:  names,
	}
}

func (l *listView) setState(s *snapshots.State) {
	l.model.setState(s)
	l.dirty = true
}

func (l *listView) setFilter(raw string) {
	l.filter = parseFilter(raw, l.fields)
	l.dirty = true
}

// cycleSort moves the sort d columns on (> and s: right, <: left),
// keeping the direction.
// Columns not on screen (a narrow terminal dropped them) are skipped:
// a sort the operator cannot see is a puzzle.
func (l *listView) cycleSort(d int) {
	n := len(l.tbl.cols)
	col := l.tbl.sortCol
	for range n {
		col = ((col+d)%n + n) % n
		if l.tbl.widths[col] > 0 || l.tbl.width == 0 {
			break
		}
	}
	l.tbl.sortCol = col
	l.dirty = true
}

func (l *listView) reverseSort() {
	l.tbl.sortDesc = !l.tbl.sortDesc
	l.dirty = true
}

// derive recomputes the visible row order if anything changed, and puts the
// cursor back on the row it was on.
func (l *listView) derive() {
	if !l.dirty {
		return
	}
	l.dirty = false
	n := l.model.length()
	l.total = n
	idx := l.idx[:0]
	if l.filter.active() {
		for i := range int32(n) {
			if l.filter.match(i, l.fields, l.names) {
				idx = append(idx, i)
			}
		}
	} else {
		idx = slices.Grow(idx, n)
		for i := range int32(n) {
			idx = append(idx, i)
		}
	}
	col, desc, m := l.tbl.sortCol, l.tbl.sortDesc, l.model
	grouped, _ := m.(groupedModel)
	slices.SortFunc(idx, func(a, b int32) int {
		if grouped != nil {
			if g := grouped.group(a) - grouped.group(b); g != 0 {
				return g
			}
		}
		c := m.compare(a, b, col)
		if desc {
			c = -c
		}
		if c == 0 {
			// Ties keep snapshot order, so equal rows never swap places
			// between refreshes.
			c = int(a) - int(b)
		}
		return c
	})
	l.idx = idx
	l.follow()
}

// follow puts the cursor on the selected row, at the same screen line, or
// keeps its position when that row is gone (or filtered out).
func (l *listView) follow() {
	line := l.tbl.cursor - l.tbl.offset
	atTop := l.tbl.cursor == 0
	l.tbl.setLen(len(l.idx))
	if l.hasSel && !(l.stickyTop && atTop) {
		for p, i := range l.idx {
			if l.model.rowID(i) == l.sel {
				l.tbl.place(p, line)
				return
			}
		}
	}
	l.tbl.place(l.tbl.cursor, line)
	l.remember()
}

// remember records which row the cursor is on.
func (l *listView) remember() {
	if i, ok := l.selected(); ok {
		l.sel, l.hasSel = l.model.rowID(i), true
	} else {
		l.hasSel = false
	}
}

// selected is the snapshot index of the cursor row.
func (l *listView) selected() (int32, bool) {
	if l.tbl.cursor < 0 || l.tbl.cursor >= len(l.idx) {
		return 0, false
	}
	return l.idx[l.tbl.cursor], true
}

func (l *listView) move(f func(t *table)) {
	f(&l.tbl)
	l.remember()
}

// appendBody appends the header and the visible rows.
func (l *listView) appendBody(dst []byte, th *Theme) []byte {
	dst = l.tbl.appendHeader(dst, th)
	dst = append(dst, '\n')
	return l.tbl.appendRows(dst, l.idx, l.model, th)
}
