package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"github.com/tikv/client-go/v2/oracle"
	pd "github.com/tikv/pd/client"
	"go.uber.org/zap"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/pulltop/pulltop/engine/reload"
	"github.com/pulltop/pulltop/engine/retry"
	"github.com/pulltop/pulltop/engine/storebackoff"
	"github.com/pulltop/pulltop/snapshots"
	"github.com/pulltop/pulltop/view"
)

type msgKind uint8

const (
	msgEvents msgKind = iota + 1
	msgStreamFailed
	msgLocated
	msgFunc
)

// message is everything that reaches the event loop.
type message struct {
	kind   msgKind
	worker *streamWorker
	event  *cdcpb.ChangeDataEvent
	// decoded holds event's pooled slabs (from a stream), released once
	// the event is handled.
	decoded *decodedEvent
	err     error
	task    rangeTask
	locs    []RegionLoc
	page    *locatedPage
	fn      func()
}

// Engine is a running puller. Its exported methods are safe for concurrent
// use; everything else belongs to the event loop goroutine.
type Engine struct {
	cfg     Config
	logger  *zap.Logger
	locator *regionLocator
	creds   credentials.TransportCredentials

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	inbox     chan message
	closeOnce sync.Once

	sched         *retry.Scheduler
	storeCooldown *storebackoff.Tracker
	published     atomic.Pointer[snapshots.State]
	fatalErr      atomic.Pointer[error]
	startTs       uint64

	// Owned by the event loop.
	policy    *retry.Policy
	agg       *reload.Aggregator
	aggTimer  *time.Timer
	subs      []*subscription
	regions   map[regionKey]*regionState
	index     regionIndex   // the same records, in (subscription, start key) order
	rtsSub    *subscription // advanceBatch's last moved subscription
	locateSeq uint64        // numbers locate calls (regionState.locGen)
	progress  progressState
	// What publish looks at (see markDirty): the regions whose row may
	// have changed or that are not quiet, the index of the rest, and the
	// quiet ones counted by store.
	active      []*regionState
	looked      []*regionState // the regions of the current publish, in key order (reused)
	pub         pubIndex
	quietN      int
	quietBy     map[uint64]int
	wait        waitBook // the regions waiting for their initial scan, counted
	stores      map[uint64]*storeInfo
	workerCtx   context.Context
	stopWorkers context.CancelFunc
	locateSem   chan struct{}
	stats       engineStats
	actions     []snapshots.Action
	recent      recentRows
	flushes     history[snapshots.RecentReload] // recent reload flushes
	fired       history[snapshots.RecentRetry]  // recently fired retries
	sink        *rowSink
	truth       *truthChecker
	seq         uint64
	samples     []eventSample
	pd          pdHealth
	clockOffset time.Duration // PD's clock minus this host's (lag is in PD's time)
	diag        diagState
	view        *view.Builder // what operators see of the regions; published with each snapshot
	lastPublish time.Time
	publishCost time.Duration // how long the last publish took
	publishedAt time.Time     // when it ended (wall clock)
	log         *eventLog
	tallies     map[uint64]*storeTally // per store, rebuilt every publish
	errWindow   errorWindow            // errors of the last minute
	rowKeyBuf   []byte                 // rowOutside's encoded key, reused
}

// engineStats are cumulative counters for the snapshot totals.
type engineStats struct {
	events         uint64
	errorsByReason map[string]int64
	retriesFired   uint64
	regionRequests uint64
}

