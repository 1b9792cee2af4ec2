package main

import (
	"errors"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pulltop/pulltop/sim"
)

// faultScriptHelp is the fault-script grammar, where --script points.
const faultScriptHelp = `Fault script (--script FILE): one action per line, # starts a comment.
A line starts "at D" (once, D after the start) or "every D" (again and
again); "random" picks a region or store with --seed, so a script replays.

  at 2s split region 5 [into 3]          at 2s split random
  at 3s merge region 7                   at 4s transfer-leader region 5 [to 2]
  every 50ms transfer-leader random      every 100ms split random
  at 5s stop-store 2                     at 9s start-store 2
  at 5s restart-store 2 after 3s         at 6s hang-store 1 for 5s
  at 3s busy-store 1 for 4s              at 3s congest-region 5 for 2s
  at 4s slow-store 3 200ms for 5s        at 2s kill-stream 1 [unavailable|unknown]
  at 2s lock region 4 for 10s            at 2s silence-region 4 for 20s
  at 1s pd-down for 3s                   at 0s write-rate 5000
  at 4s drain-store 2                    at 6s remove-store 3
  at 10s stop-faults

split/merge/transfer-leader change regions as PD learns of them after
--pd-lag; stop-store moves leaders after --election-timeout; hang-store
keeps the connection open but sends nothing; silence-region stops a
region's resolved ts without any error; lock leaves an uncommitted
prewrite that pins resolved ts; pd-down stops PD (and, with it, every
store's resolved ts and the workload).`

// simFlags are the flags of the simulated cluster (root, headless and sim).
type simFlags struct {
	stores          int
	regions         int
	writeRate       float64
	seed            int64
	script          string
	pdLag           time.Duration
	electionTimeout time.Duration
	pdVersion       string
	tikvVersion     string
	tiflash         int
	tsoOffset       time.Duration
	gcSafePointLag  time.Duration
	interleaveScan  bool
}

func (f *simFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.IntVar(&f.stores, "stores", 3, "stores in the simulated cluster")
	fs.IntVar(&f.regions, "regions", 64, "regions in the simulated cluster")
	fs.Float64Var(&f.writeRate, "write-rate", 500, "rows per second the simulated workload commits")
	fs.Int64Var(&f.seed, "seed", 1, "seed for the layout, the workload and random fault targets")
	fs.StringVar(&f.script, "script", "", "fault script `FILE` (its grammar: pulltop sim --help)")
	fs.DurationVar(&f.pdLag, "pd-lag", 100*time.Millisecond, "how late PD learns of a split, merge or leader change")
	fs.DurationVar(&f.electionTimeout, "election-timeout", sim.DefaultElectionTimeout, "how long a stopped store's regions wait before other stores elect leaders")
	fs.StringVar(&f.pdVersion, "pd-version", sim.DefaultVersion.String(), "PD release the simulated cluster behaves as (e.g. 7.5.0, 8.1.0)")
	fs.StringVar(&f.tikvVersion, "tikv-version", sim.DefaultVersion.String(), "TiKV release the simulated stores behave as (e.g. 7.1.0, 7.5.0)")
	fs.IntVar(&f.tiflash, "tiflash", 0, "TiFlash stores in the simulated cluster (listed by PD, no leaders, no change data)")
	fs.DurationVar(&f.tsoOffset, "tso-offset", 0, "the simulated cluster's clock against this host's (negative: behind)")
	fs.DurationVar(&f.gcSafePointLag, "gc-safepoint-lag", sim.DefaultGCSafePointLag, "how far the simulated GC safe point is behind the cluster's clock")
	fs.BoolVar(&f.interleaveScan, "interleave-scan", false, "send live rows while a region's initial scan is still running, as TiKV does")
}

