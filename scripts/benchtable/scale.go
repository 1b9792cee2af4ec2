package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The scale run (scripts/bench --scale) leaves these files behind; this
// file turns them into rows.
//
//   - status: pulltop headless's stdout, each line prefixed by the wall time
//     (Unix seconds) at which the script read it: "1700000000.123 t=1s ...".
//   - samples: one line per second and process, "WALL LABEL <the contents of
//     /proc/PID/stat>", with LABEL "engine" (pulltop headless) or "sim".
//   - time: /usr/bin/time -v's report on pulltop headless.
//   - gctrace: pulltop headless's stderr under GODEBUG=gctrace=1.

// StatusLine is one parsed `t=... regions=N initialized=M ...` line.
type StatusLine struct {
	Wall        float64 // when the script read it; 0 if not stamped
	T           time.Duration
	Regions     int
	Initialized int
	Raw         string
}

// ParseStatus reads stamped (or unstamped) headless status lines.
func ParseStatus(in io.Reader) ([]StatusLine, error) {
	var out []StatusLine
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		var s StatusLine
		if len(f) > 0 && !strings.Contains(f[0], "=") {
			w, err := strconv.ParseFloat(f[0], 64)
			if err != nil {
				continue
			}
			s.Wall, f = w, f[1:]
		}
		if len(f) == 0 || !strings.HasPrefix(f[0], "t=") {
			continue
		}
		s.Raw = strings.Join(f, " ")
		ok := true
		for _, kv := range f {
			k, v, _ := strings.Cut(kv, "=")
			var err error
			switch k {
			case "t":
				s.T, err = time.ParseDuration(v)
			case "regions":
				s.Regions, err = strconv.Atoi(v)
			case "initialized":
				s.Initialized, err = strconv.Atoi(v)
			}
			ok = ok && err == nil
		}
		if ok {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}

// CPUSample is the CPU time a process had used at a wall time.
type CPUSample struct {
	Wall     float64
	Label    string
	CPUTicks int64 // utime + stime, in clock ticks
	RSSPages int64
}

// ParseSamples reads "WALL LABEL /proc/PID/stat" lines. The command name in
// the stat line may contain spaces, so fields are counted after its ')'.
func ParseSamples(in io.Reader) ([]CPUSample, error) {
	var out []CPUSample
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := sc.Text()
		f := strings.SplitN(line, " ", 3)
		if len(f) < 3 {
			continue
		}
		wall, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(f[2], ')')
		if i < 0 {
			continue
		}
		// After ')': field 3 (state) is rest[0]; utime is field 14,
		// stime 15, rss 24 (proc(5)).
		rest := strings.Fields(f[2][i+1:])
		if len(rest) < 22 {
			continue
		}
		ut, err1 := strconv.ParseInt(rest[14-3], 10, 64)
		st, err2 := strconv.ParseInt(rest[15-3], 10, 64)
		rss, err3 := strconv.ParseInt(rest[24-3], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		out = append(out, CPUSample{Wall: wall, Label: f[1], CPUTicks: ut + st, RSSPages: rss})
	}
	return out, sc.Err()
}

// TimeReport is what matters of /usr/bin/time -v's output.
type TimeReport struct {
	User, Sys, Elapsed float64 // seconds
	MaxRSSKiB          int64
	ExitStatus         int
	Found              bool
}

// ParseTime reads /usr/bin/time -v's report.
func ParseTime(in io.Reader) (TimeReport, error) {
	var t TimeReport
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ": ")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		var err error
		switch {
		case k == "User time (seconds)":
			t.User, err = strconv.ParseFloat(v, 64)
			t.Found = true
		case k == "System time (seconds)":
			t.Sys, err = strconv.ParseFloat(v, 64)
		case strings.HasPrefix(k, "Elapsed (wall clock) time"):
			t.Elapsed, err = parseClock(v)
		case k == "Maximum resident set size (kbytes)":
			t.MaxRSSKiB, err = strconv.ParseInt(v, 10, 64)
		case k == "Exit status":
			t.ExitStatus, err = strconv.Atoi(v)
		}
		if err != nil {
			return t, fmt.Errorf("time -v %q: %w", sc.Text(), err)
		}
	}
	return t, sc.Err()
}

// parseClock parses h:mm:ss or m:ss(.ss).
func parseClock(v string) (float64, error) {
	var total float64
	for _, p := range strings.Split(v, ":") {
		x, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return 0, err
		}
		total = total*60 + x
	}
	return total, nil
}

