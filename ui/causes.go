package ui

import (
	"strconv"
	"time"

	"github.com/pulltop/pulltop/snapshots"
)

// The causes board: the first thing on the Overview, one row per reason
// regions are not healthy (decided by the engine), with the regions and
// stores it affects, since when and one example. The operator selects a row
// with the arrows and opens the regions it names with enter.

// causeBoard is the Overview's board. Its rows are targets of the
// Overview's selection (overviewView.targets), which follows a cause by
// name across refreshes.
type causeBoard struct{}

// rows of s's board.
func (b *causeBoard) rows(s *snapshots.State) []snapshots.CauseRow {
	if s == nil {
		return nil
	}
	return s.Causes
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

// boardLines renders the board: a header and one line per cause, each a
// target of the Overview's selection (markSelected marks it and writes the
// hint line, whose index it records).
func (v *overviewView) boardLines(width int, first int, target func(ovTarget)) []string {
	s, th := v.s, v.ctx.theme
	rows := v.board.rows(s)
	if len(rows) == 0 {
		text := "every region healthy"
		if s != nil && s.NumRegions() > 0 && s.RegionTable().Static(0).Cause == "" {
			text = "not diagnosed: this snapshot was saved by a pulltop without causes (version 1)"
		}
		return []string{" " + th.Section.render(fit("Causes", 14)) + " " + text}
	}
	out := []string{" " + th.ColHeader.render(fit("CAUSE", 15)+" REGIONS  "+fit("STORES", 9)+" "+fit("SINCE", 19)+" EXAMPLE")}
	for _, row := range rows {
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
		out = append(out, fitANSI(string(b), width))
		// A cause opens its regions, or, when only stores have it, its
		// stores.
		t := ovTarget{key: "cause " + row.Cause, view: viewRegions, filter: "cause:" + row.Cause, hint: "the regions of " + row.Cause}
		if row.Regions == 0 {
			t.view, t.hint = viewStores, "the stores with "+row.Cause
		}
		t.line = first + len(out) - 1
		target(t)
	}
	v.hintLine = first + len(out)
	return append(out, "")
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
