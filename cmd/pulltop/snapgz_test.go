package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/internal/tmuxtest"
	"github.com/pulltop/pulltop/snapshots"
)

// `headless --snapshot FILE.gz` writes gzip, which loads; replay reads it
// under any name (gzip is told by its first bytes), and a cut one is one
// clear line and exit status 1.
func TestHeadlessSnapshotGzipAndReplay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "s.json.gz")
	_, stderr, code := runPulltop(t, "headless", "--duration", "2s", "--snapshot", path)
	require.Equal(t, 0, code, stderr)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(data, []byte{0x1f, 0x8b}), "not gzip: % x", data[:min(8, len(data))])
	st, err := snapshots.Load(path)
	require.NoError(t, err)
	require.Len(t, st.Regions, 64)
	require.NotNil(t, st.History, "the timeline is saved with it")

	cut := filepath.Join(dir, "cut.json.gz")
	require.NoError(t, os.WriteFile(cut, data[:len(data)/2], 0o600))
	_, stderr, code = runPulltop(t, "replay", cut)
	require.Equal(t, 1, code, stderr)
	require.Contains(t, stderr, cut+": gzip file is truncated")
	require.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line: %q", stderr)
}

func TestReplayGzipInTmux(t *testing.T) {
	dir := t.TempDir()
	gz := filepath.Join(dir, "s.json.gz")
	_, stderr, code := runPulltop(t, "headless", "--duration", "2s", "--regions", "8", "--snapshot", gz)
	require.Equal(t, 0, code, stderr)
	renamed := filepath.Join(dir, "incident") // no .gz: told by its magic bytes
	require.NoError(t, os.Rename(gz, renamed))
	s := tmuxtest.Start(t, 120, 40, []string{"NO_COLOR=1", "TZ=UTC", "XDG_STATE_HOME=" + t.TempDir()}, binary, "replay", renamed)
	s.Ready("replay of incident", "[replay]")
	s.SendAndWait("2", tab(2), "REGION")
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}
