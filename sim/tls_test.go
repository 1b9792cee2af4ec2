package sim

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/pdpb"
	"github.com/stretchr/testify/require"
	pd "github.com/tikv/pd/client"
	"github.com/tikv/pd/client/clients/router"
	"github.com/tikv/pd/client/opt"
	"github.com/tikv/pd/client/pkg/caller"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/pulltop/pulltop/internal/testcerts"
)

// startTLSSim starts a small sim serving mutual TLS with fresh certificates.
func startTLSSim(t *testing.T) (*Sim, testcerts.Files) {
	t.Helper()
	certs := testcerts.Generate(t, t.TempDir())
	return startSim(t, Config{Stores: 2, Regions: 4, TLS: certs.ServerTLS(t, true)}), certs
}

// checkHealth runs one fail-fast health check against addr: a handshake
// failure surfaces as an error at once instead of a wait.
func checkHealth(t *testing.T, addr string, creds credentials.TransportCredentials) error {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	require.NoError(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
	return nil
}

// TestTLSRealPDClientAndStores: with Config.TLS the real pd client, given
// the CA and a client certificate as files (as the engine passes --ca/
// --cert/--key), bootstraps, follows the advertised https:// leader URL and
// reads stores and regions; every store serves TLS too, including after a
// restart, and PD keeps serving TLS after pd-down.
func TestTLSRealPDClientAndStores(t *testing.T) {
	s, certs := startTLSSim(t)
	addr := s.PDAddr()

	members, err := pdpb.NewPDClient(dialTLS(t, addr, certs.ClientTLS(t))).GetMembers(pdTestCtx(t), &pdpb.GetMembersRequest{})
	require.NoError(t, err)
	require.Equal(t, []string{"https://" + addr}, members.GetLeader().GetClientUrls())

	cli, err := pd.NewClientWithContext(context.Background(), caller.TestComponent, []string{addr},
		pd.SecurityOption{CAPath: certs.CA, CertPath: certs.ClientCert, KeyPath: certs.ClientKey},
		opt.WithCustomTimeoutOption(3*time.Second), opt.WithEnableRouterClient(false))
	require.NoError(t, err)
	t.Cleanup(cli.Close)
	require.Equal(t, "https://"+addr, cli.GetLeaderURL())
	ctx := pdTestCtx(t)
	stores, err := cli.GetAllStores(ctx)
	require.NoError(t, err)
	require.Len(t, stores, 2)
	regions, err := cli.BatchScanRegions(ctx, []router.KeyRange{{}}, 100)
	require.NoError(t, err)
	require.Len(t, regions, 4)
	_, _, err = cli.GetTS(ctx)
	require.NoError(t, err)

	clientCreds := credentials.NewTLS(certs.ClientTLS(t))
	for _, st := range stores {
		require.NoError(t, checkHealth(t, st.GetAddress(), clientCreds), "store %d", st.GetId())
	}

	require.NoError(t, s.StopStore(1))
	require.NoError(t, s.StartStore(1))
	require.NoError(t, checkHealth(t, s.Cluster().StoreAddr(1), clientCreds), "store 1 after restart")
	require.Error(t, checkHealth(t, s.Cluster().StoreAddr(1), insecure.NewCredentials()), "store 1 after restart, plaintext")

	s.PDDown()
	require.NoError(t, s.PDUp())
	require.NoError(t, checkHealth(t, addr, clientCreds), "PD after pd-down")
	require.Error(t, checkHealth(t, addr, insecure.NewCredentials()), "PD after pd-down, plaintext")
}

// TestTLSRejectsWrongClients: a TLS sim refuses plaintext, clients without
// a certificate (mutual TLS) and clients that trust another CA, on PD and on
// the stores alike, promptly and with Unavailable.
func TestTLSRejectsWrongClients(t *testing.T) {
	s, certs := startTLSSim(t)
	other := testcerts.Generate(t, t.TempDir())

	noClientCert := certs.ClientTLS(t)
	noClientCert.Certificates = nil
	for _, tc := range []struct {
		name  string
		creds credentials.TransportCredentials
	}{
		{"plaintext", insecure.NewCredentials()},
		{"no client certificate", credentials.NewTLS(noClientCert)},
		{"client certificate from another CA", credentials.NewTLS(withRoots(t, other.ClientTLS(t), certs))},
		{"server certificate from an untrusted CA", credentials.NewTLS(other.ClientTLS(t))},
	} {
		for _, addr := range []string{s.PDAddr(), s.Cluster().StoreAddr(1)} {
			start := time.Now()
			err := checkHealth(t, addr, tc.creds)
			require.Error(t, err, "%s at %s", tc.name, addr)
			require.Equal(t, codes.Unavailable, status.Code(err), "%s at %s: %v", tc.name, addr, err)
			require.Less(t, time.Since(start), 3*time.Second, "%s at %s: %v", tc.name, addr, err)
		}
	}
}

// TestPlaintextSimAdvertisesHTTP: without TLS nothing changes.
func TestPlaintextSimAdvertisesHTTP(t *testing.T) {
	s := startSim(t, Config{Stores: 1, Regions: 1})
	raw, _ := newRawPDClient(t, s.PDAddr())
	members, err := raw.GetMembers(pdTestCtx(t), &pdpb.GetMembersRequest{})
	require.NoError(t, err)
	require.Equal(t, []string{"http://" + s.PDAddr()}, members.GetLeader().GetClientUrls())
}

func dialTLS(t *testing.T, addr string, cfg *tls.Config) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// withRoots is cfg (its client certificate) trusting certs' CA instead.
func withRoots(t *testing.T, cfg *tls.Config, certs testcerts.Files) *tls.Config {
	t.Helper()
	trusted := certs.ClientTLS(t)
	trusted.Certificates = cfg.Certificates
	return trusted
}