// Start connects to PD (bounded by cfg.ConnectTimeout), subscribes the
// spans at the start ts and starts the event loop.
func Start(cfg Config) (*Engine, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	tlsCfg, err := cfg.TLS.Load()
	if err != nil {
		return nil, err
	}
	creds := insecure.NewCredentials()
	if tlsCfg != nil {
		creds = credentials.NewTLS(tlsCfg)
	}
	locator, err := connectPD(cfg.PD, tlsCfg, pd.SecurityOption{CAPath: cfg.TLS.CA, CertPath: cfg.TLS.Cert, KeyPath: cfg.TLS.Key},
		cfg.ConnectTimeout, cfg.Logger, cfg.DialOptions...)
	if err != nil {
		return nil, err
	}
	startTs := cfg.StartTs
	if startTs == 0 {
		if startTs, err = locator.currentTS(context.Background()); err != nil {
			locator.close()
			return nil, fmt.Errorf("--start-ts now: %w", err)
		}
	} else if err := checkStartTs(context.Background(), locator, startTs); err != nil {
		locator.close()
		return nil, err
	} else if err := checkStartTsNotAhead(context.Background(), locator, startTs); err != nil {
		locator.close()
		return nil, err
	}
	offset, err := locator.clockOffset(context.Background())
	if err != nil {
		locator.close()
		return nil, fmt.Errorf("reading PD's clock: %w", err)
	}
	if cfg.BeforeSubscribe != nil {
		p, err := preview(context.Background(), locator, cfg)
		if err == nil {
			err = cfg.BeforeSubscribe(p)
		}
		if err != nil {
			locator.close()
			return nil, err
		}
	}
	var sink *rowSink
	if cfg.SinkPath != "" {
		if sink, err = openSink(cfg.SinkPath, cfg.SinkStallTimeout); err != nil {
			locator.close()
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{
		cfg: cfg, logger: cfg.Logger, locator: locator, creds: creds,
		ctx: ctx, cancel: cancel,
		inbox:         make(chan message, 4096),
		sched:         retry.NewScheduler(retry.SystemClock(), retry.SchedulerOptions{}),
		storeCooldown: storebackoff.New(time.Now),
		startTs:       startTs,
		regions:       make(map[regionKey]*regionState),
		index:         newRegionIndex(),
		stores:        make(map[uint64]*storeInfo),
		locateSem:     make(chan struct{}, 8),
		stats:         engineStats{errorsByReason: map[string]int64{}},
		sink:          sink,
		aggTimer:      time.NewTimer(time.Hour),
		flushes:       newHistory[snapshots.RecentReload](recentFlushCapacity),
		fired:         newHistory[snapshots.RecentRetry](recentRetryCapacity),
		log:           newEventLog(),
		tallies:       map[uint64]*storeTally{},
		view:          view.NewBuilder(),
		clockOffset:   offset,
	}
	aggCfg := reload.Config{}
	if cfg.DisableBackoff {
		// No delay anywhere before a retry: no backoff, and no reload
		// debounce (a set of one span flushes at once), as TiCDC retried
		// before #4700 and #5857. Only the retry-storm measurement uses it.
		e.policy = retry.NewDisabledPolicy()
		aggCfg.MaxSpans = 1
	} else {
		e.policy = retry.NewPolicy(rand.NewPCG(uint64(time.Now().UnixNano()), 0x9e3779b9))
	}
	e.agg = reload.New(aggCfg)
	e.workerCtx, e.stopWorkers = context.WithCancel(ctx)
	if cfg.GroundTruth != nil {
		e.truth = newTruthChecker(cfg.GroundTruth)
	}
	for i, span := range cfg.Spans {
		e.subs = append(e.subs, newSubscription(uint64(i+1), span, startTs))
	}
	e.logEvent(time.Now(), snapshots.LogEngine, "engine", fmt.Sprintf("subscribed %d span(s) at start ts %d", len(e.subs), startTs), "")
	e.publish(time.Now())
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.loop()
	}()
	e.post(ctx, message{kind: msgFunc, fn: func() {
		e.refreshStores()
		for _, sub := range e.subs {
			e.locate(rangeTask{sub: sub, span: sub.span, reason: "subscribe", initial: true})
		}
	}})
	return e, nil
}

// post hands a message to the event loop; false if the engine is closing.
func (e *Engine) post(ctx context.Context, m message) bool {
	select {
	case e.inbox <- m:
		return true
	case <-ctx.Done():
		return false
	case <-e.ctx.Done():
		return false
	}
}

// do runs fn on the event loop and waits for it (operator commands).
func (e *Engine) do(fn func()) error {
	done := make(chan struct{})
	if !e.post(e.ctx, message{kind: msgFunc, fn: func() { fn(); close(done) }}) {
		return errEngineClosed
	}
	select {
	case <-done:
		return nil
	case <-e.ctx.Done():
		return errEngineClosed
	case <-time.After(10 * time.Second):
		return errors.New("the engine did not answer within 10s")
	}
}

var errEngineClosed = errors.New("engine is closed")

func (e *Engine) loop() {
	tick := time.NewTicker(e.cfg.PublishInterval)
	defer tick.Stop()
	storeRefresh := time.NewTicker(e.cfg.PDCheckInterval)
	defer storeRefresh.Stop()
	pdProbe := time.NewTicker(min(pdProbeInterval, e.cfg.PDCheckInterval))
	defer pdProbe.Stop()
	refreshes := 0
	for {
		select {
		case <-e.ctx.Done():
			return
		case m := <-e.inbox:
			e.handle(m)
			// Drain what is already queued before looking at timers, so a
			// burst of events is handled as one.
			for n := 0; n < 256; n++ {
				select {
				case m := <-e.inbox:
					e.handle(m)
					continue
				default:
				}
				break
			}
		case <-e.aggTimer.C:
			e.flushReloads(time.Now())
		case now := <-tick.C:
			e.onTick(now)
		case <-storeRefresh.C:
			e.refreshStores()
			if refreshes++; refreshes%clockRefreshEvery == 0 {
				e.refreshClock()
			}
		case now := <-pdProbe.C:
			switch {
			case e.pd.down():
				e.refreshStores()
			case e.storeOffline():
				// Being removed: its Tombstone is news (store_removed).
				e.askStores(now, storeOfflineAsk)
			case e.pd.storesAskOwed:
				e.askStores(now, storeAskMin)
			}
		}
	}
}

func (e *Engine) handle(m message) {
	switch m.kind {
	case msgEvents:
		e.handleEvent(m.worker, m.event)
		if m.decoded != nil {
			m.decoded.release()
		}
	case msgStreamFailed:
		e.handleStreamFailure(m.worker, m.err)
	case msgLocated:
		e.handleLocated(m.task, m.locs, m.page, m.err)
		if m.page.handled != nil {
			close(m.page.handled)
		}
	case msgFunc:
		m.fn()
	}
}

func (e *Engine) onTick(now time.Time) {
	e.policy.GC(now)
	if e.sink != nil && e.Err() == nil {
		// Never waits: the file is written off the loop.
		if err := e.sink.handoff(); err != nil {
			e.fatal(err)
		}
	}
	e.publishIfDue(now)
}

// publishIfDue is the engine's own publish (a tick's, a Latest reader's):
// only when publishDue allows it, and without rows under RowsOnDemand. now
// is the snapshot's time; the bound is judged on the clock.
func (e *Engine) publishIfDue(now time.Time) {
	if e.publishDue(time.Now()) {
		e.publishRows(now, !e.cfg.RowsOnDemand)
	}
}

// publishShare bounds the event loop's time spent publishing: after a
// publish that took d, the next tick's publish waits until d·publishShare
// has passed. A publish walks every region (a million take a few hundred
// ms); the events, scans and retries of the loop must not wait behind it.
// With 100k regions a publish takes ~30 ms and every tick publishes.
const publishShare = 4

// publishDue tells whether a tick may publish now.
func (e *Engine) publishDue(now time.Time) bool {
	return now.Sub(e.publishedAt) >= e.publishCost*publishShare
}

// Snapshot returns the latest published state; it never blocks.
func (e *Engine) Snapshot() *snapshots.State { return e.published.Load() }

// Refresh publishes a fresh snapshot now and returns it.
func (e *Engine) Refresh() *snapshots.State {
	_ = e.do(func() { e.publish(time.Now()) })
	return e.Snapshot()
}

// RefreshWithin is Refresh waiting at most d for the event loop; past it
// (a loop flooded with events), it returns the last published snapshot.
// Headless uses it so that --duration holds whatever the load.
func (e *Engine) RefreshWithin(d time.Duration) *snapshots.State { return e.refreshWithin(d, true) }

// Latest is RefreshWithin for a regular reader (a status line every
// second): it publishes only when a tick would (publishDue), and otherwise
// returns the last published snapshot, at most a few publish costs old.
// At a million regions a publish is a walk over all of them, and the
// reader's clock must not make it more frequent than the engine allows.
func (e *Engine) Latest(d time.Duration) *snapshots.State { return e.refreshWithin(d, false) }

func (e *Engine) refreshWithin(d time.Duration, force bool) *snapshots.State {
	timer := time.NewTimer(d)
	defer timer.Stop()
	done := make(chan struct{})
	fn := func() {
		if force {
			e.publish(time.Now())
		} else {
			e.publishIfDue(time.Now())
		}
		close(done)
	}
	select {
	case e.inbox <- message{kind: msgFunc, fn: fn}:
	case <-timer.C:
		return e.Snapshot()
	case <-e.ctx.Done():
		return e.Snapshot()
	}
	select {
	case <-done:
	case <-timer.C:
	case <-e.ctx.Done():
	}
	return e.Snapshot()
}

// Err returns the fatal error that stopped the engine, if any.
func (e *Engine) Err() error {
	if p := e.fatalErr.Load(); p != nil {
		return *p
	}
	return nil
}

// StartTs is where the subscriptions started.
func (e *Engine) StartTs() uint64 { return e.startTs }

// ClusterID is the cluster PD reported.
func (e *Engine) ClusterID() uint64 { return e.locator.clusterID }

// fatal stops all pulling: the error is shown in every snapshot from now on.
func (e *Engine) fatal(err error) {
	if e.fatalErr.Load() != nil {
		return
	}
	e.fatalErr.Store(&err)
	e.logger.Error("engine stopped", zap.Error(err))
	e.log.add(time.Now(), snapshots.LogEngine, "engine", "stopped: "+snapshots.CleanString(err.Error()), "")
	e.stopWorkers()
	e.publish(time.Now())
}

// FlushSink hands every row delivered so far to the --sink and waits up to
// timeout for the file to take them. A failure stops the engine with it, so
// the final snapshot and the exit status say that rows were not written.
// Call it before the final snapshot; nil without a sink.
func (e *Engine) FlushSink(timeout time.Duration) error {
	if e.sink == nil {
		return nil
	}
	var err error
	if derr := e.do(func() { err = e.sink.handoff() }); derr != nil {
		return derr
	}
	if err == nil {
		err = e.sink.drain(timeout)
	}
	if err != nil {
		_ = e.do(func() { e.fatal(err) })
	}
	return err
}

// Close stops everything and waits for every goroutine the engine started.
func (e *Engine) Close() {
	e.closeOnce.Do(func() {
		e.cancel()
		e.wg.Wait()
		e.sched.Stop()
		e.locator.close()
		if e.sink != nil {
			if err := e.sink.close(); err != nil {
				e.logger.Error("closing the sink", zap.Error(err))
			}
		}
	})
}

// clockRefreshEvery is how many store refreshes pass between two
// estimates of PD's clock offset.
const clockRefreshEvery = 5

// refreshClock re-estimates PD's clock offset off the loop.
func (e *Engine) refreshClock() {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		offset, err := e.locator.clockOffset(e.ctx)
		if errors.Is(err, ErrTSOFault) {
			// Timestamps from a PD whose TSO went backwards cannot be
			// trusted: stop, saying why, as the pd client would have
			// (silently, with os.Exit) had the guard not refused it.
			e.post(e.ctx, message{kind: msgFunc, fn: func() { e.fatal(err) }})
			return
		}
		if err != nil {
			return // PD's health is the refresh's to report
		}
		e.post(e.ctx, message{kind: msgFunc, fn: func() { e.clockOffset = offset }})
	}()
}

