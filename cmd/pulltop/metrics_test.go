package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/metrics"
	"github.com/pulltop/pulltop/snapshots"
)

// A running headless over the embedded sim serves /metrics, and every
// metric says what the snapshot it came from says (issue 16): the scrape
// names its snapshot (pulltop_snapshot_seq) and /snapshot serves the latest
// one, so the test compares the two when they are the same snapshot.
func TestHeadlessServesMetricsOfItsSnapshot(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "faults.txt")
	// A stale region, a failing store (errors, retries, reloads, cooldown).
	require.NoError(t, os.WriteFile(script, []byte("at 500ms silence-region 4 for 10m\nat 1s stop-store 3\n"), 0o644))
	cmd := exec.Command(binary, "headless", "--duration", "2m", "--regions", "24", "--stale-after", "2s",
		"--script", script, "--metrics-addr", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	cmd.Stdout = io.Discard
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
		}
	}()

	// A stderr line names the address (port 0: a free one).
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var base string
	timeout := time.After(30 * time.Second)
	for base == "" {
		select {
		case line, ok := <-lines:
			require.True(t, ok, "headless ended its stderr without saying where its metrics are")
			if strings.HasPrefix(line, "metrics: http://") {
				base = strings.TrimSuffix(strings.TrimPrefix(line, "metrics: "), "/metrics")
			}
		case <-timeout:
			t.Fatal("headless did not say where its metrics are within 30s")
		}
	}
	// Keep reading stderr, so the process never blocks on a full pipe.
	go func() {
		for range lines {
		}
	}()

	// Wait until the incident shows in the snapshot, so the values compared
	// are not all zero.
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := getSnapshot(t, base)
		if st != nil && st.Totals.Stale > 0 && st.Totals.RetriesFired > 0 && st.Totals.ReloadsFlushed > 0 &&
			st.Totals.Events > 0 && st.Totals.ErrorsByReason[snapshots.ReasonStoreFailure] > 0 && storeFailing(st, 3) {
			break
		}
		require.True(t, time.Now().Before(deadline), "the fault script's effects never showed in /snapshot")
		time.Sleep(200 * time.Millisecond)
	}

	// Scrape, then fetch the snapshot; a new one may be published in
	// between (twice a second), so try until both are the same one.
	var families map[string]*dto.MetricFamily
	var st *snapshots.State
	for attempt := 0; ; attempt++ {
		require.Less(t, attempt, 50, "never got /metrics and /snapshot of the same snapshot")
		families = scrape(t, base)
		st = getSnapshot(t, base)
		seq := families["pulltop_snapshot_seq"].GetMetric()[0].GetGauge().GetValue()
		if st != nil && uint64(seq) == st.Seq {
			break
		}
	}
	checkMetricsMatch(t, families, st)

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	select {
	case err := <-exited:
		stopped = true
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit)
		require.Equal(t, 130, exit.ExitCode(), "headless exits 130 after SIGINT")
	case <-time.After(30 * time.Second):
		t.Fatal("headless did not stop after SIGINT")
	}
	_, err = http.Get(base + "/metrics")
	require.Error(t, err, "metrics still served after exit")
}

func storeFailing(st *snapshots.State, id uint64) bool {
	for _, s := range st.Stores {
		if s.ID == id {
			return s.State == snapshots.StoreCooldown || s.State == snapshots.StoreDown
		}
	}
	return false
}

func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return families
}

// getSnapshot returns /snapshot, or nil before the engine's first one.
func getSnapshot(t *testing.T, base string) *snapshots.State {
	t.Helper()
	resp, err := http.Get(base + "/snapshot")
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusServiceUnavailable {
		return nil
	}
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	st, err := snapshots.Unmarshal(b, "/snapshot")
	require.NoError(t, err)
	return st
}

