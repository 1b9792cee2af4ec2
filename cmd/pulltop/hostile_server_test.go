package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/sim/misbehave"
	"github.com/pulltop/pulltop/snapshots"
)

// The tests of this file run the real binary against a cluster that
// misbehaves on the wire (issue 25): the simulated cluster runs in the test
// process behind sim/misbehave's interceptors, and pulltop reaches it with
// --pd as it would a production PD.

// startBadCluster starts the misbehaving sim and returns its PD address.
func startBadCluster(t *testing.T, bad *misbehave.Cluster, cfg sim.Config) string {
	t.Helper()
	cfg.ServerOptions = bad.ServerOptions()
	if cfg.MinTsInterval == 0 {
		cfg.MinTsInterval = 100 * time.Millisecond
	}
	s, err := sim.Start(cfg)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s.PDAddr()
}

// liveRun is a headless pulltop whose status lines are read as they come.
type liveRun struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr bytes.Buffer
	done   chan struct{}
	code   int
}

func startLive(t *testing.T, args ...string) *liveRun {
	t.Helper()
	r := &liveRun{lines: make(chan string, 1024), done: make(chan struct{})}
	r.cmd = exec.Command(binary, args...)
	r.cmd.Stderr = &r.stderr
	out, err := r.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, r.cmd.Start())
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
		close(r.lines)
		err := r.cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		}
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// waitLine returns the first status line that satisfies cond.
func (r *liveRun) waitLine(t *testing.T, what string, timeout time.Duration, cond func(string) bool) string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case line, ok := <-r.lines:
			if !ok {
				t.Fatalf("pulltop exited before %s; stderr: %s", what, r.stderr.String())
			}
			if cond(line) {
				return line
			}
		case <-deadline.C:
			t.Fatalf("no status line with %s within %s", what, timeout)
		}
	}
}

// wait returns every line left and the exit status.
func (r *liveRun) wait(t *testing.T, timeout time.Duration) (rest []string, code int) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case line, ok := <-r.lines:
			if ok {
				rest = append(rest, line)
				continue
			}
			<-r.done
			return rest, r.code
		case <-deadline.C:
			t.Fatalf("pulltop did not exit within %s; stderr: %s", timeout, r.stderr.String())
		}
	}
}

// Item 1: a TSO that goes backwards mid-run used to end headless with
// exit 1 and nothing else (the pd client's os.Exit). Now: the last status
// line and the snapshot carry the error, which names PD and both
// timestamps, and the exit status is 1.
func TestHeadlessTSOFallbackMidRun(t *testing.T) {
	bad := &misbehave.Cluster{}
	addr := startBadCluster(t, bad, sim.Config{Stores: 2, Regions: 6, WriteRate: 100})
	snap := filepath.Join(t.TempDir(), "s.json")
	r := startLive(t, "headless", "--pd", addr, "--duration", "90s", "--interval", "200ms", "--snapshot", snap)
	r.waitLine(t, "every region initialized", 30*time.Second, func(l string) bool {
		return strings.Contains(l, "regions=6 initialized=6")
	})
	bad.TSOBack.Store(true)
	rest, code := r.wait(t, 45*time.Second)
	require.Equal(t, 1, code, "stderr: %s", r.stderr.String())
	require.NotEmpty(t, rest)
	last := rest[len(rest)-1]
	require.Contains(t, last, "engine_error=")
	require.Contains(t, last, "went backwards")
	require.Contains(t, last, "PD "+addr)
	require.Contains(t, r.stderr.String(), "pulltop: engine stopped: PD "+addr)
	require.Contains(t, r.stderr.String(), "after TSO ")
	st, err := snapshots.Load(snap)
	require.NoError(t, err)
	require.Contains(t, st.EngineError, "went backwards")
}

