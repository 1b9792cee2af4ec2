package sim

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pd "github.com/tikv/pd/client"
	"github.com/tikv/pd/client/clients/router"
	"github.com/tikv/pd/client/opt"
	"github.com/tikv/pd/client/pkg/caller"
)

// CheckPDClient is the acceptance check shared with the subprocess test in
// cmd/pulltop: the real pd client, as the engine configures it (router
// client off, see TestPDClientLooksUpRegionsWithoutQueryRegion), gets strictly
// increasing TSOs, regions covering the whole keyspace without holes, and
// every store.
func checkPDClient(t *testing.T, addr string, wantStores int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The client's own context must outlive this check's deadline only
	// until Close; a timeout context would kill the client later.
	client, err := pd.NewClientWithContext(context.Background(), caller.TestComponent, []string{addr}, pd.SecurityOption{},
		opt.WithEnableRouterClient(false)) // as the engine: single-region lookups by unary RPC, not the QueryRegion stream
	require.NoError(t, err)
	defer client.Close()

	var last uint64
	for i := 0; i < 200; i++ {
		p, l, err := client.GetTS(ctx)
		require.NoError(t, err)
		ts := composeTS(p, l)
		require.Greater(t, ts, last, "TSO must be strictly increasing")
		last = ts
	}

	var next []byte
	regions := 0
	for {
		batch, err := client.BatchScanRegions(ctx, []router.KeyRange{{StartKey: next, EndKey: nil}}, 7)
		require.NoError(t, err)
		require.NotEmpty(t, batch)
		for _, r := range batch {
			require.True(t, bytes.Equal(r.Meta.StartKey, next), "hole before region %d: %x != %x", r.Meta.Id, r.Meta.StartKey, next)
			require.NotNil(t, r.Leader)
			next = r.Meta.EndKey
			regions++
			if len(next) == 0 {
				break
			}
		}
		if len(next) == 0 {
			break
		}
	}
	require.Positive(t, regions)

	stores, err := client.GetAllStores(ctx)
	require.NoError(t, err)
	require.Len(t, stores, wantStores)
	for _, s := range stores {
		require.NotEmpty(t, s.Address)
	}
}

func TestRealPDClientAgainstSim(t *testing.T) {
	quietPDClientLog()
	s := startSim(t, Config{Stores: 3, Regions: 40, WriteRate: 100})
	checkPDClient(t, s.PDAddr(), 3)
}
