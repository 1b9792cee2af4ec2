package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A corrupt, missing or future-version snapshot is one clear line on
// stderr and exit status 1 — before any terminal UI starts.
func TestReplayBadFiles(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.json")
	require.NoError(t, os.WriteFile(corrupt, []byte(`{"version": 1, "regions": [`), 0o644))
	future := filepath.Join(dir, "future.json")
	require.NoError(t, os.WriteFile(future, []byte(`{"version": 3}`), 0o644))
	garbage := filepath.Join(dir, "garbage.json")
	require.NoError(t, os.WriteFile(garbage, []byte("\x00\x01 not json"), 0o644))
	for _, tc := range []struct{ file, want string }{
		{corrupt, "truncated"},
		{future, "version 3"},
		{garbage, "garbage.json"},
		{filepath.Join(dir, "missing.json"), "missing.json"},
	} {
		_, stderr, code := runPulltop(t, "replay", tc.file)
		require.Equal(t, 1, code, "%s: %s", tc.file, stderr)
		require.Contains(t, stderr, tc.want)
		require.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line: %q", stderr)
		require.NotContains(t, stderr, "panic")
	}
	_, stderr, code := runPulltop(t, "replay")
	require.Equal(t, 2, code, stderr)
}

// Issue 14: `replay --check` loads and validates without a terminal and
// says what the file holds in one line; headless says how long its final
// save took and how big the file is (scripts/bench --scale parses both).
func TestReplayCheckAndHeadlessSaveLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	// A hand-written version-1 file: every number in the line is known.
	v1 := filepath.Join(dir, "v1.json")
	require.NoError(t, os.WriteFile(v1, []byte(`{"version": 1, "taken_at": "2026-11-27T07:12:07+01:00", "seq": 412}`), 0o644))
	out, stderr, code := runPulltop(t, "replay", "--check", v1)
	require.Equal(t, 0, code, stderr)
	require.Equal(t, v1+": snapshot version 1 taken 2026-11-27T06:12:07Z, 0 regions, 0 stores, seq 412\n", out)
	require.Empty(t, stderr)

	// A real one from headless.
	path := filepath.Join(dir, "s.json")
	_, stderr, code = runPulltop(t, "headless", "--duration", "2s", "--regions", "16", "--snapshot", path)
	require.Equal(t, 0, code, stderr)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	saved := regexp.MustCompile(`(?m)^snapshot: wrote ` + regexp.QuoteMeta(path) + ` \((\d+) bytes, 16 regions\) in (\S+)$`).FindStringSubmatch(stderr)
	require.NotNil(t, saved, "no save line in stderr: %q", stderr)
	require.Equal(t, strconv.FormatInt(fi.Size(), 10), saved[1])
	took, err := time.ParseDuration(saved[2])
	require.NoError(t, err, saved[2])
	require.Less(t, took, 30*time.Second)

	out, stderr, code = runPulltop(t, "replay", "--check", path)
	require.Equal(t, 0, code, stderr)
	require.Regexp(t, `^`+regexp.QuoteMeta(path)+`: snapshot version 2 taken \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, 16 regions, 3 stores, seq [1-9]\d*\n$`, out)

	// A file that does not load: its error, exit 1, nothing on stdout.
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"version": 2, "regions": [`), 0o644))
	out, stderr, code = runPulltop(t, "replay", "--check", bad)
	require.Equal(t, 1, code, stderr)
	require.Empty(t, out)
	require.Contains(t, stderr, "bad.json")
	require.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line: %q", stderr)
	_, stderr, code = runPulltop(t, "replay", "--check")
	require.Equal(t, 2, code, stderr)
}
