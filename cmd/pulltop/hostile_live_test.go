package main

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/pulltop/pulltop/engine"
	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
	"github.com/pulltop/pulltop/snapshots/snapshotstest"
	"github.com/pulltop/pulltop/ui"
)

// hostileServer makes the embedded sim behave as a hostile cluster would,
// from the engine's side of the wire: PD reports store 2 at an address
// full of escape sequences, PD's region lookups fail twice with one as
// their message, and a store stream breaks with one.
func hostileServer() []grpc.DialOption {
	var lookups, streams atomic.Int64
	unary := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
		invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if strings.HasSuffix(method, "ScanRegions") && lookups.Add(1) <= 2 {
			return grpcstatus.Error(codes.Unavailable, snapshotstest.Hostile)
		}
		err := invoker(ctx, method, req, reply, cc, opts...)
		switch r := reply.(type) {
		case *pdpb.GetAllStoresResponse:
			for _, s := range r.GetStores() {
				if s.GetId() == 2 {
					s.Address = snapshotstest.Hostile + s.Address
				}
			}
		case *pdpb.GetStoreResponse:
			if s := r.GetStore(); s.GetId() == 2 {
				s.Address = snapshotstest.Hostile + s.Address
			}
		}
		return err
	}
	stream := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
		streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil || !strings.Contains(method, "EventFeed") {
			return cs, err
		}
		return &hostileStream{ClientStream: cs, broken: &streams}, nil
	}
	return []grpc.DialOption{grpc.WithChainUnaryInterceptor(unary), grpc.WithChainStreamInterceptor(stream)}
}

// hostileStream breaks once, after some messages, with a hostile message.
type hostileStream struct {
	grpc.ClientStream
	n      int
	broken *atomic.Int64
}

func (s *hostileStream) RecvMsg(m any) error {
	if s.n++; s.n == 30 && s.broken.Add(1) == 1 {
		return grpcstatus.Error(codes.Unavailable, "store says: "+snapshotstest.Hostile)
	}
	return s.ClientStream.RecvMsg(m)
}

// Issue 15's acceptance test on a live cluster: error reasons and
// addresses carrying OSC 0, OSC 52, CSI 2J and C1 controls reach neither
// the snapshot (the engine cleans what it ingests) nor any view, detail
// or dialog of the UI, nor headless text or JSON.
func TestHostileLiveClusterNeverReachesTheTerminal(t *testing.T) {
	s, err := sim.Start(sim.Config{Stores: 2, Regions: 6, WriteRate: 200, MinTsInterval: 100 * time.Millisecond})
	require.NoError(t, err)
	defer s.Close()
	eng, err := engine.Start(engine.Config{
		PD: []string{s.PDAddr()}, EmbeddedSim: true, GroundTruth: s.Cluster(),
		PublishInterval: 50 * time.Millisecond, PDCheckInterval: 100 * time.Millisecond,
		DialOptions: hostileServer(),
	})
	require.NoError(t, err)
	defer eng.Close()

	// The hostile text must have arrived (cleaned): an address, a PD
	// lookup error and a stream error.
	seen := map[string]bool{}
	deadline := time.Now().Add(30 * time.Second)
	var st *snapshots.State
	for len(seen) < 3 {
		require.True(t, time.Now().Before(deadline), "hostile text never arrived; saw %v", seen)
		st = eng.Refresh()
		var left []string
		snapshotstest.UnsafeStrings(reflect.ValueOf(st), "State", &left)
		require.Empty(t, left, "the engine published text it did not clean")
		for _, store := range st.Stores {
			if strings.Contains(store.Addr, `\x1b]52;c;`) {
				seen["address"] = true
			}
		}
		for _, r := range st.Regions {
			switch {
			case strings.Contains(r.LastError, "store says: x") && strings.Contains(r.LastError, `\x1b]0;pwned`):
				seen["stream error"] = true
			case strings.Contains(r.LastError, `\x1b[2J`):
				seen["lookup or dial error"] = true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Every view, with a detail and a dialog where there is one.
	m := ui.New(ui.Options{Source: eng, Controller: eng})
	var model tea.Model = m
	send := func(msg tea.Msg) {
		model, _ = model.Update(msg)
	}
	check := func(step string) {
		t.Helper()
		if why := snapshotstest.Unsafe(model.View(), true); why != "" {
			t.Fatalf("%s: %s\n%s", step, why, model.View())
		}
	}
	keys := func(k string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)} }
	send(tea.WindowSizeMsg{Width: 160, Height: 50})
	for v := '1'; v <= '7'; v++ {
		send(keys(string(v)))
		check("view " + string(v))
		send(tea.KeyMsg{Type: tea.KeyEnter})
		check("detail in view " + string(v))
		send(keys("P"))
		check("pause dialog in view " + string(v))
		send(keys("n"))
		send(tea.KeyMsg{Type: tea.KeyEsc})
	}

	// Headless: text and JSON lines.
	for _, asJSON := range []bool{false, true} {
		var out bytes.Buffer
		require.NoError(t, writeStatus(&out, statusOf(st, lineTime, time.Second), asJSON))
		require.Empty(t, snapshotstest.Unsafe(out.String(), false), out.String())
	}
}
