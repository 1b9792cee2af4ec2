package engine_test

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/engine"
	"github.com/pulltop/pulltop/internal/testcerts"
	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
)

// TestTLSEngineDeliversOverMutualTLS: with --ca/--cert/--key the engine
// reaches a mutual-TLS sim (PD through the real pd client, which follows the
// https:// URL PD advertises; stores through the stream workers), initializes
// every region and loses no row.
func TestTLSEngineDeliversOverMutualTLS(t *testing.T) {
	certs := testcerts.Generate(t, t.TempDir())
	h := startHarness(t, sim.Config{Stores: 3, Regions: 16, WriteRate: 1000, TLS: certs.ServerTLS(t, true)},
		func(cfg *engine.Config) {
			cfg.TLS = engine.TLSConfig{CA: certs.CA, Cert: certs.ClientCert, Key: certs.ClientKey}
		})
	h.waitFor("16 regions initialized over TLS", 10*time.Second, allInitialized(16))
	first := h.eng.Snapshot().Subscriptions[0].ResolvedTs
	st := h.waitFor("resolved ts advancing and rows delivered over TLS", 10*time.Second, func(st *snapshots.State) bool {
		return st.Subscriptions[0].ResolvedTs > first && st.Totals.Events > 200 && st.Sim.CommittedRows > 200
	})
	h.checkInvariants()
	require.Empty(t, st.EngineError)
	for _, s := range st.Stores {
		require.Equal(t, snapshots.StoreUp, s.State, "store %d", s.ID)
	}
}

// TestTLSMistakesFailFastAndSayWhy: every way the two sides' TLS settings
// can disagree makes Start fail at once (well inside the 10 s connect
// timeout: waiting does not fix a certificate), naming the PD address and
// what to fix, with the engine's goroutines all gone (TestMain's goleak).
func TestTLSMistakesFailFastAndSayWhy(t *testing.T) {
	certs := testcerts.Generate(t, t.TempDir())
	other := testcerts.Generate(t, t.TempDir()) // an unrelated CA and its certificates
	tlsSim, err := sim.Start(sim.Config{Stores: 1, Regions: 2, TLS: certs.ServerTLS(t, true)})
	require.NoError(t, err)
	t.Cleanup(tlsSim.Close)
	plainSim, err := sim.Start(sim.Config{Stores: 1, Regions: 2})
	require.NoError(t, err)
	t.Cleanup(plainSim.Close)
	// TLS 1.2 judges the client certificate inside the handshake, TLS 1.3
	// after the client's side of it: both must be explained the same way.
	tls12 := certs.ServerTLS(t, true)
	tls12.MaxVersion = tls.VersionTLS12
	tls12Sim, err := sim.Start(sim.Config{Stores: 1, Regions: 2, TLS: tls12})
	require.NoError(t, err)
	t.Cleanup(tls12Sim.Close)

	for _, tc := range []struct {
		name string
		pd   string
		tls  engine.TLSConfig
		want []string
	}{
		{
			name: "wrong CA: PD's certificate is not trusted",
			pd:   tlsSim.PDAddr(),
			tls:  engine.TLSConfig{CA: other.CA, Cert: certs.ClientCert, Key: certs.ClientKey},
			want: []string{"TLS handshake failed: PD's certificate is not trusted", "x509: certificate signed by unknown authority", "check --ca"},
		},
		{
			name: "client certificate from a CA PD does not trust",
			pd:   tlsSim.PDAddr(),
			tls:  engine.TLSConfig{CA: certs.CA, Cert: other.ClientCert, Key: other.ClientKey},
			want: []string{"PD refused pulltop's TLS handshake", "remote error: tls:", "check --cert/--key"},
		},
		{
			name: "plaintext engine, TLS PD",
			pd:   tlsSim.PDAddr(),
			want: []string{"PD speaks TLS", "give --ca, --cert and --key"},
		},
		{
			name: "client certificate from a CA PD does not trust, TLS 1.2",
			pd:   tls12Sim.PDAddr(),
			tls:  engine.TLSConfig{CA: certs.CA, Cert: other.ClientCert, Key: other.ClientKey},
			want: []string{"PD refused pulltop's TLS handshake", "remote error: tls:", "check --cert/--key"},
		},
		{
			name: "plaintext engine, TLS 1.2 PD",
			pd:   tls12Sim.PDAddr(),
			want: []string{"PD speaks TLS", "give --ca, --cert and --key"},
		},
		{
			name: "TLS engine, plaintext PD",
			pd:   plainSim.PDAddr(),
			tls:  engine.TLSConfig{CA: certs.CA, Cert: certs.ClientCert, Key: certs.ClientKey},
			want: []string{"PD does not speak TLS", "first record does not look like a TLS handshake", "drop --ca/--cert/--key"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			eng, err := engine.Start(engine.Config{PD: []string{tc.pd}, TLS: tc.tls})
			if eng != nil {
				eng.Close()
			}
			require.Error(t, err)
			require.Less(t, time.Since(start), 5*time.Second, "a TLS mismatch must not wait out the connect timeout: %v", err)
			require.ErrorIs(t, err, engine.ErrPDUnreachable)
			msg := err.Error()
			require.Contains(t, msg, tc.pd)
			for _, want := range tc.want {
				require.Contains(t, msg, want)
			}
			require.NotContains(t, msg, "is PD running there", "the address is right; the TLS settings are not")
			t.Logf("%s", msg)
		})
	}
}

