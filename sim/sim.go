// Package sim is pulltop's simulated TiKV cluster: one in-process model of
// stores, regions, MVCC data and a TSO, exposed over real gRPC on loopback as
// a PD server and one ChangeData (TiKV-CDC) server per store, with a workload
// driver and a fault-script executor. It keeps the ground truth of every
// committed row so tests can prove the engine lost nothing.
//
// It never imports the engine or the UI: it is a stand-in for a production
// cluster and must behave like one on the wire (reference/tikv-cdc-and-pd.md).
package sim

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

const putOp = cdcpb.Event_Row_PUT

// Config describes a simulated cluster.
type Config struct {
	Stores    int     // TiKV stores (default 3)
	Regions   int     // initial regions (default 64)
	WriteRate float64 // rows per second committed by the workload (0: none)
	Seed      int64   // seeds the layout, the workload and random fault targets
	PDLag     time.Duration
	Script    *Script // fault script, may be nil
	// OnFault, when set, hears of every fault-script line as it fires, with
	// the targets "random" picked (Err says why it failed), so an embedding
	// program can show it, e.g. in its event log. It is called from the
	// line's goroutine and must not block.
	OnFault func(FaultEvent)

	// ListenPD is the PD address ("127.0.0.1:0" by default). Stores always
	// get their own loopback ports.
	ListenPD string
	// MinTsInterval is how often stores advance resolved ts (TiKV's
	// min_ts_interval, 1s by default).
	MinTsInterval time.Duration
	// ScanConcurrency is incremental scans running at once per store (6).
	ScanConcurrency int
	// PendingScanLimit is TiKV's incremental-scan-concurrency-limit: a
	// registration beyond this many pending scans on a store is refused with
	// ServerIsBusy (10000).
	PendingScanLimit int
	// SinkMemoryQuota is TiKV's cdc.sink-memory-quota, shared by every
	// connection to a store: rows queued beyond it make regions Congested
	// (512 MiB).
	SinkMemoryQuota int64
	// ElectionTimeout is how long a crashed store's regions stay without a
	// leader before the other stores elect one (10s).
	ElectionTimeout time.Duration
	// TiKVVersion and PDVersion are the releases the sim behaves as (see
	// versions.go); zero means DefaultVersion.
	TiKVVersion Version
	PDVersion   Version
	// TiFlash adds TiFlash stores: listed by PD with engine=tiflash, no
	// leaders, no ChangeData service.
	TiFlash int
	// TSOOffset makes the TSO's physical clock run this far ahead of the
	// host's (behind, when negative): clock skew between pulltop and PD.
	TSOOffset time.Duration
	// GCSafePointLag is how far behind the TSO clock the GC safe point is
	// (10m).
	GCSafePointLag time.Duration
	// InterleaveScan sends scan rows while live rows already flow, as TiKV
	// does, so a live COMMIT can overtake the scanned PREWRITE of its
	// transaction; ScanDelay spreads a scan's batches over that long.
	InterleaveScan bool
	ScanDelay      time.Duration
	// KeepGroundTruth keeps committed rows for one consumer reading them
	// with CommittedFrom (the embedded engine); without it only the count
	// is kept. GroundTruthRows bounds what is kept for a consumer that lags
	// (default 1M rows).
	KeepGroundTruth bool
	GroundTruthRows int
	// KeepFaultTruth records every fault the script runs and what it
	// touches (FaultTruth), for the diagnosis oracle.
	KeepFaultTruth bool
	// WorkingSetRows is how many distinct rows the workload writes (default
	// max(64Ki, 4 per region)); with MVCC GC below the safe point it bounds
	// the sim's data.
	WorkingSetRows int64
	// StoresClusterID, if set, makes the stores belong to another cluster
	// than PD, so every registration gets ClusterIdMismatch.
	StoresClusterID uint64
	Logger          *zap.Logger

	// TLS, if set, makes PD and every store serve TLS with this server
	// config (set ClientCAs and RequireAndVerifyClientCert for mutual TLS),
	// and PD advertise https:// client URLs. Nil serves plaintext. It is for
	// tests: the command line has no flag for it.
	TLS *tls.Config
	// ServerOptions are added to every gRPC server of the sim (PD and each
	// store): interceptors that make the cluster misbehave on the wire as
	// a broken or hostile one would (package sim/misbehave). For tests:
	// the command line has no flag for it.
	ServerOptions []grpc.ServerOption
}

