package main

import (
	"fmt"
	"slices"
	"strings"
)

// Benchmark names behind the DESIGN §8 budgets.
const (
	benchIngestBare   = "BenchmarkIngest/bare"
	benchIngestEngine = "BenchmarkIngest/engine"
	benchScheduleFire = "BenchmarkScheduleFire/"
	benchAfterFunc    = "BenchmarkAfterFuncPerRetry/"
	shortDelays       = "delays=0-100us"
	longDelays        = "delays=0-50ms"
	benchView1k       = "BenchmarkView/regions=1k"
	benchView1M       = "BenchmarkView/regions=1M"
	benchMerge1M      = "BenchmarkMergeSpans1M"
	benchStoreSuccess = "BenchmarkSuccessNoCooling"
	benchDerive100k   = "BenchmarkDerive/regions=100k" // and its sub-benchmarks
	benchDeriveAlt    = "BenchmarkDeriveRows100k"
	benchSimStream    = "BenchmarkSimStreamRows"
	benchSimStart100k = "BenchmarkSimStart100k"
	benchScale        = "BenchmarkScale"
	stormTest         = "TestRetryStormBackoff"
)

// Budgets evaluates every DESIGN §8 budget that the benchmarks measure.
func Budgets(r *Runs) []Row {
	var rows []Row
	rows = append(rows, ingestRow(r))
	rows = append(rows, schedulerRows(r)...)
	rows = append(rows, viewRows(r)...)
	rows = append(rows,
		maxDurRow(r, "range merge: 1M spans < 300 ms", benchMerge1M, 300e6, false),
		storeSuccessRow(r),
		deriveRow(r),
		simStreamRow(r),
		maxDurRow(r, "sim: start 100k regions < 5 s", benchSimStart100k, 5e9, false),
	)
	rows = append(rows, scaleRows(r)...)
	rows = append(rows, stormRow(r))
	return rows
}

func ingestRow(r *Runs) Row {
	const budget = "ingest: engine/bare rows/s ≥ 0.70"
	bare, nb, ok1 := r.Median(benchIngestBare, 0, "rows/s")
	eng, ne, ok2 := r.Median(benchIngestEngine, 0, "rows/s")
	if !ok1 || !ok2 {
		return missing(budget, "BenchmarkIngest/{bare,engine} rows/s")
	}
	ratio := eng / bare
	return Row{
		Budget:   budget,
		Measured: fmt.Sprintf("engine %s, bare %s (%s)", fmtRate(eng, "rows/s"), fmtRate(bare, "rows/s"), runs(min(nb, ne))),
		Ratio:    fmt.Sprintf("%.2f", ratio),
		Verdict:  verdict(ratio >= 0.70),
	}
}

func schedulerRows(r *Runs) []Row {
	var rows []Row
	const budget = "retry scheduler: 1M schedule+fire ≥ 2M ops/s (" + shortDelays + ")"
	if ops, n, ok := r.Median(benchScheduleFire+shortDelays, 0, "ops/s"); ok {
		rows = append(rows, Row{Budget: budget, Measured: fmt.Sprintf("%s (%s)", fmtRate(ops, "ops/s"), runs(n)), Ratio: "-", Verdict: verdict(ops >= 2e6)})
	} else {
		rows = append(rows, missing(budget, benchScheduleFire+shortDelays))
	}
	for _, d := range []string{shortDelays, longDelays} {
		budget := "retry scheduler ≥ 1.5× AfterFunc-per-retry (" + d + ")"
		s, ns, ok1 := r.Median(benchScheduleFire+d, 0, "ops/s")
		a, na, ok2 := r.Median(benchAfterFunc+d, 0, "ops/s")
		if !ok1 || !ok2 {
			rows = append(rows, missing(budget, benchScheduleFire+d+" and "+benchAfterFunc+d))
			continue
		}
		rows = append(rows, Row{
			Budget:   budget,
			Measured: fmt.Sprintf("scheduler %s, AfterFunc %s (%s)", fmtRate(s, "ops/s"), fmtRate(a, "ops/s"), runs(min(ns, na))),
			Ratio:    fmt.Sprintf("%.1f×", s/a),
			Verdict:  verdict(s >= 1.5*a),
		})
	}
	return rows
}

func viewRows(r *Runs) []Row {
	const abs = "UI: View() at 1M regions ≤ 1 ms"
	const rel = "UI: View() at 1M regions ≤ 2× the 1k time"
	big, nb, ok := r.Median(benchView1M, 0, "ns/op")
	if !ok {
		return []Row{missing(abs, benchView1M), missing(rel, benchView1M)}
	}
	rows := []Row{{Budget: abs, Measured: fmt.Sprintf("%s (%s)", fmtDur(big), runs(nb)), Ratio: "-", Verdict: verdict(big <= 1e6)}}
	small, ns, ok := r.Median(benchView1k, 0, "ns/op")
	if !ok {
		return append(rows, missing(rel, benchView1k))
	}
	return append(rows, Row{
		Budget:   rel,
		Measured: fmt.Sprintf("1M %s, 1k %s (%s)", fmtDur(big), fmtDur(small), runs(min(nb, ns))),
		Ratio:    fmt.Sprintf("%.2f×", big/small),
		Verdict:  verdict(big <= 2*small),
	})
}

