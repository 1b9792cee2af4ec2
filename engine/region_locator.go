package engine

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	pd "github.com/tikv/pd/client"
	"github.com/tikv/pd/client/clients/router"
	"github.com/tikv/pd/client/opt"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// RegionLoc is one region as PD reported it, cut to nothing: the engine
// intersects it with the subscription itself.
type RegionLoc struct {
	ID         uint64
	Start, End []byte // encoded
	Version    uint64
	ConfVer    uint64
	Leader     *metapb.Peer // nil when PD knows no leader
	LeaderAddr string       // "" when unknown
}

// regionLocator finds regions and stores through the real PD client. Its
// methods block on PD and are called from locator goroutines, never from
// the event loop. It caches store addresses (they rarely change) and keeps
// no region cache: the engine's own region records are that cache, and a
// region error always sends it back here for the truth.
type regionLocator struct {
	client    pd.Client
	cancel    context.CancelFunc
	clusterID uint64
	addrs     []string
	logger    *zap.Logger

	mu     sync.Mutex
	stores map[uint64]*metapb.Store
}

// ErrPDUnreachable wraps every failure to reach PD at start.
var ErrPDUnreachable = errors.New("cannot reach PD")

// connectPD reaches PD within timeout or says which addresses failed and
// why. The real client retries its init for ~100 s on its own, so a bare
// GetMembers probe goes first, and the client init itself is bounded too.
func connectPD(addrs []string, tlsCfg *tls.Config, security pd.SecurityOption, timeout time.Duration, logger *zap.Logger) (*regionLocator, error) {
	deadline := time.Now().Add(timeout)
	clusterID, err := probePD(addrs, tlsCfg, deadline)
	if err != nil {
		return nil, err
	}
	clientCtx, cancel := context.WithCancel(context.Background())
	type result struct {
		client pd.Client
		err    error
	}
	done := make(chan result, 1)
	go func() {
		c, err := pd.NewClientWithContext(clientCtx, addrs, security,
			opt.WithCustomTimeoutOption(3*time.Second), opt.WithMaxErrorRetry(1))
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			cancel()
			return nil, fmt.Errorf("%w at %s: %v", ErrPDUnreachable, strings.Join(addrs, ","), r.err)
		}
		// clientCtx is the client's lifetime context: cancelled on close.
		return &regionLocator{client: r.client, cancel: cancel, clusterID: clusterID, addrs: addrs,
			logger: logger, stores: map[uint64]*metapb.Store{}}, nil
	case <-time.After(time.Until(deadline)):
		cancel()
		<-done
		return nil, fmt.Errorf("%w at %s: the pd client did not finish starting within %s", ErrPDUnreachable, strings.Join(addrs, ","), timeout)
	}
}

// probePD asks every address for its members until one answers; the error
// names each address with its failure.
func probePD(addrs []string, tlsCfg *tls.Config, deadline time.Time) (uint64, error) {
	creds := insecure.NewCredentials()
	if tlsCfg != nil {
		creds = credentials.NewTLS(tlsCfg)
	}
	var failures []string
	for i, addr := range addrs {
		// Split what is left of the deadline over the remaining addresses.
		per := time.Until(deadline) / time.Duration(len(addrs)-i)
		id, err := probeOne(addr, creds, per)
		if err == nil {
			return id, nil
		}
		failures = append(failures, fmt.Sprintf("%s: %v", addr, err))
	}
	return 0, fmt.Errorf("%w: %s (is PD running there, and is --pd right?)", ErrPDUnreachable, strings.Join(failures, "; "))
}

func probeOne(addr string, creds credentials.TransportCredentials, timeout time.Duration) (uint64, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	resp, err := pdpb.NewPDClient(conn).GetMembers(ctx, &pdpb.GetMembersRequest{}, grpc.WaitForReady(true))
	if err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("no answer within %s", timeout.Round(time.Millisecond))
		}
		return 0, err
	}
	if e := resp.GetHeader().GetError(); e != nil {
		return 0, fmt.Errorf("PD error %s: %s", e.GetType(), e.GetMessage())
	}
	id := resp.GetHeader().GetClusterId()
	if id == 0 {
		return 0, errors.New("PD answered with cluster id 0 (not bootstrapped?)")
	}
	return id, nil
}