// MaxRegions bounds --regions: beyond it the sim's own memory, not the
// engine, would be what is measured.
const MaxRegions = 2_000_000

// MaxWriteRate bounds --write-rate and the script's write-rate: far above
// what one process can commit, and low enough that the workload's arithmetic
// stays exact.
const MaxWriteRate = 1_000_000

// CheckWriteRate is the one rule for a write rate, flag or script verb.
func CheckWriteRate(r float64) error {
	if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 || r > MaxWriteRate {
		return fmt.Errorf("write rate %g: want a number of rows per second from 0 to %d", r, MaxWriteRate)
	}
	return nil
}

// Defaults of the round-2 knobs.
const (
	DefaultElectionTimeout = 10 * time.Second
	DefaultGCSafePointLag  = 10 * time.Minute
)

func (cfg *Config) withDefaults() error {
	if cfg.Stores == 0 {
		cfg.Stores = 3
	}
	if cfg.Regions == 0 {
		cfg.Regions = 64
	}
	switch {
	case cfg.Stores < 1 || cfg.Stores > 100:
		return fmt.Errorf("--stores %d: must be between 1 and 100", cfg.Stores)
	case cfg.Regions < 1 || cfg.Regions > MaxRegions:
		return fmt.Errorf("--regions %d: must be between 1 and %d", cfg.Regions, MaxRegions)
	case CheckWriteRate(cfg.WriteRate) != nil:
		return fmt.Errorf("--write-rate: %w", CheckWriteRate(cfg.WriteRate))
	case cfg.PDLag < 0:
		return fmt.Errorf("--pd-lag %s: must not be negative", cfg.PDLag)
	case cfg.ElectionTimeout < 0:
		return fmt.Errorf("--election-timeout %s: must not be negative", cfg.ElectionTimeout)
	case cfg.GCSafePointLag < 0:
		return fmt.Errorf("--gc-safepoint-lag %s: must not be negative", cfg.GCSafePointLag)
	case cfg.TiFlash < 0 || cfg.TiFlash > 10:
		return fmt.Errorf("--tiflash %d: must be between 0 and 10", cfg.TiFlash)
	}
	if cfg.ElectionTimeout == 0 {
		cfg.ElectionTimeout = DefaultElectionTimeout
	}
	if cfg.GCSafePointLag == 0 {
		cfg.GCSafePointLag = DefaultGCSafePointLag
	}
	if cfg.ListenPD == "" {
		cfg.ListenPD = "127.0.0.1:0"
	}
	if cfg.MinTsInterval <= 0 {
		cfg.MinTsInterval = time.Second
	}
	if cfg.ScanConcurrency <= 0 {
		cfg.ScanConcurrency = 6
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return nil
}

// Sim is a running simulated cluster.
type Sim struct {
	cfg     Config
	logger  *zap.Logger
	cluster *Cluster
	pd      *pdServer
	stores  []*storeServer
	tiflash []*storeServer
	work    *workload
	faults  *faultRunner

	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	// lifeMu keeps a server from starting (start-store, PD coming back,
	// stop-faults healing the cluster) once Close has stopped them all.
	lifeMu sync.Mutex
	closed bool
}

// Start builds the cluster and starts every server, the workload and the
// fault script. Close stops them all.
func Start(cfg Config) (*Sim, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	c := newCluster(clusterConfig{
		stores: cfg.Stores, regions: cfg.Regions, seed: cfg.Seed, pdLag: cfg.PDLag,
		scanLimit: cfg.PendingScanLimit, storesClusterID: cfg.StoresClusterID,
		tsoOffset: cfg.TSOOffset, electionTimeout: cfg.ElectionTimeout,
		interleave: cfg.InterleaveScan, scanDelay: cfg.ScanDelay, quota: cfg.SinkMemoryQuota,
		gcSafePointLag: cfg.GCSafePointLag, keepTruth: cfg.KeepGroundTruth, keepFaultTruth: cfg.KeepFaultTruth, truthRows: cfg.GroundTruthRows,
		tikvVersion: cfg.TiKVVersion, pdVersion: cfg.PDVersion, tiflash: cfg.TiFlash,
	})
	s := &Sim{cfg: cfg, logger: cfg.Logger, cluster: c, done: make(chan struct{})}
	if cfg.Script != nil {
		err := cfg.Script.Validate(
			func(id uint64) bool { _, ok := c.Region(id); return ok },
			func(id uint64) bool { return id >= 1 && id <= uint64(cfg.Stores) },
		)
		if err != nil {
			return nil, err
		}
	}
	for _, st := range c.stores {
		ss := newStoreServer(c, st, cfg.Logger)
		ss.tls, ss.extraOpts = cfg.TLS, cfg.ServerOptions
		if _, err := ss.Start("127.0.0.1:0"); err != nil {
			s.stopServers()
			return nil, err
		}
		s.stores = append(s.stores, ss)
	}
	for _, st := range c.tiflash {
		ss := newStoreServer(c, st, cfg.Logger)
		ss.tls, ss.extraOpts = cfg.TLS, cfg.ServerOptions
		if _, err := ss.Start("127.0.0.1:0"); err != nil {
			s.stopServers()
			return nil, err
		}
		s.tiflash = append(s.tiflash, ss)
	}
	s.pd = newPDServer(c, cfg.Logger.Named("pd"))
	s.pd.tls, s.pd.extraOpts = cfg.TLS, cfg.ServerOptions
	if _, err := s.pd.Start(cfg.ListenPD); err != nil {
		s.stopServers()
		return nil, err
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); c.runTimers(s.done) }()
	for _, st := range c.stores {
		for range cfg.ScanConcurrency {
			s.wg.Add(1)
			go func() { defer s.wg.Done(); c.runScans(st, s.done) }()
		}
		s.wg.Add(1)
		go func() { defer s.wg.Done(); c.runResolvedTs(st, cfg.MinTsInterval, s.done) }()
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); c.runGC(s.done) }()
	rows := cfg.WorkingSetRows
	if rows <= 0 {
		rows = workingSet(cfg.Regions)
	}
	s.work = newWorkload(c, cfg.Seed, cfg.WriteRate, rows)
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.work.run(s.done) }()
	s.faults = newFaultRunner(s, cfg.Seed, s.done)
	if cfg.Script != nil {
		s.faults.start(cfg.Script, &s.wg)
	}
	return s, nil
}