// Item 1 at start: a negative physical time, or a fallback between the
// first TSO and the clock check, is a clear error (exit 1), not a silent
// exit.
func TestHeadlessTSOFaultAtStart(t *testing.T) {
	for name, arm := range map[string]func(*misbehave.Cluster){
		"negative physical time": func(b *misbehave.Cluster) { b.TSONegative.Store(true) },
		"went backwards":         func(b *misbehave.Cluster) { b.TSOBackAfter.Store(1) },
	} {
		t.Run(name, func(t *testing.T) {
			bad := &misbehave.Cluster{}
			arm(bad)
			addr := startBadCluster(t, bad, sim.Config{Stores: 1, Regions: 2})
			_, stderr, code := runPulltop(t, "headless", "--pd", addr, "--duration", "5s")
			require.Equal(t, 1, code, stderr)
			require.Contains(t, stderr, "PD "+addr+": PD's TSO ")
			require.Contains(t, stderr, name)
			require.NotContains(t, stderr, "panic")
		})
	}
}

// Item 1 in the TUI: the pd client's exit left the terminal raw on the
// alternate screen. Now the engine stops with the error on screen, q
// restores the terminal and exits 1 with the error on stderr.
func TestTUITSOFallbackRestoresTheTerminal(t *testing.T) {
	bad := &misbehave.Cluster{}
	addr := startBadCluster(t, bad, sim.Config{Stores: 2, Regions: 6, WriteRate: 100})
	st := startShellTUI(t, []string{"XDG_STATE_HOME=" + t.TempDir()}, "--pd", addr, "--yes")
	st.s.WaitFor("Overview")
	bad.TSOBack.Store(true)
	st.s.WaitForFunc("the engine's stop on screen", 40*time.Second, func(screen string) bool {
		return strings.Contains(screen, "ENGINE STOPPED")
	})
	screen := st.quit()
	require.Contains(t, screen, "PULLTOP-EXITED 1")
	stty, err := os.ReadFile(st.sttyFile)
	require.NoError(t, err)
	modes := " " + strings.Join(strings.Fields(string(stty)), " ") + " "
	for _, mode := range []string{" icanon ", " echo ", " icrnl ", " isig "} {
		require.Contains(t, modes, mode, "terminal mode restored: %s", stty)
	}
	require.Contains(t, st.stderr(t), "engine stopped: PD "+addr+": PD's TSO went backwards")
}

// Item 5 on the real binary: a degenerate region from PD made headless ask
// PD ~4000 times a second with nothing said, and the TUI hang on
// "connecting to PD". Now headless names the PD fault on its lines and
// asks again with backoff; the TUI's preview fails at once with it.
func TestBadRegionAnswerIsANamedPDFault(t *testing.T) {
	bad := &misbehave.Cluster{}
	bad.Regions.Store(int32(misbehave.Degenerate))
	addr := startBadCluster(t, bad, sim.Config{Stores: 1, Regions: 6})
	stdout, stderr, code := runPulltop(t, "headless", "--pd", addr, "--duration", "4s", "--interval", "1s")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Contains(t, lines[len(lines)-1], `pd_error="PD fault: BatchScanRegions from `)
	require.Contains(t, lines[len(lines)-1], "which is empty (start = end)")
	require.Less(t, bad.RegionAnswers(), int64(40), "PD was asked in a loop")

	calls := bad.RegionAnswers()
	_, stderr, code = runPulltop(t, "--pd", addr)
	require.Equal(t, 1, code, stderr)
	require.Contains(t, stderr, "counting the regions to subscribe: PD fault: ")
	require.Less(t, bad.RegionAnswers()-calls, int64(5))
}