// config turns the flags into a sim.Config; a bad value or script is a usage
// error (exit status 2).
func (f *simFlags) config() (sim.Config, error) {
	cfg := sim.Config{
		Stores: f.stores, Regions: f.regions, WriteRate: f.writeRate,
		Seed: f.seed, PDLag: f.pdLag, ElectionTimeout: f.electionTimeout,
		TiFlash: f.tiflash, TSOOffset: f.tsoOffset, GCSafePointLag: f.gcSafePointLag,
		InterleaveScan: f.interleaveScan,
	}
	switch {
	case f.stores < 1 || f.stores > 100:
		return cfg, usageError("--stores %d: must be between 1 and 100", f.stores)
	case f.regions < 1 || f.regions > sim.MaxRegions:
		return cfg, usageError("--regions %d: must be between 1 and %d", f.regions, sim.MaxRegions)
	case sim.CheckWriteRate(f.writeRate) != nil:
		return cfg, usageError("--write-rate %g: want a number of rows per second from 0 to %d", f.writeRate, sim.MaxWriteRate)
	case f.pdLag < 0:
		return cfg, usageError("--pd-lag %s: must not be negative", f.pdLag)
	case f.electionTimeout <= 0:
		return cfg, usageError("--election-timeout %s: must be positive", f.electionTimeout)
	case f.tiflash < 0 || f.tiflash > 10:
		return cfg, usageError("--tiflash %d: must be between 0 and 10", f.tiflash)
	case f.gcSafePointLag <= 0:
		return cfg, usageError("--gc-safepoint-lag %s: must be positive", f.gcSafePointLag)
	case f.tsoOffset < -24*time.Hour || f.tsoOffset > 24*time.Hour:
		return cfg, usageError("--tso-offset %s: must be within ±24h", f.tsoOffset)
	}
	var err error
	if cfg.PDVersion, err = sim.ParseVersion(f.pdVersion); err != nil {
		return cfg, usageError("--pd-version: %v", err)
	}
	if cfg.TiKVVersion, err = sim.ParseVersion(f.tikvVersion); err != nil {
		return cfg, usageError("--tikv-version: %v", err)
	}
	if f.script != "" {
		script, err := sim.LoadScript(f.script)
		if err != nil {
			return cfg, &exitError{code: 2, err: fmt.Errorf("--script: %w", err)}
		}
		cfg.Script = script
	}
	return cfg, nil
}

func newSimCommand() *cobra.Command {
	var (
		flags   simFlags
		listen  string
		logFile string
	)
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "run only the simulated cluster (PD + TiKV-CDC over gRPC) until Ctrl-C",
		Long: `Run the simulated cluster until interrupted. The first line printed is
"pd: HOST:PORT", the address to give pulltop --pd.

` + faultScriptHelp,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := flags.config()
			if err != nil {
				return err
			}
			if err := checkListen(listen); err != nil {
				return err
			}
			logger, _, closeLog, err := openLogger(logFile)
			if err != nil {
				return usageError("%v", err)
			}
			defer closeLog()
			cfg.ListenPD = listen
			cfg.Logger = logger
			s, err := sim.Start(cfg)
			if err != nil {
				return simStartError(err, listen)
			}
			defer s.Close()
			out := c.OutOrStdout()
			fmt.Fprintf(out, "pd: %s\n", s.PDAddr())
			for _, id := range s.Cluster().StoreIDs() {
				fmt.Fprintf(out, "store %d: %s\n", id, s.Cluster().StoreAddr(id))
			}
			fmt.Fprintf(out, "cluster id %d, %d regions, %g rows/s; Ctrl-C to stop\n",
				s.Cluster().ClusterID(), s.Cluster().RegionCount(), cfg.WriteRate)
			ctx, stop := signal.NotifyContext(c.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			return nil
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "PD address to listen on (HOST:PORT; port 0 picks a free one)")
	cmd.Flags().StringVar(&logFile, "log-file", "", "write logs to `FILE` (default: no logs)")
	return cmd
}

// simStartError classifies a failure to start the sim: a taken --listen
// port or a script naming something the cluster lacks is bad input (2).
func simStartError(err error, listen string) error {
	var scriptErr *sim.ScriptError
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return usageError("--listen %s: address already in use; pick another port or stop what uses it", listen)
	case errors.As(err, &scriptErr):
		return &exitError{code: 2, err: fmt.Errorf("--script: %w", err)}
	}
	return err
}