// PDAddr is the PD address clients connect to (host:port).
func (s *Sim) PDAddr() string { return s.pd.Addr() }

// Cluster is the model, for tests and for the embedded sim's ground truth.
func (s *Sim) Cluster() *Cluster { return s.cluster }

// SetWriteRate changes the workload's rows per second.
func (s *Sim) SetWriteRate(rowsPerSec float64) { s.work.setRate(rowsPerSec) }

// FaultErrors lists script actions that could not be applied.
func (s *Sim) FaultErrors() []error { return s.faults.Errors() }

// StopFaults ends every fault now, as the script verb does.
func (s *Sim) StopFaults() { s.faults.stopAll() }

func (s *Sim) storeServer(id uint64) (*storeServer, error) {
	if id < 1 || id > uint64(len(s.stores)) {
		return nil, fmt.Errorf("unknown store %d (stores are 1..%d)", id, len(s.stores))
	}
	return s.stores[id-1], nil
}

// StopStore crashes a store: its streams fail with Unavailable and no error
// events; its regions have no leader until the other stores elect one, an
// election timeout later.
func (s *Sim) StopStore(id uint64) error {
	ss, err := s.storeServer(id)
	if err != nil {
		return err
	}
	if !ss.running() {
		return nil
	}
	ss.Stop()
	s.cluster.storeCrashed(id)
	return nil
}

