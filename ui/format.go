package ui

import (
	"strconv"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// The helpers here append fixed-width cells to a byte slice. They exist so
// that rendering a row costs no allocation: fmt and lipgloss both allocate
// per call, and View() runs after every message (reference/tui.md §4.1).

const ellipsis = "…"

// appendCell appends s in exactly w terminal cells: padded with spaces, or
// cut with an ellipsis when it does not fit. right aligns it to the right.
func appendCell(dst []byte, s string, w int, right bool) []byte {
	if w <= 0 {
		return dst
	}
	if !plainASCII(s) {
		return appendWideCell(dst, s, w, right)
	}
	return appendASCIICell(dst, s, w, right)
}

// appendCellBytes is appendCell for text formatted into a scratch buffer.
func appendCellBytes(dst, s []byte, w int, right bool) []byte {
	if w <= 0 {
		return dst
	}
	return appendASCIICell(dst, s, w, right)
}

// appendASCIICell fits one-byte-per-cell text into w > 0 cells.
func appendASCIICell[S ~string | ~[]byte](dst []byte, s S, w int, right bool) []byte {
	if len(s) > w {
		dst = append(dst, s[:w-1]...)
		return append(dst, ellipsis...)
	}
	if right {
		dst = appendSpaces(dst, w-len(s))
		return append(dst, s...)
	}
	dst = append(dst, s...)
	return appendSpaces(dst, w-len(s))
}

// appendWideCell handles text that is not plain ASCII: error messages from
// the cluster may carry anything, including newlines that would break the
// frame, so control characters become spaces before measuring.
func appendWideCell(dst []byte, s string, w int, right bool) []byte {
	s = sanitize(s)
	sw := ansi.StringWidth(s)
	if sw > w {
		s = ansi.Truncate(s, w, ellipsis)
		sw = ansi.StringWidth(s)
	}
	if right {
		dst = appendSpaces(dst, w-sw)
		return append(dst, s...)
	}
	dst = append(dst, s...)
	return appendSpaces(dst, w-sw)
}

// plainASCII reports whether s is printable ASCII, so that its width is its
// length.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// sanitize replaces control characters (and invalid UTF-8) with spaces.
func sanitize(s string) string {
	clean := true
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || (r >= 0x80 && r < 0xa0) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || (r >= 0x80 && r < 0xa0) {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}

// textWidth is the number of terminal cells s takes.
func textWidth(s string) int {
	if plainASCII(s) {
		return len(s)
	}
	return ansi.StringWidth(sanitize(s))
}

// fit returns s cut or padded to exactly w cells. It allocates; use it for
// lines drawn once per frame, not per row.
func fit(s string, w int) string {
	return string(appendCell(nil, s, w, false))
}

func appendSpaces(dst []byte, n int) []byte {
	const spaces = "                                                                "
	for n > len(spaces) {
		dst = append(dst, spaces...)
		n -= len(spaces)
	}
	if n > 0 {
		dst = append(dst, spaces[:n]...)
	}
	return dst
}

// appendUintCell appends v right-aligned in w cells.
func appendUintCell(dst []byte, v uint64, w int) []byte {
	var tmp [24]byte
	return appendCellBytes(dst, strconv.AppendUint(tmp[:0], v, 10), w, true)
}

// appendIntCell appends v right-aligned in w cells.
func appendIntCell(dst []byte, v int64, w int) []byte {
	var tmp [24]byte
	return appendCellBytes(dst, strconv.AppendInt(tmp[:0], v, 10), w, true)
}

// appendDurCell appends a duration in milliseconds right-aligned in w cells.
func appendDurCell(dst []byte, ms int64, w int) []byte {
	var tmp [24]byte
	return appendCellBytes(dst, appendDur(tmp[:0], ms), w, true)
}

// appendDur formats a duration in milliseconds compactly, at most 6 cells
// for anything under 100 days: 850ms, 1.2s, 59.9s, 2m03s, 1h02m, 3d04h.
// Operators compare lags at a glance, so the unit changes where the number
// would otherwise grow wide, and precision drops as the magnitude grows.
func appendDur(dst []byte, ms int64) []byte {
	if ms < 0 {
		dst = append(dst, '-')
		if ms == -ms { // math.MinInt64
			return append(dst, "inf"...)
		}
		ms = -ms
	}
	switch {
	case ms < 1000:
		dst = strconv.AppendInt(dst, ms, 10)
		return append(dst, "ms"...)
	case ms < 60_000:
		tenths := ms / 100
		dst = strconv.AppendInt(dst, tenths/10, 10)
		dst = append(dst, '.')
		dst = strconv.AppendInt(dst, tenths%10, 10)
		return append(dst, 's')
	case ms < 3_600_000:
		s := ms / 1000
		dst = strconv.AppendInt(dst, s/60, 10)
		dst = append(dst, 'm')
		dst = append2(dst, s%60)
		return append(dst, 's')
	case ms < 86_400_000:
		m := ms / 60_000
		dst = strconv.AppendInt(dst, m/60, 10)
		dst = append(dst, 'h')
		dst = append2(dst, m%60)
		return append(dst, 'm')
	default:
		h := ms / 3_600_000
		dst = strconv.AppendInt(dst, h/24, 10)
		dst = append(dst, 'd')
		dst = append2(dst, h%24)
		return append(dst, 'h')
	}
}

// append2 appends v (0–99) as two digits.
func append2(dst []byte, v int64) []byte {
	return append(dst, byte('0'+v/10), byte('0'+v%10))
}

// fmtDur is appendDur for cold paths.
func fmtDur(ms int64) string { return string(appendDur(nil, ms)) }

// fmtRate formats a per-second rate with one decimal.
func fmtRate(v float64) string {
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// containsFold reports whether s contains substr, ignoring ASCII case.
// substr must already be lower case. It allocates nothing, because the filter
// runs it over every row of a 100k-region snapshot.
func containsFold(s, substr string) bool {
	n := len(substr)
	if n == 0 {
		return true
	}
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != substr[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

// containsBytes is a substring test over a scratch buffer of digits.
func containsBytes(s []byte, substr string) bool {
	n := len(substr)
	for i := 0; i+n <= len(s); i++ {
		if string(s[i:i+n]) == substr {
			return true
		}
	}
	return false
}
