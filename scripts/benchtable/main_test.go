package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testdata/budgets holds the raw output of one real `scripts/bench` run
// (COUNT=5, STORM_COUNT=5) on the project's 2-core machine, testdata/scale
// the files of one real `scripts/bench --scale` run (before headless
// printed its "snapshot: wrote" line and before replay --check), and
// testdata/scale2 those of a real `SCALE_DURATION=40s scripts/bench --scale
// 100k` with the snapshot files, on a loaded machine (load 4 on 2 cores).

func budgetFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/budgets/*.txt")
	if err != nil || len(files) != 9 {
		t.Fatalf("testdata/budgets: %v, %d files", err, len(files))
	}
	return files
}

func parseFiles(t *testing.T, files ...string) *Runs {
	t.Helper()
	var r Runs
	for _, f := range files {
		if err := parseFile(f, r.Parse); err != nil {
			t.Fatal(err)
		}
	}
	return &r
}

func TestParseBenchLines(t *testing.T) {
	r := parseFiles(t, "testdata/budgets/03-retry.txt", "testdata/budgets/05-storebackoff.txt", "testdata/budgets/07-scale.txt")
	if got := len(r.Values("BenchmarkScheduleFire/delays=0-100us", 2, "ops/s")); got != 5 {
		t.Errorf("ScheduleFire/delays=0-100us at -cpu 2: %d values, want 5", got)
	}
	first := r.Results[0]
	if first.Name != "BenchmarkScheduleFire/delays=0-100us" || first.Procs != 2 || first.N != 5 {
		t.Errorf("first result %+v", first)
	}
	want := map[string]float64{"ns/op": 230472517, "ops/s": 4338912, "B/op": 81292814, "allocs/op": 1002573}
	for unit, v := range want {
		if first.Metrics[unit] != v {
			t.Errorf("first result %s = %v, want %v", unit, first.Metrics[unit], v)
		}
	}
	// -cpu 1 prints no suffix; procs 0 picks the highest procs run.
	if got := r.Values("BenchmarkSuccessNoCooling", 1, "ns/op"); len(got) != 5 || got[0] != 1.175 {
		t.Errorf("SuccessNoCooling -cpu 1 ns/op = %v", got)
	}
	if m, n, _ := r.Median("BenchmarkSuccessNoCooling", 0, "ns/op"); n != 5 || m != 1.211 {
		t.Errorf("SuccessNoCooling default procs median = %v over %d, want 1.211 over 5", m, n)
	}
	if m, _, _ := r.Median("BenchmarkScale", 0, "heapB/region"); m != 1140 {
		t.Errorf("Scale heapB/region median = %v, want 1140", m)
	}
	if m, _, _ := r.Median("BenchmarkScale", 0, "s-to-init"); m != 2.169 {
		t.Errorf("Scale s-to-init median = %v, want 2.169", m)
	}
	if _, _, ok := r.Median("BenchmarkNothing", 0, "ns/op"); ok {
		t.Error("median of an absent benchmark")
	}
}

func TestParseStormAndFailures(t *testing.T) {
	r := parseFiles(t, "testdata/budgets/09-storm.txt")
	if len(r.Storms) != 5 {
		t.Fatalf("%d storm runs, want 5", len(r.Storms))
	}
	if s := r.Storms[0]; s.Backoff != 285 || s.NoBackoff != 8060 || s.Ratio != 28.3 {
		t.Errorf("first storm run %+v", s)
	}
	if len(r.Failed) != 0 {
		t.Errorf("failures in a passing run: %v", r.Failed)
	}
	var f Runs
	_ = f.Parse(strings.NewReader("--- FAIL: TestRetryStormBackoff (31.00s)\nFAIL\tpulltop/engine\t31.2s\n    --- FAIL: BenchmarkX/y\n"))
	if want := []string{"TestRetryStormBackoff", "FAIL\tpulltop/engine\t31.2s", "BenchmarkX/y"}; strings.Join(f.Failed, "|") != strings.Join(want, "|") {
		t.Errorf("failures = %q, want %q", f.Failed, want)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func rowByPrefix(t *testing.T, rows []Row, prefix string) Row {
	t.Helper()
	var found []Row
	for _, r := range rows {
		if strings.HasPrefix(r.Budget, prefix) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d rows start with %q", len(found), prefix)
	}
	return found[0]
}

func TestBudgetsOnRealRun(t *testing.T) {
	rows := Budgets(parseFiles(t, budgetFiles(t)...))
	if len(rows) != 14 {
		t.Errorf("%d rows, want 14", len(rows))
	}
	for _, r := range rows {
		if r.Verdict != Pass {
			t.Errorf("%s: %s %s", r.Budget, r.Verdict, r.Measured)
		}
	}
	for prefix, want := range map[string]Row{
		// engine 2532892 / bare 2420373 rows/s (medians of 5)
		"ingest":           {Measured: "engine 2.53M rows/s, bare 2.42M rows/s (5 runs)", Ratio: "1.05"},
		"retry scheduler:": {Measured: "4.93M ops/s (5 runs)"},
		"retry scheduler ≥ 1.5× AfterFunc-per-retry (delays=0-100us)": {Ratio: "12.2×"},
		"retry scheduler ≥ 1.5× AfterFunc-per-retry (delays=0-50ms)":  {Ratio: "3.0×"},
		"UI: View() at 1M regions ≤ 1 ms":                             {Measured: "20.1 µs (5 runs)"},
		"UI: View() at 1M regions ≤ 2×":                               {Measured: "1M 20.1 µs, 1k 19.8 µs (5 runs)", Ratio: "1.02×"},
		"range merge":                                                 {Measured: "133 ms (5 runs)"},
		"store backoff":                                               {Measured: "-cpu 1: 0 allocs/op, 1.17 ns/op (5 runs); -cpu 2: 0 allocs/op, 1.21 ns/op (5 runs)"},
		"UI: derive":                                                  {Measured: "sort=lag 24.5 ms; sort=lag/filter=fields 6.17 ms; sort=lag/filter=text 32.4 ms (5 runs)"},
		"sim: rows":                                                   {Measured: "345k rows/s (5 runs)"},
		"sim: start":                                                  {Measured: "120 ms (5 runs)"},
		"engine scale: 100k":                                          {Measured: "2.17 s (5 runs)"},
		"engine scale: heap":                                          {Measured: "1140 B/region (5 runs; includes the in-process sim)"},
		"backoff":                                                     {Measured: "with backoff 283 req/s, without 11.1k req/s (5 runs)", Ratio: "1/39.2"},
	} {
		got := rowByPrefix(t, rows, prefix)
		if want.Measured != "" && got.Measured != want.Measured {
			t.Errorf("%s: measured %q, want %q", prefix, got.Measured, want.Measured)
		}
		if want.Ratio != "" && got.Ratio != want.Ratio {
			t.Errorf("%s: ratio %q, want %q", prefix, got.Ratio, want.Ratio)
		}
	}
}

// TestBudgetsFailAndMissing edits the real output: a slower merge, allocs
// in the store's Success, an engine at half the bare loop, the storm test's
// own failure, and no ui output at all.
func TestBudgetsFailAndMissing(t *testing.T) {
	var in bytes.Buffer
	for _, f := range budgetFiles(t) {
		if strings.Contains(f, "08-ui") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		s = strings.ReplaceAll(s, "132342629 ns/op", "400000000 ns/op")
		s = strings.ReplaceAll(s, "136313264 ns/op", "400000000 ns/op")
		s = strings.ReplaceAll(s, "132599603 ns/op", "400000000 ns/op")
		s = strings.Replace(s, "0.5754 ns/op	       0 B/op	       0 allocs/op", "0.5754 ns/op	       8 B/op	       1 allocs/op", 1)
		s = strings.ReplaceAll(s, "   2608599 rows/s", "   1000000 rows/s")
		s = strings.ReplaceAll(s, "   2552338 rows/s", "   1000000 rows/s")
		s = strings.ReplaceAll(s, "   2532892 rows/s", "   1000000 rows/s")
		s = strings.Replace(s, "--- PASS: TestRetryStormBackoff (30.91s)", "--- FAIL: TestRetryStormBackoff (30.91s)", 1)
		in.WriteString(s)
	}
	var r Runs
	if err := r.Parse(&in); err != nil {
		t.Fatal(err)
	}
	rows := Budgets(&r)
	if !Failed(rows) {
		t.Error("Failed() = false")
	}
	for prefix, want := range map[string]Verdict{
		"range merge":                     Fail,
		"store backoff":                   Fail,
		"ingest":                          Fail,
		"UI: View() at 1M regions ≤ 1 ms": Missing,
		"UI: View() at 1M regions ≤ 2×":   Missing,
		"UI: derive":                      Missing,
		"sim: start":                      Pass,
		"backoff":                         Pass, // the ratio itself still passes
	} {
		if got := rowByPrefix(t, rows, prefix); got.Verdict != want {
			t.Errorf("%s: %s (%s), want %s", prefix, got.Verdict, got.Measured, want)
		}
	}
	if got := rowByPrefix(t, rows, "store backoff").Measured; !strings.Contains(got, "-cpu 2: 1 allocs/op") {
		t.Errorf("store backoff shows %q, want the worst run's allocs", got)
	}
	if got := rowByPrefix(t, rows, "ingest").Ratio; got != "0.41" {
		t.Errorf("ingest ratio %s, want 0.41", got)
	}
	if len(r.Failed) != 1 || r.Failed[0] != "TestRetryStormBackoff" {
		t.Errorf("failures %v", r.Failed)
	}
}

func TestRunExitStatus(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(append([]string{"budgets"}, budgetFiles(t)...), &out, &errb); code != 0 {
		t.Errorf("exit %d on a passing run; stderr %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 16 || !strings.HasPrefix(lines[0], "| budget ") || !strings.HasPrefix(lines[1], "| ---") {
		t.Errorf("table:\n%s", out.String())
	}
	out.Reset()
	if code := run([]string{"budgets", "testdata/budgets/04-merge.txt"}, &out, &errb); code != 1 {
		t.Errorf("exit %d with most budgets missing, want 1", code)
	}
	if code := run([]string{"budgets", "testdata/no-such-file"}, &out, &errb); code != 2 {
		t.Errorf("exit %d on a missing file, want 2", code)
	}
	if code := run([]string{"frobnicate"}, &out, &errb); code != 2 {
		t.Errorf("exit %d on a bad mode, want 2", code)
	}
}

func TestWriteTableAligns(t *testing.T) {
	var b bytes.Buffer
	_ = WriteTable(&b, []Row{{Budget: "a ≥ b", Measured: "20 µs", Ratio: "1.5×", Verdict: Pass}, {Budget: "long budget", Measured: "x", Verdict: Fail}})
	want := "" +
		"| budget      | measured (median) | ratio | verdict |\n" +
		"| ----------- | ----------------- | ----- | ------- |\n" +
		"| a ≥ b       | 20 µs             | 1.5×  | PASS    |\n" +
		"| long budget | x                 | -     | FAIL    |\n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{fmtDur(18553), "18.6 µs"}, {fmtDur(132342629), "132 ms"}, {fmtDur(2.5e9), "2.50 s"}, {fmtDur(1.175), "1.18 ns"},
		{fmtRate(2532892, "rows/s"), "2.53M rows/s"}, {fmtRate(344856, "rows/s"), "345k rows/s"}, {fmtRate(283, "req/s"), "283 req/s"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func scaleSample(t *testing.T) ScaleInput { return scaleSampleIn(t, "testdata/scale") }

func scaleSampleIn(t *testing.T, dir string) ScaleInput {
	t.Helper()
	b, err := os.ReadFile(dir + "/launch.txt")
	if err != nil {
		t.Fatal(err)
	}
	launch, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil {
		t.Fatal(err)
	}
	in := ScaleInput{Regions: 100_000, Launch: launch, ClkTck: 100, Window: 30, View: &Runs{}}
	open := func(name string) *os.File {
		f, err := os.Open(dir + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	if in.Status, err = ParseStatus(open("status.txt")); err != nil {
		t.Fatal(err)
	}
	if in.Samples, err = ParseSamples(open("samples.txt")); err != nil {
		t.Fatal(err)
	}
	if in.Time, err = ParseTime(open("time.txt")); err != nil {
		t.Fatal(err)
	}
	if in.GCs, err = ParseGCTrace(open("headless.err")); err != nil {
		t.Fatal(err)
	}
	if err := in.View.Parse(open("view.txt")); err != nil {
		t.Fatal(err)
	}
	if in.Saved, err = ParseSaved(open("headless.err")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir + "/replay.out"); err == nil {
		if in.Replay, err = ParseTime(open("replay-time.txt")); err != nil {
			t.Fatal(err)
		}
		if in.Check, err = ParseCheck(open("replay.out")); err != nil {
			t.Fatal(err)
		}
	}
	return in
}

func TestScaleParsers(t *testing.T) {
	in := scaleSample(t)
	if len(in.Status) != 60 {
		t.Errorf("%d status lines, want 60", len(in.Status))
	}
	if s := in.Status[1]; s.T != 2*time.Second || s.Regions != 100_000 || s.Initialized != 100_000 || s.Wall == 0 {
		t.Errorf("second status line %+v", s)
	}
	if got := in.Status[len(in.Status)-1].T; got != time.Minute+100*time.Millisecond {
		t.Errorf("last t = %s", got)
	}
	if in.Time.User != 16.73 || in.Time.Sys != 1.52 || in.Time.MaxRSSKiB == 0 || in.Time.ExitStatus != 0 || in.Time.Elapsed < 60 || in.Time.Elapsed > 62 {
		t.Errorf("time report %+v", in.Time)
	}
	if len(in.GCs) != 46 || in.GCs[45].LiveMiB != 191 || in.GCs[44].LiveMiB != 112 || in.GCs[45].At != 60.262 {
		t.Errorf("%d GCs; last two %+v", len(in.GCs), in.GCs[len(in.GCs)-2:])
	}
	var engine, sim int
	for _, s := range in.Samples {
		switch s.Label {
		case "engine":
			engine++
		case "sim":
			sim++
		}
	}
	if engine < 55 || sim < 55 {
		t.Errorf("%d engine and %d sim samples", engine, sim)
	}
	// A command name with spaces and parentheses.
	ss, _ := ParseSamples(strings.NewReader("12.5 engine 42 (a) b) S 1 1 1 0 -1 4194304 0 0 0 0 250 50 0 0 20 0 8 0 1 1 777 0\n"))
	if len(ss) != 1 || ss[0].CPUTicks != 300 || ss[0].RSSPages != 777 || ss[0].Wall != 12.5 {
		t.Errorf("samples %+v", ss)
	}
	if v, err := parseClock("1:00.69"); err != nil || v < 60.68 || v > 60.7 {
		t.Errorf("parseClock(1:00.69) = %v, %v", v, err)
	}
	if v, _ := parseClock("1:02:03"); v != 3723 {
		t.Errorf("parseClock(1:02:03) = %v", v)
	}
}

func TestScaleRowsOnRealRun(t *testing.T) {
	rows := ScaleRows(scaleSample(t))
	for _, r := range rows {
		// That run predates the snapshot line and replay --check.
		old := strings.HasPrefix(r.Budget, "scale: snapshot ")
		if r.Verdict == Fail || r.Verdict == Missing && !old || old && r.Verdict != Missing {
			t.Errorf("%s: %s %s", r.Budget, r.Verdict, r.Measured)
		}
	}
	if n := len(rows); n != 13 {
		t.Errorf("%d rows, want 13", n)
	}
	for prefix, want := range map[string]string{
		"scale: first region shown ≤ 2 s":    "first status line with regions>0: t=1s regions=100000, 1.2 s after launch (1 s status interval)",
		"scale: all":                         "first status line with initialized=100000: t=2s, 2.1 s after launch (1 s status interval)",
		"scale: steady-state CPU of pulltop": "0.27 cores: Δ(utime+stime) of /proc/PID/stat over 29.1 s (31.2–60.2 s after launch)",
		"scale: steady-state CPU of the sim": "0.09 cores",
		"scale: engine heap":                 "1174 B/region: live heap 112 MiB, median of 25 GCs in steady state",
		"scale: peak live heap":              "191 MiB = 2003 B/region after gc 46 @60.3s, after the last status line",
		"scale: TUI refresh":                 "18.1 µs (5 runs of BenchmarkView/regions=1M)",
	} {
		if got := rowByPrefix(t, rows, prefix).Measured; !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q, want prefix %q", prefix, got, want)
		}
	}
	if !Failed(rows) {
		t.Error("Failed() false with the snapshot rows MISSING")
	}
}

func TestScaleRowsFailures(t *testing.T) {
	in := scaleSample(t)
	// Never fully initialized; 2 cores busy; a 300 MiB live heap; no ui.
	for i := range in.Status {
		in.Status[i].Initialized = 99_999
	}
	for i := range in.Samples {
		in.Samples[i].CPUTicks = int64(in.Samples[i].Wall * 200)
	}
	for i := range in.GCs {
		in.GCs[i].LiveMiB = 300
	}
	in.View = nil
	rows := ScaleRows(in)
	for prefix, want := range map[string]Verdict{
		"scale: all":                         Fail,
		"scale: steady-state CPU of pulltop": Fail,
		"scale: steady-state CPU of the sim": Info,
		"scale: engine heap":                 Fail,
		"scale: TUI refresh":                 Missing,
		"scale: pulltop headless exit":       Pass,
	} {
		if got := rowByPrefix(t, rows, prefix); got.Verdict != want {
			t.Errorf("%s: %s (%s), want %s", prefix, got.Verdict, got.Measured, want)
		}
	}
	if got := rowByPrefix(t, rows, "scale: all").Measured; !strings.HasPrefix(got, "never; last line: t=1m0.1s regions=100000") {
		t.Errorf("never-initialized row %q", got)
	}
	if got := rowByPrefix(t, rows, "scale: steady-state CPU of pulltop").Measured; !strings.HasPrefix(got, "2.00 cores") {
		t.Errorf("CPU row %q", got)
	}
}

// The run with snapshot files: every new row read from real files, and a
// real run that fails two budgets (the machine was loaded, and main's
// engine still shows regions=0 while it locates).
func TestScaleRowsWithSnapshot(t *testing.T) {
	in := scaleSampleIn(t, "testdata/scale2")
	if in.Saved == nil || *in.Saved != (Saved{File: "/tmp/bench1m-100k/S.json", Bytes: 104895652, Regions: 100_000, Took: 2187 * time.Millisecond}) {
		t.Errorf("saved %+v", in.Saved)
	}
	if in.Check == nil || in.Check.Regions != 100_000 || in.Check.Stores != 3 || in.Check.Version != 2 || in.Check.File != "/tmp/bench1m-100k/S.json" {
		t.Errorf("check %+v", in.Check)
	}
	if !in.Replay.Found || in.Replay.Elapsed != 3.31 || in.Replay.MaxRSSKiB != 300960 {
		t.Errorf("replay time %+v", in.Replay)
	}
	rows := ScaleRows(in)
	want := []struct {
		budget, measured string
		v                Verdict
	}{
		{"scale: first region shown ≤ 2 s (100k)", "first status line with regions>0: t=3s regions=100000, 5.9 s after launch (1 s status interval)", Fail},
		{"scale: all 100k regions initialized < 30 s", "first status line with initialized=100000: t=6s, 8.3 s after launch (1 s status interval)", Pass},
		{"scale: steady-state CPU of pulltop headless < 1 core", "0.38 cores: Δ(utime+stime) of /proc/PID/stat over 29.1 s (15.3–44.4 s after launch)", Pass},
		{"scale: steady-state CPU of the sim (context)", "0.14 cores", Info},
		{"scale: engine heap ≤ 2 KiB per region", "2118 B/region: live heap 202 MiB, median of 17 GCs", Fail},
		{"scale: peak live heap of pulltop headless (context)", "497 MiB", Info},
		{"scale: max RSS of pulltop headless (context)", "717 MiB = 7519 B/region", Info},
		{"scale: whole-run CPU", "0.38 cores", Info},
		{"scale: pulltop headless exit status 0", "0", Pass},
		{"scale: snapshot size (context)", "100 MiB = 1049 B/region, 100000 regions, /tmp/bench1m-100k/S.json", Info},
		{"scale: snapshot save (context)", "2.19 s (headless, one save)", Info},
		{"scale: snapshot replay (load + validate) (context)", "3.31 s, max RSS 294 MiB, 100000 regions (time -v of pulltop replay --check, one run)", Info},
		{"scale: TUI refresh", "36.8 µs", Pass},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i, w := range want {
		r := rows[i]
		if !strings.HasPrefix(r.Budget, w.budget) || !strings.HasPrefix(r.Measured, w.measured) || r.Verdict != w.v {
			t.Errorf("row %d: %q | %q | %s\nwant     %q | %q | %s", i, r.Budget, r.Measured, r.Verdict, w.budget, w.measured, w.v)
		}
	}
}

// scale1M is the real 100k run relabelled as 1M regions (status lines,
// snapshot and replay counts ×10), so issue 14's budgets apply: it passes
// every 1M budget but the first region's (5.9 s after launch).
func scale1M(t *testing.T) ScaleInput {
	in := scaleSampleIn(t, "testdata/scale2")
	in.Regions = 1_000_000
	for i := range in.Status {
		in.Status[i].Regions *= 10
		in.Status[i].Initialized *= 10
	}
	in.Saved.Regions *= 10
	in.Check.Regions *= 10
	return in
}

func TestScaleRows1MBudgets(t *testing.T) {
	rows := ScaleRows(scale1M(t))
	for budget, want := range map[string]struct {
		measured string
		v        Verdict
	}{
		"scale: first region shown ≤ 2 s (1M)":                                           {"first status line with regions>0: t=3s regions=1000000, 5.9 s after launch", Fail},
		"scale: all 1M regions initialized ≤ 60 s":                                       {"first status line with initialized=1000000: t=6s, 8.3 s after launch", Pass},
		"scale: engine heap ≤ 1 KiB per region":                                          {"212 B/region: live heap 202 MiB", Pass},
		"scale: peak RSS of pulltop headless ≤ 1.50 GiB (1M, snapshot writing included)": {"717 MiB = 752 B/region (time -v max RSS, whole run)", Pass},
		"scale: snapshot save ≤ 10 s (1M)":                                               {"2.19 s (headless, one save)", Pass},
		"scale: snapshot replay (load + validate) ≤ 10 s (1M)":                           {"3.31 s, max RSS 294 MiB, 1000000 regions", Pass},
		"scale: steady-state CPU of pulltop headless < 1 core":                           {"0.38 cores", Pass},
	} {
		r := rowByPrefix(t, rows, budget)
		if r.Budget != budget || !strings.HasPrefix(r.Measured, want.measured) || r.Verdict != want.v {
			t.Errorf("%q: %q %s, want %q %s", r.Budget, r.Measured, r.Verdict, want.measured, want.v)
		}
	}
	for _, r := range rows {
		if strings.HasPrefix(r.Budget, "scale: max RSS") {
			t.Errorf("at 1M max RSS is a budget, not context: %+v", r)
		}
	}

	// Shown within 2 s, everything passes.
	in := scale1M(t)
	in.Status[2].Wall = in.Launch + 2
	if rows := ScaleRows(in); Failed(rows) {
		t.Errorf("Failed() on a passing 1M run: %+v", rows)
	}
	// 2.05 s is over, by the launch-relative wall time (not t=).
	in.Status[2].Wall = in.Launch + 2.05
	if r := rowByPrefix(t, ScaleRows(in), "scale: first region"); r.Verdict != Fail {
		t.Errorf("first region at 2.05 s: %s", r.Verdict)
	}
	// Exactly 60 s to all-initialized passes at 1M (≤); 30 s fails at 100k (<).
	in = scale1M(t)
	in.Status[5].Wall = in.Launch + 60
	if r := rowByPrefix(t, ScaleRows(in), "scale: all"); r.Verdict != Pass {
		t.Errorf("1M initialized at 60 s: %s %s", r.Verdict, r.Measured)
	}
	in = scaleSampleIn(t, "testdata/scale2")
	in.Status[5].Wall = in.Launch + 30
	if r := rowByPrefix(t, ScaleRows(in), "scale: all"); r.Verdict != Fail {
		t.Errorf("100k initialized at 30 s: %s %s", r.Verdict, r.Measured)
	}
}

func TestScaleRows1MFailures(t *testing.T) {
	in := scale1M(t)
	in.Status[5].Wall = in.Launch + 60.1 // the first all-initialized line
	if r := rowByPrefix(t, ScaleRows(in), "scale: all"); r.Verdict != Fail || !strings.HasPrefix(r.Measured, "first status line with initialized=1000000: t=6s, 60.1 s after launch") {
		t.Errorf("1M initialized at 60.1 s: %s %q", r.Verdict, r.Measured)
	}
	in = scale1M(t)
	for i := range in.GCs { // 1026 B/region
		in.GCs[i].LiveMiB = 978
	}
	in.Time.MaxRSSKiB = 1536*1024 + 1
	in.Saved.Took = 10*time.Second + time.Millisecond
	in.Replay.Elapsed = 10.01
	rows := ScaleRows(in)
	for prefix, want := range map[string]string{
		"scale: engine heap":     "1026 B/region: live heap 978 MiB",
		"scale: peak RSS":        "1.50 GiB = 1611 B/region",
		"scale: snapshot save":   "10.00 s",
		"scale: snapshot replay": "10.01 s",
	} {
		if r := rowByPrefix(t, rows, prefix); r.Verdict != Fail || !strings.HasPrefix(r.Measured, want) {
			t.Errorf("%s: %s %q, want FAIL %q", r.Budget, r.Verdict, r.Measured, want)
		}
	}
	// The same at 100k: context rows, not failures.
	in = scaleSampleIn(t, "testdata/scale2")
	in.Time.MaxRSSKiB = 1536*1024 + 1
	in.Saved.Took = 11 * time.Second
	in.Replay.Elapsed = 11
	rows = ScaleRows(in)
	for _, prefix := range []string{"scale: max RSS", "scale: snapshot save", "scale: snapshot replay"} {
		if r := rowByPrefix(t, rows, prefix); r.Verdict != Info {
			t.Errorf("100k %s: %s, want context", r.Budget, r.Verdict)
		}
	}

	// Initialized after the last /proc sample: no steady-state window, not
	// a measurement of the whole run.
	in = scale1M(t)
	in.Status[5].Wall = in.Samples[len(in.Samples)-1].Wall + 1
	if r := rowByPrefix(t, ScaleRows(in), "scale: steady-state CPU of pulltop"); r.Verdict != Missing {
		t.Errorf("CPU with no sample after initialization: %s %q, want MISSING", r.Verdict, r.Measured)
	}

	// A snapshot that does not read back: FAIL, and with fewer regions
	// than written: FAIL at any size.
	in = scale1M(t)
	in.Replay.ExitStatus, in.Check = 1, nil
	if r := rowByPrefix(t, ScaleRows(in), "scale: snapshot replay"); r.Verdict != Fail || !strings.Contains(r.Measured, "does not load") {
		t.Errorf("replay exit 1: %s %q", r.Verdict, r.Measured)
	}
	in = scaleSampleIn(t, "testdata/scale2")
	in.Check.Regions = 99_999
	if r := rowByPrefix(t, ScaleRows(in), "scale: snapshot replay"); r.Verdict != Fail || !strings.Contains(r.Measured, "read 99999 regions of the 100000 written") {
		t.Errorf("replay short: %s %q", r.Verdict, r.Measured)
	}
	// A saved snapshot of fewer regions than the run had is not the 1M cost.
	in = scale1M(t)
	in.Saved.Regions = 358_000
	if r := rowByPrefix(t, ScaleRows(in), "scale: snapshot save"); r.Verdict != Fail || !strings.Contains(r.Measured, "holds 358000 of 1000000 regions") {
		t.Errorf("save short: %s %q", r.Verdict, r.Measured)
	}
	// Nothing measured: MISSING.
	in = scale1M(t)
	in.Saved, in.Check, in.Replay, in.Time = nil, nil, TimeReport{}, TimeReport{}
	rows = ScaleRows(in)
	for _, prefix := range []string{"scale: snapshot size", "scale: snapshot save", "scale: snapshot replay", "scale: peak RSS", "scale: pulltop headless exit"} {
		if r := rowByPrefix(t, rows, prefix); r.Verdict != Missing {
			t.Errorf("%s: %s, want MISSING", r.Budget, r.Verdict)
		}
	}
}

func TestParseSavedAndCheck(t *testing.T) {
	s, err := ParseSaved(strings.NewReader("gc 1 @0.1s 1%: ...\nsnapshot: wrote /dev/stdout (12 regions) in 45ms\nsnapshot: wrote /tmp/a b.json.gz (9 bytes, 3 regions) in 1m2.5s\n"))
	if err != nil || s == nil || *s != (Saved{File: "/tmp/a b.json.gz", Bytes: 9, Regions: 3, Took: 62500 * time.Millisecond}) {
		t.Errorf("ParseSaved: %+v, %v", s, err)
	}
	s, err = ParseSaved(strings.NewReader("snapshot: wrote /dev/stdout (12 regions) in 45ms\n"))
	if err != nil || s == nil || s.Bytes != -1 || s.Regions != 12 || s.Took != 45*time.Millisecond {
		t.Errorf("ParseSaved without size: %+v, %v", s, err)
	}
	if s, err := ParseSaved(strings.NewReader("snapshot: wrote x (1 regions) in soon\n")); err == nil {
		t.Errorf("ParseSaved accepted a bad duration: %+v", s)
	}
	if s, _ := ParseSaved(strings.NewReader("pulltop: --snapshot: saving snapshot x: disk full\n")); s != nil {
		t.Errorf("ParseSaved on an error: %+v", s)
	}
	c, err := ParseCheck(strings.NewReader("/x/S.json: snapshot version 2 taken 2026-11-27T06:12:07Z, 1000000 regions, 3 stores, seq 412\n"))
	if err != nil || c == nil || c.File != "/x/S.json" || c.Version != 2 || c.Regions != 1_000_000 || c.Stores != 3 {
		t.Errorf("ParseCheck: %+v, %v", c, err)
	}
	if c, _ := ParseCheck(strings.NewReader("")); c != nil {
		t.Errorf("ParseCheck on nothing: %+v", c)
	}
	for n, want := range map[int]string{100_000: "100k", 1_000_000: "1M", 2_500_000: "2500k", 123: "123"} {
		if got := fmtCount(n); got != want {
			t.Errorf("fmtCount(%d) = %q, want %q", n, got, want)
		}
	}
}

// The command line wires every file and flag through.
func TestScaleCmd(t *testing.T) {
	d := "testdata/scale2/"
	launch, err := os.ReadFile(d + "launch.txt")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := scaleCmd([]string{"-regions", "100000", "-launch", strings.TrimSpace(string(launch)), "-interval", "500ms", "-window", "10",
		"-status", d + "status.txt", "-samples", d + "samples.txt", "-time", d + "time.txt", "-gctrace", d + "headless.err",
		"-replay-time", d + "replay-time.txt", "-replay-out", d + "replay.out", "-view", d + "view.txt"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	for prefix, want := range map[string]string{
		"scale: first region":          "(0.5 s status interval)",
		"scale: steady-state CPU of p": "over 9.",
		"scale: snapshot save":         "2.19 s",
		"scale: snapshot replay":       "3.31 s",
		"scale: TUI refresh":           "36.8 µs",
	} {
		if r := rowByPrefix(t, rows, prefix); !strings.Contains(r.Measured, want) {
			t.Errorf("%s: %q, want %q in it", r.Budget, r.Measured, want)
		}
	}
}
