package main

import (
	"bufio"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// startSimProcess runs `pulltop sim ARGS...` and returns its PD address.
func startSimProcess(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"sim"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	require.True(t, lines.Scan(), "no output from pulltop sim")
	first := lines.Text()
	require.True(t, strings.HasPrefix(first, "pd: "), "first line %q", first)
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return strings.TrimPrefix(first, "pd: ")
}

// TiKV 7.1 behind a real PD address: headless exits 1 within 10s with the
// store, its version and the minimum in the message.
func TestHeadlessOldTiKVExitsOne(t *testing.T) {
	addr := startSimProcess(t, "--tikv-version", "7.1.0", "--regions", "8")
	start := time.Now()
	_, stderr, code := runPulltop(t, "headless", "--pd", addr, "--duration", "60s", "--yes")
	require.Equal(t, 1, code, stderr)
	require.Less(t, time.Since(start), 10*time.Second)
	require.Contains(t, stderr, "runs TiKV 7.1.0")
	require.Contains(t, stderr, "7.5.0 or newer")
	require.Regexp(t, `store \d+ \(127\.0\.0\.1:\d+\)`, stderr)
}

// Against a real PD, headless prints what it subscribed on stderr once the
// regions are located (it never asks); PD 8.1 (no BatchScanRegions) still
// works.
func TestHeadlessAnnouncesSubscriptionOnPD81(t *testing.T) {
	addr := startSimProcess(t, "--pd-version", "8.1.0", "--regions", "16", "--write-rate", "200")
	stdout, stderr, code := runPulltop(t, "headless", "--pd", addr, "--duration", "4s", "--interval", "1s")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "pulltop subscribes 16 regions on 3 TiKV stores")
	require.Contains(t, stderr, "at most 4 initial scans per store")
	require.Contains(t, stdout, "initialized=16")
}

// A --start-ts at or below the GC safe point: a clear error, non-zero exit.
func TestHeadlessStartTsBelowGCSafePoint(t *testing.T) {
	addr := startSimProcess(t, "--gc-safepoint-lag", "10m")
	old := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	_, stderr, code := runPulltop(t, "headless", "--pd", addr, "--duration", "5s", "--start-ts", old)
	require.NotEqual(t, 0, code)
	require.Contains(t, stderr, "GC safe point")
	require.Contains(t, stderr, "give a later --start-ts or now")
}

// Against a real PD the TUI first shows what it will subscribe and waits
// for y: n leaves without subscribing; y opens the UI; --yes skips it.
func TestTUIConfirmsBeforeSubscribing(t *testing.T) {
	addr := startSimProcess(t, "--regions", "12")
	s, _ := startTUI(t, "--pd", addr)
	s.Ready("pulltop will subscribe 12 regions on 3 TiKV stores", "Subscribe? [y/N]")
	s.TypeAndWait("n", "[y/N] n")
	require.Equal(t, 1, s.SendAndExit("Enter", 10*time.Second))

	s, _ = startTUI(t, "--pd", addr)
	s.Ready("Subscribe? [y/N]")
	s.TypeAndWait("y", "[y/N] y")
	s.SendAndWait("Enter", "Overview")
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))

	s, _ = startTUI(t, "--pd", addr, "--yes")
	screen := s.Ready("Overview")
	require.NotContains(t, screen, "Subscribe?")
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}

// With the cluster's clock 30s ahead, the Overview says so and lag stays
// small (it is measured in PD's time).
func TestTUIShowsClockSkew(t *testing.T) {
	s, _ := startTUI(t, "--regions", "8", "--tso-offset", "30s")
	screen := s.Ready("Overview", "PD's clock is ")
	require.Regexp(t, `PD's clock is (29|30)\.\ds ahead of this host's; lag is measured in PD's time`, screen)
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}
