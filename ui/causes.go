package ui

import (
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

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
	for k, row := range rows {
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
		// The example is the evidence, the one thing the board exists to
		// show: what does not fit goes on a second line (80×24).
		head, rest := splitToFit(example, width-len(b))
		if !v.wrapAll && !v.wrapsCause(row.Cause, k) {
			head, rest = example, ""
		}
		out = append(out, fitANSI(string(append(b, head...)), width))
		t := ovTarget{key: "cause " + row.Cause, view: viewRegions, filter: "cause:" + row.Cause, hint: "the regions of " + row.Cause}
		if row.Regions == 0 {
			// Only stores have it: enter opens those stores.
			t.view, t.hint = viewStores, "the stores with "+row.Cause
		}
		t.line = first + len(out) - 1
		target(t)
		if rest != "" {
			out = append(out, fitANSI(strings.Repeat(" ", boardIndent)+rest, width))
		}
	}
	v.hintLine = first + len(out)
	return append(out, "")
}

// wrapsCause: the cause on board row k is the selected line (or, before
// the operator chose, the first), so its example wraps even when the
// others cannot.
func (v *overviewView) wrapsCause(cause string, k int) bool {
	if strings.HasPrefix(v.sel, "cause ") {
		return v.sel == "cause "+cause
	}
	return v.sel == "" && k == 0
}

// boardIndent is where an example's second line starts: under REGIONS,
// clear of the cause's name.
const boardIndent = 17

// splitToFit cuts text at a space so that head fits w cells; rest is what
// is left, "" when it all fits. A text without a space that fits is cut
// mid-word.
func splitToFit(text string, w int) (head, rest string) {
	if w <= 0 || textWidth(text) <= w {
		return text, ""
	}
	cut := ansi.Truncate(text, w, "")
	if i := strings.LastIndexByte(cut, ' '); i > 0 {
		cut = cut[:i]
	}
	return cut, strings.TrimLeft(text[len(cut):], " ")
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
