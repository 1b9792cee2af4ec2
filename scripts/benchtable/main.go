// Command benchtable turns the output of scripts/bench's runs into the
// DESIGN §8 budget table: budget | measured (median) | ratio | verdict.
//
//	benchtable budgets FILE...
//	    FILEs hold `go test -bench` output and/or `go test -v` output of
//	    TestRetryStormBackoff. Medians are over every run of a benchmark
//	    (-count N); ratios are of medians from the same files.
//
//	benchtable scale -status F -samples F -time F -gctrace F -launch T [-interval D] [-replay-time F -replay-out F] [-view F] ...
//	    the files of one `scripts/bench --scale` run (see scale.go).
//
// Exit status: 0 if every budget passed, 1 if any failed or had no
// measurement, 2 for bad usage or unreadable input.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: benchtable budgets FILE... | benchtable scale -status F -samples F -time F -gctrace F -launch T [-interval D] [-replay-time F -replay-out F] [-view F]")
		return 2
	}
	var rows []Row
	var err error
	switch args[0] {
	case "budgets":
		rows, err = budgetsCmd(args[1:])
	case "scale":
		rows, err = scaleCmd(args[1:], stderr)
	default:
		err = fmt.Errorf("unknown mode %q: want budgets or scale", args[0])
	}
	if err != nil {
		fmt.Fprintln(stderr, "benchtable:", err)
		return 2
	}
	if err := WriteTable(stdout, rows); err != nil {
		fmt.Fprintln(stderr, "benchtable:", err)
		return 2
	}
	if Failed(rows) {
		return 1
	}
	return 0
}

func budgetsCmd(files []string) ([]Row, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("budgets: no input files")
	}
	var r Runs
	for _, name := range files {
		if err := parseFile(name, r.Parse); err != nil {
			return nil, err
		}
	}
	rows := Budgets(&r)
	if len(r.Failed) > 0 {
		rows = append(rows, Row{Budget: "go test reported failures", Measured: fmt.Sprint(r.Failed), Ratio: "-", Verdict: Fail})
	}
	return rows, nil
}

func scaleCmd(args []string, stderr io.Writer) ([]Row, error) {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		in                                  ScaleInput
		status, samples, timeF, gctrace, vw string
		replayTime, replayOut               string
	)
	fs.DurationVar(&in.Interval, "interval", time.Second, "pulltop headless --interval")
	fs.StringVar(&replayTime, "replay-time", "", "/usr/bin/time -v report of pulltop replay --check on the final snapshot")
	fs.StringVar(&replayOut, "replay-out", "", "stdout of pulltop replay --check")
	fs.IntVar(&in.Regions, "regions", 100_000, "regions in the sim")
	fs.Float64Var(&in.Launch, "launch", 0, "wall time (Unix seconds) just before pulltop headless started")
	fs.Float64Var(&in.ClkTck, "clk-tck", 100, "clock ticks per second of /proc/PID/stat (getconf CLK_TCK)")
	fs.Float64Var(&in.Window, "window", 30, "steady-state window in seconds, ending at the last sample")
	fs.StringVar(&status, "status", "", "stamped status lines of pulltop headless")
	fs.StringVar(&samples, "samples", "", "/proc/PID/stat samples")
	fs.StringVar(&timeF, "time", "", "/usr/bin/time -v report")
	fs.StringVar(&gctrace, "gctrace", "", `stderr of pulltop headless under GODEBUG=gctrace=1 (with its "snapshot: wrote" line)`)
	fs.StringVar(&vw, "view", "", "go test -bench output of the ui View benchmarks (optional)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	var err error
	steps := []struct {
		name  string
		parse func(io.Reader) error
	}{
		{status, func(r io.Reader) error { in.Status, err = ParseStatus(r); return err }},
		{samples, func(r io.Reader) error { in.Samples, err = ParseSamples(r); return err }},
		{timeF, func(r io.Reader) error { in.Time, err = ParseTime(r); return err }},
		{gctrace, func(r io.Reader) error { in.GCs, err = ParseGCTrace(r); return err }},
		{gctrace, func(r io.Reader) error { in.Saved, err = ParseSaved(r); return err }},
		{replayTime, func(r io.Reader) error { in.Replay, err = ParseTime(r); return err }},
		{replayOut, func(r io.Reader) error { in.Check, err = ParseCheck(r); return err }},
	}
	for _, s := range steps {
		if s.name == "" {
			continue
		}
		if err := parseFile(s.name, s.parse); err != nil {
			return nil, err
		}
	}
	if vw != "" {
		in.View = &Runs{}
		if err := parseFile(vw, in.View.Parse); err != nil {
			return nil, err
		}
	}
	return ScaleRows(in), nil
}

func parseFile(name string, parse func(io.Reader) error) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := parse(f); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
