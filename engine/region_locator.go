package engine

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	pd "github.com/tikv/pd/client"
	"github.com/tikv/pd/client/clients/router"
	"github.com/tikv/pd/client/opt"
	"github.com/tikv/pd/client/pkg/caller"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
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
	tso       *tsoGuard // checks PD's TSO answers before the client sees them

	mu     sync.Mutex
	stores map[uint64]*metapb.Store

	// noBatchScan is set once PD answered BatchScanRegions Unimplemented
	// (PD before 8.2): from then on, for the life of the connection, region
	// lookups page through ScanRegions.
	noBatchScan atomic.Bool
}

// errPDRequest marks a PD call that failed (PD down or slow), as opposed to
// an answer PD gave that the engine cannot use yet (a hole in the regions).
var errPDRequest = errors.New("PD request failed")

// errPDFault marks an answer PD gave that cannot be right (a region that
// is empty or ends before it starts, regions listed twice, overlapping or
// out of order, a region that does not hold the key asked for): a PD bug or
// a hostile server. The lookup is retried with backoff, and the fault is
// shown as PD's error.
var errPDFault = errors.New("PD fault")

// ErrPDUnreachable wraps every failure to reach PD at start.
var ErrPDUnreachable = errors.New("cannot reach PD")

// connectPD reaches PD within timeout or says which addresses failed and
// why. The real client retries its init for ~100 s on its own, so a bare
// GetMembers probe goes first, and the client init itself is bounded too.
func connectPD(addrs []string, tlsCfg *tls.Config, security pd.SecurityOption, timeout time.Duration, logger *zap.Logger, dialOpts ...grpc.DialOption) (*regionLocator, error) {
	deadline := time.Now().Add(timeout)
	clusterID, err := probePD(addrs, tlsCfg, deadline)
	if err != nil {
		return nil, err
	}
	guard := &tsoGuard{}
	// The guard sees every TSO answer first, also one a test's own
	// interceptors rewrote (it is the outermost interceptor).
	dialOpts = append([]grpc.DialOption{guard.dialOption()}, dialOpts...)
	clientCtx, cancel := context.WithCancel(context.Background())
	type result struct {
		client pd.Client
		err    error
	}
	done := make(chan result, 1)
	go func() {
		// No router client (on by default in this pd client): it sends
		// single-region lookups over the QueryRegion stream, which no
		// PD release up to 8.5 serves, and does not fall back to the
		// unary RPCs (sim's TestPDClientLooksUpRegionsWithoutQueryRegion).
		// pulltop looks regions up by range (BatchScanRegions, or
		// ScanRegions before PD 8.2), and any lookup by key or id goes
		// by unary RPC.
		c, err := pd.NewClientWithContext(clientCtx, caller.Component("pulltop"), addrs, security,
			opt.WithCustomTimeoutOption(3*time.Second), opt.WithMaxErrorRetry(1), opt.WithGRPCDialOptions(dialOpts...),
			opt.WithEnableRouterClient(false))
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
			logger: logger, stores: map[uint64]*metapb.Store{}, tso: guard}, nil
	case <-time.After(time.Until(deadline)):
		cancel()
		<-done
		return nil, fmt.Errorf("%w at %s: the pd client did not finish starting within %s", ErrPDUnreachable, strings.Join(addrs, ","), timeout)
	}
}

// probePD asks every address for its members until one answers; the error
// names each address with its failure. A TLS mismatch (untrusted or
// misnamed certificate, a rejected client certificate, TLS on one side only)
// is reported as soon as it is seen: waiting does not heal it.
func probePD(addrs []string, tlsCfg *tls.Config, deadline time.Time) (uint64, error) {
	var failures []string
	onlyTLS := true
	for i, addr := range addrs {
		// Split what is left of the deadline over the remaining addresses.
		per := time.Until(deadline) / time.Duration(len(addrs)-i)
		id, err := probeOne(addr, tlsCfg, per)
		if err == nil {
			return id, nil
		}
		var mismatch *tlsMismatchError
		onlyTLS = onlyTLS && errors.As(err, &mismatch)
		failures = append(failures, fmt.Sprintf("%s: %v", addr, err))
	}
	hint := " (is PD running there, and is --pd right?)"
	if onlyTLS {
		hint = "" // each TLS failure carries its own advice
	}
	return 0, fmt.Errorf("%w: %s%s", ErrPDUnreachable, strings.Join(failures, "; "), hint)
}

// probeInterval is how often the probe re-asks while the connection is
// failing: gRPC fails such calls at once with the latest connection error,
// and reconnects on its own backoff in between.
const probeInterval = 100 * time.Millisecond

