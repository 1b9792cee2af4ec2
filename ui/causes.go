package ui

import (
	"strconv"
	"strings"
	"time"

	"pulltop/snapshots"
)

// The causes board: the first thing on the Overview, one row per reason
// regions are not healthy (decided by the engine), with the regions and
// stores it affects, since when and one example. The operator selects a row
// with the arrows and opens the regions it names with enter.

// causeBoard is the Overview's board state. The selection follows the cause
// by name across refreshes.
type causeBoard struct {
	sel string
}

// rows of s's board.
func (b *causeBoard) rows(s *snapshots.State) []snapshots.CauseRow {
	if s == nil {
		return nil
	}
	return s.Causes
}

// selected is the index of the selected row, keeping it on the same cause
// and falling back to the first row.
func (b *causeBoard) selected(s *snapshots.State) int {
	rows := b.rows(s)
	for i := range rows {
		if rows[i].Cause == b.sel {
			return i
		}
	}
	if len(rows) > 0 {
		return 0
	}
	return -1
}

func (b *causeBoard) move(s *snapshots.State, d int) {
	rows := b.rows(s)
	if len(rows) == 0 {
		return
	}
	i := max(0, min(b.selected(s)+d, len(rows)-1))
	b.sel = rows[i].Cause
}

// causeWord is a cause as the operator reads it; healthy is "-", so the
// causes stand out in a column of regions.
func causeWord(c string) string {
	if c == "" || c == snapshots.CauseHealthy {
		return "-"
	}
	return c
}

// causeRank orders causes as the board lists them (snapshots.Causes).
func causeRank(c string) int {
	for i, name := range snapshots.Causes() {
		if name == c {
			return i
		}
	}
	return len(snapshots.Causes())
}

// boardLines renders the board: a header and one line per cause, the
// selected one marked with '>' (and reversed where there is colour).
func (v *overviewView) boardLines(width int) []string {
	s, th := v.s, v.ctx.theme
	rows := v.board.rows(s)
	if len(rows) == 0 {
		text := "every region healthy"
		if s != nil && len(s.Regions) > 0 && s.Regions[0].Cause == "" {
			text = "not diagnosed: this snapshot was saved by a pulltop without causes (version 1)"
		}
		return []string{" " + th.Section.render(fit("Causes", 14)) + " " + text}
	}
	out := []string{" " + th.ColHeader.render(fit("CAUSE", 15)+" REGIONS  "+fit("STORES", 9)+" "+fit("SINCE", 19)+" EXAMPLE")}
	sel := v.board.selected(s)
	for i, row := range rows {
		var b []byte
		b = append(b, ' ')
		b = appendCell(b, row.Cause, 15, false)
		b = append(b, ' ')
		b = appendIntCell(b, int64(row.Regions), 7)
		b = append(b, "  "...)
		b = appendCell(b, storeList(row.Stores), 9, false)
		b = append(b, ' ')
		b = appendCell(b, v.sinceText(row.Since), 19, false)
		b = append(b, ' ')
		example := row.Example
		if row.ExampleRegion != 0 {
			example = "region " + strconv.FormatUint(row.ExampleRegion, 10) + ": " + example
		}
		b = append(b, example...)
		line := fitANSI(string(b), width)
		if i == sel {
			line = ">" + th.Cursor.render(strings.TrimPrefix(line, " "))
		}
		out = append(out, line)
	}
	hint := "   ↑/↓ select, enter: the regions of " + rows[max(sel, 0)].Cause
	if rows[max(sel, 0)].Regions == 0 {
		hint = "   ↑/↓ select, enter: the stores with " + rows[max(sel, 0)].Cause
	}
	return append(out, hint)
}

// sinceText is "11:59:40 (20s)": the clock time and how long ago, as of
// the snapshot on screen.
func (v *overviewView) sinceText(since time.Time) string {
	if since.IsZero() {
		return "-"
	}
	age := v.s.TakenAt.Sub(since).Milliseconds() + v.ctx.elapsed
	return since.In(v.loc).Format("15:04:05") + " (" + fmtDur(max(age, 0)) + ")"
}

// storeList renders store ids: "2,4", "-" for none.
func storeList(ids []uint64) string {
	if len(ids) == 0 {
		return "-"
	}
	var b []byte
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, id, 10)
	}
	return string(b)
}
