package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/pulltop/pulltop/engine"
	"github.com/pulltop/pulltop/metrics"
	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
)

// connFlags are the connection flags of the root and headless commands.
type connFlags struct {
	pd         []string
	ca         string
	cert       string
	key        string
	spans      []string
	startTs    string
	readOnly   bool
	staleAfter time.Duration
	sink       string
	logFile    string
	metrics    string
	// metricsSnapshot serves /snapshot next to /metrics (on by default).
	metricsSnapshot bool
	history         time.Duration
	sim             simFlags

	// A safe guest on a real cluster (issue 12).
	scansPerStore int
	oldValue      bool
	yes           bool

	// rowsOnDemand: the caller reads the regions through the view's table
	// (State.Table), never as rows (engine.Config.RowsOnDemand): the TUI,
	// headless, /metrics. A save builds the rows.
	rowsOnDemand bool
}

// Defaults of --scans-per-store: few against a real PD, where TiKV's scan
// permits (6 per store) and pending-scan limit are shared with the cluster's
// own change-data clients; the embedded sim is pulltop's alone.
const (
	defaultScansPerStorePD  = 4
	defaultScansPerStoreSim = 128
)

func (f *connFlags) register(cmd *cobra.Command, defaultLog string) {
	fs := cmd.Flags()
	fs.StringSliceVar(&f.pd, "pd", nil, "PD address(es), host:port[,host:port...]; without it an embedded simulated cluster is started")
	fs.StringVar(&f.ca, "ca", "", "TLS CA certificate `FILE` (as pd-ctl)")
	fs.StringVar(&f.cert, "cert", "", "TLS client certificate `FILE`")
	fs.StringVar(&f.key, "key", "", "TLS client key `FILE`")
	fs.StringArrayVar(&f.spans, "span", nil, "span to subscribe: t:<tableID> or <hexstart>:<hexend> (repeatable; default: all TiDB table data)")
	fs.StringVar(&f.startTs, "start-ts", "now", "where to start: now, a TSO, or an RFC3339 time")
	fs.BoolVar(&f.readOnly, "read-only", false, "disable operator actions (pause store, force reload)")
	fs.DurationVar(&f.staleAfter, "stale-after", 10*time.Second, "an initialized region whose resolved ts has not moved for this long is stale")
	fs.StringVar(&f.sink, "sink", "", "write delivered rows to `FILE` as JSON lines")
	fs.StringVar(&f.logFile, "log-file", defaultLog, "write logs to `FILE` (never to the terminal)")
	fs.IntVar(&f.scansPerStore, "scans-per-store", 0, fmt.Sprintf("initial scans pulltop runs at once per store (default %d with --pd, %d on the embedded cluster)", defaultScansPerStorePD, defaultScansPerStoreSim))
	fs.BoolVar(&f.oldValue, "old-value", false, "ask TiKV for old values (costs TiKV a read per prewrite; pulltop does not need them)")
	fs.BoolVar(&f.yes, "yes", false, "with --pd: subscribe without asking first")
	fs.DurationVar(&f.history, "history", 15*time.Minute, "keep this much of the past as the incident timeline ([ and ] in the TUI; saved with ctrl+s and --snapshot); 0 keeps none")
	fs.StringVar(&f.metrics, "metrics-addr", "", "serve Prometheus metrics on http://`HOST:PORT`/metrics (and the latest snapshot on /snapshot); keep HOST 127.0.0.1 unless others must reach it")
	fs.BoolVar(&f.metricsSnapshot, "metrics-snapshot", true, "with --metrics-addr, also serve /snapshot (row keys, store addresses, the event log); false leaves it off")
	f.sim.register(cmd)
}