func probeOne(addr string, tlsCfg *tls.Config, timeout time.Duration) (uint64, error) {
	creds := insecure.NewCredentials()
	if tlsCfg != nil {
		creds = credentials.NewTLS(tlsCfg)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	client := pdpb.NewPDClient(conn)
	var lastErr string
	for {
		// Not WaitForReady: a failed connection comes back with its cause
		// (refused, handshake failed), which the operator needs to see.
		resp, err := client.GetMembers(ctx, &pdpb.GetMembersRequest{})
		if err == nil {
			if e := resp.GetHeader().GetError(); e != nil {
				return 0, fmt.Errorf("PD error %s: %s", e.GetType(), e.GetMessage())
			}
			id := resp.GetHeader().GetClusterId()
			if id == 0 {
				return 0, errors.New("PD answered with cluster id 0 (not bootstrapped?)")
			}
			return id, nil
		}
		if ctx.Err() != nil {
			break
		}
		if status.Code(err) != codes.Unavailable {
			return 0, err
		}
		if msg := status.Convert(err).Message(); msg != lastErr {
			// A new kind of failure: find out whether TLS is the cause.
			lastErr = msg
			if mismatch := diagnoseTLS(ctx, addr, tlsCfg); mismatch != nil {
				return 0, mismatch
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(probeInterval):
		}
	}
	if lastErr != "" {
		return 0, fmt.Errorf("no answer within %s; last error: %s", timeout.Round(time.Millisecond), lastErr)
	}
	return 0, fmt.Errorf("no answer within %s", timeout.Round(time.Millisecond))
}

// tlsMismatchError is a connection failure caused by the TLS settings on
// one side or the other, with advice on which flag to fix.
type tlsMismatchError struct {
	problem string
	cause   error
	advice  string
}

func (e *tlsMismatchError) Error() string {
	return fmt.Sprintf("%s: %v (%s)", e.problem, e.cause, e.advice)
}

func (e *tlsMismatchError) Unwrap() error { return e.cause }

// diagnoseTLS opens one bare TLS (or, when pulltop has no TLS, one
// unverified TLS) connection to addr to learn what gRPC only reports as a
// failed connection, and returns a tlsMismatchError when TLS is the cause,
// nil otherwise (refused, timed out, or TLS is fine). With TLS 1.3 the
// server judges the client certificate after the client's side of the
// handshake is done, so its verdict arrives with the first read.
func diagnoseTLS(ctx context.Context, addr string, tlsCfg *tls.Config) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if tlsCfg == nil {
		// Does PD expect TLS? Only the handshake is looked at; nothing the
		// unverified connection carries is used.
		d := &tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}} //nolint:gosec // diagnosis only
		conn, err := d.DialContext(ctx, "tcp", addr)
		var opErr *net.OpError
		switch {
		case err == nil:
			_ = conn.Close()
		case errors.As(err, &opErr) && opErr.Op == "remote error":
			// A TLS alert (TLS 1.2 asks for the client certificate inside
			// the handshake): PD speaks TLS all the same.
		default:
			return nil
		}
		return &tlsMismatchError{problem: "PD speaks TLS", cause: errors.New("pulltop was given no --ca/--cert/--key"),
			advice: "give --ca, --cert and --key, as for pd-ctl"}
	}
	cfg := tlsCfg.Clone()
	cfg.NextProtos = []string{"h2"}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil
		}
		cfg.ServerName = host
	}
	d := &tls.Dialer{Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		deadline, _ := ctx.Deadline()
		_ = conn.SetReadDeadline(deadline)
		// A gRPC server speaks first (its HTTP/2 settings) once it accepts us.
		_, err = conn.Read(make([]byte, 1))
		_ = conn.Close()
		if err == nil {
			return nil
		}
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		wrongHost        x509.HostnameError
		invalid          x509.CertificateInvalidError
		notTLS           tls.RecordHeaderError
		opErr            *net.OpError
	)
	switch {
	case errors.As(err, &unknownAuthority):
		return &tlsMismatchError{problem: "TLS handshake failed: PD's certificate is not trusted", cause: unknownAuthority,
			advice: "check --ca: it must be the CA that signed PD's certificate"}
	case errors.As(err, &wrongHost):
		return &tlsMismatchError{problem: "TLS handshake failed: PD's certificate is for another host", cause: wrongHost,
			advice: "give --pd a host name or IP address the certificate names"}
	case errors.As(err, &invalid):
		return &tlsMismatchError{problem: "TLS handshake failed: PD's certificate is not valid", cause: invalid,
			advice: "check PD's certificate and this machine's clock"}
	case errors.As(err, &notTLS):
		return &tlsMismatchError{problem: "TLS handshake failed: PD does not speak TLS", cause: errors.New(notTLS.Error()),
			advice: "drop --ca/--cert/--key, or check --pd"}
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		// An alert from PD: almost always its verdict on our certificate.
		return &tlsMismatchError{problem: "PD refused pulltop's TLS handshake", cause: opErr,
			advice: "check --cert/--key: PD must trust the CA that signed the client certificate"}
	}
	return nil
}

