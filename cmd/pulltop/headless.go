package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pulltop/pulltop/snapshots"
	"github.com/pulltop/pulltop/view"
)

// Bounds on the end of a run, so that it ends at --duration plus the
// snapshot write whatever the load: a flooded event loop gets this long to
// answer before the last published snapshot is used instead.
const (
	// minInterval bounds the status lines to 10 a second: --interval 1ns
	// printed 558k lines in 10s.
	minInterval   = 100 * time.Millisecond
	refreshWait   = 2 * time.Second
	sinkFlushWait = 5 * time.Second
)

func newHeadlessCommand() *cobra.Command {
	var (
		flags    connFlags
		duration time.Duration
		interval time.Duration
		snapshot string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "headless",
		Short: "no TUI: print one status line per --interval, write a snapshot at the end, exit",
		Long: `Run the engine without a terminal UI, like top -b: one status line per
--interval on stdout (key=value text, or JSON objects with --json), a last
one at the end, and the final snapshot to --snapshot. Exit status 0 after a
normal run, 1 if the engine failed, 2 for bad flags, 130, 143 or 129 when
interrupted by SIGINT, SIGTERM or SIGHUP (after the last line and the
snapshot).`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if duration <= 0 {
				return usageError("--duration is required and must be positive, e.g. --duration 30s")
			}
			if interval < minInterval {
				return usageError("--interval %s: must be at least %s (one status line per interval; use --json and a longer interval for machines)", interval, minInterval)
			}
			if _, _, err := flags.checkFlags(c); err != nil {
				return err
			}
			if err := checkSnapshotPath(snapshot, flags.sink, flags.logFile); err != nil {
				return err
			}
			// Signals are ours from before the connection: SIGTERM while
			// PD is slow to answer must not kill the process silently.
			sigs := make(chan os.Signal, 1)
			// SIGHUP (the ssh session or the terminal went away) ends the
			// run as they do: the last line, the snapshot, exit 129.
			signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
			defer signal.Stop(sigs)
			guestGC()
			run := &headlessRun{
				c: c, out: c.OutOrStdout(), errOut: c.ErrOrStderr(), asJSON: asJSON,
				duration: duration, interval: interval, snapshot: snapshot, sigs: sigs,
			}
			if snapshot != "" && flags.history > 0 {
				// The timeline is kept from what the status lines print
				// (one moment per --interval) and saved with the snapshot.
				run.timeline = snapshots.NewRecorder(flags.history)
			}
			// Status lines need no region rows; the timeline and the
			// final snapshot do (the final one is a full refresh).
			flags.rowsOnDemand = true // the timeline reads the view's changes
			return run.start(&flags)
		},
	}
	flags.register(cmd, "")
	cmd.Flags().DurationVar(&duration, "duration", 0, "how long to run (required)")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "time between status lines")
	cmd.Flags().StringVar(&snapshot, "snapshot", "", "write the final snapshot to `FILE`")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print status lines as JSON objects")
	return cmd
}

// guestGCPercent is pulltop's garbage-collector target (headless and the
// TUI) unless GOGC says otherwise. pulltop runs next to production on a
// shared host (a jump host, a TiDB server), where memory matters more than
// a little CPU: its steady state makes little garbage (snapshots share
// what did not change, status lines and screens build no region rows), so
// collecting at +50% instead of Go's +100% costs little, and at a million
// regions it is hundreds of MB of peak RSS (README, Performance).
const guestGCPercent = 50

func guestGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(guestGCPercent)
	}
}

// headlessRun is one headless run: connect, report every interval until
// --duration, a signal or an engine failure, then the last line and the
// snapshot.
type headlessRun struct {
	c                  *cobra.Command
	out, errOut        io.Writer
	asJSON             bool
	duration, interval time.Duration
	snapshot           string
	sigs               chan os.Signal

	b          *backend
	startedAt  time.Time
	faultsSeen int
	timeline   *snapshots.Recorder // nil without --snapshot or with --history 0
	feed       view.Feed           // what changed since the last status line, for the timeline
	pd         pdWatch             // PD failing or not at the last line: its recovery gets a line
}