// series is one family's samples by their labels ("a=1,b=2", sorted).
func series(t *testing.T, families map[string]*dto.MetricFamily, name string) map[string]*dto.Metric {
	t.Helper()
	f := families[name]
	require.NotNil(t, f, "metric %s missing from /metrics", name)
	out := map[string]*dto.Metric{}
	for _, m := range f.GetMetric() {
		var ls []string
		for _, l := range m.GetLabel() {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(ls)
		out[strings.Join(ls, ",")] = m
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	}
	return math.NaN()
}

// checkMetricsMatch compares every DESIGN §10 metric with st, computing
// each expected value from the snapshot's own rows.
func checkMetricsMatch(t *testing.T, families map[string]*dto.MetricFamily, st *snapshots.State) {
	t.Helper()
	want := func(name, labels string, v float64) {
		t.Helper()
		m, ok := series(t, families, name)[labels]
		require.True(t, ok, "%s{%s} missing", name, labels)
		require.InDelta(t, v, value(m), 1e-9, "%s{%s}", name, labels)
	}

	// pulltop_regions{state}: every state, counted from the regions.
	byState := map[string]int{}
	for _, r := range st.Regions {
		byState[r.State]++
	}
	require.Positive(t, byState[snapshots.StateStale], "the scenario has a stale region")
	for _, state := range snapshots.RegionStates() {
		want("pulltop_regions", "state="+state, float64(byState[state]))
	}
	require.Len(t, series(t, families, "pulltop_regions"), len(snapshots.RegionStates()))

	// pulltop_resolved_lag_seconds: a histogram over the regions.
	h := families["pulltop_resolved_lag_seconds"]
	require.NotNil(t, h)
	require.Equal(t, dto.MetricType_HISTOGRAM, h.GetType())
	hist := h.GetMetric()[0].GetHistogram()
	require.Equal(t, uint64(len(st.Regions)), hist.GetSampleCount())
	var sumMs int64
	for _, r := range st.Regions {
		sumMs += r.ResolvedLagMs
	}
	require.InDelta(t, float64(sumMs)/1000, hist.GetSampleSum(), 1e-6)
	require.Len(t, hist.GetBucket(), len(metrics.LagBuckets)+1) // and +Inf
	for _, b := range hist.GetBucket() {
		var n uint64
		for _, r := range st.Regions {
			if float64(r.ResolvedLagMs)/1000 <= b.GetUpperBound() {
				n++
			}
		}
		require.Equal(t, n, b.GetCumulativeCount(), "lag bucket le=%g", b.GetUpperBound())
	}
	want("pulltop_resolved_lag_max_seconds", "", float64(st.Totals.ResolvedLagMaxMs)/1000)

	// Counters from the totals.
	// Every known reason is a series from the start (0 until it happens),
	// plus any reason the snapshot names that the list does not know.
	reasons := snapshots.ErrorReasons()
	for reason := range st.Totals.ErrorsByReason {
		if !slices.Contains(reasons, reason) {
			reasons = append(reasons, reason)
		}
	}
	require.Len(t, series(t, families, "pulltop_region_errors_total"), len(reasons))
	for _, reason := range reasons {
		want("pulltop_region_errors_total", "reason="+reason, float64(st.Totals.ErrorsByReason[reason]))
	}
	want("pulltop_retries_fired_total", "", float64(st.Totals.RetriesFired))
	want("pulltop_reloads_flushed_total", "", float64(st.Totals.ReloadsFlushed))
	want("pulltop_events_total", "", float64(st.Totals.Events))

	// pulltop_store_state{store,state}: 1 for the store's state, 0 else.
	require.Len(t, series(t, families, "pulltop_store_state"), len(st.Stores)*len(snapshots.StoreStates()))
	for _, s := range st.Stores {
		for _, state := range snapshots.StoreStates() {
			v := 0.0
			if s.State == state {
				v = 1
			}
			want("pulltop_store_state", "state="+state+",store="+strconv.FormatUint(s.ID, 10), v)
		}
	}

	// pulltop_causes{cause}: from the regions' causes, once there are any.
	byCause := map[string]int{}
	for _, r := range st.Regions {
		if r.Cause != "" {
			byCause[r.Cause]++
		}
	}
	if len(byCause) == 0 {
		require.Nil(t, families["pulltop_causes"], "no region has a cause yet: no pulltop_causes")
	} else {
		for cause, n := range byCause {
			want("pulltop_causes", "cause="+cause, float64(n))
		}
		for _, cause := range snapshots.Causes() {
			want("pulltop_causes", "cause="+cause, float64(byCause[cause]))
		}
	}

	want("pulltop_retries_waiting", "", float64(len(st.Retries)))
	want("pulltop_reloads_waiting", "", float64(len(st.Reloads)))
	want("pulltop_engine_up", "", 1)
	for _, sub := range st.Subscriptions {
		want("pulltop_subscription_resolved_lag_seconds", "subscription="+strconv.FormatUint(sub.ID, 10), float64(sub.ResolvedLagMs)/1000)
	}
}

// A bad --metrics-addr is a usage error on both commands, before anything
// starts.
func TestMetricsAddrMistakes(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	for _, tc := range []struct{ addr, want string }{
		{"9090", `--metrics-addr "9090": want HOST:PORT`},
		{"127.0.0.1:x", `--metrics-addr "127.0.0.1:x": port "x" is not a number`},
		{"127.0.0.1:70000", "port 70000 is out of range"},
		{taken.Addr().String(), fmt.Sprintf("--metrics-addr %s: address already in use", taken.Addr())},
	} {
		for _, args := range [][]string{
			{"headless", "--duration", "5s", "--metrics-addr", tc.addr},
			{"--metrics-addr", tc.addr, "--log-file", filepath.Join(t.TempDir(), "log")},
		} {
			_, stderr, code := runPulltop(t, args...)
			require.Equal(t, 2, code, "%v: %s", args, stderr)
			require.Contains(t, stderr, tc.want, "%v", args)
		}
	}
}

// The TUI serves the same metrics while it runs, and nothing of it reaches
// the terminal.
func TestTUIServesMetrics(t *testing.T) {
	// A free port: the TUI cannot print the one it got (the terminal is
	// the UI's), so the test picks it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	s, state := startTUI(t, "--regions", "12", "--metrics-addr", addr)
	s.Ready(tab(1), "embedded sim")
	base := "http://" + addr
	var families map[string]*dto.MetricFamily
	deadline := time.Now().Add(30 * time.Second)
	for {
		families = scrape(t, base)
		if m := series(t, families, "pulltop_regions")["state=initialized"]; m != nil && value(m) == 12 {
			break
		}
		require.True(t, time.Now().Before(deadline), "pulltop_regions{state=initialized} never reached 12")
		time.Sleep(200 * time.Millisecond)
	}
	screen := s.Capture()
	require.NotContains(t, screen, "metrics", "the metrics server wrote to the terminal:\n%s", screen)
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
	log, err := os.ReadFile(filepath.Join(state, "pulltop.log"))
	require.NoError(t, err)
	require.Contains(t, string(log), "serving metrics", "the TUI logs where its metrics are")
}