func (l *regionLocator) close() {
	l.client.Close()
	l.cancel()
}

// locatePageSize is how many regions one PD lookup asks for: a page is
// handed to the engine as soon as it arrives, so the first regions of a
// million are subscribed while PD is still paging through the rest.
const locatePageSize = 1024

// locateSpan returns the regions covering [start, end) in key order, or an
// error if PD's answer has a hole (a split it has half heard of).
func (l *regionLocator) locateSpan(ctx context.Context, span Span) ([]RegionLoc, error) {
	var out []RegionLoc
	_, err := l.locatePages(ctx, span, func(page []RegionLoc, _ Span) bool {
		out = append(out, page...)
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// locatePages looks [start, end) up in PD a page at a time and hands each
// page to fn with the part of the span it covers (pages tile the span in
// order; the last one ends at span.End), until the span is covered or fn
// returns false. On an error, from is where the span stops being covered:
// everything before it was handed to fn.
func (l *regionLocator) locatePages(ctx context.Context, span Span, fn func(page []RegionLoc, covered Span) bool) (from []byte, err error) {
	cursor := span.Start
	for {
		ctx1, cancel := context.WithTimeout(ctx, 5*time.Second)
		regions, method, err := l.scan(ctx1, cursor, span.End, locatePageSize)
		cancel()
		if err != nil {
			return cursor, fmt.Errorf("%w: %s from %s: %w", errPDRequest, method, FormatKey(cursor), err)
		}
		if len(regions) == 0 {
			return cursor, fmt.Errorf("PD has no region for %s", FormatKey(cursor))
		}
		if why := checkRegionAnswer(cursor, regions); why != "" {
			return cursor, fmt.Errorf("%w: %s from %s answered %s", errPDFault, method, FormatKey(cursor), why)
		}
		page := make([]RegionLoc, 0, len(regions))
		pageStart, done := cursor, false
		var hole error
		for _, r := range regions {
			meta := r.Meta
			if bytes.Compare(meta.GetStartKey(), cursor) > 0 {
				hole = fmt.Errorf("PD has a hole before region %d at %s", meta.GetId(), FormatKey(cursor))
				break
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
			page = append(page, loc)
			cursor = meta.GetEndKey()
			if len(cursor) == 0 || (len(span.End) > 0 && bytes.Compare(cursor, span.End) >= 0) {
				done = true
				break
			}
		}
		covered := Span{Start: pageStart, End: cursor}
		if done {
			covered.End = span.End
		}
		if len(page) > 0 && !fn(page, covered) {
			return cursor, nil
		}
		if hole != nil {
			return cursor, hole
		}
		if done {
			return nil, nil
		}
	}
}

// checkRegionAnswer says what is wrong with PD's regions for a lookup from
// cursor, or "" when nothing is: every region must be non-empty (start <
// end, or end open), the first must hold cursor, and each next one must
// start at or after the end of the one before (a gap is a hole PD has not
// heard of yet, not a fault). Without these checks a region whose end does
// not move the cursor forward made locatePages ask PD the same question
// thousands of times a second, and a duplicate or overlap silently lost a
// region's coverage.
func checkRegionAnswer(cursor []byte, regions []*router.Region) string {
	seen := make(map[uint64]bool, len(regions))
	var prev *metapb.Region
	for i, r := range regions {
		meta := r.Meta
		if meta == nil {
			return fmt.Sprintf("a region without its range (answer %d of %d)", i+1, len(regions))
		}
		start, end := meta.GetStartKey(), meta.GetEndKey()
		if len(end) > 0 {
			switch c := bytes.Compare(start, end); {
			case c == 0:
				return fmt.Sprintf("region %d %s, which is empty (start = end)", meta.GetId(), keyRange(start, end))
			case c > 0:
				return fmt.Sprintf("region %d %s, which ends before it starts", meta.GetId(), keyRange(start, end))
			}
		}
		if seen[meta.GetId()] {
			return fmt.Sprintf("region %d twice", meta.GetId())
		}
		seen[meta.GetId()] = true
		switch {
		case prev == nil:
			if len(end) > 0 && bytes.Compare(end, cursor) <= 0 {
				return fmt.Sprintf("region %d %s, which lies before the key asked for", meta.GetId(), keyRange(start, end))
			}
		case len(prev.GetEndKey()) == 0:
			return fmt.Sprintf("region %d %s after region %d %s, which already reaches the end of the keyspace",
				meta.GetId(), keyRange(start, end), prev.GetId(), keyRange(prev.GetStartKey(), prev.GetEndKey()))
		case bytes.Compare(start, prev.GetEndKey()) < 0:
			return fmt.Sprintf("region %d %s overlapping or before region %d %s",
				meta.GetId(), keyRange(start, end), prev.GetId(), keyRange(prev.GetStartKey(), prev.GetEndKey()))
		}
		prev = meta
	}
	return ""
}

// keyRange is [start, end) for a message.
func keyRange(start, end []byte) string {
	s := "-∞"
	if len(start) > 0 {
		s = FormatKey(start)
	}
	return "[" + s + ", " + FormatKey(end) + ")"
}

// scan asks PD for up to limit regions from cursor: BatchScanRegions, or
// ScanRegions on a PD that has no BatchScanRegions (before 8.2).
func (l *regionLocator) scan(ctx context.Context, cursor, end []byte, limit int) ([]*router.Region, string, error) {
	if !l.noBatchScan.Load() {
		regions, err := l.client.BatchScanRegions(ctx, []router.KeyRange{{StartKey: cursor, EndKey: end}}, limit)
		if err == nil || !isUnimplemented(err) {
			return regions, "BatchScanRegions", err
		}
		if l.noBatchScan.CompareAndSwap(false, true) {
			l.logger.Info("PD has no BatchScanRegions (PD before 8.2): looking regions up with ScanRegions", zap.Error(err))
		}
	}
	//nolint:staticcheck // ScanRegions is deprecated in favour of BatchScanRegions, which older PDs lack
	regions, err := l.client.ScanRegions(ctx, cursor, end, limit)
	return regions, "ScanRegions", err
}

// isUnimplemented recognises a gRPC Unimplemented answer through the pd
// client's wrapping.
func isUnimplemented(err error) bool {
	if status.Code(err) == codes.Unimplemented {
		return true
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) && se.GRPCStatus().Code() == codes.Unimplemented {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "Unimplemented") || strings.Contains(msg, "unknown method")
}

// gcSafePoint is the cluster's GC safe point, from the PD leader.
func (l *regionLocator) gcSafePoint(ctx context.Context) (uint64, error) {
	conn := l.client.GetServiceDiscovery().GetServingEndpointClientConn()
	if conn == nil {
		return 0, errors.New("PD GetGCSafePoint: no connection to the PD leader")
	}
	ctx1, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	resp, err := pdpb.NewPDClient(conn).GetGCSafePoint(ctx1, &pdpb.GetGCSafePointRequest{Header: &pdpb.RequestHeader{ClusterId: l.clusterID}})
	if err != nil {
		return 0, fmt.Errorf("PD GetGCSafePoint: %w", err)
	}
	if e := resp.GetHeader().GetError(); e != nil {
		return 0, fmt.Errorf("PD GetGCSafePoint: %s: %s", e.GetType(), e.GetMessage())
	}
	return resp.GetSafePoint(), nil
}

// clockOffset estimates PD's clock minus this host's from a few TSO round
// trips: the TSO's physical time is PD's clock, taken (on average) halfway
// through the round trip. The shortest round trip bounds the error best.
func (l *regionLocator) clockOffset(ctx context.Context) (time.Duration, error) {
	best, bestRTT := time.Duration(0), time.Duration(-1)
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		ts, err := l.currentTS(ctx)
		t1 := time.Now()
		if err != nil {
			return 0, err
		}
		rtt := t1.Sub(t0)
		if bestRTT < 0 || rtt < bestRTT {
			mid := t0.Add(rtt / 2)
			best, bestRTT = time.UnixMilli(int64(ts>>18)).Sub(mid), rtt
		}
	}
	return best, nil
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

// cachedStore is what PD last said of a store (GetStore while locating, or
// GetAllStores), nil if nothing yet.
func (l *regionLocator) cachedStore(storeID uint64) *metapb.Store {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stores[storeID]
}

// allStores refreshes the store cache from PD.
// wakeConns asks the PD client's connections to reconnect now instead of
// at the end of gRPC's reconnect backoff (1s, then 1.6s, 2.6s … while PD
// stays down), so the probe of an outage sees PD answer again within its
// interval, not seconds later (issue 24: recovery named within 1s).
func (l *regionLocator) wakeConns() {
	d := l.client.GetServiceDiscovery()
	if d == nil {
		return
	}
	for _, u := range d.GetServiceURLs() {
		if cc, err := d.GetOrCreateGRPCConn(u); err == nil && cc != nil {
			cc.ResetConnectBackoff()
		}
	}
}

func (l *regionLocator) allStores(ctx context.Context) ([]*metapb.Store, error) {
	ctx1, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	stores, err := l.client.GetAllStores(ctx1, opt.WithExcludeTombstone())
	if err != nil {
		return nil, fmt.Errorf("%w: GetAllStores: %w", errPDRequest, err)
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
		if fault := l.tso.Fault(); fault != nil {
			return 0, fault // the guard refused PD's answer: say why
		}
		return 0, fmt.Errorf("PD GetTS: %w", err)
	}
	return uint64(p)<<18 | uint64(lg), nil
}