// engineConfig validates the flags; every mistake is a usage error.
func (f *connFlags) engineConfig(c *cobra.Command) (engine.Config, error) {
	cfg := engine.Config{
		TLS:        engine.TLSConfig{CA: f.ca, Cert: f.cert, Key: f.key},
		StaleAfter: f.staleAfter,
		SinkPath:   f.sink,
		OldValue:   f.oldValue,
	}
	for _, tf := range []struct{ flag, path string }{{"--ca", f.ca}, {"--cert", f.cert}, {"--key", f.key}} {
		if tf.path != "" {
			if err := checkSmallFile(tf.flag, tf.path, maxTLSFileSize); err != nil {
				return cfg, err
			}
		}
	}
	pd, err := parsePDAddrs(c, f.pd, cfg.TLS.Enabled())
	if err != nil {
		return cfg, err
	}
	cfg.PD = pd
	f.pd = pd
	switch {
	case f.scansPerStore < 0 || f.scansPerStore > 10000:
		return cfg, usageError("--scans-per-store %d: must be between 1 and 10000", f.scansPerStore)
	case f.scansPerStore > 0:
		cfg.ScansPerStore = f.scansPerStore
	case len(pd) > 0:
		cfg.ScansPerStore = defaultScansPerStorePD
	default:
		cfg.ScansPerStore = defaultScansPerStoreSim
	}
	if err := checkSinkPath(f.sink); err != nil {
		return cfg, err
	}
	for _, spec := range f.spans {
		span, err := engine.ParseSpan(spec)
		if err != nil {
			return cfg, usageError("%v", err)
		}
		cfg.Spans = append(cfg.Spans, span)
	}
	ts, err := engine.ParseStartTs(f.startTs)
	if err != nil {
		return cfg, usageError("%v", err)
	}
	cfg.StartTs = ts
	if f.staleAfter <= 0 {
		return cfg, usageError("--stale-after %s: must be positive", f.staleAfter)
	}
	if f.history < 0 {
		return cfg, usageError("--history %s: must be 0 (no timeline) or positive, e.g. --history 15m", f.history)
	}
	if len(f.pd) == 0 && cfg.TLS.Enabled() {
		return cfg, usageError("--ca/--cert/--key need --pd: the embedded simulated cluster has no TLS")
	}
	if _, err := cfg.TLS.Load(); err != nil {
		return cfg, usageError("%v", err)
	}
	if f.metrics != "" {
		if err := metrics.ParseAddr(f.metrics); err != nil {
			return cfg, usageError("%v", err)
		}
	}
	return cfg, nil
}

// connectTimeout bounds reaching PD at start, so that an unreachable PD
// is reported within 10 s (DESIGN §1).
const connectTimeout = 8 * time.Second

// backend is a running engine, on the embedded sim when no --pd was given,
// and its --metrics-addr server.
type backend struct {
	sim      *sim.Sim
	engine   *engine.Engine
	metrics  *metrics.Server
	closeLog func()
	logPath  string
	log      *logSink
}

// engineSource is the metrics' view of the engine: nothing until it started
// (the metrics address is bound first, so a port in use fails before the
// engine connects anywhere).
type engineSource struct{ engine atomic.Pointer[engine.Engine] }

func (s *engineSource) Snapshot() *snapshots.State {
	if e := s.engine.Load(); e != nil {
		return e.Snapshot()
	}
	return nil
}

func (b *backend) Close() {
	if b.metrics != nil {
		_ = b.metrics.Close()
	}
	if b.engine != nil {
		b.engine.Close()
	}
	if b.sim != nil {
		b.sim.Close()
	}
	if b.closeLog != nil {
		b.closeLog()
	}
}

// checkFlags validates every flag of the connection, without starting
// anything.
func (f *connFlags) checkFlags(c *cobra.Command) (engine.Config, sim.Config, error) {
	cfg, err := f.engineConfig(c)
	if err != nil {
		return cfg, sim.Config{}, err
	}
	var simCfg sim.Config
	if len(cfg.PD) == 0 {
		if simCfg, err = f.sim.config(); err != nil {
			return cfg, simCfg, err
		}
	}
	return cfg, simCfg, nil
}

