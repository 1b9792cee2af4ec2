// Command realpd is the TiKV side of scripts/realpd: it plays the TiKV
// stores of a real pd-server, so pulltop can be checked against real PD
// releases by hand (CI has no pd-server).
//
//	realpd store --pd ADDR [--regions N] [--store-version V] [--write-rate R]
//
// waits until PD answers with a leader, starts the simulated cluster (one
// store) with PD's cluster id, bootstraps PD with that store and the first
// region as a TiKV does (TiKV's node bootstrap: one store, one region with
// empty keys, epoch 1/1, one peer on the store), then reports the sim's
// regions in region heartbeats (PD learns leaders and splits only from
// them) and the store in store heartbeats every second, until SIGINT or
// SIGTERM. It prints "store 1 ADDR" and then "ready" on stdout.
//
//	realpd gc-safe-point --pd ADDR --ago D
//
// sets PD's GC safe point to D before now (UpdateGCSafePoint, as TiDB's GC
// worker does), to check that pulltop refuses a --start-ts below it.
//
//	realpd ports N
//
// prints N free loopback ports, one a line, for pd-server's URLs.
//
// It is built and run by scripts/realpd only; nothing in the default test
// run starts it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"github.com/pulltop/pulltop/sim"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: realpd store|gc-safe-point --pd ADDR ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "store":
		err = runStore(os.Args[2:])
	case "gc-safe-point":
		err = runGCSafePoint(os.Args[2:])
	case "ports":
		err = runPorts(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: want store, gc-safe-point or ports", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "realpd:", err)
		os.Exit(1)
	}
}

