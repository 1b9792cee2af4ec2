package ui

// table is the virtual table every list view draws with. It knows columns,
// the cursor and the scroll offset, and renders only the rows that fit;
// what a row contains comes from a rowRenderer, which formats straight from
// the snapshot. Nothing is materialised per row, so the cost of a frame does
// not depend on how many regions there are (bubbles/table turns every row
// into strings; at 100k rows that is ~45 ms per refresh, reference/tui.md
// §4.2).

// column describes one table column.
type column struct {
	title string
	width int  // cells; the minimum for a flex column
	flex  int  // share of the width left over once every column has its width
	max   int  // a flex column grows no wider (0: no limit)
	right bool // numbers are right-aligned so magnitudes line up
	drop  int  // on a narrow terminal the highest drop goes first; 0 never
	// from: the column shows only on a terminal at least this wide (0:
	// any), so that below it its cells go to the flex columns instead.
	from int
}

// rowRenderer formats one cell of row i (an index into the snapshot's list)
// in exactly w cells. plain asks for no paint inside the cell, for the
// cursor row, whose reverse video would be cut short by a cell's reset.
type rowRenderer interface {
	appendCell(dst []byte, i int32, col, w int, plain bool) []byte
}

const (
	markerWidth = 2 // "> " on the cursor row: the cursor must not be paint alone
	colGap      = 1
)

type table struct {
	cols     []column
	widths   []int // per column for the current width; 0 = dropped
	width    int
	used     int // cells the columns take; the cursor row is padded beyond
	rows     int // data rows that fit under the header
	n        int // rows in the derived list
	cursor   int
	offset   int
	sortCol  int
	sortDesc bool
}

func newTable(cols []column, sortCol int, desc bool) table {
	for i := range cols {
		// Room for the title and its sort mark, whichever column is sorted.
		cols[i].width = max(cols[i].width, textWidth(cols[i].title)+1)
	}
	return table{cols: cols, widths: make([]int, len(cols)), sortCol: sortCol, sortDesc: desc}
}

// setSize lays the columns out for a body of w×h cells (header included).
func (t *table) setSize(w, h int) {
	t.width, t.rows = w, max(0, h-1)
	t.layout()
	t.clamp()
}

// layout gives every column its width, dropping the least important ones
// while the minimum widths do not fit, then shares what is left among the
// flex columns.
func (t *table) layout() {
	dropped := make([]bool, len(t.cols))
	for i, c := range t.cols {
		dropped[i] = c.from > 0 && t.width < c.from
	}
	need := func() int {
		n, k := markerWidth, 0
		for i, c := range t.cols {
			if !dropped[i] {
				n += c.width
				k++
			}
		}
		return n + max(0, k-1)*colGap
	}
	for need() > t.width {
		worst := -1
		for i, c := range t.cols {
			if !dropped[i] && c.drop > 0 && (worst < 0 || c.drop > t.cols[worst].drop) {
				worst = i
			}
		}
		if worst < 0 {
			break
		}
		dropped[worst] = true
	}
	left := max(0, t.width-need())
	flexTotal := 0
	for i, c := range t.cols {
		t.widths[i] = 0
		if !dropped[i] {
			t.widths[i] = c.width
			flexTotal += c.flex
		}
	}
	// Share what is left by flex weight; a column at its max passes the
	// rest on to the last flex column without one (a span never needs more
	// than its longest key pair, an error message always can use more).
	given, sink := 0, -1
	for i, c := range t.cols {
		if dropped[i] || c.flex == 0 {
			continue
		}
		extra := left * c.flex / flexTotal
		if c.max > 0 {
			extra = min(extra, max(0, c.max-c.width))
		} else {
			sink = i
		}
		t.widths[i] += extra
		given += extra
	}
	if sink >= 0 {
		t.widths[sink] += left - given
	}
	t.used = need() + given
	if sink >= 0 {
		t.used += left - given
	}
}

// setLen tells the table how many rows the derived list has.
func (t *table) setLen(n int) {
	t.n = n
	t.clamp()
}

func (t *table) clamp() {
	if t.cursor >= t.n {
		t.cursor = t.n - 1
	}
	if t.cursor < 0 {
		t.cursor = 0
	}
	t.scrollToCursor()
}

// scrollToCursor moves the window as little as possible to show the cursor.
func (t *table) scrollToCursor() {
	if t.cursor < t.offset {
		t.offset = t.cursor
	}
	if t.rows > 0 && t.cursor >= t.offset+t.rows {
		t.offset = t.cursor - t.rows + 1
	}
	t.offset = max(0, min(t.offset, t.n-t.rows))
}

// moveTo puts the cursor on row i (clamped).
func (t *table) moveTo(i int) {
	t.cursor = i
	t.clamp()
}

func (t *table) moveBy(d int) { t.moveTo(t.cursor + d) }

// place puts the cursor on row i, at screen line line if the list allows,
// so a row that moves in the list stays where the operator's eye is.
func (t *table) place(i, line int) {
	t.cursor = max(0, min(i, t.n-1))
	t.offset = t.cursor - line
	t.scrollToCursor()
}

// appendHeader appends the column titles, the sort column marked ▲/▼.
func (t *table) appendHeader(dst []byte, th *Theme) []byte {
	dst = append(dst, th.ColHeader.pre...)
	dst = appendSpaces(dst, markerWidth)
	first := true
	for i, c := range t.cols {
		w := t.widths[i]
		if w == 0 {
			continue
		}
		if !first {
			dst = appendSpaces(dst, colGap)
		}
		first = false
		title := c.title
		if i == t.sortCol {
			if t.sortDesc {
				title += "▼"
			} else {
				title += "▲"
			}
		}
		dst = appendCell(dst, title, w, c.right)
	}
	dst = trimSpaces(dst)
	return append(dst, th.ColHeader.post...)
}

// appendRows appends the visible rows of idx, one line each ending in '\n',
// padding with empty lines to the table's height.
func (t *table) appendRows(dst []byte, idx []int32, r rowRenderer, th *Theme) []byte {
	end := min(len(idx), t.offset+t.rows)
	for p := t.offset; p < end; p++ {
		cur := p == t.cursor
		if cur {
			dst = append(dst, th.Cursor.pre...)
			dst = append(dst, "> "...)
		} else {
			dst = append(dst, "  "...)
		}
		first := true
		for c := range t.cols {
			w := t.widths[c]
			if w == 0 {
				continue
			}
			if !first {
				dst = appendSpaces(dst, colGap)
			}
			first = false
			dst = r.appendCell(dst, idx[p], c, w, cur)
		}
		if cur {
			// The cursor bar spans the screen, so the row reads as one.
			dst = appendSpaces(dst, t.width-t.used)
			dst = append(dst, th.Cursor.post...)
		} else {
			dst = trimSpaces(dst)
		}
		dst = append(dst, '\n')
	}
	for p := max(end, t.offset); p < t.offset+t.rows; p++ {
		dst = append(dst, '\n')
	}
	return dst
}

// trimSpaces drops trailing spaces: lines end where their text ends, which
// keeps goldens and screen dumps free of invisible differences.
func trimSpaces(dst []byte) []byte {
	for len(dst) > 0 && dst[len(dst)-1] == ' ' {
		dst = dst[:len(dst)-1]
	}
	return dst
}
