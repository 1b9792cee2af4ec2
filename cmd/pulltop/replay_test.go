package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
