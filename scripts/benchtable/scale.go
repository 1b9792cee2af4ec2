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
//   - gctrace: pulltop headless's stderr under GODEBUG=gctrace=1, which also
//     holds its "snapshot: wrote FILE (N bytes, M regions) in D" line.
//   - replay time / replay out: /usr/bin/time -v's report on, and the stdout
//     of, `pulltop replay --check FILE` on that snapshot.

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

	// Interval is headless's --interval: the resolution of every time read
	// from status lines (0 means 1 s, the default).
	Interval time.Duration
	Saved    *Saved     // headless's line about its final snapshot, or nil
	Replay   TimeReport // time -v of `pulltop replay --check` (Found false: not run)
	Check    *CheckLine // its stdout, or nil
}

// Saved is headless's stderr line after writing its final snapshot.
type Saved struct {
	File    string
	Bytes   int64 // -1 when not a regular file
	Regions int
	Took    time.Duration
}

var savedLine = regexp.MustCompile(`^snapshot: wrote (.+) \((?:(\d+) bytes, )?(\d+) regions\) in (\S+)$`)

// ParseSaved finds the last "snapshot: wrote ..." line among other stderr
// output (gctrace); nil if there is none.
func ParseSaved(in io.Reader) (*Saved, error) {
	var out *Saved
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		m := savedLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		s := Saved{File: m[1], Bytes: -1}
		var err error
		if m[2] != "" {
			if s.Bytes, err = strconv.ParseInt(m[2], 10, 64); err != nil {
				return nil, fmt.Errorf("%q: %w", sc.Text(), err)
			}
		}
		if s.Regions, err = strconv.Atoi(m[3]); err != nil {
			return nil, fmt.Errorf("%q: %w", sc.Text(), err)
		}
		if s.Took, err = time.ParseDuration(m[4]); err != nil {
			return nil, fmt.Errorf("%q: %w", sc.Text(), err)
		}
		out = &s
	}
	return out, sc.Err()
}

// CheckLine is `pulltop replay --check`'s summary line.
type CheckLine struct {
	File    string
	Version int
	Regions int
	Stores  int
	Raw     string
}

var checkLine = regexp.MustCompile(`^(.+): snapshot version (\d+) .*, (\d+) regions, (\d+) stores, seq \d+$`)

// ParseCheck reads `pulltop replay --check`'s stdout; nil if it printed no
// summary line (the load failed).
func ParseCheck(in io.Reader) (*CheckLine, error) {
	var out *CheckLine
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		m := checkLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		c := CheckLine{File: m[1], Raw: sc.Text()}
		c.Version, _ = strconv.Atoi(m[2]) // \d+: only overflow fails, and then 0 says so
		c.Regions, _ = strconv.Atoi(m[3])
		c.Stores, _ = strconv.Atoi(m[4])
		out = &c
	}
	return out, sc.Err()
}

// ScaleBudgets are the scale run's limits, which depend on its size
// (DESIGN §8 for 100k, issue 14 for 1M). A zero limit makes the row
// context rather than a budget.
type ScaleBudgets struct {
	Size         string  // "100k", "1M": how rows name the run
	InitSecs     float64 // all regions initialized within
	InitStrict   bool    // "<" rather than "≤"
	FirstSecs    float64 // first status line with regions>0 within
	HeapPerReg   float64 // bytes of live heap per region
	PeakRSSBytes float64 // max RSS of pulltop headless
	SaveSecs     float64 // final snapshot written within
	ReplaySecs   float64 // `replay --check` within
}

// BudgetsFor picks the budgets of a run with this many regions: 1M and more
// get issue 14's, anything smaller DESIGN §8's 100k rows.
func BudgetsFor(regions int) ScaleBudgets {
	if regions >= 1_000_000 {
		return ScaleBudgets{Size: fmtCount(regions), InitSecs: 60, FirstSecs: 2, HeapPerReg: 1024,
			PeakRSSBytes: 1.5 * (1 << 30), SaveSecs: 10, ReplaySecs: 10}
	}
	return ScaleBudgets{Size: fmtCount(regions), InitSecs: 30, InitStrict: true, FirstSecs: 2, HeapPerReg: 2048}
}

// fmtCount writes 100000 as 100k and 1000000 as 1M (exact multiples only).
func fmtCount(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

// fmtBytes writes a size in MiB or GiB.
func fmtBytes(b float64) string {
	if b >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", b/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", b/(1<<20))
}

