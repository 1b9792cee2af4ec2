package engine_test

import (
	"io"
	"testing"

	pclog "github.com/pingcap/log"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func TestMain(m *testing.M) {
	// The pd client logs through pingcap/log's global logger, which writes
	// to stdout by default.
	core := zapcore.NewNopCore()
	pclog.ReplaceGlobals(zap.New(core), &pclog.ZapProperties{Core: core, Syncer: zapcore.AddSync(io.Discard), Level: zap.NewAtomicLevel()})
	goleak.VerifyTestMain(m)
}