// DrainStore shuts a store down gracefully, as TiKV does on SIGTERM: its
// leaders move to other stores first (NotLeader with the new leader), then
// it stops.
func (s *Sim) DrainStore(id uint64) error {
	ss, err := s.storeServer(id)
	if err != nil {
		return err
	}
	if _, err := s.cluster.Drain(id); err != nil {
		return err
	}
	if !ss.running() {
		return nil
	}
	// The NotLeader answers go out before the store stops, as TiKV waits
	// for its leaders to move (graceful_shutdown_timeout, 20s); then its
	// streams end with Unavailable, after everything sent.
	s.cluster.waitSent(id, 20*time.Second, s.done)
	s.cluster.endStreams(id, 5*time.Second, s.done)
	ss.Stop()
	s.cluster.storeCrashed(id) // what had no other live peer is re-elected later
	return nil
}

// RemoveStore takes a store out of the cluster (Offline, then Tombstone in
// PD) and stops it.
func (s *Sim) RemoveStore(id uint64) error {
	ss, err := s.storeServer(id)
	if err != nil {
		return err
	}
	if err := s.cluster.RemoveStore(id); err != nil {
		return err
	}
	s.cluster.waitSent(id, 20*time.Second, s.done)
	s.cluster.endStreams(id, 5*time.Second, s.done)
	ss.Stop()
	return nil
}

// StartStore restarts a stopped store on its old address, with no
// subscriptions and no leaders.
func (s *Sim) StartStore(id uint64) error {
	ss, err := s.storeServer(id)
	if err != nil {
		return err
	}
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if ss.running() || s.cluster.storeRemoved(id) {
		return nil
	}
	addr := s.cluster.StoreAddr(id)
	if _, err = ss.Start(addr); err != nil {
		return err
	}
	s.cluster.storeStarted(id)
	return nil
}

// PDDown stops the PD server (pd-down): clients' PD calls fail, stores get
// no TSO (resolved ts stops everywhere) and the workload cannot commit.
func (s *Sim) PDDown() {
	s.cluster.SetPDDown(true)
	s.pd.Stop()
}

// PDUp restarts the PD server on its old address.
func (s *Sim) PDUp() error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if !s.pd.running() {
		if _, err := s.pd.Start(s.pd.Addr()); err != nil {
			return err
		}
	}
	s.cluster.SetPDDown(false)
	return nil
}

func (s *Sim) stopServers() {
	for _, ss := range s.stores {
		ss.Stop()
	}
	for _, ss := range s.tiflash {
		ss.Stop()
	}
	if s.pd != nil {
		s.pd.Stop()
	}
}

// Close stops everything and waits for every goroutine the sim started.
func (s *Sim) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.lifeMu.Lock()
		s.closed = true
		s.lifeMu.Unlock()
		s.stopServers()
		s.wg.Wait()
	})
}

// ErrClosed is returned by operations on a closed sim.
var ErrClosed = errors.New("sim: closed")

// running reports whether the PD server is serving.
func (s *pdServer) running() bool {
	s.lifecycle.Lock()
	defer s.lifecycle.Unlock()
	return s.grpcServer != nil
}

// RunScript starts another fault script now: its times count from this
// call. The returned channel is closed once the script's stop-faults has
// run (never, if it has none).
func (s *Sim) RunScript(script *Script) <-chan struct{} {
	f := newFaultRunner(s, s.cfg.Seed, s.done)
	f.start(script, &s.wg)
	return f.stopped
}
