package ui

import (
	"cmp"
	"math/bits"
	"slices"

	"github.com/pulltop/pulltop/snapshots"
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

// keyedModel is a listModel of long lists (regions) that can give a
// column's order as integer keys, so that it sorts by a radix sort over
// (key, index) pairs: a comparison sort reads two rows per comparison,
// scattered over the snapshot, and at a million regions that was seconds
// per refresh. Its rows' rowIDs are unique.
type keyedModel interface {
	listModel
	// sortKeys returns, most significant first, the keys that order
	// column col exactly as compare does (rows compare equal when all
	// their keys are equal), or nil when it cannot (text columns).
	sortKeys(col int) []func(i int32) uint64
}

// int64Key maps an int64 to a uint64 of the same order.
func int64Key(v int64) uint64 { return uint64(v) ^ 1<<63 }

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
	// selAt is where the selected row was in the last snapshot: the
	// engine keeps its order, so it is usually there again.
	selAt int32
	// radix holds the radix sort's buffers between refreshes.
	radix [2][]keyedRow
	// sortedTo: idx[:sortedTo] is in display order, the rest is not
	// sorted yet (see partialSort); ensureSorted completes it on demand.
	sortedTo int
	lazy     lazySort
	rest     []int32
	// stickyTop keeps a page at the top there while its cursor follows
	// its row down: in a log (events, actions) the top is "the newest",
	// and that is what an operator at the top wants to see, but the row
	// under the cursor never changes by itself — enter must open the row
	// the operator chose, not one that arrived a moment before (issue 27).
	stickyTop bool
	// tail keeps a cursor on the first row there (Rows: the
	// delivered rows stream by faster than anyone can choose one).
	tail bool
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
	l.sortedTo = len(idx)
	if !l.partialSort(idx) {
		l.sort(idx, len(idx) >= radixMin)
	}
	l.idx = idx
	l.follow()
}

// radixMin is the length from which a keyed list is radix sorted.
const radixMin = 4096

// sort orders idx (ascending on entry) by the sort column; ties keep
// snapshot order, so equal rows never swap places between refreshes.
// With radix, a keyed model is sorted by its keys; the order is the same.
func (l *listView) sort(idx []int32, radix bool) {
	col, desc, m := l.tbl.sortCol, l.tbl.sortDesc, l.model
	if km, ok := m.(keyedModel); ok && radix {
		if keys := km.sortKeys(col); keys != nil {
			l.radix = radixSort(idx, keys, desc, l.radix)
			return
		}
	}
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
			c = int(a) - int(b)
		}
		return c
	})
}

type keyedRow struct {
	key uint64
	i   int32
}

// radixSort sorts idx, ascending on entry, by keys (most significant
// first; descending when desc) with a stable LSD radix sort, so equal rows
// keep their order. buf is reused and returned, buf[0] holding the sorted
// rows with their most significant key.
func radixSort(idx []int32, keys []func(int32) uint64, desc bool, buf [2][]keyedRow) [2][]keyedRow {
	n := len(idx)
	for k := range buf {
		if cap(buf[k]) < n {
			buf[k] = make([]keyedRow, n)
		}
		buf[k] = buf[k][:n]
	}
	a, b := buf[0], buf[1]
	for j, i := range idx {
		a[j].i = i
	}
	for k := len(keys) - 1; k >= 0; k-- {
		key := keys[k]
		for j := range a {
			v := key(a[j].i)
			if desc {
				v = ^v
			}
			a[j].key = v
		}
		a, b = radixRows(a, b)
	}
	for j := range a {
		idx[j] = a[j].i
	}
	return [2][]keyedRow{a, b}
}

