package engine

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
)

// A publish before the first lookup began says connecting; it must not
// read "every one of 0 regions scanned" as streaming, which the phase would
// then keep for good (the phase only moves forward).
func TestProgressPhaseBeforeTheFirstLookup(t *testing.T) {
	var p progressState
	var out snapshots.Progress
	p.fill(&out, 0, false)
	require.Equal(t, snapshots.PhaseConnecting, out.Phase)

	p.started, p.locatingSpans = true, 1
	p.noteLocated(make([]RegionLoc, 3))
	p.fill(&out, 3, false)
	require.Equal(t, snapshots.PhaseLocating, out.Phase)

	p.locatingSpans = 0
	p.scanned = 1
	p.fill(&out, 3, false)
	require.Equal(t, snapshots.PhaseScanning, out.Phase)
	require.Equal(t, "initial scans 1/3", out.Detail)

	p.scanned = 3
	p.fill(&out, 3, false)
	require.Equal(t, snapshots.PhaseStreaming, out.Phase)
	p.scanned = 2 // a split after start-up: still streaming
	p.fill(&out, 3, false)
	require.Equal(t, snapshots.PhaseStreaming, out.Phase)
}