// checkStartTs refuses a --start-ts at or below the GC safe point: TiKV's
// scan would silently miss the versions GC already removed (TiCDC refuses
// it too, ErrStartTsBeforeGC).
func checkStartTs(ctx context.Context, l *regionLocator, startTs uint64) error {
	sp, err := l.gcSafePoint(ctx)
	if err != nil {
		return fmt.Errorf("--start-ts %d: cannot check it against the GC safe point: %w", startTs, err)
	}
	if startTs <= sp {
		return fmt.Errorf("%w: --start-ts %d (%s) is at or below the cluster's GC safe point %d (%s): TiKV has collected the versions it would need; give a later --start-ts or now",
			ErrStartTsBeforeGC, startTs, oracle.GetTimeFromTS(startTs).UTC().Format(time.RFC3339), sp, oracle.GetTimeFromTS(sp).UTC().Format(time.RFC3339))
	}
	return nil
}

// checkStartTsNotAhead refuses a --start-ts ahead of PD's TSO: no row can
// have committed there yet, so the subscription would show lag 0 and
// deliver nothing until the cluster's clock reached it (years, for
// 2099-01-01 or 18446744073709551615). It can only be judged against PD
// (the host's clock may differ from PD's), so it is a runtime error.
func checkStartTsNotAhead(ctx context.Context, l *regionLocator, startTs uint64) error {
	now, err := l.currentTS(ctx)
	if err != nil {
		return fmt.Errorf("--start-ts %d: cannot check it against PD's TSO: %w", startTs, err)
	}
	if startTs > now {
		return fmt.Errorf("%w: --start-ts %d (%s) is ahead of PD's current TSO %d (%s): nothing has been committed there yet; give now, or a time in the past",
			ErrStartTsAhead, startTs, tsoTime(startTs), now, tsoTime(now))
	}
	return nil
}

