package main

import (
	"bufio"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Result is one line of `go test -bench` output: one run of one benchmark.
type Result struct {
	Name    string // without the -GOMAXPROCS suffix, e.g. BenchmarkIngest/bare
	Procs   int    // GOMAXPROCS of the run (1 when go test printed no suffix)
	N       int
	Metrics map[string]float64 // unit -> value: ns/op, B/op, allocs/op, rows/s, ...
}

// StormRun is one TestRetryStormBackoff measurement.
type StormRun struct {
	Backoff, NoBackoff float64 // region requests/s
	Ratio              float64 // Z of "ratio 1/Z"
}

// Runs is everything parsed from a set of go test outputs.
type Runs struct {
	Results []Result
	Storms  []StormRun
	Failed  []string // "--- FAIL: X" names and "FAIL\tpkg" lines, in order
}

// benchLine matches "BenchmarkName-8   	  1000	  123 ns/op	  4 B/op ...".
// The name is matched lazily so a trailing "-N" is taken as GOMAXPROCS only
// when the iteration count follows it.
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-(\d+))?\s+(\d+)\s+(.+)$`)

// stormLine matches TestRetryStormBackoff's t.Logf.
var stormLine = regexp.MustCompile(`region requests/s with backoff ([0-9.eE+-]+), without ([0-9.eE+-]+) \(ratio 1/([0-9.eE+-]+|\+Inf|NaN)\)`)

var failLine = regexp.MustCompile(`^\s*--- FAIL: (\S+)`)

// Parse reads go test output (benchmarks, -v test logs, or both) and
// appends what it finds to r. Lines it does not recognise are ignored.
func (r *Runs) Parse(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if m := benchLine.FindStringSubmatch(line); m != nil {
			if res, ok := parseResult(m); ok {
				r.Results = append(r.Results, res)
			}
			continue
		}
		if m := stormLine.FindStringSubmatch(line); m != nil {
			on, err1 := strconv.ParseFloat(m[1], 64)
			off, err2 := strconv.ParseFloat(m[2], 64)
			z, err3 := strconv.ParseFloat(m[3], 64)
			if err1 == nil && err2 == nil && err3 == nil {
				r.Storms = append(r.Storms, StormRun{Backoff: on, NoBackoff: off, Ratio: z})
			}
			continue
		}
		if m := failLine.FindStringSubmatch(line); m != nil {
			r.Failed = append(r.Failed, m[1])
			continue
		}
		if strings.HasPrefix(line, "FAIL\t") {
			r.Failed = append(r.Failed, strings.TrimSpace(line))
		}
	}
	return sc.Err()
}

func parseResult(m []string) (Result, bool) {
	res := Result{Name: m[1], Procs: 1, Metrics: map[string]float64{}}
	if m[2] != "" {
		p, err := strconv.Atoi(m[2])
		if err != nil {
			return Result{}, false
		}
		res.Procs = p
	}
	n, err := strconv.Atoi(m[3])
	if err != nil {
		return Result{}, false
	}
	res.N = n
	f := strings.Fields(m[4])
	if len(f) < 2 || len(f)%2 != 0 {
		return Result{}, false
	}
	for i := 0; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return Result{}, false
		}
		res.Metrics[f[i+1]] = v
	}
	return res, true
}

// Values returns every value of unit reported by benchmark name. procs 0
// means the highest GOMAXPROCS present for that name (the default run when
// the benchmark was also run with -cpu 1); otherwise only that procs.
func (r *Runs) Values(name string, procs int, unit string) []float64 {
	if procs == 0 {
		for _, res := range r.Results {
			if res.Name == name {
				procs = max(procs, res.Procs)
			}
		}
	}
	var vs []float64
	for _, res := range r.Results {
		if res.Name != name || res.Procs != procs {
			continue
		}
		if v, ok := res.Metrics[unit]; ok {
			vs = append(vs, v)
		}
	}
	return vs
}

// Median is the median of Values (the mean of the middle two for an even
// count, as benchstat does); ok is false when there are none.
func (r *Runs) Median(name string, procs int, unit string) (med float64, n int, ok bool) {
	vs := r.Values(name, procs, unit)
	if len(vs) == 0 {
		return 0, 0, false
	}
	return median(vs), len(vs), true
}

func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