// dialPD connects to PD and waits (up to a minute) until it has a leader,
// returning its cluster id.
func dialPD(ctx context.Context, addr string) (*grpc.ClientConn, pdpb.PDClient, uint64, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, 0, fmt.Errorf("PD %s: %w", addr, err)
	}
	pd := pdpb.NewPDClient(conn)
	deadline := time.Now().Add(time.Minute)
	var last error
	for time.Now().Before(deadline) {
		ctx1, cancel := context.WithTimeout(ctx, 3*time.Second)
		resp, err := pd.GetMembers(ctx1, &pdpb.GetMembersRequest{})
		cancel()
		switch {
		case err != nil:
			last = err
		case resp.GetHeader().GetError() != nil:
			last = errors.New(resp.GetHeader().GetError().String())
		case resp.GetLeader() == nil || resp.GetHeader().GetClusterId() == 0:
			last = errors.New("no leader yet")
		default:
			return conn, pd, resp.GetHeader().GetClusterId(), nil
		}
		select {
		case <-ctx.Done():
			_ = conn.Close()
			return nil, nil, 0, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
	_ = conn.Close()
	return nil, nil, 0, fmt.Errorf("PD %s did not answer with a leader within a minute: %v", addr, last)
}

func headerErr(h *pdpb.ResponseHeader) error {
	if e := h.GetError(); e != nil {
		return fmt.Errorf("%s: %s", e.GetType(), e.GetMessage())
	}
	return nil
}

func runStore(args []string) error {
	fs := flag.NewFlagSet("realpd store", flag.ContinueOnError)
	pdAddr := fs.String("pd", "", "PD client address host:port")
	regions := fs.Int("regions", 1, "regions of the simulated cluster, reported to PD in region heartbeats")
	version := fs.String("store-version", "8.5.0", "TiKV release the store behaves as and reports to PD")
	writeRate := fs.Float64("write-rate", 200, "rows per second the simulated workload commits")
	splitAfter := fs.Duration("split-after", 0, "split region 1 in two this long after ready (0: never); PD learns it from the next region heartbeat, as from a TiKV")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pdAddr == "" {
		return errors.New("--pd is required")
	}
	v, err := sim.ParseVersion(*version)
	if err != nil {
		return fmt.Errorf("--store-version: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	conn, pd, clusterID, err := dialPD(ctx, *pdAddr)
	if err != nil {
		return err
	}
	defer conn.Close()

	s, err := sim.Start(sim.Config{
		Stores: 1, Regions: *regions, WriteRate: *writeRate, Seed: 1,
		StoresClusterID: clusterID, TiKVVersion: v,
	})
	if err != nil {
		return fmt.Errorf("simulated store: %w", err)
	}
	defer s.Close()
	c := s.Cluster()
	store := &metapb.Store{
		Id: 1, Address: c.StoreAddr(1), StatusAddress: c.StoreAddr(1), PeerAddress: c.StoreAddr(1),
		Version: v.String(), StartTimestamp: time.Now().Unix(), DeployPath: "/realpd",
	}
	fmt.Printf("store 1 %s\n", store.Address)
	if err := bootstrap(ctx, pd, clusterID, store, c); err != nil {
		return err
	}
	hb, err := newHeartbeater(ctx, pd, clusterID, c)
	if err != nil {
		return err
	}
	if err := hb.beat(ctx); err != nil {
		return err
	}
	if err := waitPDKnows(ctx, pd, clusterID, c, 30*time.Second); err != nil {
		return err
	}
	fmt.Println("ready")
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var split <-chan time.Time
	if *splitAfter > 0 {
		split = time.After(*splitAfter)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-split:
			parts, err := c.Split(1, 2)
			if err != nil {
				return fmt.Errorf("split region 1: %w", err)
			}
			fmt.Printf("split region 1 into %d regions:", len(parts))
			for _, p := range parts {
				fmt.Printf(" %d (version %d)", p.ID, p.Version)
			}
			fmt.Println()
			if err := hb.beat(ctx); err != nil {
				fmt.Fprintln(os.Stderr, "realpd: heartbeat:", err)
			}
		case <-tick.C:
			if err := hb.beat(ctx); err != nil {
				fmt.Fprintln(os.Stderr, "realpd: heartbeat:", err)
			}
		}
	}
}

// bootstrap does what a TiKV's first start does: Bootstrap with its store
// and the first region (whole key space, its first peer on the store), then
// PutStore. The first region is the sim's region 1 with its keys emptied;
// the region heartbeats that follow narrow it to the sim's layout.
func bootstrap(ctx context.Context, pd pdpb.PDClient, clusterID uint64, store *metapb.Store, c *sim.Cluster) error {
	hdr := &pdpb.RequestHeader{ClusterId: clusterID}
	first := c.RegionByID(1)
	if first == nil {
		return errors.New("the simulated cluster has no region 1")
	}
	region := *first.Meta
	region.StartKey, region.EndKey = nil, nil
	ctx1, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	isb, err := pd.IsBootstrapped(ctx1, &pdpb.IsBootstrappedRequest{Header: hdr})
	if err != nil {
		return fmt.Errorf("IsBootstrapped: %w", err)
	}
	if isb.GetBootstrapped() {
		return errors.New("PD is already bootstrapped: start realpd on a fresh pd-server data dir")
	}
	resp, err := pd.Bootstrap(ctx1, &pdpb.BootstrapRequest{Header: hdr, Store: store, Region: &region})
	if err == nil {
		err = headerErr(resp.GetHeader())
	}
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	put, err := pd.PutStore(ctx1, &pdpb.PutStoreRequest{Header: hdr, Store: store})
	if err == nil {
		err = headerErr(put.GetHeader())
	}
	if err != nil {
		return fmt.Errorf("PutStore: %w", err)
	}
	return nil
}

// waitPDKnows waits (up to timeout) until PD's ScanRegions answers the sim's
// layout, every region with its leader: region heartbeats are handled
// asynchronously, and pulltop must not start before PD has them.
func waitPDKnows(ctx context.Context, pd pdpb.PDClient, clusterID uint64, c *sim.Cluster, timeout time.Duration) error {
	want := c.Regions()
	deadline := time.Now().Add(timeout)
	var got string
	for time.Now().Before(deadline) {
		ctx1, cancel := context.WithTimeout(ctx, 3*time.Second)
		resp, err := pd.ScanRegions(ctx1, &pdpb.ScanRegionsRequest{Header: &pdpb.RequestHeader{ClusterId: clusterID}, Limit: int32(len(want) + 1)})
		cancel()
		if err == nil {
			err = headerErr(resp.GetHeader())
		}
		if err != nil {
			got = err.Error()
		} else if rs := resp.GetRegions(); len(rs) != len(want) {
			got = fmt.Sprintf("%d regions", len(rs))
		} else {
			ok := true
			for i, r := range rs {
				if r.GetRegion().GetId() != want[i].ID || r.GetLeader().GetId() != want[i].LeaderPeer {
					ok = false
				}
			}
			if ok {
				return nil
			}
			got = "regions without their leaders"
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("PD did not learn the %d regions from the heartbeats within %s (last answer: %s)", len(want), timeout, got)
}

type heartbeater struct {
	pd        pdpb.PDClient
	hdr       *pdpb.RequestHeader
	c         *sim.Cluster
	stream    pdpb.PD_RegionHeartbeatClient
	started   time.Time
	last      time.Time
	streamErr chan error
}

func newHeartbeater(ctx context.Context, pd pdpb.PDClient, clusterID uint64, c *sim.Cluster) (*heartbeater, error) {
	stream, err := pd.RegionHeartbeat(ctx)
	if err != nil {
		return nil, fmt.Errorf("RegionHeartbeat: %w", err)
	}
	h := &heartbeater{pd: pd, hdr: &pdpb.RequestHeader{ClusterId: clusterID}, c: c, stream: stream,
		started: time.Now(), last: time.Now(), streamErr: make(chan error, 1)}
	// PD answers heartbeats with scheduling orders; a one-store cluster
	// gets none worth obeying, so they are read and dropped.
	go func() {
		for {
			resp, err := stream.Recv()
			if err != nil {
				if !errors.Is(err, io.EOF) && ctx.Err() == nil {
					h.streamErr <- err
				}
				return
			}
			if e := headerErr(resp.GetHeader()); e != nil {
				select {
				case h.streamErr <- e:
				default:
				}
			}
		}
	}()
	return h, nil
}

// beat reports the store and every region with its leader, as TiKV's
// store heartbeat (every 10 s) and region heartbeats (every 60 s, and on
// each change) do, only more often.
func (h *heartbeater) beat(ctx context.Context) error {
	select {
	case err := <-h.streamErr:
		return fmt.Errorf("region heartbeat stream: %w", err)
	default:
	}
	now := time.Now()
	interval := &pdpb.TimeInterval{StartTimestamp: uint64(h.last.Unix()), EndTimestamp: uint64(now.Unix())}
	h.last = now
	regions := h.c.Regions()
	ctx1, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := h.pd.StoreHeartbeat(ctx1, &pdpb.StoreHeartbeatRequest{Header: h.hdr, Stats: &pdpb.StoreStats{
		StoreId: 1, Capacity: 100 << 30, Available: 90 << 30, UsedSize: 1 << 30,
		RegionCount: uint32(len(regions)), StartTime: uint32(h.started.Unix()), Interval: interval,
	}})
	if err == nil {
		err = headerErr(resp.GetHeader())
	}
	if err != nil {
		return fmt.Errorf("StoreHeartbeat: %w", err)
	}
	for _, ri := range regions {
		r := h.c.RegionByID(ri.ID)
		if r == nil {
			continue
		}
		var leader *metapb.Peer
		for _, p := range r.Meta.GetPeers() {
			if p.GetId() == ri.LeaderPeer {
				leader = p
			}
		}
		if leader == nil {
			continue // no leader: a real leaderless region sends nothing
		}
		err := h.stream.Send(&pdpb.RegionHeartbeatRequest{
			Header: h.hdr, Region: r.Meta, Leader: leader, Term: 6,
			ApproximateSize: 1, ApproximateKeys: 100, Interval: interval,
		})
		if err != nil {
			return fmt.Errorf("RegionHeartbeat send: %w", err)
		}
	}
	return nil
}

// runGCSafePoint moves PD's GC safe point to --ago before now.
func runGCSafePoint(args []string) error {
	fs := flag.NewFlagSet("realpd gc-safe-point", flag.ContinueOnError)
	pdAddr := fs.String("pd", "", "PD client address host:port")
	ago := fs.Duration("ago", 2*time.Minute, "how far before now the safe point is set")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pdAddr == "" {
		return errors.New("--pd is required")
	}
	ctx := context.Background()
	conn, pd, clusterID, err := dialPD(ctx, *pdAddr)
	if err != nil {
		return err
	}
	defer conn.Close()
	sp := uint64(time.Now().Add(-*ago).UnixMilli()) << 18 // a TSO: physical ms, logical 0
	ctx1, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := pd.UpdateGCSafePoint(ctx1, &pdpb.UpdateGCSafePointRequest{Header: &pdpb.RequestHeader{ClusterId: clusterID}, SafePoint: sp})
	if err == nil {
		err = headerErr(resp.GetHeader())
	}
	if err != nil {
		return fmt.Errorf("UpdateGCSafePoint: %w", err)
	}
	fmt.Printf("gc safe point %d (new %d)\n", sp, resp.GetNewSafePoint())
	return nil
}

// runPorts prints N loopback ports that were free a moment ago (the
// listeners are held until all N are picked, so they differ).
func runPorts(args []string) error {
	n := 0
	if len(args) != 1 {
		return errors.New("usage: realpd ports N")
	}
	if _, err := fmt.Sscan(args[0], &n); err != nil || n < 1 || n > 16 {
		return fmt.Errorf("ports %q: want a count from 1 to 16", args[0])
	}
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		ls = append(ls, l)
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
	}
	return nil
}