func (l *regionLocator) close() {
	l.client.Close()
	l.cancel()
}

// locateSpan returns the regions covering [start, end) in key order, or an
// error if PD's answer has a hole (a split it has half heard of).
func (l *regionLocator) locateSpan(ctx context.Context, span Span) ([]RegionLoc, error) {
	var out []RegionLoc
	cursor := span.Start
	for {
		ctx1, cancel := context.WithTimeout(ctx, 5*time.Second)
		regions, err := l.client.BatchScanRegions(ctx1, []router.KeyRange{{StartKey: cursor, EndKey: span.End}}, 1024)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("PD BatchScanRegions from %s: %w", FormatKey(cursor), err)
		}
		if len(regions) == 0 {
			return nil, fmt.Errorf("PD has no region for %s", FormatKey(cursor))
		}
		for _, r := range regions {
			meta := r.Meta
			if bytes.Compare(meta.GetStartKey(), cursor) > 0 {
				return nil, fmt.Errorf("PD has a hole before region %d at %s", meta.GetId(), FormatKey(cursor))
			}
			loc := RegionLoc{
				ID: meta.GetId(), Start: meta.GetStartKey(), End: meta.GetEndKey(),
				Version: meta.GetRegionEpoch().GetVersion(), ConfVer: meta.GetRegionEpoch().GetConfVer(),
			}
			if r.Leader != nil && r.Leader.GetStoreId() != 0 {
				loc.Leader = r.Leader
				if addr, err := l.storeAddr(ctx, r.Leader.GetStoreId()); err == nil {
					loc.LeaderAddr = addr
				} else {
					l.logger.Debug("store address lookup failed", zap.Uint64("store", r.Leader.GetStoreId()), zap.Error(err))
				}
			}
			out = append(out, loc)
			cursor = meta.GetEndKey()
			if len(cursor) == 0 || (len(span.End) > 0 && bytes.Compare(cursor, span.End) >= 0) {
				return out, nil
			}
		}
	}
}

// storeAddr returns a store's address, from the cache or PD.
func (l *regionLocator) storeAddr(ctx context.Context, storeID uint64) (string, error) {
	l.mu.Lock()
	s := l.stores[storeID]
	l.mu.Unlock()
	if s != nil {
		return s.GetAddress(), nil
	}
	ctx1, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	s, err := l.client.GetStore(ctx1, storeID)
	if err != nil {
		return "", fmt.Errorf("PD GetStore %d: %w", storeID, err)
	}
	if s == nil || s.GetAddress() == "" {
		return "", fmt.Errorf("PD knows no address for store %d", storeID)
	}
	l.mu.Lock()
	l.stores[storeID] = s
	l.mu.Unlock()
	return s.GetAddress(), nil
}

// allStores refreshes the store cache from PD.
func (l *regionLocator) allStores(ctx context.Context) ([]*metapb.Store, error) {
	ctx1, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	stores, err := l.client.GetAllStores(ctx1, opt.WithExcludeTombstone())
	if err != nil {
		return nil, fmt.Errorf("PD GetAllStores: %w", err)
	}
	l.mu.Lock()
	for _, s := range stores {
		l.stores[s.GetId()] = s
	}
	l.mu.Unlock()
	return stores, nil
}

// currentTS is PD's current TSO.
func (l *regionLocator) currentTS(ctx context.Context) (uint64, error) {
	ctx1, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	p, lg, err := l.client.GetTS(ctx1)
	if err != nil {
		return 0, fmt.Errorf("PD GetTS: %w", err)
	}
	return uint64(p)<<18 | uint64(lg), nil
}
