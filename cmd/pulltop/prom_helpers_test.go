package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Helpers of the tests that run a real Prometheus (Debian's prometheus
// package; .ci/run installs it) against real pulltop processes, and of the
// tests of docs/prometheus and docs/grafana.

const (
	rulesFile     = "../../docs/prometheus/pulltop-rules.yml"
	rulesTestFile = "../../docs/prometheus/pulltop-rules_test.yml"
	dashboardFile = "../../docs/grafana/pulltop.json"
)

// needTool returns the path of a Prometheus tool, or skips the test where
// it is not installed; with CI=true a missing tool fails it (.ci/run
// installs it, so missing there is a broken CI).
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%s is not installed: this test runs Debian's prometheus package "+
		"(apt-get install prometheus; .ci/run installs it)", name)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// freeAddr returns a loopback address with a port that was free a moment
// ago (for a program that cannot be told to pick one and say which).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// startHeadlessMetrics runs `pulltop headless ARGS --metrics-addr
// 127.0.0.1:0` and returns the base URL of its metrics server (the
// address headless prints on stderr). The process is killed at cleanup.
func startHeadlessMetrics(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, append(append([]string{"headless"}, args...), "--metrics-addr", "127.0.0.1:0",
		"--log-file", filepath.Join(t.TempDir(), "pulltop.log"))...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	cmd.Stdout = io.Discard
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	found := make(chan string, 1)
	var lines []string
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if !sent {
				lines = append(lines, line)
			}
			if rest, ok := strings.CutPrefix(line, "metrics: "); ok && !sent {
				found <- strings.TrimSuffix(rest, "/metrics")
				sent = true
			}
		}
		if !sent {
			close(found)
		}
	}()
	select {
	case base, ok := <-found:
		require.True(t, ok, "headless %v ended its stderr without saying where its metrics are: %q", args, lines)
		return base
	case <-time.After(30 * time.Second):
		t.Fatalf("headless %v did not say where its metrics are within 30s", args)
	}
	return ""
}

// promServer is a running Prometheus.
type promServer struct {
	base string
	dir  string
}

// startPrometheus runs prometheus with cfg as its prometheus.yml (and the
// files in extra copied next to it), storage in a temp dir, on a free
// loopback port, and waits until it is ready. It is stopped at cleanup.
func startPrometheus(t *testing.T, cfg string, extra ...string) *promServer {
	t.Helper()
	bin := needTool(t, "prometheus")
	dir := t.TempDir()
	for _, f := range extra {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644))
	// The port is picked, freed, then bound by Prometheus: another process
	// may take it in between, so a Prometheus that exits at start is tried
	// again on another port.
	for attempt := 0; ; attempt++ {
		addr := freeAddr(t)
		logPath := filepath.Join(dir, fmt.Sprintf("prometheus-%d.log", attempt))
		logFile, err := os.Create(logPath)
		require.NoError(t, err)
		cmd := exec.Command(bin,
			"--config.file", filepath.Join(dir, "prometheus.yml"),
			"--storage.tsdb.path", filepath.Join(dir, "data"),
			"--web.listen-address", addr,
			"--log.level", "warn")
		cmd.Stdout, cmd.Stderr = logFile, logFile
		require.NoError(t, cmd.Start())
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); _ = logFile.Close(); close(exited) }()
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(15 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		})
		p := &promServer{base: "http://" + addr, dir: dir}
		if p.waitReady(t, exited, logPath, attempt < 2) {
			return p
		}
	}
}

// waitReady waits until Prometheus answers /-/ready; false when it exited
// and retry allows another attempt.
func (p *promServer) waitReady(t *testing.T, exited chan struct{}, logPath string, retry bool) bool {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		if resp, err := http.Get(p.base + "/-/ready"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		if isClosed(exited) {
			log, _ := os.ReadFile(logPath)
			require.True(t, retry, "prometheus exited at start:\n%s", log)
			t.Logf("prometheus exited at start (port taken?), trying another port:\n%s", log)
			return false
		}
		require.True(t, time.Now().Before(deadline), "prometheus not ready within 45s")
		time.Sleep(100 * time.Millisecond)
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// promSample is one series of an instant query's result.
type promSample struct {
	Metric map[string]string
	Value  float64
	Time   float64
}

// query runs an instant PromQL query at at (Unix seconds; 0 for now).
func (p *promServer) query(t *testing.T, q string, at float64) []promSample {
	t.Helper()
	v := url.Values{"query": {q}}
	if at != 0 {
		v.Set("time", strconv.FormatFloat(at, 'f', 3, 64))
	}
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	p.get(t, "/api/v1/query?"+v.Encode(), &out)
	require.Equal(t, "success", out.Status, "query %s: %s", q, out.Error)
	require.Equal(t, "vector", out.Data.ResultType, "query %s", q)
	samples := make([]promSample, 0, len(out.Data.Result))
	for _, r := range out.Data.Result {
		ts, ok := r.Value[0].(float64)
		require.True(t, ok, "query %s: timestamp %v", q, r.Value[0])
		s, ok := r.Value[1].(string)
		require.True(t, ok, "query %s: value %v", q, r.Value[1])
		f, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err, "query %s", q)
		samples = append(samples, promSample{Metric: r.Metric, Value: f, Time: ts})
	}
	return samples
}

// byLabel runs q at at and returns its values by one label's value
// (q must give one series per value).
func (p *promServer) byLabel(t *testing.T, q, label string, at float64) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, s := range p.query(t, q, at) {
		_, dup := out[s.Metric[label]]
		require.False(t, dup, "query %s: two series with %s=%q", q, label, s.Metric[label])
		out[s.Metric[label]] = s.Value
	}
	return out
}

