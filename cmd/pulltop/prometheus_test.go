package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
)

// The alert rules are valid (promtool check rules) and page on what their
// unit tests say, and only on that (promtool test rules: series in, alerts
// out, firing and not-firing cases).
func TestAlertRules(t *testing.T) {
	promtool := needTool(t, "promtool")
	for _, args := range [][]string{{"check", "rules", rulesFile}, {"test", "rules", rulesTestFile}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		require.NoError(t, err, "promtool %v:\n%s", args, out)
		require.Contains(t, string(out), "SUCCESS", "promtool %v:\n%s", args, out)
	}
}

// Every pulltop metric the rules and the dashboard use is served by a real
// pulltop's /metrics: renaming or dropping one fails here, not silently in
// an operator's Prometheus. Needs no Prometheus.
func TestRulesAndDashboardMetricsExist(t *testing.T) {
	d := readDashboard(t)
	exprs := ruleExprs(t, rulesFile)
	for _, q := range d.panelQueries() {
		exprs = append(exprs, q)
	}
	for _, q := range d.variableQueries(t) {
		exprs = append(exprs, q)
	}
	names := metricNames(exprs)
	require.GreaterOrEqual(t, len(names), 15, "the rules and dashboard use %v", names)

	// A stopped store: every family exists (stores, causes) once it shows.
	script := filepath.Join(t.TempDir(), "faults.txt")
	require.NoError(t, os.WriteFile(script, []byte("at 500ms stop-store 3\n"), 0o644))
	base := startHeadlessMetrics(t, "--duration", "2m", "--regions", "12", "--script", script)
	deadline := time.Now().Add(45 * time.Second)
	for {
		families := scrape(t, base)
		st := getSnapshot(t, base)
		if families["pulltop_causes"] != nil && st != nil && storeFailing(st, 3) {
			exported := make([]string, 0, len(families))
			for name := range families {
				exported = append(exported, name)
			}
			require.Empty(t, missingMetrics(names, exported),
				"metrics used by %s or %s that pulltop's /metrics does not serve", rulesFile, dashboardFile)
			break
		}
		require.True(t, time.Now().Before(deadline), "store 3 never showed as failing in 45s")
		time.Sleep(200 * time.Millisecond)
	}
	// The check can fail: a name /metrics does not have is reported, and a
	// histogram's series names are its family's.
	require.Equal(t, []string{"pulltop_gone_total"}, missingMetrics(
		[]string{"pulltop_gone_total", "pulltop_resolved_lag_seconds_bucket", "pulltop_regions"},
		[]string{"pulltop_resolved_lag_seconds", "pulltop_regions"}))
}

// missingMetrics returns the used names no exported family serves (a
// histogram family serves NAME_bucket, NAME_sum and NAME_count).
func missingMetrics(used, families []string) []string {
	var missing []string
	for _, n := range used {
		found := slices.Contains(families, n)
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := cutSuffix(n, suffix); ok && slices.Contains(families, base) {
				found = true
			}
		}
		if !found {
			missing = append(missing, n)
		}
	}
	return missing
}

func cutSuffix(s, suffix string) (string, bool) {
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)], true
	}
	return "", false
}

// snapshotLog polls /snapshot and keeps every snapshot it saw by seq, so a
// value Prometheus stored (with the pulltop_snapshot_seq of its scrape) is
// compared with the very snapshot it came from.
type snapshotLog struct {
	mu    sync.Mutex
	bySeq map[uint64]*snapshots.State
	last  *snapshots.State
	err   error
}

func pollSnapshots(t *testing.T, base string) *snapshotLog {
	l := &snapshotLog{bySeq: map[uint64]*snapshots.State{}}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			st, err := fetchSnapshot(base)
			l.mu.Lock()
			if err != nil && l.err == nil {
				l.err = err
			}
			if st != nil {
				l.bySeq[st.Seq] = st
				l.last = st
			}
			l.mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return l
}

func (l *snapshotLog) latest(t *testing.T) *snapshots.State {
	l.mu.Lock()
	defer l.mu.Unlock()
	require.NoError(t, l.err, "polling /snapshot")
	return l.last
}

func (l *snapshotLog) seq(seq uint64) *snapshots.State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bySeq[seq]
}

