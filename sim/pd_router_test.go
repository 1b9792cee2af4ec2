package sim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pd "github.com/tikv/pd/client"
	"github.com/tikv/pd/client/opt"
	"github.com/tikv/pd/client/pkg/caller"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// PD serves the QueryRegion stream only from master of January 2025 on
// (tikv/pd #8979); no 7.5, 8.1 or 8.5 release has it, and neither does the
// sim. The pd client of 20260805 sends single-region lookups (GetRegion,
// GetRegionByID, GetPrevRegion) through that stream whenever its router
// client is on, which is its default, and does not fall back to the unary
// RPCs when PD answers Unimplemented. So pulltop's clients (the engine's
// connectPD and the tests') switch the router client off: every lookup is
// then a unary pdpb call, which every PD release serves. This test pins
// both halves, on each PD release the sim models, and that closing such a
// client leaves none of its goroutines behind.
func TestPDClientLooksUpRegionsWithoutQueryRegion(t *testing.T) {
	quietPDClientLog()
	for _, v := range []Version{{7, 5, 0}, {8, 1, 0}, {8, 5, 0}} {
		t.Run("pd "+v.String(), func(t *testing.T) {
			s := startSim(t, Config{Stores: 3, Regions: 12, PDVersion: v})
			truth := s.Cluster().Regions()
			mid := truth[len(truth)/2]
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			before := goleak.IgnoreCurrent()
			cli, err := pd.NewClientWithContext(context.Background(), caller.TestComponent, []string{s.PDAddr()}, pd.SecurityOption{},
				opt.WithEnableRouterClient(false))
			require.NoError(t, err)
			r, err := cli.GetRegion(ctx, mid.Start)
			require.NoError(t, err, "GetRegion by unary RPC")
			require.Equal(t, mid.ID, r.Meta.GetId())
			r, err = cli.GetRegionByID(ctx, mid.ID)
			require.NoError(t, err, "GetRegionByID by unary RPC")
			require.Equal(t, mid.Start, r.Meta.GetStartKey())
			r, err = cli.GetPrevRegion(ctx, mid.Start)
			require.NoError(t, err, "GetPrevRegion by unary RPC")
			require.Equal(t, truth[len(truth)/2-1].ID, r.Meta.GetId())
			//nolint:staticcheck // ScanRegions: what the engine falls back to before PD 8.2
			scanned, err := cli.ScanRegions(ctx, mid.Start, nil, 3)
			require.NoError(t, err, "ScanRegions")
			require.Len(t, scanned, 3)
			require.Equal(t, mid.ID, scanned[0].Meta.GetId())
			cli.Close()
			goleak.VerifyNone(t, before) // the pd client's goroutines end with Close

			// The pd client's default: the lookup goes to the QueryRegion
			// stream, PD says Unimplemented, and the caller gets the error.
			// If a newer pd client falls back by itself, this fails: the
			// option can then go.
			def, err := pd.NewClientWithContext(context.Background(), caller.TestComponent, []string{s.PDAddr()}, pd.SecurityOption{})
			require.NoError(t, err)
			_, err = def.GetRegion(ctx, mid.Start)
			def.Close()
			// The error is PD's Unimplemented, or EOF when the stream was
			// already closed by it when the request went out.
			require.Error(t, err, "a lookup through the router client on a PD without QueryRegion")
			require.True(t, status.Code(err) == codes.Unimplemented || strings.Contains(err.Error(), "EOF"), "%v", err)
			goleak.VerifyNone(t, before)
		})
	}
}