func (h *headlessRun) start(flags *connFlags) error {
	type started struct {
		b   *backend
		err error
	}
	ready := make(chan started, 1)
	go func() {
		b, err := startBackend(h.c, flags, h.errOut, nil, announceSubscription(h.errOut))
		ready <- started{b, err}
	}()
	select {
	case r := <-ready:
		if r.err != nil {
			return r.err
		}
		h.b = r.b
	case sig := <-h.sigs:
		return interrupted(sig, "while connecting; nothing was captured")
	}
	defer h.b.Close()
	if h.b.metrics != nil {
		// On stderr: stdout is the status lines'. With port 0 this is
		// where the chosen port shows.
		fmt.Fprintf(h.errOut, "metrics: http://%s/metrics\n", h.b.metrics.Addr())
	}
	return h.loop()
}

func (h *headlessRun) loop() error {
	h.startedAt = time.Now()
	deadline := time.NewTimer(h.duration)
	defer deadline.Stop()
	// One line per interval: at t=interval, 2·interval, ... and the last
	// one at the end (--duration, a signal, an engine failure).
	ticker := time.NewTicker(h.interval)
	defer ticker.Stop()
	var sig os.Signal
wait:
	for {
		select {
		case sig = <-h.sigs:
			break wait
		case <-deadline.C:
			break wait
		case now := <-ticker.C:
			if now.Sub(h.startedAt) > h.duration-h.interval/10 {
				break wait // the last line is due now anyway
			}
			// The engine's newest snapshot, fresh unless publishing more
			// often would cost it more than its bound (a million regions).
			st := h.b.engine.Latest(refreshWait)
			if err := h.report(st, now, ""); err != nil {
				return err
			}
			if st.EngineError != "" {
				break wait
			}
		}
	}
	return h.finish(sig)
}

// finish writes what the sink holds, prints the last line and writes the
// snapshot. A second signal is not waited for: each step is bounded.
func (h *headlessRun) finish(sig os.Signal) error {
	end := time.Now()
	_ = h.b.engine.FlushSink(sinkFlushWait) // a failure stops the engine: it is in the snapshot
	// The final snapshot carries every region's row (270 MB at a million
	// regions, where status lines carried none): collected garbage first,
	// they take the space it leaves instead of growing the heap, and the
	// run's peak RSS is not set by its last second.
	runtime.GC()
	final := h.b.engine.RefreshWithin(refreshWait)
	how := ""
	if sig != nil {
		how = signalName(sig)
	}
	if err := h.report(final, end, how); err != nil {
		return err
	}
	saved := ""
	if h.snapshot != "" {
		if h.timeline != nil && h.timeline.Len() > 0 {
			withHistory := *final // the engine's snapshot is shared: a copy carries the timeline
			withHistory.History = h.timeline.History()
			withHistory.Source.HistoryMs = h.timeline.Window().Milliseconds()
			final = &withHistory
		}
		began := time.Now()
		written, err := snapshots.SaveCounted(h.snapshot, final)
		if err != nil {
			return fmt.Errorf("--snapshot: %w", err)
		}
		printSaved(h.errOut, h.snapshot, written, final, time.Since(began))
		saved = "; snapshot written to " + h.snapshot
	}
	if final.EngineError != "" {
		return fmt.Errorf("engine stopped: %s", snapshots.CleanString(final.EngineError))
	}
	if p := h.b.log.problem(); p != "" {
		// As the TUI reports it, and not a silent 0: the run's log is
		// incomplete (--log-file /dev/full).
		if sig != nil {
			fmt.Fprintf(h.errOut, "pulltop: %s\n", p)
		} else {
			return errors.New(p)
		}
	}
	if sig != nil {
		return interrupted(sig, fmt.Sprintf("after %s (last status line above%s)", end.Sub(h.startedAt).Round(100*time.Millisecond), saved))
	}
	return nil
}

