package main

import (
	"fmt"
	"io"
	"time"

	"github.com/pulltop/pulltop/snapshots"
)

// This file holds the two one-line reports about a snapshot file that
// scripts/bench --scale parses: headless's "snapshot: wrote ..." after the
// final save, and `pulltop replay --check`. They live apart from
// headless.go and tui.go so those files stay as they were.

// printSaved writes, on w, how long saving st to path took and how big the
// file is: at a million regions the save is a cost the operator (and the
// scale benchmark) wants to see. The size is left out when path is not a
// regular file (a pipe, /dev/stdout): there is nothing to stat.
func printSaved(w io.Writer, path string, written int64, st *snapshots.State, took time.Duration) {
	size := fmt.Sprintf("%d bytes, ", written)
	fmt.Fprintf(w, "snapshot: wrote %s (%s%d regions) in %s\n", path, size, st.NumRegions(), took.Round(time.Millisecond))
}

// checkSnapshot loads path exactly as replay does (version, decoding,
// Validate) without starting the TUI, and prints one summary line: an
// operator can ask whether a file is readable before sending it, and the
// scale benchmark times a replay's load.
func checkSnapshot(w io.Writer, path string) error {
	st, err := snapshots.Load(path)
	if err != nil {
		return err
	}
	taken := "at an unknown time"
	if !st.TakenAt.IsZero() {
		taken = "taken " + st.TakenAt.UTC().Format(time.RFC3339)
	}
	_, err = fmt.Fprintf(w, "%s: snapshot version %d %s, %d regions, %d stores, seq %d\n",
		path, st.Version, taken, st.NumRegions(), len(st.Stores), st.Seq)
	return err
}