// ScaleRows evaluates the scale run's budgets (DESIGN §8 "regions",
// "memory", "UI"; issue 14 at 1M regions).
func ScaleRows(in ScaleInput) []Row {
	var rows []Row
	b := BudgetsFor(in.Regions)
	interval := in.Interval
	if interval <= 0 {
		interval = time.Second
	}
	// Every time read from a status line is late by up to one interval.
	resolution := fmt.Sprintf(" (%s s status interval)", strconv.FormatFloat(interval.Seconds(), 'f', -1, 64))
	sinceLaunch := func(s *StatusLine) (float64, string) {
		if s.Wall > 0 && in.Launch > 0 {
			secs := s.Wall - in.Launch
			return secs, fmt.Sprintf(", %.1f s after launch", secs)
		}
		return s.T.Seconds(), ""
	}

	// First region shown: what an operator waits for before the screen
	// says anything.
	firstBudget := fmt.Sprintf("scale: first region shown ≤ %g s (%s)", b.FirstSecs, b.Size)
	var shown *StatusLine
	for i := range in.Status {
		if in.Status[i].Regions > 0 {
			shown = &in.Status[i]
			break
		}
	}
	switch {
	case len(in.Status) == 0:
		rows = append(rows, missing(firstBudget, "status lines"))
	case shown == nil:
		rows = append(rows, Row{Budget: firstBudget, Measured: "never; last line: " + in.Status[len(in.Status)-1].Raw, Ratio: "-", Verdict: Fail})
	default:
		secs, after := sinceLaunch(shown)
		rows = append(rows, Row{Budget: firstBudget,
			Measured: fmt.Sprintf("first status line with regions>0: t=%s regions=%d%s%s", shown.T, shown.Regions, after, resolution),
			Ratio:    "-", Verdict: verdict(secs <= b.FirstSecs)})
	}

	// All initialized.
	op := "≤"
	if b.InitStrict {
		op = "<"
	}
	initBudget := fmt.Sprintf("scale: all %s regions initialized %s %g s", b.Size, op, b.InitSecs)
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
		secs, after := sinceLaunch(first)
		if after != "" {
			initWall = first.Wall
		}
		ok := secs <= b.InitSecs
		if b.InitStrict {
			ok = secs < b.InitSecs
		}
		rows = append(rows, Row{Budget: initBudget,
			Measured: fmt.Sprintf("first status line with initialized=%d: t=%s%s%s", in.Regions, first.T, after, resolution),
			Ratio:    "-", Verdict: verdict(ok)})
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
	heapBudget := fmt.Sprintf("scale: engine heap ≤ %g KiB per region", b.HeapPerReg/1024)
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
			Ratio:    "-", Verdict: verdict(per <= b.HeapPerReg)})
	case rssPerRegion > 0:
		rows = append(rows, Row{Budget: heapBudget,
			Measured: fmt.Sprintf("≤ %.0f B/region: no GC in steady state, so max RSS / regions (upper bound)", rssPerRegion),
			Ratio:    "-", Verdict: verdict(rssPerRegion <= b.HeapPerReg)})
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
		rss := float64(in.Time.MaxRSSKiB) * 1024
		rssRow := Row{Budget: "scale: max RSS of pulltop headless (context)",
			Measured: fmt.Sprintf("%s = %.0f B/region (upper bound on heap)", fmtBytes(rss), rssPerRegion),
			Ratio:    "-", Verdict: Info}
		if b.PeakRSSBytes > 0 {
			rssRow.Budget = fmt.Sprintf("scale: peak RSS of pulltop headless ≤ %s (%s, snapshot writing included)", fmtBytes(b.PeakRSSBytes), b.Size)
			rssRow.Measured = fmt.Sprintf("%s = %.0f B/region (time -v max RSS, whole run)", fmtBytes(rss), rssPerRegion)
			rssRow.Verdict = verdict(rss <= b.PeakRSSBytes)
		}
		rows = append(rows, rssRow,
			Row{Budget: "scale: whole-run CPU of pulltop headless, incl. start-up (context)",
				Measured: fmt.Sprintf("%.2f cores: user %.2f s + sys %.2f s over %.1f s (time -v)", (in.Time.User+in.Time.Sys)/max(in.Time.Elapsed, 1e-9), in.Time.User, in.Time.Sys, in.Time.Elapsed),
				Ratio:    "-", Verdict: Info},
			Row{Budget: "scale: pulltop headless exit status 0",
				Measured: strconv.Itoa(in.Time.ExitStatus), Ratio: "-", Verdict: verdict(in.Time.ExitStatus == 0)},
		)
	} else {
		if b.PeakRSSBytes > 0 {
			rows = append(rows, missing(fmt.Sprintf("scale: peak RSS of pulltop headless ≤ %s (%s, snapshot writing included)", fmtBytes(b.PeakRSSBytes), b.Size), "time -v report"))
		}
		rows = append(rows, missing("scale: pulltop headless exit status 0", "time -v report"))
	}

	rows = append(rows, snapshotRows(in, b)...)

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