// GC is one gctrace line: the time since process start and the live heap
// left by the collection, in MiB (the runtime prints MB meaning 2^20).
type GC struct {
	Num     int
	At      float64
	LiveMiB int64
}

var gcLine = regexp.MustCompile(`^gc (\d+) @([0-9.]+)s .*?, (\d+)->(\d+)->(\d+) MB`)

// ParseGCTrace reads GODEBUG=gctrace=1 lines among other stderr output.
func ParseGCTrace(in io.Reader) ([]GC, error) {
	var out []GC
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		m := gcLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		at, _ := strconv.ParseFloat(m[2], 64)
		live, _ := strconv.ParseInt(m[5], 10, 64)
		out = append(out, GC{Num: n, At: at, LiveMiB: live})
	}
	return out, sc.Err()
}

// ScaleInput is one scale run, parsed.
type ScaleInput struct {
	Regions int
	Launch  float64 // wall time just before pulltop headless was started
	ClkTck  float64 // clock ticks per second (getconf CLK_TCK)
	Window  float64 // steady-state window, seconds, ending at the last sample
	Status  []StatusLine
	Samples []CPUSample
	Time    TimeReport
	GCs     []GC
	View    *Runs // UI benchmark output, or nil
}

// ScaleRows evaluates the scale run's budgets (DESIGN §8 "regions",
// "memory", "UI").
func ScaleRows(in ScaleInput) []Row {
	var rows []Row

	// All initialized.
	const initBudget = "scale: all 100k regions initialized < 30 s"
	initWall := 0.0
	var first *StatusLine
	for i := range in.Status {
		s := &in.Status[i]
		if s.Regions == in.Regions && s.Initialized == in.Regions {
			first = s
			break
		}
	}
	switch {
	case len(in.Status) == 0:
		rows = append(rows, missing(initBudget, "status lines"))
	case first == nil:
		last := in.Status[len(in.Status)-1]
		rows = append(rows, Row{Budget: initBudget, Measured: "never; last line: " + last.Raw, Ratio: "-", Verdict: Fail})
	default:
		measured := fmt.Sprintf("first status line with initialized=%d: t=%s", in.Regions, first.T)
		secs := first.T.Seconds()
		if first.Wall > 0 && in.Launch > 0 {
			initWall = first.Wall
			secs = first.Wall - in.Launch
			measured += fmt.Sprintf(", %.1f s after launch", secs)
		}
		measured += " (1 s status interval)"
		rows = append(rows, Row{Budget: initBudget, Measured: measured, Ratio: "-", Verdict: verdict(secs < 30)})
	}

	// Steady-state CPU of each process over the last Window seconds.
	for _, label := range []string{"engine", "sim"} {
		budget := "scale: steady-state CPU of pulltop headless < 1 core"
		if label == "sim" {
			budget = "scale: steady-state CPU of the sim (context)"
		}
		row := cpuRow(in, label, initWall)
		row.Budget = budget
		if label == "sim" && row.Verdict != Missing {
			row.Verdict = Info
		}
		rows = append(rows, row)
	}

	// Heap per region: the median live heap left by the GCs that ran in
	// steady state, from all-initialized until a second before the last
	// status line (after it, headless builds and saves the final snapshot,
	// a one-off peak reported separately). Max RSS is a looser upper bound.
	const heapBudget = "scale: engine heap ≤ 2 KiB per region"
	endWall := 0.0
	if n := len(in.Status); n > 0 && in.Status[n-1].Wall > 0 {
		endWall = in.Status[n-1].Wall - 1
	}
	var steady []float64
	var peak GC
	for _, g := range in.GCs {
		if g.LiveMiB > peak.LiveMiB {
			peak = g
		}
		wall := in.Launch + g.At
		if in.Launch == 0 || initWall == 0 || endWall == 0 || (wall >= initWall && wall <= endWall) {
			steady = append(steady, float64(g.LiveMiB))
		}
	}
	rssPerRegion := 0.0
	if in.Time.Found && in.Regions > 0 {
		rssPerRegion = float64(in.Time.MaxRSSKiB) * 1024 / float64(in.Regions)
	}
	switch {
	case len(steady) > 0:
		live := median(steady)
		per := live * (1 << 20) / float64(in.Regions)
		rows = append(rows, Row{Budget: heapBudget,
			Measured: fmt.Sprintf("%.0f B/region: live heap %.0f MiB, median of %d GCs in steady state (gctrace, whole process)", per, live, len(steady)),
			Ratio:    "-", Verdict: verdict(per <= 2048)})
	case rssPerRegion > 0:
		rows = append(rows, Row{Budget: heapBudget,
			Measured: fmt.Sprintf("≤ %.0f B/region: no GC in steady state, so max RSS / regions (upper bound)", rssPerRegion),
			Ratio:    "-", Verdict: verdict(rssPerRegion <= 2048)})
	default:
		rows = append(rows, missing(heapBudget, "gctrace or time -v"))
	}
	if peak.Num > 0 {
		when := ""
		if in.Launch > 0 && endWall > 0 && in.Launch+peak.At > endWall+1 {
			when = ", after the last status line: the final snapshot"
		}
		rows = append(rows, Row{Budget: "scale: peak live heap of pulltop headless (context)",
			Measured: fmt.Sprintf("%d MiB = %.0f B/region after gc %d @%.1fs%s", peak.LiveMiB, float64(peak.LiveMiB)*(1<<20)/float64(in.Regions), peak.Num, peak.At, when),
			Ratio:    "-", Verdict: Info})
	}
	if in.Time.Found {
		rows = append(rows,
			Row{Budget: "scale: max RSS of pulltop headless (context)",
				Measured: fmt.Sprintf("%.0f MiB = %.0f B/region (upper bound on heap)", float64(in.Time.MaxRSSKiB)/1024, rssPerRegion),
				Ratio:    "-", Verdict: Info},
			Row{Budget: "scale: whole-run CPU of pulltop headless, incl. start-up (context)",
				Measured: fmt.Sprintf("%.2f cores: user %.2f s + sys %.2f s over %.1f s (time -v)", (in.Time.User+in.Time.Sys)/max(in.Time.Elapsed, 1e-9), in.Time.User, in.Time.Sys, in.Time.Elapsed),
				Ratio:    "-", Verdict: Info},
			Row{Budget: "scale: pulltop headless exit status 0",
				Measured: strconv.Itoa(in.Time.ExitStatus), Ratio: "-", Verdict: verdict(in.Time.ExitStatus == 0)},
		)
	} else {
		rows = append(rows, missing("scale: pulltop headless exit status 0", "time -v report"))
	}

	// TUI refresh.
	const viewBudget = "scale: TUI refresh = View() at 1M regions ≤ 1 ms"
	if in.View == nil {
		rows = append(rows, missing(viewBudget, benchView1M))
	} else if v, n, ok := in.View.Median(benchView1M, 0, "ns/op"); ok {
		rows = append(rows, Row{Budget: viewBudget, Measured: fmt.Sprintf("%s (%s of %s)", fmtDur(v), runs(n), benchView1M), Ratio: "-", Verdict: verdict(v <= 1e6)})
	} else {
		rows = append(rows, missing(viewBudget, benchView1M))
	}
	return rows
}