// scalar runs q at at and returns its one value (false when it has none).
func (p *promServer) scalar(t *testing.T, q string, at float64) (float64, bool) {
	t.Helper()
	s := p.query(t, q, at)
	if len(s) == 0 {
		return 0, false
	}
	require.Len(t, s, 1, "query %s", q)
	return s[0].Value, true
}

func (p *promServer) get(t *testing.T, path string, into any) {
	t.Helper()
	resp, err := http.Get(p.base + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, into), "%s: %s", path, b)
}

// waitTargetsUp waits until Prometheus has scraped each of n targets
// successfully.
func (p *promServer) waitTargetsUp(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		var out struct {
			Data struct {
				ActiveTargets []struct {
					ScrapeURL string `json:"scrapeUrl"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"activeTargets"`
			} `json:"data"`
		}
		p.get(t, "/api/v1/targets", &out)
		up := 0
		var state []string
		for _, tg := range out.Data.ActiveTargets {
			if tg.Health == "up" {
				up++
			}
			state = append(state, tg.ScrapeURL+" "+tg.Health+" "+tg.LastError)
		}
		if up == n && len(out.Data.ActiveTargets) == n {
			return
		}
		require.True(t, time.Now().Before(deadline), "prometheus targets not all up within 45s: %q", state)
		time.Sleep(200 * time.Millisecond)
	}
}

// pulltopMetricName matches the pulltop metric names an expression uses.
var pulltopMetricName = regexp.MustCompile(`\bpulltop_[a-z0-9_]+\b`)

// metricNames returns the pulltop_* metric names the expressions use,
// sorted, each once.
func metricNames(exprs []string) []string {
	seen := map[string]bool{}
	for _, e := range exprs {
		for _, n := range pulltopMetricName.FindAllString(e, -1) {
			seen[n] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ruleExprs returns every expr of an alert rules file: a plain scalar on
// the expr line, or a block scalar (`expr: >-`) on the lines indented
// under it. (A line parser, so the test needs no YAML module of its own;
// promtool check rules, run by TestAlertRules, checks the file is valid.)
func ruleExprs(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var exprs []string
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		trimmed := strings.TrimLeft(lines[i], " ")
		rest, ok := strings.CutPrefix(trimmed, "expr:")
		if !ok {
			continue
		}
		rest = strings.TrimSpace(rest)
		if rest != "" && !strings.HasPrefix(rest, ">") && !strings.HasPrefix(rest, "|") {
			exprs = append(exprs, rest)
			continue
		}
		indent := len(lines[i]) - len(trimmed)
		var block []string
		for i+1 < len(lines) {
			next := lines[i+1]
			if strings.TrimSpace(next) != "" && len(next)-len(strings.TrimLeft(next, " ")) <= indent {
				break
			}
			block = append(block, strings.TrimSpace(next))
			i++
		}
		exprs = append(exprs, strings.Join(block, " "))
	}
	require.NotEmpty(t, exprs, "no expr in %s", path)
	return exprs
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	Panels []struct {
		Type    string `json:"type"`
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Type       string `json:"type"`
			Name       string `json:"name"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(b, &d), "%s is not a dashboard JSON", dashboardFile)
	return d
}

// panelQueries are a dashboard's panel queries by "panel title/ref".
func (d dashboard) panelQueries() map[string]string {
	out := map[string]string{}
	for _, p := range d.Panels {
		for i, tg := range p.Targets {
			out[fmt.Sprintf("%s/%d", p.Title, i)] = tg.Expr
		}
	}
	return out
}

// variableQueries are the dashboard's query variables as PromQL:
// label_values(M, L) is what Grafana runs as the series of M, by L.
func (d dashboard) variableQueries(t *testing.T) map[string]string {
	t.Helper()
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*([a-z_]+)\)$`)
	out := map[string]string{}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Definition)
		require.NotNil(t, m, "variable %s: %q is not label_values(METRIC, LABEL)", v.Name, v.Definition)
		out["$"+v.Name] = fmt.Sprintf("group by (%s) (%s)", m[2], m[1])
	}
	return out
}

// substitute replaces the dashboard's variables the way Grafana does with
// these values ($__rate_interval: Grafana's 4 scrape intervals at least).
func substitute(expr string, vars map[string]string) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	// Longest first, so $shard never eats a prefix of another name.
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		expr = strings.ReplaceAll(expr, k, vars[k])
	}
	return expr
}
