package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pulltop/pulltop/snapshots"
	"github.com/pulltop/pulltop/ui"
)

// defaultLogFile is where the TUI logs when --log-file is not given: the
// terminal belongs to the UI, and an incident tool's action log is worth
// keeping. (runTUI falls back to a temp dir when it cannot be written.)
func defaultLogFile() string {
	dir, err := snapshots.DefaultDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "pulltop.log")
}

// snapshotSaver saves ctrl+s snapshots in dir, never overwriting one (two
// saves in one second get two files: a snapshot is evidence).
func snapshotSaver(dir string) func(*snapshots.State) (string, error) {
	return func(st *snapshots.State) (string, error) {
		if dir == "" {
			return "", errors.New("no state directory to save in (see the notice at start)")
		}
		return snapshots.SaveNew(dir, time.Now(), st)
	}
}

// runTUI is the root command: the engine (on the embedded sim without
// --pd) under the terminal UI.
func runTUI(c *cobra.Command, flags *connFlags) error {
	guestGC()
	stderr := c.ErrOrStderr()
	dir, notice := stateDir()
	if notice != "" {
		fmt.Fprintf(stderr, "pulltop: %s\n", notice)
	}
	switch {
	case c.Flags().Changed("log-file"):
		if flags.logFile != "" {
			if err := os.MkdirAll(filepath.Dir(flags.logFile), 0o700); err != nil {
				return usageError("--log-file %s: %v", flags.logFile, err)
			}
		}
	case dir != "":
		flags.logFile = filepath.Join(dir, "pulltop.log")
	default:
		flags.logFile = "" // no writable place: no log, as the notice said
	}
	if err := checkSnapshotPath("", flags.sink, flags.logFile); err != nil {
		return err
	}
	confirm := askToSubscribe(c.InOrStdin(), c.OutOrStdout())
	if flags.yes {
		confirm = nil
	}
	flags.rowsOnDemand = true // the UI reads the view's table: rows only for a save
	b, err := startBackend(c, flags, stderr, confirm, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	// SIGHUP (the terminal went away, or kill -HUP) must still restore the
	// terminal: bubbletea handles SIGINT and SIGTERM itself, not SIGHUP.
	ctx, stop := signal.NotifyContext(c.Context(), syscall.SIGHUP)
	defer stop()
	// bubbletea ends the UI on SIGINT and SIGTERM itself (SIGTERM as a
	// plain quit, exit 0); seeing them here too gives the exit a shell
	// expects, 130 and 143, as headless (issue 25 item 6).
	killed := make(chan os.Signal, 1)
	signal.Notify(killed, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(killed)
	opts := ui.Options{Source: b.engine, SaveSnapshot: snapshotSaver(dir), Context: ctx, History: flags.history, LogPath: b.logPath}
	if flags.readOnly {
		opts.ReadOnlyReason = "--read-only: operator actions are disabled"
	} else {
		opts.Controller = b.engine
	}
	uiErr := ui.Run(opts, nil, nil)
	// The terminal is ours again: now say what went wrong meanwhile.
	if p := b.log.problem(); p != "" {
		fmt.Fprintf(stderr, "pulltop: %s\n", p)
	}
	if ctx.Err() != nil {
		_ = b.engine.FlushSink(sinkFlushWait)
		return &exitError{code: 128 + int(syscall.SIGHUP), err: errors.New("terminal hung up (SIGHUP); the terminal was restored")}
	}
	select {
	case sig := <-killed:
		_ = b.engine.FlushSink(sinkFlushWait)
		return interrupted(sig, "(the terminal was restored)")
	default:
	}
	if uiErr != nil {
		return fmt.Errorf("terminal UI: %w", uiErr)
	}
	if err := b.engine.FlushSink(sinkFlushWait); err != nil {
		return err
	}
	if err := b.engine.Err(); err != nil {
		return fmt.Errorf("engine stopped: %w", err)
	}
	if b.log.problem() != "" {
		// As headless: a run whose log is incomplete does not exit 0.
		return errors.New("exit 1: the log file is incomplete (see above)")
	}
	return nil
}

func newReplayCommand() *cobra.Command {
	var check bool
	cmd := &cobra.Command{
		Use:   "replay FILE",
		Short: "the TUI on a saved snapshot (read-only)",
		Long: `The TUI on a saved snapshot (read-only; ctrl+s saves a copy).

With --check, no TUI: the file is loaded and validated as replay would, and
one line on stdout says what it holds (version, when taken, regions, stores,
seq), exit 0; or the load error on stderr, exit 1. Use it to learn whether a
file is readable before sending it.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError("replay needs exactly one snapshot FILE, e.g. pulltop replay ~/.local/state/pulltop/pulltop-20261125-203000.json")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if check {
				return checkSnapshot(c.OutOrStdout(), args[0])
			}
			st, err := snapshots.Load(args[0])
			if err != nil {
				return err
			}
			return ui.Run(ui.Options{
				Source:         staticSource{st},
				Replay:         true,
				ReadOnlyReason: fmt.Sprintf("replay of %s: a saved snapshot, actions are disabled", filepath.Base(args[0])),
				SaveSnapshot:   snapshotSaver(replayStateDir()),
			}, nil, nil)
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "load and validate FILE, print one summary line, no TUI")
	return cmd
}

// staticSource serves one loaded snapshot forever.
type staticSource struct{ st *snapshots.State }

func (s staticSource) Snapshot() *snapshots.State { return s.st }

// replayStateDir is where ctrl+s saves during a replay; "" when there is
// no writable state directory.
func replayStateDir() string {
	dir, _ := stateDir()
	return dir
}
