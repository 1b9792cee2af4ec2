package ui

import (
	"time"

	"github.com/pulltop/pulltop/snapshots"
)

// Cells that carry a judgement: lag against --stale-after, an error with
// its age and whether it is older than the state it sits next to. The
// judgement is always a mark in the text too, never colour alone.

// lagCellWidth is a lag and its mark: " 12.0s!!".
const lagCellWidth = 8

// lagLevel grades a lag against the stale threshold: 0 fine, 1 at half of
// it or more, 2 at it or more. Without a threshold (a version 1 file) every
// lag is fine.
func lagLevel(lagMs, staleAfterMs int64) int {
	switch {
	case staleAfterMs <= 0:
		return 0
	case lagMs >= staleAfterMs:
		return 2
	case 2*lagMs >= staleAfterMs:
		return 1
	}
	return 0
}

// lagMark is what a lag level looks like without colour.
var lagMark = [3]string{"  ", " !", "!!"}

// appendLagCell appends a lag right-aligned in w cells, its mark in the
// last two so the numbers still line up; known false shows "-" (a region
// that has no resolved ts at all).
func appendLagCell(dst []byte, lagMs int64, known bool, staleAfterMs int64, w int, plain bool, th *Theme) []byte {
	if !known {
		return appendCell(dst, "-  ", w, true)
	}
	level := lagLevel(lagMs, staleAfterMs)
	var tmp [24]byte
	b := append(appendDur(tmp[:0], lagMs), lagMark[level]...)
	if plain || level == 0 {
		return appendCellBytes(dst, b, w, true)
	}
	p := th.LagWarn
	if level == 2 {
		p = th.LagBad
	}
	dst = append(dst, p.pre...)
	dst = appendCellBytes(dst, b, w, true)
	return append(dst, p.post...)
}

// lagText is a lag with its mark, for lines drawn once per frame.
func (th *Theme) lagText(lagMs, staleAfterMs int64) string {
	level := lagLevel(lagMs, staleAfterMs)
	text := fmtDur(lagMs)
	switch level {
	case 1:
		return th.LagWarn.render(text + " !")
	case 2:
		return th.LagBad.render(text + " !!")
	}
	return text
}

// appendErrorCell appends "12s ago server_is_busy: …" in w cells: the
// error with its age on the view clock. An error older than the current
// state (old) is history, not the cause: it is dimmed and reads
// "(old) 2m03s ago …". Without a time (a version 1 file) the text alone.
func appendErrorCell(dst []byte, text string, at time.Time, old bool, s *snapshots.State, ctx *renderCtx, w int, plain bool) []byte {
	if text == "" {
		return appendCell(dst, "-", w, false)
	}
	var tmp [40]byte
	prefix := tmp[:0]
	if !at.IsZero() {
		if old {
			prefix = append(prefix, "(old) "...)
		}
		prefix = appendDur(prefix, max(0, s.TakenAt.Sub(at).Milliseconds()+ctx.elapsed))
		prefix = append(prefix, " ago "...)
	}
	dim := old && !plain && ctx.theme.Dim.pre != ""
	if dim {
		dst = append(dst, ctx.theme.Dim.pre...)
	}
	if len(prefix) >= w {
		dst = appendCellBytes(dst, prefix, w, false)
	} else {
		dst = append(dst, prefix...)
		dst = appendCell(dst, text, w-len(prefix), false)
	}
	if dim {
		dst = append(dst, ctx.theme.Dim.post...)
	}
	return dst
}

// errorAge is appendErrorCell for cold paths, whole.
func errorAge(text string, at time.Time, old bool, s *snapshots.State, ctx *renderCtx) string {
	if text == "" {
		return "-"
	}
	if at.IsZero() {
		return text
	}
	out := fmtDur(max(0, s.TakenAt.Sub(at).Milliseconds()+ctx.elapsed)) + " ago " + text
	if old {
		return "(old) " + out
	}
	return out
}

// regionErrorOld: the region's last error happened before its current
// condition began (or, in a file without conditions, it streams again):
// it is not why the region is where it is.
func regionErrorOld(r *snapshots.Region) bool {
	if !r.Since.IsZero() {
		return r.LastErrorAt.Before(r.Since)
	}
	return r.State == snapshots.StateInitialized
}
