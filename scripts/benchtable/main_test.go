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
// (COUNT=5, STORM_COUNT=5) on the project's 2-core machine, and
// testdata/scale the files of one real `scripts/bench --scale` run.

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

func scaleSample(t *testing.T) ScaleInput {
	t.Helper()
	b, err := os.ReadFile("testdata/scale/launch.txt")
	if err != nil {
		t.Fatal(err)
	}
	launch, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil {
		t.Fatal(err)
	}
	in := ScaleInput{Regions: 100_000, Launch: launch, ClkTck: 100, Window: 30, View: &Runs{}}
	open := func(name string) *os.File {
		f, err := os.Open("testdata/scale/" + name)
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
		if r.Verdict == Fail || r.Verdict == Missing {
			t.Errorf("%s: %s %s", r.Budget, r.Verdict, r.Measured)
		}
	}
	for prefix, want := range map[string]string{
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
	if Failed(rows) {
		t.Error("Failed() on a passing run")
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
