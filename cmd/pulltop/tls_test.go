package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/internal/testcerts"
	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
)

// startTLSSim runs a mutual-TLS simulated cluster in the test process for
// the pulltop binary to connect to with --pd and --ca/--cert/--key.
func startTLSSim(t *testing.T, certs testcerts.Files) *sim.Sim {
	t.Helper()
	s, err := sim.Start(sim.Config{Stores: 2, Regions: 8, WriteRate: 200, MinTsInterval: 100 * time.Millisecond,
		TLS: certs.ServerTLS(t, true)})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// pulltop headless with --ca/--cert/--key against a TLS cluster: exit 0,
// every region initialized.
func TestHeadlessOverTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certs := testcerts.Generate(t, dir)
	s := startTLSSim(t, certs)
	path := filepath.Join(dir, "s.json")
	out, stderr, code := runPulltop(t, "headless", "--duration", "2s", "--pd", s.PDAddr(),
		"--ca", certs.CA, "--cert", certs.ClientCert, "--key", certs.ClientKey, "--snapshot", path)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	require.True(t, strings.HasPrefix(lines[1], "t=2s regions=8 initialized=8 "), lines[1])
	st, err := snapshots.Load(path)
	require.NoError(t, err)
	require.Equal(t, []string{s.PDAddr()}, st.Source.PD)
	require.Len(t, st.Regions, 8)
	for _, r := range st.Regions {
		require.Equal(t, snapshots.StateInitialized, r.State, "region %d", r.ID)
	}
}

// Every TLS mistake gets its own message and exit status, at once: 2 for
// flags that cannot work (files), 1 for a cluster that refuses the
// connection; never a wait for the connect timeout, never a panic.
func TestHeadlessTLSMistakes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certs := testcerts.Generate(t, dir)
	other := testcerts.Generate(t, t.TempDir())
	s := startTLSSim(t, certs)
	addr := s.PDAddr()
	missing := filepath.Join(dir, "missing-key.pem")

	for _, tc := range []struct {
		name string
		tls  []string
		code int
		want []string
	}{
		{"wrong CA", []string{"--ca", other.CA, "--cert", certs.ClientCert, "--key", certs.ClientKey}, 1,
			[]string{"cannot reach PD: " + addr, "PD's certificate is not trusted", "x509: certificate signed by unknown authority", "check --ca"}},
		{"client certificate PD does not trust", []string{"--ca", certs.CA, "--cert", other.ClientCert, "--key", other.ClientKey}, 1,
			[]string{"cannot reach PD: " + addr, "PD refused pulltop's TLS handshake", "check --cert/--key"}},
		{"no TLS flags", nil, 1,
			[]string{"cannot reach PD: " + addr, "PD speaks TLS", "give --ca, --cert and --key"}},
		{"CA alone", []string{"--ca", certs.CA}, 2,
			[]string{"--ca, --cert and --key go together", "missing --cert and --key"}},
		{"missing key file", []string{"--ca", certs.CA, "--cert", certs.ClientCert, "--key", missing}, 2,
			[]string{"TLS: --key " + missing, "no such file or directory"}},
	} {
		start := time.Now()
		args := append([]string{"headless", "--duration", "5s", "--pd", addr}, tc.tls...)
		out, stderr, code := runPulltop(t, args...)
		require.Equal(t, tc.code, code, "%s: %s", tc.name, stderr)
		require.Less(t, time.Since(start), 5*time.Second, "%s", tc.name)
		require.Empty(t, out, tc.name)
		require.NotContains(t, stderr, "panic", tc.name)
		for _, want := range tc.want {
			require.Contains(t, stderr, want, tc.name)
		}
		t.Logf("%s: exit %d: %s", tc.name, code, strings.TrimSpace(stderr))
	}
}
