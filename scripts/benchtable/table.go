package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"
)

// Verdict is a row's outcome.
type Verdict string

const (
	Pass    Verdict = "PASS"
	Fail    Verdict = "FAIL"
	Missing Verdict = "MISSING" // no measurement: counts as a failure
	Info    Verdict = "-"       // context, not a budget
)

// Row is one line of the printed table.
type Row struct {
	Budget   string
	Measured string
	Ratio    string
	Verdict  Verdict
}

func verdict(ok bool) Verdict {
	if ok {
		return Pass
	}
	return Fail
}

// missing is the row for a budget whose benchmark printed nothing.
func missing(budget, what string) Row {
	return Row{Budget: budget, Measured: "no result for " + what, Ratio: "-", Verdict: Missing}
}

// Failed reports whether any row failed or is missing.
func Failed(rows []Row) bool {
	for _, r := range rows {
		if r.Verdict == Fail || r.Verdict == Missing {
			return true
		}
	}
	return false
}

// WriteTable prints rows as a Markdown table with aligned columns.
func WriteTable(w io.Writer, rows []Row) error {
	head := []string{"budget", "measured (median)", "ratio", "verdict"}
	cells := [][]string{head}
	for _, r := range rows {
		ratio := r.Ratio
		if ratio == "" {
			ratio = "-"
		}
		cells = append(cells, []string{r.Budget, r.Measured, ratio, string(r.Verdict)})
	}
	width := make([]int, len(head))
	for _, row := range cells {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	line := func(row []string) {
		b.WriteString("|")
		for i, c := range row {
			b.WriteString(" ")
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)))
			b.WriteString(" |")
		}
		b.WriteString("\n")
	}
	line(cells[0])
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, row := range cells[1:] {
		line(row)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fmtDur formats nanoseconds with three significant digits.
func fmtDur(ns float64) string {
	switch a := math.Abs(ns); {
	case a >= 1e9:
		return sig3(ns/1e9) + " s"
	case a >= 1e6:
		return sig3(ns/1e6) + " ms"
	case a >= 1e3:
		return sig3(ns/1e3) + " µs"
	}
	return sig3(ns) + " ns"
}

// fmtRate formats a per-second count with an SI prefix: 2.27M rows/s.
func fmtRate(v float64, unit string) string {
	switch a := math.Abs(v); {
	case a >= 1e9:
		return sig3(v/1e9) + "G " + unit
	case a >= 1e6:
		return sig3(v/1e6) + "M " + unit
	case a >= 1e3:
		return sig3(v/1e3) + "k " + unit
	}
	return sig3(v) + " " + unit
}

// sig3 prints v with three significant digits (more for large integers).
func sig3(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// runs describes how many measurements a median is over.
func runs(n int) string {
	if n == 1 {
		return "1 run"
	}
	return fmt.Sprintf("%d runs", n)
}