// report prints one status line, and on stderr the fault-script lines that
// failed since the last one (they used to vanish in headless).
func (h *headlessRun) report(st *snapshots.State, now time.Time, interruptedBy string) error {
	if h.timeline != nil {
		h.feed.Observe(h.timeline, st)
	}
	if h.b.sim != nil {
		errs := h.b.sim.FaultErrors()
		for _, err := range errs[min(h.faultsSeen, len(errs)):] {
			fmt.Fprintf(h.errOut, "pulltop: --script: fault failed: %s\n", oneLine(err.Error(), 300))
		}
		h.faultsSeen = len(errs)
	}
	s := statusOf(st, now, now.Sub(h.startedAt))
	s.Interrupted = interruptedBy
	s.PDRecoveredAfterMs = h.pd.observe(st)
	return writeStatus(h.out, s, h.asJSON)
}

// pdWatch remembers whether PD was failing at the last status line, so
// the first line after it answers again says so once (pd_error is printed
// only while PD fails: a line that still carried it would say PD is down).
type pdWatch struct {
	failing bool
	since   time.Time // when PD stopped answering, as the engine saw it
}

// observe returns how long PD was away, in ms, on the first line after it
// answers again; 0 otherwise.
func (w *pdWatch) observe(st *snapshots.State) int64 {
	src := &st.Source
	if src.PDError != "" {
		if !w.failing || w.since.IsZero() {
			w.since = src.PDErrorSince
		}
		w.failing = true
		return 0
	}
	if !w.failing {
		return 0
	}
	w.failing = false
	away := src.PDLastOK.Sub(w.since)
	if w.since.IsZero() || src.PDLastOK.IsZero() || away <= 0 {
		away = time.Millisecond // it failed and answers again: say so, even without the times
	}
	return away.Milliseconds()
}

// interrupted is the exit of a run stopped by a signal: 128 + its number,
// as a shell reports it (130 for SIGINT, 143 for SIGTERM).
func interrupted(sig os.Signal, what string) error {
	code := 1
	if s, ok := sig.(syscall.Signal); ok {
		code = 128 + int(s)
	}
	return &exitError{code: code, err: fmt.Errorf("interrupted by %s %s", signalName(sig), what)}
}

func signalName(sig os.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return sig.String()
}

// status is one headless status line.
type status struct {
	// Time is the wall-clock moment of the line, RFC 3339 in UTC with
	// milliseconds: lines from several shards and the incident's other
	// logs line up on it.
	Time          string  `json:"time"`
	T             string  `json:"t"`
	TMs           int64   `json:"t_ms"`
	Regions       int     `json:"regions"`
	Initialized   int     `json:"initialized"`
	LagMaxMs      int64   `json:"lag_max_ms"`
	EventsPerSec  float64 `json:"events_per_sec"`
	Retries       int     `json:"retries"`
	Reloads       int     `json:"reloads"`
	StoresCooling int     `json:"stores_cooling"`
	StoresPaused  int     `json:"stores_paused"`
	Stale         int     `json:"stale"`
	SubLagMs      int64   `json:"sub_lag_ms"`
	// Causes counts regions by cause (healthy left out), in the order of
	// the causes board; a store condition with no region counts 0.
	Causes []causeCount `json:"causes"`
	// Phase, Located and Scanned say how far the engine is from pulling
	// everything (regions PD has answered for so far, initial scans done),
	// while it is not yet streaming: a million regions take a while.
	Phase   string `json:"phase,omitempty"`
	Located int    `json:"located,omitempty"`
	Scanned int    `json:"scanned,omitempty"`
	PDError string `json:"pd_error,omitempty"`
	// PDDownMs is how long PD has not answered, while it does not.
	PDDownMs int64 `json:"pd_down_ms,omitempty"`
	// PDRecoveredAfterMs is set on the first line after PD answers again:
	// how long it was away.
	PDRecoveredAfterMs int64  `json:"pd_recovered_after_ms,omitempty"`
	EngineError        string `json:"engine_error,omitempty"`
	Interrupted        string `json:"interrupted,omitempty"`
}

// causeCount is one cause of a status line:
// {"cause":"store_down","regions":21,"stores":[2]}.
type causeCount struct {
	Cause   string   `json:"cause"`
	Regions int      `json:"regions"`
	Stores  []uint64 `json:"stores,omitempty"`
}