// radixRows sorts a by key, stably, with b (as long) for scratch, and
// returns the sorted rows and the scratch. Only the bits that differ
// between keys are sorted on, 11 at a time, after the rows holding the
// smallest and the largest key are put at the ends: an unknown lag sorts
// as MaxInt64, and would otherwise make every bit differ. A lag in ms then
// takes two passes.
func radixRows(a, b []keyedRow) ([]keyedRow, []keyedRow) {
	n := len(a)
	lo, hi := ^uint64(0), uint64(0)
	for j := range a {
		lo, hi = min(lo, a[j].key), max(hi, a[j].key)
	}
	if n == 0 || lo == hi {
		return a, b
	}
	nlo, nhi := 0, 0
	for j := range a {
		switch a[j].key {
		case lo:
			nlo++
		case hi:
			nhi++
		}
	}
	p, q, r := 0, nlo, n-nhi
	var or, and uint64 = 0, ^uint64(0)
	for _, e := range a {
		switch e.key {
		case lo:
			b[p] = e
			p++
		case hi:
			b[r] = e
			r++
		default:
			b[q] = e
			q++
			or, and = or|e.key, and&e.key
		}
	}
	a, b = b, a
	const digit = 11
	var at [1 << digit]int
	mid, other := a[nlo:n-nhi], b[nlo:n-nhi]
	diff := or ^ and
	first, last := bits.TrailingZeros64(diff), 64-bits.LeadingZeros64(diff)
	for shift := first; shift < last; shift += digit {
		clear(at[:])
		for j := range mid {
			at[mid[j].key>>shift&(1<<digit-1)]++
		}
		sum := 0
		for d, c := range at {
			at[d] = sum
			sum += c
		}
		for j := range mid {
			d := mid[j].key >> shift & (1<<digit - 1)
			other[at[d]] = mid[j]
			at[d]++
		}
		mid, other = other, mid
	}
	if len(mid) > 0 && &mid[0] != &a[nlo] {
		copy(other, mid) // after an odd number of passes the middle is in b
	}
	return a, b
}

// lazySort is what partialSort learned from the last sort: the key below
// which (inclusive) the rows the screen needs were, with room to spare.
type lazySort struct {
	col   int
	desc  bool
	limit uint64
	ok    bool
}

// partialMin is the length from which a keyed list sorts only its top.
const partialMin = 1 << 16

// partialSort orders only the first rows of a long keyed list: the ones
// the screen can show. An operator watching a million regions by lag sees
// fifty; the rest are ordered when the cursor or the page goes past them
// (ensureSorted). It takes the rows whose key is at most the limit learned
// last time, and sorts those: every other row's key is larger, so they
// are exactly the first rows of the full order. When fewer than the
// screen needs fall under the limit (the keys moved), it sorts all and
// learns a new limit. False when the list does not qualify; idx is
// ascending on entry.
func (l *listView) partialSort(idx []int32) bool {
	km, ok := l.model.(keyedModel)
	if !ok || len(idx) < partialMin {
		return false
	}
	col, desc := l.tbl.sortCol, l.tbl.sortDesc
	keys := km.sortKeys(col)
	if len(keys) != 1 {
		return false
	}
	want := l.want()
	if l.lazy.ok && l.lazy.col == col && l.lazy.desc == desc && 4*want < len(idx) {
		key, limit := keys[0], l.lazy.limit
		// The cursor follows its row wherever the new keys put it: that
		// row is taken too, and with it every row ordered before it.
		if at, ok := l.selIndex(); ok {
			v := key(at)
			if desc {
				v = ^v
			}
			limit = max(limit, v)
		}
		cand, rest := l.radix[0][:0], l.rest[:0]
		for _, i := range idx {
			v := key(i)
			if desc {
				v = ^v
			}
			if v <= limit {
				cand = append(cand, keyedRow{v, i})
			} else {
				rest = append(rest, i)
			}
		}
		l.radix[0], l.rest = cand, rest
		if len(cand) >= want {
			if len(cand) >= radixMin {
				if cap(l.radix[1]) < len(cand) {
					l.radix[1] = make([]keyedRow, len(cand))
				}
				cand, l.radix[1] = radixRows(cand, l.radix[1][:len(cand)])
				l.radix[0] = cand
			} else {
				slices.SortFunc(cand, func(a, b keyedRow) int {
					return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.i, b.i))
				})
			}
			for j, e := range cand {
				idx[j] = e.i
			}
			copy(idx[len(cand):], rest)
			l.sortedTo = len(cand)
			l.learn(cand, want)
			return true
		}
	}
	l.radix = radixSort(idx, keys, desc, l.radix)
	l.learn(l.radix[0], want)
	return true
}

