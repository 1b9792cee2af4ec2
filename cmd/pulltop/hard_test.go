package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
)

// Issue 15: every usage mistake is found before anything starts (no 8 s
// wait on a PD that cannot be right), said in one line naming the flag,
// with exit status 2.
func TestUsageMistakesExitTwoAtOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	many := strings.TrimSuffix(strings.Repeat("127.0.0.1:2379,", 200), ",")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command bogus for pulltop (commands:`},
		{[]string{"headless", "--duration", "1s", "extra"}, "pulltop headless takes no arguments, got extra"},
		{[]string{"version", "now"}, "pulltop version takes no arguments"},
		{[]string{"headless", "--duration", "1s", "--pd", ""}, "--pd is empty"},
		{[]string{"--pd", ""}, "--pd is empty"},
		{[]string{"headless", "--duration", "1s", "--pd", "127.0.0.1:abc"}, "--pd 127.0.0.1:abc: port abc is not a number"},
		{[]string{"headless", "--duration", "1s", "--pd", ":99999"}, "--pd :99999: no host"},
		{[]string{"headless", "--duration", "1s", "--pd", "127.0.0.1:99999"}, "port 99999 is out of range (1-65535)"},
		{[]string{"headless", "--duration", "1s", "--pd", " 127.0.0.1:2379"}, `--pd " 127.0.0.1:2379": has spaces`},
		{[]string{"headless", "--duration", "1s", "--pd", "::1:2379"}, "an IPv6 address needs brackets: [::1]:2379"},
		{[]string{"headless", "--duration", "1s", "--pd", "https://127.0.0.1:2379"}, "https:// needs --ca, --cert and --key"},
		{[]string{"headless", "--duration", "1s", "--pd", many}, "--pd has 200 addresses; give at most 16"},
		{[]string{"headless", "--duration", "1s", "--sink", dir}, "is a directory; name a file"},
		{[]string{"headless", "--duration", "1s", "--sink", filepath.Join(dir, "no", "rows.jsonl")}, "does not exist"},
		{[]string{"headless", "--duration", "1s", "--snapshot", dir}, "is a directory"},
		{[]string{"headless", "--duration", "1s", "--snapshot", filepath.Join(file, "s.json")}, "not a directory"},
		{[]string{"headless", "--duration", "1s", "--snapshot", filepath.Join(dir, "x.json"), "--sink", filepath.Join(dir, "x.json")},
			"--snapshot and --sink are the same file"},
		{[]string{"sim", "--listen", "127.0.0.1:99999"}, "--listen 127.0.0.1:99999: port 99999 is out of range"},
		{[]string{"sim", "--listen", "127.0.0.1:http"}, "port http is not a number"},
	}
	for _, c := range cases {
		start := time.Now()
		_, stderr, code := runPulltop(t, c.args...)
		require.Equal(t, 2, code, "%q: %s", c.args, stderr)
		require.Contains(t, stderr, c.want, "%q", c.args)
		require.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
		require.Less(t, len(stderr), 400, "%q: %s", c.args, stderr)
		require.Less(t, time.Since(start), 5*time.Second, "%q: found at once, not after connecting", c.args)
	}
}

// pd-ctl's habit, http://host:port, is accepted.
func TestPDAddressAsURL(t *testing.T) {
	t.Parallel()
	s, err := sim.Start(sim.Config{Stores: 1, Regions: 4})
	require.NoError(t, err)
	defer s.Close()
	out, stderr, code := runPulltop(t, "headless", "--duration", "1s", "--pd", "http://"+s.PDAddr()+"/")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "regions=4")
	require.Contains(t, stderr, "connecting to PD "+s.PDAddr())
	require.NotContains(t, stderr, "embedded")
}

// Without --pd, headless says on stderr that the numbers are a simulated
// cluster's; fault-script lines that fail at run time are reported there
// too (they used to vanish).
func TestHeadlessSaysEmbeddedSimAndFaultFailures(t *testing.T) {
	t.Parallel()
	script := filepath.Join(t.TempDir(), "faults.txt")
	require.NoError(t, os.WriteFile(script, []byte("at 200ms split region 5 into 100000000\n"), 0o600))
	_, stderr, code := runPulltop(t, "headless", "--duration", "2s", "--script", script)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "pulltop: no --pd: watching the embedded simulated cluster (PD 127.0.0.1:")
	require.Contains(t, stderr, "pulltop: --script: fault failed: line 1 (split region 5 into 100000000)")
}

// A 1 MB script line is not echoed whole.
func TestLongScriptLineIsNotEchoed(t *testing.T) {
	t.Parallel()
	script := filepath.Join(t.TempDir(), "faults.txt")
	require.NoError(t, os.WriteFile(script, []byte("at 1s "+strings.Repeat("x", 1<<20-100)+"\n") /* under the 1 MiB script cap */, 0o600))
	_, stderr, code := runPulltop(t, "headless", "--duration", "1s", "--script", script)
	require.Equal(t, 2, code, stderr[:min(len(stderr), 300)])
	require.Contains(t, stderr, "faults.txt:1")
	require.Less(t, len(stderr), maxErrorLen+200)
}

// --interval longer than --duration: the run ends at --duration with one
// line (it used to run a whole interval).
func TestHeadlessIntervalLongerThanDuration(t *testing.T) {
	t.Parallel()
	start := time.Now()
	out, stderr, code := runPulltop(t, "headless", "--duration", "2s", "--interval", "1h", "--regions", "8")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 1, out)
	require.True(t, strings.HasPrefix(lines[0], "t=2s "), lines[0])
	require.Less(t, time.Since(start), 12*time.Second)
}

// At a write rate far beyond what the machine can take, the run still ends
// at --duration (plus the snapshot write).
func TestHeadlessDurationHoldsUnderLoad(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.json")
	start := time.Now()
	out, stderr, code := runPulltop(t, "headless", "--duration", "3s", "--regions", "256", "--write-rate", "200000", "--snapshot", path)
	took := time.Since(start)
	require.Equal(t, 0, code, stderr)
	require.Less(t, took, 3*time.Second+refreshWait+sinkFlushWait+5*time.Second, out)
	_, err := snapshots.Load(path)
	require.NoError(t, err)
}

// startHeadless runs headless in the background and returns after its
// first status line.
func startHeadless(t *testing.T, args ...string) (cmd *exec.Cmd, out *bytes.Buffer, errb *bytes.Buffer) {
	t.Helper()
	cmd = exec.Command(binary, append([]string{"headless"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	errb = &bytes.Buffer{}
	cmd.Stderr = errb
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	out = &bytes.Buffer{}
	lines := bufio.NewScanner(stdout)
	require.True(t, lines.Scan(), "no status line; stderr: %s", errb)
	out.WriteString(lines.Text() + "\n")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for lines.Scan() {
			out.WriteString(lines.Text() + "\n")
		}
	}()
	t.Cleanup(func() { <-done })
	return cmd, out, errb
}

// SIGINT, SIGTERM and SIGHUP end headless with 130, 143 and 129, a last status line
// saying so, and the snapshot written: an interrupted run must not look
// like a complete one.
func TestHeadlessInterruptedExitsWithSignalStatus(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		sig  syscall.Signal
		name string
		code int
	}{{syscall.SIGINT, "SIGINT", 130}, {syscall.SIGTERM, "SIGTERM", 143}, {syscall.SIGHUP, "SIGHUP", 129}} {
		path := filepath.Join(t.TempDir(), "s.json")
		cmd, out, errb := startHeadless(t, "--duration", "1h", "--interval", "500ms", "--regions", "8", "--snapshot", path)
		require.NoError(t, cmd.Process.Signal(c.sig))
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee)
			require.Equal(t, c.code, ee.ExitCode(), errb.String())
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: headless did not exit", c.name)
		}
		require.Eventually(t, func() bool { return strings.Contains(out.String(), "interrupted="+c.name) }, 5*time.Second, 10*time.Millisecond,
			"a last line saying %s: %s", c.name, out)
		require.Contains(t, errb.String(), "interrupted by "+c.name+" after ")
		require.Contains(t, errb.String(), "snapshot written to "+path)
		_, err := snapshots.Load(path)
		require.NoError(t, err)
		left, err := filepath.Glob(filepath.Join(filepath.Dir(path), ".*"))
		require.NoError(t, err)
		require.Empty(t, left, "no temp file of the save is left")
	}
}

func mkfifo(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rows.fifo")
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	return path
}

// --sink FIFO with no reader: exit 1 within seconds naming the file (it
// used to block in open(2) before signals were handled).
func TestHeadlessSinkFIFOWithNoReader(t *testing.T) {
	t.Parallel()
	fifo := mkfifo(t)
	start := time.Now()
	_, stderr, code := runPulltop(t, "headless", "--duration", "30s", "--regions", "4", "--sink", fifo)
	require.Equal(t, 1, code, stderr)
	require.Contains(t, stderr, "--sink "+fifo+": no process opened the named pipe for reading")
	require.Less(t, time.Since(start), 15*time.Second)
}

// A reader that stops: the run ends with exit 1 and an error naming the
// file and the rows not written, long before --duration; the status lines
// and the snapshot still come (the event loop never waited for the pipe).
func TestHeadlessSinkStalledReader(t *testing.T) {
	t.Parallel()
	fifo := mkfifo(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			return
		}
		defer f.Close()
		_, _ = bufio.NewReader(f).ReadString('\n') // one row, then nothing
		<-ctx.Done()
	}()
	path := filepath.Join(t.TempDir(), "s.json")
	start := time.Now()
	out, stderr, code := runPulltop(t, "headless", "--duration", "5m", "--regions", "8", "--write-rate", "3000",
		"--sink", fifo, "--snapshot", path)
	require.Equal(t, 1, code, stderr)
	require.Less(t, time.Since(start), 30*time.Second)
	require.Contains(t, stderr, "engine stopped: --sink "+fifo+": the reader has not read anything for 10s")
	require.Contains(t, stderr, "rows not written")
	require.Contains(t, out, `engine_error="--sink `+fifo)
	st, err := snapshots.Load(path)
	require.NoError(t, err)
	require.Contains(t, st.EngineError, "--sink "+fifo)
}