// TestTLSFileMistakesNameTheFile: missing, unreadable-as-PEM, mismatched
// or incomplete --ca/--cert/--key are refused before any connection, naming
// the flag and the file (a file that is given but unusable is named even
// when another flag is missing too).
func TestTLSFileMistakesNameTheFile(t *testing.T) {
	dir := t.TempDir()
	certs := testcerts.Generate(t, dir)
	other := testcerts.Generate(t, t.TempDir())
	missing := filepath.Join(dir, "missing.pem")
	notPEM := filepath.Join(dir, "not-pem.txt")
	require.NoError(t, os.WriteFile(notPEM, []byte("this is not a certificate\n"), 0o600))

	for _, tc := range []struct {
		name string
		tls  engine.TLSConfig
		want []string
	}{
		{"missing CA file", engine.TLSConfig{CA: missing, Cert: certs.ClientCert, Key: certs.ClientKey},
			[]string{"TLS: --ca " + missing, "no such file or directory"}},
		{"missing CA file given alone", engine.TLSConfig{CA: missing},
			[]string{"TLS: --ca " + missing, "no such file or directory"}},
		{"missing cert file", engine.TLSConfig{CA: certs.CA, Cert: missing, Key: certs.ClientKey},
			[]string{"TLS: --cert " + missing, "no such file or directory"}},
		{"missing key file", engine.TLSConfig{CA: certs.CA, Cert: certs.ClientCert, Key: missing},
			[]string{"TLS: --key " + missing, "no such file or directory"}},
		{"CA file holds no certificate", engine.TLSConfig{CA: notPEM, Cert: certs.ClientCert, Key: certs.ClientKey},
			[]string{"TLS: --ca " + notPEM, "no PEM certificate in the file"}},
		{"cert file holds no certificate", engine.TLSConfig{CA: certs.CA, Cert: notPEM, Key: certs.ClientKey},
			[]string{"--cert " + notPEM, "--key " + certs.ClientKey, "failed to find any PEM data"}},
		{"key of another certificate", engine.TLSConfig{CA: certs.CA, Cert: certs.ClientCert, Key: other.ClientKey},
			[]string{"--cert " + certs.ClientCert, "--key " + other.ClientKey, "private key does not match public key"}},
		{"CA alone", engine.TLSConfig{CA: certs.CA},
			[]string{"--ca, --cert and --key go together", "missing --cert and --key"}},
		{"cert and key without CA", engine.TLSConfig{Cert: certs.ClientCert, Key: certs.ClientKey},
			[]string{"--ca, --cert and --key go together", "missing --ca"}},
		{"key without cert", engine.TLSConfig{CA: certs.CA, Key: certs.ClientKey},
			[]string{"--ca, --cert and --key go together", "missing --cert"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, loadErr := tc.tls.Load()
			require.Error(t, loadErr)
			// Start refuses the same way, before dialing anything.
			start := time.Now()
			eng, err := engine.Start(engine.Config{PD: []string{"127.0.0.1:1"}, TLS: tc.tls})
			if eng != nil {
				eng.Close()
			}
			require.Error(t, err)
			require.Less(t, time.Since(start), time.Second)
			require.NotErrorIs(t, err, engine.ErrPDUnreachable)
			require.Equal(t, loadErr.Error(), err.Error())
			for _, want := range tc.want {
				require.Contains(t, err.Error(), want)
			}
			require.True(t, strings.HasPrefix(err.Error(), "TLS: "), err.Error())
			t.Logf("%s", err)
		})
	}
}
