package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"pulltop/snapshots"
)

func newHeadlessCommand() *cobra.Command {
	var (
		flags    connFlags
		duration time.Duration
		interval time.Duration
		snapshot string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "headless",
		Short: "no TUI: print one status line per --interval, write a snapshot at the end, exit",
		Long: `Run the engine without a terminal UI, like top -b: one status line per
--interval on stdout (key=value text, or JSON objects with --json), and the
final snapshot to --snapshot. Exit status 0 after a normal run, 1 if the
engine failed, 2 for bad flags.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if duration <= 0 {
				return usageError("--duration is required and must be positive, e.g. --duration 30s")
			}
			if interval <= 0 {
				return usageError("--interval %s: must be positive", interval)
			}
			b, err := startBackend(&flags, announceSubscription(c.ErrOrStderr()))
			if err != nil {
				return err
			}
			defer b.Close()
			ctx, stop := signal.NotifyContext(c.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			out := c.OutOrStdout()
			start := time.Now()
			// One line per interval: at t=interval, 2·interval, ... and a last
			// one at --duration when it is not a multiple of the interval.
			ticker := time.NewTicker(interval)
			defer ticker.Stop()
			deadline := start.Add(duration)
			report := func(now time.Time) (stop bool, err error) {
				st := b.engine.Refresh()
				if err := writeStatus(out, st, now.Sub(start), asJSON); err != nil {
					return true, err
				}
				return st.EngineError != "", nil
			}
			for done := false; !done; {
				select {
				case <-ctx.Done():
					done = true
				case now := <-ticker.C:
					stop, err := report(now)
					if err != nil {
						return err
					}
					left := deadline.Sub(now)
					switch {
					case stop || left < interval/10:
						done = true
					case left < interval:
						ticker.Stop()
						select {
						case <-time.After(left):
							if _, err := report(time.Now()); err != nil {
								return err
							}
						case <-ctx.Done():
						}
						done = true
					}
				}
			}
			final := b.engine.Refresh()
			if snapshot != "" {
				if err := snapshots.Save(snapshot, final); err != nil {
					return fmt.Errorf("--snapshot: %w", err)
				}
			}
			if final.EngineError != "" {
				return fmt.Errorf("engine stopped: %s", final.EngineError)
			}
			return nil
		},
	}
	flags.register(cmd, "")
	cmd.Flags().DurationVar(&duration, "duration", 0, "how long to run (required)")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "time between status lines")
	cmd.Flags().StringVar(&snapshot, "snapshot", "", "write the final snapshot to `FILE`")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print status lines as JSON objects")
	return cmd
}

// status is one headless status line.
type status struct {
	T             string  `json:"t"`
	TMs           int64   `json:"t_ms"`
	Regions       int     `json:"regions"`
	Initialized   int     `json:"initialized"`
	LagMaxMs      int64   `json:"lag_max_ms"`
	EventsPerSec  float64 `json:"events_per_sec"`
	Retries       int     `json:"retries"`
	Reloads       int     `json:"reloads"`
	StoresCooling int     `json:"stores_cooling"`
	StoresPaused  int     `json:"stores_paused"`
	Stale         int     `json:"stale"`
	EngineError   string  `json:"engine_error,omitempty"`
}

func statusOf(st *snapshots.State, elapsed time.Duration) status {
	s := status{
		T: elapsed.Round(100 * time.Millisecond).String(), TMs: elapsed.Milliseconds(),
		Regions: st.Totals.Regions, Initialized: st.Totals.Initialized, LagMaxMs: st.Totals.ResolvedLagMaxMs,
		EventsPerSec: st.Totals.EventsPerSec, Retries: len(st.Retries), Reloads: len(st.Reloads),
		Stale: st.Totals.Stale, EngineError: st.EngineError,
	}
	for _, store := range st.Stores {
		switch store.State {
		case snapshots.StoreCooldown:
			s.StoresCooling++
		case snapshots.StorePaused:
			s.StoresPaused++
		}
	}
	return s
}

// writeStatus prints the DESIGN §1 line (stale= and any engine error are
// appended after the fixed fields, so the documented prefix stays exact).
func writeStatus(w io.Writer, st *snapshots.State, elapsed time.Duration, asJSON bool) error {
	s := statusOf(st, elapsed)
	if asJSON {
		b, err := json.Marshal(s)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	line := fmt.Sprintf("t=%s regions=%d initialized=%d lag_max=%s events/s=%s retries=%d reloads=%d stores_cooling=%d stores_paused=%d stale=%d",
		s.T, s.Regions, s.Initialized, fmtLag(s.LagMaxMs), strconv.FormatFloat(s.EventsPerSec, 'f', 0, 64),
		s.Retries, s.Reloads, s.StoresCooling, s.StoresPaused, s.Stale)
	if s.EngineError != "" {
		line += " engine_error=" + strconv.Quote(s.EngineError)
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

func fmtLag(ms int64) string {
	return strconv.FormatFloat(float64(ms)/1000, 'f', 1, 64) + "s"
}
