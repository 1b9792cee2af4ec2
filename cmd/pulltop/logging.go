package main

import (
	"fmt"
	"os"

	pclog "github.com/pingcap/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// openLogger returns a logger writing to path, or a no-op logger when path is
// empty. It also routes the pd client's global logger (pingcap/log, which
// writes to stdout by default) to the same place: the terminal belongs to
// the UI and to status output, never to logs.
func openLogger(path string) (*zap.Logger, func(), error) {
	var (
		logger *zap.Logger
		core   zapcore.Core
		sync   zapcore.WriteSyncer
		closer = func() {}
	)
	level := zap.NewAtomicLevelAt(zap.InfoLevel)
	if path == "" {
		core = zapcore.NewNopCore()
		sync = zapcore.AddSync(discard{})
	} else {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("--log-file %s: %w", path, err)
		}
		sync = zapcore.Lock(f)
		encCfg := zap.NewProductionEncoderConfig()
		encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
		enc := zapcore.NewConsoleEncoder(encCfg)
		core = zapcore.NewCore(enc, sync, level)
		closer = func() { _ = f.Sync(); _ = f.Close() }
	}
	logger = zap.New(core)
	pclog.ReplaceGlobals(logger.Named("pd-client"), &pclog.ZapProperties{Core: core, Syncer: sync, Level: level})
	return logger, func() { _ = logger.Sync(); closer() }, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
