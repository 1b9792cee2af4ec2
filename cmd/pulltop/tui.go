package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"pulltop/snapshots"
	"pulltop/ui"
)

// defaultLogFile is where the TUI logs when --log-file is not given: the
// terminal belongs to the UI, and an incident tool's action log is worth
// keeping.
func defaultLogFile() string {
	dir, err := snapshots.DefaultDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "pulltop.log")
}

// saveSnapshot writes a snapshot to the state directory (ctrl+s).
func saveSnapshot(st *snapshots.State) (string, error) {
	dir, err := snapshots.DefaultDir()
	if err != nil {
		return "", err
	}
	// Two saves in one second get two files: a snapshot is evidence.
	return snapshots.SaveNew(dir, time.Now(), st)
}

// runTUI is the root command: the engine (on the embedded sim without
// --pd) under the terminal UI.
func runTUI(c *cobra.Command, flags *connFlags) error {
	if flags.logFile != "" {
		if err := os.MkdirAll(filepath.Dir(flags.logFile), 0o755); err != nil {
			return usageError("--log-file %s: %v", flags.logFile, err)
		}
	}
	confirm := askToSubscribe(c.InOrStdin(), c.OutOrStdout())
	if flags.yes {
		confirm = nil
	}
	b, err := startBackend(flags, confirm)
	if err != nil {
		return err
	}
	defer b.Close()
	opts := ui.Options{Source: b.engine, SaveSnapshot: saveSnapshot}
	if flags.readOnly {
		opts.ReadOnlyReason = "--read-only: operator actions are disabled"
	} else {
		opts.Controller = b.engine
	}
	if err := ui.Run(opts, nil, nil); err != nil {
		return fmt.Errorf("terminal UI: %w", err)
	}
	return nil
}

func newReplayCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "replay FILE",
		Short: "the TUI on a saved snapshot (read-only)",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError("replay needs exactly one snapshot FILE, e.g. pulltop replay ~/.local/state/pulltop/pulltop-20261125-203000.json")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			st, err := snapshots.Load(args[0])
			if err != nil {
				return err
			}
			return ui.Run(ui.Options{
				Source:         staticSource{st},
				ReadOnlyReason: fmt.Sprintf("replay of %s: a saved snapshot, actions are disabled", filepath.Base(args[0])),
				SaveSnapshot:   saveSnapshot,
			}, nil, nil)
		},
	}
}

// staticSource serves one loaded snapshot forever.
type staticSource struct{ st *snapshots.State }

func (s staticSource) Snapshot() *snapshots.State { return s.st }
