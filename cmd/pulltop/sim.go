package main

import (
	"errors"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"pulltop/sim"
)

// simFlags are the flags of the simulated cluster (root, headless and sim).
type simFlags struct {
	stores    int
	regions   int
	writeRate float64
	seed      int64
	script    string
	pdLag     time.Duration
}

func (f *simFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.IntVar(&f.stores, "stores", 3, "stores in the simulated cluster")
	fs.IntVar(&f.regions, "regions", 64, "regions in the simulated cluster")
	fs.Float64Var(&f.writeRate, "write-rate", 500, "rows per second the simulated workload commits")
	fs.Int64Var(&f.seed, "seed", 1, "seed for the layout, the workload and random fault targets")
	fs.StringVar(&f.script, "script", "", "fault script `FILE` (see DESIGN §7)")
	fs.DurationVar(&f.pdLag, "pd-lag", 100*time.Millisecond, "how late PD learns of a split, merge or leader change")
}

// config turns the flags into a sim.Config; a bad value or script is a usage
// error (exit status 2).
func (f *simFlags) config() (sim.Config, error) {
	cfg := sim.Config{
		Stores: f.stores, Regions: f.regions, WriteRate: f.writeRate,
		Seed: f.seed, PDLag: f.pdLag,
	}
	switch {
	case f.stores < 1 || f.stores > 100:
		return cfg, usageError("--stores %d: must be between 1 and 100", f.stores)
	case f.regions < 1 || f.regions > sim.MaxRegions:
		return cfg, usageError("--regions %d: must be between 1 and %d", f.regions, sim.MaxRegions)
	case f.writeRate < 0:
		return cfg, usageError("--write-rate %g: must not be negative", f.writeRate)
	case f.pdLag < 0:
		return cfg, usageError("--pd-lag %s: must not be negative", f.pdLag)
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
"pd: HOST:PORT", the address to give pulltop --pd.`,
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
