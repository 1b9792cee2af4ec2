package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	pclog "github.com/pingcap/log"
	"github.com/stretchr/testify/require"
	pd "github.com/tikv/pd/client"
	"github.com/tikv/pd/client/clients/router"
	"github.com/tikv/pd/client/opt"
	"github.com/tikv/pd/client/pkg/caller"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

var binary string

// TestMain builds the pulltop binary once: these tests run it as a user
// would, as a subprocess.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pulltop-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "pulltop")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("building pulltop: " + err.Error())
	}
	core := zapcore.NewNopCore()
	pclog.ReplaceGlobals(zap.New(core), &pclog.ZapProperties{Core: core, Syncer: zapcore.AddSync(io.Discard), Level: zap.NewAtomicLevel()})
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// runPulltop runs the binary to completion and returns its output and exit
// status.
func runPulltop(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running pulltop %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func TestVersion(t *testing.T) {
	out, _, code := runPulltop(t, "version")
	require.Equal(t, 0, code)
	require.True(t, strings.HasPrefix(out, "pulltop "), out)
}

// What `go install github.com/pulltop/pulltop/cmd/pulltop@v0.3.0` builds
// carries v0.3.0 as the main module's version: that is the version shown.
func TestVersionOfAnInstalledBuild(t *testing.T) {
	info := &debug.BuildInfo{GoVersion: "go1.26.0",
		Main: debug.Module{Path: "github.com/pulltop/pulltop", Version: "v0.3.0"},
		Deps: []*debug.Module{{Path: "github.com/pingcap/kvproto", Version: "v0.0.0-20260724054804-059694ae4472"}}}
	out := versionOf(info, true)
	require.True(t, strings.HasPrefix(out, "pulltop v0.3.0\n"), out)
	require.Contains(t, out, "kvproto    v0.0.0-20260724054804-059694ae4472 (ScanPriority")
	require.Contains(t, out, "pd client  not linked")

	// go build in a checkout without VCS stamping: the toolchain's own word.
	info.Main.Version = "(devel)"
	require.True(t, strings.HasPrefix(versionOf(info, true), "pulltop (devel)\n"), versionOf(info, true))
	// go build in a checkout with VCS stamping (go 1.24+).
	info.Main.Version = "v0.0.0-20261205131407-abc140b5e5ec+dirty"
	require.True(t, strings.HasPrefix(versionOf(info, true), "pulltop v0.0.0-20261205131407-abc140b5e5ec+dirty\n"))
	// Built without module information at all.
	require.True(t, strings.HasPrefix(versionOf(nil, false), "pulltop (devel)\n  (no build information"))

	// A packager's -ldflags "-X main.version=…" wins over the stamp.
	defer func(v string) { version = v }(version)
	version = "v0.3.0-debian1"
	require.True(t, strings.HasPrefix(versionOf(info, true), "pulltop v0.3.0-debian1\n"))
}

func TestBadFlagsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{"sim", "--stores", "0"},
		{"sim", "--regions", "-3"},
		{"sim", "--write-rate", "-1"},
		{"sim", "--no-such-flag"},
		{"sim", "--listen", "nonsense"},
		{"sim", "--pd-lag", "soon"},
	} {
		_, stderr, code := runPulltop(t, args...)
		require.Equal(t, 2, code, "%v: %s", args, stderr)
		require.Contains(t, stderr, "pulltop: ", "%v", args)
		require.NotContains(t, stderr, "panic", "%v", args)
	}
}

func TestSimBadScriptNamesFileAndLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "faults.txt")
	require.NoError(t, os.WriteFile(path, []byte("# ok\nat 1s split region 2\nat 2s explode region 3\n"), 0o644))
	_, stderr, code := runPulltop(t, "sim", "--script", path)
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "faults.txt:3")
	require.Contains(t, stderr, "explode")

	require.NoError(t, os.WriteFile(path, []byte("at 1s split region 999\n"), 0o644))
	_, stderr, code = runPulltop(t, "sim", "--script", path, "--regions", "8")
	require.Equal(t, 2, code, stderr)
	require.Contains(t, stderr, "faults.txt:1")
	require.Contains(t, stderr, "999")

	_, stderr, code = runPulltop(t, "sim", "--script", filepath.Join(t.TempDir(), "missing.txt"))
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "missing.txt")
}

func TestSimListenPortTaken(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer lis.Close()
	_, stderr, code := runPulltop(t, "sim", "--listen", lis.Addr().String())
	require.Equal(t, 2, code, stderr)
	require.Contains(t, stderr, lis.Addr().String())
	require.Contains(t, stderr, "already in use")
}

// The real pd client, with default options, against a `pulltop sim`
// subprocess: strictly increasing TSOs, regions covering the whole keyspace,
// every store; then Ctrl-C ends it with status 0.
func TestSimSubprocessServesRealPDClient(t *testing.T) {
	cmd := exec.Command(binary, "sim", "--stores", "3", "--regions", "50", "--write-rate", "200")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill() }()
	lines := bufio.NewScanner(stdout)
	require.True(t, lines.Scan(), "no output from pulltop sim")
	first := lines.Text()
	require.True(t, strings.HasPrefix(first, "pd: 127.0.0.1:"), "first line %q", first)
	addr := strings.TrimPrefix(first, "pd: ")
	go func() { _, _ = io.Copy(io.Discard, stdout) }()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, err := pd.NewClientWithContext(context.Background(), caller.TestComponent, []string{addr}, pd.SecurityOption{},
		opt.WithEnableRouterClient(false)) // as the engine: single-region lookups by unary RPC, not the QueryRegion stream
	require.NoError(t, err)
	var last uint64
	for i := 0; i < 100; i++ {
		p, l, err := client.GetTS(ctx)
		require.NoError(t, err)
		ts := uint64(p)<<18 | uint64(l)
		require.Greater(t, ts, last)
		last = ts
	}
	var next []byte
	count := 0
	for done := false; !done; {
		batch, err := client.BatchScanRegions(ctx, []router.KeyRange{{StartKey: next}}, 16)
		require.NoError(t, err)
		require.NotEmpty(t, batch)
		for _, r := range batch {
			require.Equal(t, next, r.Meta.StartKey, "hole before region %d", r.Meta.Id)
			next, count = r.Meta.EndKey, count+1
			if len(next) == 0 {
				done = true
				break
			}
		}
	}
	require.Equal(t, 50, count)
	stores, err := client.GetAllStores(ctx)
	require.NoError(t, err)
	require.Len(t, stores, 3)
	client.Close()

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), "pulltop sim must exit 0 on Ctrl-C")
}