// snapshotRows: the final snapshot's size, how long headless took to write
// it, and how long `pulltop replay --check` took to load it (one run each).
// Below 1M regions they are context.
func snapshotRows(in ScaleInput, b ScaleBudgets) []Row {
	budget := func(what string, limit float64) (string, Verdict) {
		if limit <= 0 {
			return fmt.Sprintf("scale: snapshot %s (context)", what), Info
		}
		return fmt.Sprintf("scale: snapshot %s ≤ %g s (%s)", what, limit, b.Size), Pass
	}
	judge := func(v Verdict, ok bool) Verdict {
		if v == Info {
			return Info
		}
		return verdict(ok)
	}
	var rows []Row
	saveBudget, saveV := budget("save", b.SaveSecs)
	sv := in.Saved
	if sv == nil {
		rows = append(rows,
			missing("scale: snapshot size (context)", `headless's "snapshot: wrote" line`),
			missing(saveBudget, `headless's "snapshot: wrote" line`))
	} else {
		size := "size unknown (not a regular file)"
		if sv.Bytes >= 0 {
			size = fmt.Sprintf("%s = %.0f B/region", fmtBytes(float64(sv.Bytes)), float64(sv.Bytes)/float64(max(sv.Regions, 1)))
		}
		rows = append(rows, Row{Budget: "scale: snapshot size (context)",
			Measured: fmt.Sprintf("%s, %d regions, %s", size, sv.Regions, sv.File), Ratio: "-", Verdict: Info})
		v := judge(saveV, sv.Took.Seconds() <= b.SaveSecs)
		note := ""
		if sv.Regions != in.Regions {
			// A snapshot of fewer regions than the run had is not the
			// cost being budgeted.
			note = fmt.Sprintf("; holds %d of %d regions", sv.Regions, in.Regions)
			v = judge(saveV, false)
		}
		rows = append(rows, Row{Budget: saveBudget,
			Measured: fmt.Sprintf("%.2f s (headless, one save%s)", sv.Took.Seconds(), note),
			Ratio:    "-", Verdict: v})
	}

	replayBudget, replayV := budget("replay (load + validate)", b.ReplaySecs)
	switch {
	case !in.Replay.Found:
		rows = append(rows, missing(replayBudget, "time -v of pulltop replay --check"))
	case in.Replay.ExitStatus != 0 || in.Check == nil:
		rows = append(rows, Row{Budget: replayBudget,
			Measured: fmt.Sprintf("pulltop replay --check exit %d, no summary line: the snapshot does not load", in.Replay.ExitStatus),
			Ratio:    "-", Verdict: Fail})
	default:
		v := judge(replayV, in.Replay.Elapsed <= b.ReplaySecs)
		note := ""
		if sv != nil && in.Check.Regions != sv.Regions {
			// A file that reads back different is wrong at any size.
			note = fmt.Sprintf("; read %d regions of the %d written", in.Check.Regions, sv.Regions)
			v = Fail
		}
		rows = append(rows, Row{Budget: replayBudget,
			Measured: fmt.Sprintf("%.2f s, max RSS %s, %d regions (time -v of pulltop replay --check, one run%s)", in.Replay.Elapsed, fmtBytes(float64(in.Replay.MaxRSSKiB)*1024), in.Check.Regions, note),
			Ratio:    "-", Verdict: v})
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
	start := last
	for _, s := range ss {
		if s.Wall >= from {
			start = s
			break
		}
	}
	dw := last.Wall - start.Wall
	if dw <= 0 {
		// No sample after initialization (or the window is empty):
		// anything measured would include start-up.
		return Row{Measured: "no steady-state window: " + label + " samples end at initialization", Ratio: "-", Verdict: Missing}
	}
	cores := float64(last.CPUTicks-start.CPUTicks) / in.ClkTck / dw
	rel := func(w float64) string { return fmt.Sprintf("%.1f", w-in.Launch) }
	note := ""
	if initWall == 0 {
		note = "; never all initialized, so not steady state"
	}
	return Row{
		Measured: fmt.Sprintf("%.2f cores: Δ(utime+stime) of /proc/PID/stat over %.1f s (%s–%s s after launch%s)", cores, dw, rel(start.Wall), rel(last.Wall), note),
		Ratio:    "-",
		Verdict:  verdict(cores < 1),
	}
}