// maxDurRow checks a benchmark's ns/op against a limit (inclusive: ≤, or
// strict: <).
func maxDurRow(r *Runs, budget, name string, limitNs float64, inclusive bool) Row {
	v, n, ok := r.Median(name, 0, "ns/op")
	if !ok {
		return missing(budget, name)
	}
	pass := v < limitNs
	if inclusive {
		pass = v <= limitNs
	}
	return Row{Budget: budget, Measured: fmt.Sprintf("%s (%s)", fmtDur(v), runs(n)), Ratio: "-", Verdict: verdict(pass)}
}

// storeSuccessRow requires 0 allocs/op at every -cpu value run, and shows
// ns/op per -cpu (RunParallel: ns/op should fall as -cpu grows).
func storeSuccessRow(r *Runs) Row {
	const budget = "store backoff: Success with nothing cooling 0 allocs/op"
	var procs []int
	for _, res := range r.Results {
		if res.Name == benchStoreSuccess && !slices.Contains(procs, res.Procs) {
			procs = append(procs, res.Procs)
		}
	}
	slices.Sort(procs)
	if len(procs) == 0 {
		return missing(budget, benchStoreSuccess)
	}
	pass := true
	var parts []string
	for _, p := range procs {
		allocs, n, ok := r.Median(benchStoreSuccess, p, "allocs/op")
		if !ok {
			return missing(budget, benchStoreSuccess+" allocs/op (run with -benchmem or b.ReportAllocs)")
		}
		if worst := slices.Max(r.Values(benchStoreSuccess, p, "allocs/op")); worst != 0 {
			pass = false
			allocs = worst
		}
		ns, _, _ := r.Median(benchStoreSuccess, p, "ns/op")
		parts = append(parts, fmt.Sprintf("-cpu %d: %g allocs/op, %s/op (%s)", p, allocs, fmtDur(ns), runs(n)))
	}
	return Row{Budget: budget, Measured: strings.Join(parts, "; "), Ratio: "-", Verdict: verdict(pass)}
}

func simStreamRow(r *Runs) Row {
	const budget = "sim: rows streamed to one client ≥ 50k rows/s"
	v, n, ok := r.Median(benchSimStream, 0, "rows/s")
	if !ok {
		return missing(budget, benchSimStream+" rows/s")
	}
	return Row{Budget: budget, Measured: fmt.Sprintf("%s (%s)", fmtRate(v, "rows/s"), runs(n)), Ratio: "-", Verdict: verdict(v >= 50e3)}
}

func scaleRows(r *Runs) []Row {
	const initBudget = "engine scale: 100k regions all initialized < 30 s"
	const heapBudget = "engine scale: heap ≤ 2 KiB per region at 100k"
	var rows []Row
	if v, n, ok := r.Median(benchScale, 0, "s-to-init"); ok {
		rows = append(rows, Row{Budget: initBudget, Measured: fmt.Sprintf("%s s (%s)", sig3(v), runs(n)), Ratio: "-", Verdict: verdict(v < 30)})
	} else {
		rows = append(rows, missing(initBudget, benchScale+" s-to-init"))
	}
	if v, n, ok := r.Median(benchScale, 0, "heapB/region"); ok {
		rows = append(rows, Row{Budget: heapBudget, Measured: fmt.Sprintf("%.0f B/region (%s; includes the in-process sim)", v, runs(n)), Ratio: "-", Verdict: verdict(v <= 2048)})
	} else {
		rows = append(rows, missing(heapBudget, benchScale+" heapB/region"))
	}
	return rows
}

func stormRow(r *Runs) Row {
	const budget = "backoff: retry-storm region requests ≤ 1/12 of no-backoff"
	if len(r.Storms) == 0 {
		return missing(budget, stormTest+" log line")
	}
	var on, off, z []float64
	for _, s := range r.Storms {
		on = append(on, s.Backoff)
		off = append(off, s.NoBackoff)
		z = append(z, s.Ratio)
	}
	mz := median(z)
	return Row{
		Budget:   budget,
		Measured: fmt.Sprintf("with backoff %s, without %s (%s)", fmtRate(median(on), "req/s"), fmtRate(median(off), "req/s"), runs(len(z))),
		Ratio:    fmt.Sprintf("1/%.1f", mz),
		Verdict:  verdict(mz >= 12),
	}
}

// deriveRow checks every BenchmarkDerive case at 100k regions (sort only,
// field filter, text filter): the slowest must be ≤ 50 ms.
func deriveRow(r *Runs) Row {
	const budget = "UI: derive rows at 100k regions ≤ 50 ms (slowest case)"
	var names []string
	for _, res := range r.Results {
		n := res.Name
		if (n == benchDeriveAlt || n == benchDerive100k || strings.HasPrefix(n, benchDerive100k+"/")) && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return missing(budget, benchDerive100k+"/... or "+benchDeriveAlt)
	}
	worst, runsMin := 0.0, 0
	var parts []string
	for _, name := range names {
		v, n, ok := r.Median(name, 0, "ns/op")
		if !ok {
			return missing(budget, name+" ns/op")
		}
		worst = max(worst, v)
		if runsMin == 0 || n < runsMin {
			runsMin = n
		}
		short := strings.TrimPrefix(strings.TrimPrefix(name, benchDerive100k+"/"), "Benchmark")
		parts = append(parts, short+" "+fmtDur(v))
	}
	return Row{Budget: budget, Measured: fmt.Sprintf("%s (%s)", strings.Join(parts, "; "), runs(runsMin)), Ratio: "-", Verdict: verdict(worst <= 50e6)}
}