// learn keeps the key 4× further down than the screen needs as the next
// limit, so that keys may move between snapshots (a lag grows) and the
// rows the screen needs still fall below it.
func (l *listView) learn(sorted []keyedRow, want int) {
	l.lazy = lazySort{col: l.tbl.sortCol, desc: l.tbl.sortDesc, limit: sorted[min(len(sorted)-1, 4*want)].key, ok: true}
}

// want is how many of the first rows the screen needs ordered: down to
// the bottom of the page and the cursor, and two pages more for paging.
func (l *listView) want() int {
	return max(l.tbl.offset+l.tbl.rows, l.tbl.cursor+1) + 2*l.tbl.rows + 256
}

// ensureSorted completes a partial sort if position p is past its end.
func (l *listView) ensureSorted(p int) {
	if p < l.sortedTo || l.sortedTo >= len(l.idx) {
		return
	}
	keys := l.model.(keyedModel).sortKeys(l.tbl.sortCol)
	// The rows are no longer in snapshot order, so the index is the last
	// key: equal rows still keep snapshot order.
	index := func(i int32) uint64 { return uint64(i) }
	if l.tbl.sortDesc {
		index = func(i int32) uint64 { return ^uint64(i) } // flipped back by the sort
	}
	keys = append(slices.Clip(keys), index)
	l.radix = radixSort(l.idx, keys, l.tbl.sortDesc, l.radix)
	l.sortedTo = len(l.idx)
}

// follow puts the cursor on the selected row, at the same screen line, or
// keeps its position when that row is gone (or filtered out).
func (l *listView) follow() {
	line := l.tbl.cursor - l.tbl.offset
	atTop := l.tbl.offset == 0
	tailing := l.tail && l.tbl.cursor == 0
	l.tbl.setLen(len(l.idx))
	if l.hasSel && !tailing {
		if p, ok := l.find(); ok {
			if l.stickyTop && atTop {
				line = p // the page stays at the top, new rows above the cursor
			}
			l.tbl.place(p, line)
			return
		}
	}
	l.tbl.place(l.tbl.cursor, line)
	l.remember()
}

// find is the position of the selected row in idx. It looks for the row in
// the snapshot first, where it was last time and else in snapshot order, and
// then for its index in idx: reading the rows in display order would jump
// all over a million-row snapshot.
func (l *listView) find() (int, bool) {
	if _, unique := l.model.(keyedModel); !unique {
		// Rows may share an ID (two log lines of one moment): the first
		// on screen is the one.
		for p, i := range l.idx {
			if l.model.rowID(i) == l.sel {
				return p, true
			}
		}
		return 0, false
	}
	at, ok := l.selIndex()
	if !ok {
		return 0, false
	}
	p := slices.Index(l.idx, at)
	if p >= l.sortedTo {
		l.ensureSorted(p)
		p = slices.Index(l.idx, at)
	}
	return p, p >= 0
}

// selIndex is the selected row's index in the snapshot (of a keyed model,
// whose rows are unique): where it was last time, or else looked for in
// snapshot order.
func (l *listView) selIndex() (int32, bool) {
	if !l.hasSel {
		return 0, false
	}
	at, n := l.selAt, int32(l.model.length())
	if at < 0 || at >= n || l.model.rowID(at) != l.sel {
		at = -1
		for i := range n {
			if l.model.rowID(i) == l.sel {
				at = i
				break
			}
		}
		if at < 0 {
			return 0, false
		}
	}
	l.selAt = at
	return at, true
}

// remember records which row the cursor is on.
func (l *listView) remember() {
	if i, ok := l.selected(); ok {
		l.sel, l.hasSel, l.selAt = l.model.rowID(i), true, i
	} else {
		l.hasSel = false
	}
}

// selected is the snapshot index of the cursor row.
func (l *listView) selected() (int32, bool) {
	if l.tbl.cursor < 0 || l.tbl.cursor >= len(l.idx) {
		return 0, false
	}
	l.ensureSorted(l.tbl.cursor)
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
	l.ensureSorted(l.tbl.offset + l.tbl.rows - 1)
	return l.tbl.appendRows(dst, l.idx, l.model, th)
}