// Item 9: rows whose keys lie outside their region's range were written
// to --sink as data. Now they are counted as a TiKV fault (their own error
// reason, the event log, the region's last error) and never delivered.
func TestRowsOutsideTheirRegionAreNotDelivered(t *testing.T) {
	bad := &misbehave.Cluster{}
	bad.RowsOutside.Store(true)
	addr := startBadCluster(t, bad, sim.Config{Stores: 2, Regions: 6, WriteRate: 300})
	dir := t.TempDir()
	sink, snap := filepath.Join(dir, "rows.jsonl"), filepath.Join(dir, "s.json")
	_, stderr, code := runPulltop(t, "headless", "--pd", addr, "--duration", "4s", "--sink", sink, "--snapshot", snap)
	require.Equal(t, 0, code, stderr)
	rows, err := os.ReadFile(sink)
	require.NoError(t, err)
	require.Positive(t, bad.RowsMoved(), "the fake moved no row")
	require.NotEmpty(t, rows, "no row delivered at all")
	require.NotContains(t, string(rows), `"key":"7a`, "a row outside its region reached --sink")
	st, err := snapshots.Load(snap)
	require.NoError(t, err)
	require.Positive(t, st.Totals.ErrorsByReason[snapshots.ReasonRowOutsideRegion])
	logged := false
	for _, e := range st.Log {
		logged = logged || strings.Contains(e.Text, "outside region") && strings.Contains(e.Text, "a TiKV fault")
	}
	require.True(t, logged, "not in the event log")
}

// Item 9: a --start-ts ahead of PD's TSO showed lag 0 and delivered
// nothing; it is refused once PD answers (exit 1: only PD can tell).
// 1970-01-01T00:00:00Z is TSO 0, refused as --start-ts 0 is (exit 2: it
// is no timestamp of any cluster; it used to mean "now").
func TestStartTsAheadOfPDOrAtZero(t *testing.T) {
	addr := startBadCluster(t, &misbehave.Cluster{}, sim.Config{Stores: 1, Regions: 2})
	for _, ts := range []string{"2099-01-01T00:00:00Z", "18446744073709551615"} {
		_, stderr, code := runPulltop(t, "headless", "--pd", addr, "--duration", "3s", "--start-ts", ts)
		require.Equal(t, 1, code, "%s: %s", ts, stderr)
		require.Contains(t, stderr, "is ahead of PD's current TSO", ts)
	}
	for _, ts := range []string{"0", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z"} {
		_, stderr, code := runPulltop(t, "headless", "--pd", addr, "--duration", "3s", "--start-ts", ts)
		require.Equal(t, 2, code, "%s: %s", ts, stderr)
		require.Contains(t, stderr, "--start-ts", ts)
	}
}

