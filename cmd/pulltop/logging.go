package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	pclog "github.com/pingcap/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zapgrpc"
	"google.golang.org/grpc/grpclog"

	"github.com/pulltop/pulltop/snapshots"
)

// logSink is the logger's file and what went wrong with it. zap reports
// its own write failures on stderr by default, which would write over the
// TUI (--log-file /dev/full); here they are counted instead and reported
// once the terminal is ours again.
type logSink struct {
	path     string
	failures atomic.Int64
	first    atomic.Pointer[string]
}

func (l *logSink) Write(p []byte) (int, error) {
	if l.failures.Add(1) == 1 {
		msg := snapshots.CleanString(string(p))
		l.first.Store(&msg)
	}
	return len(p), nil
}

func (l *logSink) Sync() error { return nil }

// problem says what went wrong with the log file, "" when nothing did.
func (l *logSink) problem() string {
	n := l.failures.Load()
	if n == 0 || l.path == "" { // no log file: zap's complaints about a no-op core are no loss
		return ""
	}
	if n == 0 {
		return ""
	}
	first := ""
	if p := l.first.Load(); p != nil {
		first = *p
	}
	return fmt.Sprintf("--log-file %s: %d log writes failed; first: %s", l.path, n, oneLine(first, 300))
}

// openLogger returns a logger writing to path, or a no-op logger when path is
// empty. It also routes the pd client's global logger (pingcap/log, which
// writes to stdout by default) and gRPC's (stderr by default) to the same
// place: the terminal belongs to the UI and to status output, never to logs.
func openLogger(path string) (*zap.Logger, *logSink, func(), error) {
	var (
		core   zapcore.Core
		sync   zapcore.WriteSyncer
		closer = func() {}
	)
	sink := &logSink{path: path}
	level := zap.NewAtomicLevelAt(zap.InfoLevel)
	if path == "" {
		core = zapcore.NewNopCore()
		sync = zapcore.AddSync(discard{})
	} else {
		// Logs name the cluster's addresses and the operator's actions.
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("--log-file %s: %w", path, err)
		}
		sync = zapcore.Lock(f)
		encCfg := zap.NewProductionEncoderConfig()
		encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
		enc := zapcore.NewConsoleEncoder(encCfg)
		core = zapcore.NewCore(enc, sync, level)
		closer = func() { _ = f.Sync(); _ = f.Close() }
	}
	logger := zap.New(core, zap.ErrorOutput(sink))
	pclog.ReplaceGlobals(logger.Named("pd-client"), &pclog.ZapProperties{Core: core, Syncer: sync, Level: level})
	// gRPC logs at warning and above only: its info lines are per-connection
	// chatter.
	grpclog.SetLoggerV2(zapgrpc.NewLogger(logger.Named("grpc").WithOptions(zap.IncreaseLevel(zap.WarnLevel))))
	return logger, sink, func() { _ = logger.Sync(); closer() }, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// stateDir is where the TUI keeps its log and ctrl+s snapshots:
// snapshots.DefaultDir, or, when that cannot be written (an unwritable or
// missing HOME), a private directory under the system's temp dir, with a
// notice saying so. It is created 0700.
func stateDir() (dir, notice string) {
	want, err := snapshots.DefaultDir()
	if err == nil {
		if err = ensurePrivateDir(want); err == nil {
			return want, ""
		}
	}
	fallback := filepath.Join(os.TempDir(), "pulltop-"+strconv.Itoa(os.Getuid()))
	if ferr := ensurePrivateDir(fallback); ferr != nil {
		return "", fmt.Sprintf("no state directory (%v; %s: %v): no log file, and ctrl+s cannot save", err, fallback, ferr)
	}
	return fallback, fmt.Sprintf("cannot use the state directory (%v); logs and ctrl+s snapshots go to %s", err, fallback)
}

// ensurePrivateDir creates dir 0700, makes an existing one private, and
// checks that files can be made in it.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}
