package engine_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/pulltop/pulltop/engine"
	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
)

// A store whose advertise address does not resolve from this host (the
// usual case: a Kubernetes peer name seen from a jump host) is named with
// "no such host" and the advice, not as a generic store failure. The
// resolver is the one thing a test cannot make fail on loopback, so the
// dialer answers for store 2's address as the system resolver would.
func TestUnresolvableStoreAddressNamed(t *testing.T) {
	s, err := sim.Start(sim.Config{Stores: 2, Regions: 4, ElectionTimeout: time.Hour, MinTsInterval: 100 * time.Millisecond})
	require.NoError(t, err)
	defer s.Close()
	addr := s.Cluster().StoreAddr(2)
	dialer := grpc.WithContextDialer(func(ctx context.Context, target string) (net.Conn, error) {
		if target == addr {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "tikv-2.tikv-peer", IsNotFound: true}}
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", target)
	})
	eng, err := engine.Start(engine.Config{PD: []string{s.PDAddr()}, PublishInterval: 50 * time.Millisecond,
		DialOptions: []grpc.DialOption{dialer}})
	require.NoError(t, err)
	defer eng.Close()
	want := fmt.Sprintf("cannot reach TiKV store 2 at %s from this host: no such host — the advertise address must be reachable from where pulltop runs", addr)
	var st *snapshots.State
	require.Eventually(t, func() bool {
		st = eng.Refresh()
		for _, store := range st.Stores {
			if store.ID == 2 && store.LastError == want {
				return true
			}
		}
		return false
	}, 20*time.Second, 50*time.Millisecond, "store 2 named as unresolvable")
	for _, store := range st.Stores {
		if store.ID == 1 {
			require.False(t, strings.Contains(store.LastError, "cannot reach"), "store 1 is reachable: %q", store.LastError)
		}
	}
}
