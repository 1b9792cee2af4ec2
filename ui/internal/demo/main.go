// Command demo runs the pulltop UI over a synthetic cluster, without the
// engine or the simulated TiKV: it is what the UI's real-terminal (tmux)
// test drives, and a quick way to look at the UI while developing it.
//
//	go run ./ui/internal/demo [--regions N] [--stores N] [--read-only]
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/pulltop/pulltop/ui"
)

func main() {
	regions := flag.Int("regions", 64, "number of regions")
	stores := flag.Int("stores", 3, "number of stores")
	seed := flag.Uint64("seed", 1, "random seed")
	step := flag.Duration("step", 500*time.Millisecond, "how often the synthetic cluster changes")
	refresh := flag.Duration("refresh", time.Second, "UI refresh interval")
	readOnly := flag.Bool("read-only", false, "disable operator actions")
	flag.Parse()
	if *regions < 1 || *stores < 1 {
		fmt.Fprintln(os.Stderr, "demo: --regions and --stores must be at least 1")
		os.Exit(2)
	}

	c := newCluster(*stores, *regions, *seed, *step)
	opts := ui.Options{
		Source:          c,
		RefreshInterval: *refresh,
		SourceLabel:     "demo: synthetic cluster",
	}
	if *readOnly {
		opts.ReadOnlyReason = "--read-only: operator actions are disabled"
	} else {
		opts.Controller = c
	}
	if err := ui.Run(opts, nil, nil); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}