// startBackend starts the sim (without --pd) and the engine. What it waits
// for is said on notices first (stderr): PD may take seconds to answer, and
// an operator looking at a blank terminal cannot tell waiting from hanging.
// Against a real PD, confirm (if not nil) is shown what the subscription
// will touch before anything is subscribed, and may refuse it.
func startBackend(c *cobra.Command, f *connFlags, notices io.Writer, confirm func(engine.Preview) error, announce func(engine.Preview)) (*backend, error) {
	cfg, simCfg, err := f.checkFlags(c)
	if err != nil {
		return nil, err
	}
	cfg.RowsOnDemand = f.rowsOnDemand
	if len(cfg.PD) > 0 {
		cfg.BeforeSubscribe = confirm
		cfg.AfterLocate = announce
	}
	logger, logSink, closeLog, err := openLogger(f.logFile)
	if err != nil {
		return nil, usageError("%v", err)
	}
	b := &backend{closeLog: closeLog, logPath: f.logFile, log: logSink}
	var metricsSource engineSource
	var faults faultLog
	if f.metrics != "" {
		b.metrics, err = metrics.ListenWith(f.metrics, &metricsSource, zap.NewStdLog(logger.Named("metrics")),
			metrics.Options{NoSnapshot: !f.metricsSnapshot})
		if err != nil {
			b.Close()
			return nil, usageError("%v", err)
		}
		logger.Info("serving metrics", zap.String("addr", b.metrics.Addr()), zap.Bool("snapshot", f.metricsSnapshot))
		if !b.metrics.Loopback() {
			// Before the TUI starts: the terminal is still stderr's.
			what := "/metrics"
			if f.metricsSnapshot {
				what = "/metrics and /snapshot (row keys, store addresses, the event log)"
			}
			warning := fmt.Sprintf("--metrics-addr %s listens on %s, not only on this host's loopback: %s can be read by anyone who can reach it; use 127.0.0.1:PORT, or --metrics-snapshot=false to serve /metrics only",
				f.metrics, b.metrics.Addr(), what)
			fmt.Fprintf(notices, "pulltop: warning: %s\n", warning)
			logger.Warn(warning)
		}
	}
	if len(cfg.PD) == 0 {
		simCfg.Logger = logger.Named("sim")
		simCfg.KeepGroundTruth = true // the engine checks it for lost rows
		simCfg.OnFault = faults.fired
		if b.sim, err = sim.Start(simCfg); err != nil {
			b.Close()
			return nil, simStartError(err, "")
		}
		cfg.PD = []string{b.sim.PDAddr()}
		cfg.EmbeddedSim = true
		cfg.GroundTruth = b.sim.Cluster()
		fmt.Fprintf(notices, "pulltop: no --pd: watching the embedded simulated cluster (PD %s), not a real one\n", b.sim.PDAddr())
	} else {
		fmt.Fprintf(notices, "pulltop: connecting to PD %s (up to %s)…\n", strings.Join(cfg.PD, ","), connectTimeout)
	}
	cfg.Logger = logger.Named("engine")
	cfg.ConnectTimeout = connectTimeout
	if b.engine, err = engine.Start(cfg); err != nil {
		b.Close()
		if errors.Is(err, engine.ErrPDUnreachable) || errors.Is(err, errDeclined) {
			return nil, err
		}
		return nil, fmt.Errorf("starting the engine: %w", err)
	}
	metricsSource.engine.Store(b.engine)
	faults.attach(b.engine)
	logger.Info("pulltop started", zap.Strings("pd", cfg.PD), zap.Bool("embedded_sim", cfg.EmbeddedSim), zap.Uint64("start_ts", b.engine.StartTs()))
	return b, nil
}

// errDeclined: the operator did not confirm the subscription.
var errDeclined = errors.New("not subscribed: the answer was not y (give --yes to skip the question)")

// askToSubscribe shows the preview on the terminal and waits for y before
// the TUI subscribes on a real cluster (pulltop must not surprise an
// incident with load).
func askToSubscribe(in io.Reader, out io.Writer) func(engine.Preview) error {
	return func(p engine.Preview) error {
		fmt.Fprintf(out, "%s\nSubscribe? [y/N] ", p)
		line, _ := bufio.NewReader(in).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return errDeclined
		}
		return nil
	}
}

// announceSubscription prints what was subscribed once the regions are
// located (headless): never a question, and nothing held back for a count
// of a million regions.
func announceSubscription(out io.Writer) func(engine.Preview) {
	return func(p engine.Preview) {
		fmt.Fprintln(out, p.Announce())
	}
}