// fetchSnapshot is getSnapshot for a goroutine: nil before the first
// snapshot and while another /snapshot is written (429).
func fetchSnapshot(base string) (*snapshots.State, error) {
	resp, err := http.Get(base + "/snapshot")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return snapshots.Unmarshal(b, "/snapshot")
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		return nil, nil
	}
	return nil, fmt.Errorf("/snapshot: %s: %s", resp.Status, bytes.TrimSpace(b))
}

// A real Prometheus scrapes a running headless during a fault script (a
// stale region, a stopped store, splits and leader moves: errors, retries,
// reloads, a store leaving up), and what it stored at one scrape is exactly
// what the snapshot of that scrape says. Every dashboard panel's query and
// every alert rule then runs on that data.
func TestPrometheusStoresWhatPulltopExports(t *testing.T) {
	needTool(t, "prometheus")
	script := filepath.Join(t.TempDir(), "faults.txt")
	require.NoError(t, os.WriteFile(script, []byte(
		"at 500ms silence-region 4 for 10m\nat 1s split random\nat 1500ms transfer-leader random\nat 2s stop-store 3\n"), 0o644))
	base := startHeadlessMetrics(t, "--duration", "3m", "--regions", "24", "--stale-after", "2s", "--script", script)
	snaps := pollSnapshots(t, base)

	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [pulltop-rules.yml]
scrape_configs:
  - job_name: pulltop
    static_configs:
      - targets: [%q]
        labels: {shard: "all"}
`, base[len("http://"):])
	prom := startPrometheus(t, cfg, rulesFile)
	prom.waitTargetsUp(t, 1)

	// Wait for the incident in a snapshot Prometheus stored: a scrape whose
	// seq the poller kept and whose snapshot shows every effect.
	incident := func(st *snapshots.State) bool {
		// Not Stale: the silenced region may be one the stopped store led,
		// and then it waits instead (its state is compared all the same).
		return st != nil && st.Totals.RetriesFired > 0 && st.Totals.ReloadsFlushed > 0 &&
			st.Totals.ErrorsByReason[snapshots.ReasonStoreFailure] > 0 && storeFailing(st, 3)
	}
	var at float64
	var st *snapshots.State
	deadline := time.Now().Add(60 * time.Second)
	for st == nil {
		require.True(t, time.Now().Before(deadline), "no scrape of a snapshot showing the incident within 60s; latest snapshot: %+v",
			snaps.latest(t).Totals)
		time.Sleep(500 * time.Millisecond)
		// The latest scrape's timestamp, then its seq at that timestamp.
		ts, ok := prom.scalar(t, `timestamp(pulltop_snapshot_seq)`, 0)
		if !ok {
			continue
		}
		seqs, ok := prom.scalar(t, `pulltop_snapshot_seq`, ts)
		require.True(t, ok)
		if cand := snaps.seq(uint64(seqs)); incident(cand) {
			st, at = cand, ts
		}
	}

	// Everything below is evaluated at the scrape's own timestamp, so it is
	// that scrape's sample of every series.
	seq, ok := prom.scalar(t, `pulltop_snapshot_seq`, at)
	require.True(t, ok)
	require.Equal(t, float64(st.Seq), seq)

	byState, byCause := map[string]float64{}, map[string]float64{}
	for _, r := range st.Regions {
		byState[r.State]++
		if r.Cause != "" {
			byCause[r.Cause]++
		}
	}
	for _, s := range snapshots.RegionStates() {
		byState[s] += 0
	}
	for _, c := range snapshots.Causes() {
		byCause[c] += 0
	}
	require.Equal(t, byState, prom.byLabel(t, `pulltop_regions{job="pulltop"}`, "state", at), "regions by state")
	require.Equal(t, byCause, prom.byLabel(t, `pulltop_causes{job="pulltop"}`, "cause", at), "regions by cause")

	lagMax, _ := prom.scalar(t, `pulltop_resolved_lag_max_seconds`, at)
	require.Equal(t, float64(st.Totals.ResolvedLagMaxMs)/1000, lagMax, "lag max")
	count, _ := prom.scalar(t, `pulltop_resolved_lag_seconds_count`, at)
	require.Equal(t, float64(len(st.Regions)), count, "lag histogram count")

	errs := map[string]float64{}
	for _, r := range snapshots.ErrorReasons() {
		errs[r] = 0
	}
	for r, n := range st.Totals.ErrorsByReason {
		errs[r] = float64(n)
	}
	require.Equal(t, errs, prom.byLabel(t, `pulltop_region_errors_total`, "reason", at), "errors by reason")

	for name, want := range map[string]float64{
		"pulltop_retries_fired_total":   float64(st.Totals.RetriesFired),
		"pulltop_reloads_flushed_total": float64(st.Totals.ReloadsFlushed),
		"pulltop_region_requests_total": float64(st.Totals.RegionRequests),
		"pulltop_events_total":          float64(st.Totals.Events),
		"pulltop_retries_waiting":       float64(len(st.Retries)),
		"pulltop_reloads_waiting":       float64(len(st.Reloads)),
		"pulltop_pd_up":                 boolFloat(st.Source.PDError == ""),
	} {
		got, ok := prom.scalar(t, name, at)
		require.True(t, ok, "%s not stored", name)
		require.Equal(t, want, got, name)
	}

	// Store states: the one that is 1 for each store is its state.
	stores := map[string]string{}
	for _, s := range prom.query(t, `pulltop_store_state == 1`, at) {
		stores[s.Metric["store"]] = s.Metric["state"]
	}
	want := map[string]string{}
	for _, s := range st.Stores {
		want[strconv.FormatUint(s.ID, 10)] = s.State
	}
	require.Equal(t, want, stores, "store states")
	require.NotEqual(t, snapshots.StoreUp, stores["3"], "store 3 stopped")

	t.Run("dashboard panels have data", func(t *testing.T) {
		// rate() over $__rate_interval needs two scrapes in it: wait for
		// a few, then query as Grafana does, at now.
		deadline := time.Now().Add(30 * time.Second)
		for {
			if n, _ := prom.scalar(t, `count_over_time(pulltop_engine_up[30s])`, 0); n >= 4 {
				break
			}
			require.True(t, time.Now().Before(deadline), "prometheus did not store 4 scrapes within 30s")
			time.Sleep(250 * time.Millisecond)
		}
		at := 0.0
		d := readDashboard(t)
		vars := map[string]string{"$job": "pulltop", "$shard": ".*", "$instance": ".*", "$__rate_interval": "30s"}
		for name, q := range d.variableQueries(t) {
			q = substitute(q, vars)
			require.NotEmpty(t, prom.query(t, q, at), "variable %s: %s has no data", name, q)
		}
		queries := d.panelQueries()
		require.NotEmpty(t, queries)
		for name, q := range queries {
			q = substitute(q, vars)
			require.NotContains(t, q, "$", "panel %s: a variable not substituted in %s", name, q)
			require.NotEmpty(t, prom.query(t, q, at), "panel %s: %s has no data", name, q)
		}
	})

	t.Run("every alert rule evaluates", func(t *testing.T) {
		var out struct {
			Data struct {
				Groups []struct {
					Rules []struct {
						Name           string `json:"name"`
						Health         string `json:"health"`
						LastError      string `json:"lastError"`
						LastEvaluation string `json:"lastEvaluation"`
					} `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			prom.get(t, "/api/v1/rules", &out)
			n, ok := 0, true
			for _, g := range out.Data.Groups {
				for _, r := range g.Rules {
					n++
					require.NotEqual(t, "err", r.Health, "rule %s: %s", r.Name, r.LastError)
					ok = ok && r.Health == "ok"
				}
			}
			require.Equal(t, len(ruleExprs(t, rulesFile)), n, "rules loaded")
			if ok {
				return
			}
			require.True(t, time.Now().Before(deadline), "rules not all evaluated within 30s")
			time.Sleep(200 * time.Millisecond)
		}
	})
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Past one machine: two headless instances over the two halves of the
// sim's key space, one Prometheus scraping both with a shard label, sum to
// what one instance over the whole space reports. The split key is a
// region's start key (read from the whole instance's snapshot), so no
// region straddles it and each region is counted by exactly one shard.
func TestPrometheusShards(t *testing.T) {
	needTool(t, "prometheus")
	pd := startSimProcess(t, "--regions", "24", "--write-rate", "100")
	whole := startHeadlessMetrics(t, "--pd", pd, "--duration", "3m")

	// The whole space's regions, once all are initialized.
	var st *snapshots.State
	deadline := time.Now().Add(45 * time.Second)
	for {
		st = getSnapshot(t, whole)
		if st != nil && len(st.Regions) > 0 && st.Totals.Initialized == len(st.Regions) {
			break
		}
		require.True(t, time.Now().Before(deadline), "the whole-space instance did not initialize its regions within 45s")
		time.Sleep(200 * time.Millisecond)
	}
	require.Len(t, st.Subscriptions, 1)
	sub := st.Subscriptions[0]
	var starts []string
	for _, r := range st.Regions {
		if r.Start > sub.Start && (sub.End == "" || r.Start < sub.End) {
			starts = append(starts, r.Start)
		}
	}
	slices.Sort(starts)
	require.GreaterOrEqual(t, len(starts), 4, "regions inside the subscription: %v", starts)
	split := starts[len(starts)/2]
	lo := startHeadlessMetrics(t, "--pd", pd, "--duration", "3m", "--span", sub.Start+":"+split)
	hi := startHeadlessMetrics(t, "--pd", pd, "--duration", "3m", "--span", split+":"+sub.End)

	target := func(base string) string { return base[len("http://"):] }
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: pulltop
    static_configs:
      - targets: [%q]
        labels: {shard: "0"}
      - targets: [%q]
        labels: {shard: "1"}
  - job_name: pulltop-whole
    static_configs:
      - targets: [%q]
        labels: {shard: "all"}
`, target(lo), target(hi), target(whole))
	prom := startPrometheus(t, cfg)
	prom.waitTargetsUp(t, 3)

	// Once every shard has initialized all its regions, the sums over the
	// shards (the dashboard's "Regions by state" query) equal the whole
	// instance's, state by state, at one evaluation time.
	d := readDashboard(t)
	var byState string
	for name, q := range d.panelQueries() {
		if name == "Regions by state/0" {
			byState = q
		}
	}
	require.NotEmpty(t, byState, "the dashboard has no Regions by state panel")
	vars := func(job string) map[string]string {
		return map[string]string{"$job": job, "$shard": ".*", "$instance": ".*"}
	}
	deadline = time.Now().Add(45 * time.Second)
	for {
		at := float64(time.Now().UnixMilli()) / 1000
		shards := prom.byLabel(t, substitute(byState, vars("pulltop")), "state", at)
		all := prom.byLabel(t, substitute(byState, vars("pulltop-whole")), "state", at)
		perShard := prom.byLabel(t, `sum by (shard) (pulltop_regions{job="pulltop"})`, "shard", at)
		initialized := prom.byLabel(t, `sum by (shard) (pulltop_regions{state="initialized"})`, "shard", at)
		done := len(all) > 0 && all["initialized"] == float64(len(st.Regions)) && len(perShard) == 2 &&
			initialized["0"] == perShard["0"] && initialized["1"] == perShard["1"]
		if done {
			require.Equal(t, all, shards, "regions by state: shards summed vs one instance over the whole space")
			// Each shard holds part of the space, not all of it.
			require.Positive(t, perShard["0"])
			require.Positive(t, perShard["1"])
			require.Equal(t, float64(len(st.Regions)), perShard["0"]+perShard["1"])
			// Leaders do not move without faults: regions per store agree too.
			require.Equal(t,
				prom.byLabel(t, `sum by (store) (pulltop_store_regions{job="pulltop-whole"})`, "store", at),
				prom.byLabel(t, `sum by (store) (pulltop_store_regions{job="pulltop"})`, "store", at),
				"regions by store: shards summed vs whole")
			n, _ := prom.scalar(t, `count(pulltop_engine_up{job="pulltop"})`, at)
			require.Equal(t, 2.0, n, "two shards report")
			return
		}
		require.True(t, time.Now().Before(deadline),
			"shards never all initialized within 45s: whole %v, shards %v, per shard %v", all, shards, perShard)
		time.Sleep(500 * time.Millisecond)
	}
}