// ErrStartTsAhead marks a --start-ts ahead of PD's TSO.
var ErrStartTsAhead = errors.New("start ts ahead of PD's TSO")

// ErrStartTsBeforeGC marks a --start-ts the cluster has garbage-collected.
var ErrStartTsBeforeGC = errors.New("start ts before the GC safe point")

// Preview is what a subscription will touch, shown to the operator before
// pulltop subscribes on a real cluster.
type Preview struct {
	Regions       int
	Stores        int // TiKV stores leading those regions
	ClusterID     uint64
	PD            []string
	ScansPerStore int
	OldValue      bool
}

// String is the line the operator confirms.
func (p Preview) String() string { return p.line("will subscribe") }

// Announce is the line that says what was subscribed, once the regions
// are located (headless: nothing is asked).
func (p Preview) Announce() string { return p.line("subscribes") }

func (p Preview) line(verb string) string {
	old := "off"
	if p.OldValue {
		old = "on"
	}
	return fmt.Sprintf("pulltop %s %d regions on %d TiKV stores of cluster %d (PD %s): at most %d initial scans per store at a time, old values %s",
		verb, p.Regions, p.Stores, p.ClusterID, strings.Join(p.PD, ","), p.ScansPerStore, old)
}

func preview(ctx context.Context, l *regionLocator, cfg Config) (Preview, error) {
	p := Preview{ClusterID: l.clusterID, PD: cfg.PD, ScansPerStore: cfg.ScansPerStore, OldValue: cfg.OldValue}
	stores := map[uint64]bool{}
	for _, span := range cfg.Spans {
		// Counted page by page: nothing of a million regions is kept.
		_, err := l.locatePages(ctx, span, func(page []RegionLoc, _ Span) bool {
			p.Regions += len(page)
			for _, loc := range page {
				if loc.Leader != nil {
					stores[loc.Leader.GetStoreId()] = true
				}
			}
			return true
		})
		if err != nil {
			return p, fmt.Errorf("counting the regions to subscribe: %w", err)
		}
	}
	p.Stores = len(stores)
	return p, nil
}