// timeFormat is RFC 3339 with milliseconds, always in UTC.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// statusOf picks the line's numbers from a snapshot. Its strings are the
// only ones of the State headless prints, so they are cleaned here.
func statusOf(st *snapshots.State, now time.Time, elapsed time.Duration) status {
	s := status{
		Time: now.UTC().Format(timeFormat),
		T:    elapsed.Round(100 * time.Millisecond).String(), TMs: elapsed.Milliseconds(),
		Regions: st.Totals.Regions, Initialized: st.Totals.Initialized, LagMaxMs: st.Totals.ResolvedLagMaxMs,
		EventsPerSec: st.Totals.EventsPerSec, Retries: len(st.Retries), Reloads: len(st.Reloads),
		Stale: st.Totals.Stale, SubLagMs: st.Totals.SubLagMs,
		PDError:     snapshots.CleanString(st.Source.PDError),
		EngineError: snapshots.CleanString(st.EngineError),
		Causes:      make([]causeCount, 0, len(st.Causes)),
	}
	if p := st.Progress.Phase; p != "" && p != snapshots.PhaseStreaming && p != snapshots.PhaseStopped {
		s.Phase, s.Located, s.Scanned = snapshots.CleanString(p), st.Progress.Located, st.Progress.Scanned
	}
	for _, c := range st.Causes {
		// Cause names come from the engine's fixed vocabulary, but a
		// replayed or foreign snapshot could carry anything.
		s.Causes = append(s.Causes, causeCount{Cause: snapshots.CleanString(c.Cause), Regions: c.Regions, Stores: c.Stores})
	}
	if s.PDError != "" && !st.Source.PDErrorSince.IsZero() {
		s.PDDownMs = max(st.TakenAt.Sub(st.Source.PDErrorSince).Milliseconds(), 0)
	}
	for _, store := range st.Stores {
		switch store.State {
		case snapshots.StoreCooldown:
			s.StoresCooling++
		case snapshots.StorePaused:
			s.StoresPaused++
		}
	}
	return s
}

// writeStatus prints one status line: JSON, or the DESIGN §1 text line
// with what round 2 and 3 added after its fixed fields, so the documented
// prefix stays exact: stale=, sub_lag=, time=, causes= (each with its
// stores after @), then what is true only now (phase while not streaming,
// pd_down and pd_error while PD fails, pd_recovered_after once it answers
// again, engine_error, interrupted).
func writeStatus(w io.Writer, s status, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(s)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	line := fmt.Sprintf("t=%s regions=%d initialized=%d lag_max=%s events/s=%s retries=%d reloads=%d stores_cooling=%d stores_paused=%d stale=%d sub_lag=%s",
		s.T, s.Regions, s.Initialized, fmtLag(s.LagMaxMs), strconv.FormatFloat(s.EventsPerSec, 'f', 0, 64),
		s.Retries, s.Reloads, s.StoresCooling, s.StoresPaused, s.Stale, fmtLag(s.SubLagMs))
	line += " time=" + s.Time
	line += " causes=" + causesField(s.Causes)
	if s.Phase != "" {
		line += " phase=" + s.Phase + " located=" + strconv.Itoa(s.Located) + " scanned=" + strconv.Itoa(s.Scanned)
	}
	if s.PDError != "" {
		if s.PDDownMs > 0 {
			line += " pd_down=" + fmtLag(s.PDDownMs)
		}
		line += " pd_error=" + strconv.Quote(s.PDError)
	}
	if s.PDRecoveredAfterMs > 0 {
		line += " pd_recovered_after=" + fmtLag(s.PDRecoveredAfterMs)
	}
	if s.EngineError != "" {
		line += " engine_error=" + strconv.Quote(s.EngineError)
	}
	if s.Interrupted != "" {
		line += " interrupted=" + s.Interrupted
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

func fmtLag(ms int64) string {
	return strconv.FormatFloat(float64(ms)/1000, 'f', 1, 64) + "s"
}

// causesField is the causes= value: lock:1,store_down:21@2,
// store_stalled:40@1+3 (regions, then the stores it names), or none.
func causesField(causes []causeCount) string {
	if len(causes) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, c := range causes {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c.Cause)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(c.Regions))
		for j, id := range c.Stores {
			if j == 0 {
				b.WriteByte('@')
			} else {
				b.WriteByte('+')
			}
			b.WriteString(strconv.FormatUint(id, 10))
		}
	}
	return b.String()
}
