package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Absurd or unparseable simulated-cluster values are usage errors found at
// parse time, for every command that runs a sim (issue 15: --write-rate
// 1e12 used to run forever and grow without bound; NaN wrote nothing).
func TestSimFlagsRejectedAtOnce(t *testing.T) {
	script := filepath.Join(t.TempDir(), "rate.txt")
	require.NoError(t, os.WriteFile(script, []byte("at 1s write-rate 1e300\n"), 0o644))
	bad := [][]string{
		{"--write-rate", "NaN"},
		{"--write-rate", "Inf"},
		{"--write-rate", "-Inf"},
		{"--write-rate", "1e12"},
		{"--write-rate", "-1"},
		{"--script", script},
		{"--pd-version", "8.x"},
		{"--pd-version", "5.4.0"},
		{"--tikv-version", "banana"},
		{"--tiflash", "-1"},
		{"--election-timeout", "0s"},
		{"--gc-safepoint-lag", "-1m"},
		{"--tso-offset", "100h"},
	}
	for _, cmd := range [][]string{{"sim"}, {"headless", "--duration", "1m"}} {
		for _, args := range bad {
			all := append(append([]string(nil), cmd...), args...)
			start := time.Now()
			_, stderr, code := runPulltop(t, all...)
			require.Equal(t, 2, code, "%v: %s", all, stderr)
			require.Contains(t, stderr, args[0], "%v: the message names the flag", all)
			require.Less(t, time.Since(start), 5*time.Second, "%v: refused at parse time", all)
		}
	}
}