// freePort returns a loopback address nothing listens on (a moment ago).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// vmRSS is a process's resident set, in KiB.
func vmRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// Item 3's acceptance: at 100k regions, 16 slow readers and 24 concurrent
// /snapshot requests took headless from 0.5 to 4 GB. Now /snapshot is
// streamed one at a time (the others get 429 + Retry-After) and a reader
// that stalls is cut off by the write timeout: the RSS under that load
// stays ≤ 2× what the process held before it (README, Performance).
func TestSnapshotEndpointUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("100k regions: not in -short")
	}
	// The sim in its own process (built without -race, like pulltop).
	simCmd := exec.Command(binary, "sim", "--stores", "3", "--regions", "100000", "--write-rate", "500")
	simOut, err := simCmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, simCmd.Start())
	t.Cleanup(func() { _ = simCmd.Process.Kill(); _ = simCmd.Wait() })
	first := bufio.NewScanner(simOut)
	require.True(t, first.Scan(), "no output from pulltop sim")
	addr, ok := strings.CutPrefix(first.Text(), "pd: ")
	require.True(t, ok, first.Text())
	go func() { _, _ = io.Copy(io.Discard, simOut) }()
	metricsAddr := freePort(t)
	// --scans-per-store 128: the embedded default; with --pd it is 4, and
	// 100k initial scans would take minutes.
	r := startLive(t, "headless", "--pd", addr, "--duration", "5m", "--interval", "1s", "--scans-per-store", "128",
		"--metrics-addr", metricsAddr)
	r.waitLine(t, "100k regions initialized", 120*time.Second, func(l string) bool {
		return strings.Contains(l, "regions=100000 initialized=100000")
	})
	pid := r.cmd.Process.Pid
	var base int64
	for range 10 { // the engine's own, over a couple of publishes
		base = max(base, vmRSS(t, pid))
		time.Sleep(200 * time.Millisecond)
	}
	url := "http://" + metricsAddr + "/snapshot"
	var (
		wg                sync.WaitGroup
		full, busy, other atomic.Int64
		stop              = make(chan struct{})
	)
	for range 16 { // slow readers: take the first bytes, then stall
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(url)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			_, _ = io.ReadFull(resp.Body, make([]byte, 1024))
			<-stop
		}()
	}
	for range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(url)
			if err != nil {
				other.Add(1)
				return
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == 200 && n > 10<<20:
				full.Add(1)
			case resp.StatusCode == http.StatusTooManyRequests:
				busy.Add(1)
			default:
				other.Add(1)
			}
		}()
	}
	var peak int64
	for range 50 {
		peak = max(peak, vmRSS(t, pid))
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("RSS before %d MiB, peak under load %d MiB (%.2fx); 24 requests: %d full, %d told to retry, %d other",
		base>>10, peak>>10, float64(peak)/float64(base), full.Load(), busy.Load(), other.Load())
	require.LessOrEqual(t, peak, 2*base, "RSS more than doubled under /snapshot load")
	require.Positive(t, busy.Load(), "nobody was told to retry: no limit")
	// Once the stalled readers hang up, a full document comes through
	// (the slot is freed as the stalled handler's write fails).
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		require.NoError(t, err)
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			require.Greater(t, n, int64(10<<20))
			break
		}
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		require.True(t, time.Now().Before(deadline), "/snapshot stayed busy after every reader left")
		time.Sleep(100 * time.Millisecond)
	}
}

// Item 3: an address that is not loopback is warned about on stderr;
// --metrics-snapshot=false leaves /snapshot off.
func TestMetricsAddrNotLoopbackWarns(t *testing.T) {
	_, stderr, code := runPulltop(t, "headless", "--regions", "4", "--duration", "1s", "--metrics-addr", ":0")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "pulltop: warning: --metrics-addr :0 listens on ")
	require.Contains(t, stderr, "use 127.0.0.1:PORT, or --metrics-snapshot=false")
	_, stderr, code = runPulltop(t, "headless", "--regions", "4", "--duration", "1s", "--metrics-addr", "127.0.0.1:0")
	require.Equal(t, 0, code, stderr)
	require.NotContains(t, stderr, "warning")

	metricsAddr := freePort(t)
	r := startLive(t, "headless", "--regions", "4", "--duration", "30s", "--metrics-addr", metricsAddr, "--metrics-snapshot=false")
	r.waitLine(t, "a status line", 20*time.Second, func(string) bool { return true })
	resp, err := http.Get("http://" + metricsAddr + "/snapshot")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, err = http.Get("http://" + metricsAddr + "/metrics")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
}

// Item 10: PULLTOP_PPROF served profiles on any address without a word.
// Now an empty host means loopback, where it listens is said on stderr,
// and an explicit non-loopback host is warned about.
func TestPprofIsLoopbackAndSaysWhere(t *testing.T) {
	run := func(env string) string {
		cmd := exec.Command(binary, "headless", "--regions", "4", "--duration", "500ms")
		cmd.Env = append(os.Environ(), "PULLTOP_PPROF="+env)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Run(), stderr.String())
		return stderr.String()
	}
	out := run(":0")
	require.Regexp(t, `pulltop: PULLTOP_PPROF: profiles on http://127\.0\.0\.1:\d+/debug/pprof/`, out)
	require.NotContains(t, out, "warning")
	out = run("0.0.0.0:0")
	require.Contains(t, out, "pulltop: warning: PULLTOP_PPROF listens on ")
	require.Contains(t, out, "not only on loopback")
	require.Contains(t, run("nonsense"), `PULLTOP_PPROF="nonsense": want HOST:PORT`)
}