// cpuRow is user+sys CPU over wall time between the first sample at or
// after max(last - Window, initWall) and the last sample.
func cpuRow(in ScaleInput, label string, initWall float64) Row {
	var ss []CPUSample
	for _, s := range in.Samples {
		if s.Label == label {
			ss = append(ss, s)
		}
	}
	if len(ss) < 2 || in.ClkTck <= 0 {
		return Row{Measured: "fewer than 2 /proc samples of " + label, Ratio: "-", Verdict: Missing}
	}
	last := ss[len(ss)-1]
	from := max(last.Wall-in.Window, initWall)
	start := ss[0]
	for _, s := range ss {
		if s.Wall >= from {
			start = s
			break
		}
	}
	dw := last.Wall - start.Wall
	if dw <= 0 {
		return Row{Measured: "no steady-state window: " + label + " samples end at initialization", Ratio: "-", Verdict: Missing}
	}
	cores := float64(last.CPUTicks-start.CPUTicks) / in.ClkTck / dw
	rel := func(w float64) string { return fmt.Sprintf("%.1f", w-in.Launch) }
	return Row{
		Measured: fmt.Sprintf("%.2f cores: Δ(utime+stime) of /proc/PID/stat over %.1f s (%s–%s s after launch)", cores, dw, rel(start.Wall), rel(last.Wall)),
		Ratio:    "-",
		Verdict:  verdict(cores < 1),
	}
}
