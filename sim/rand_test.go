package sim

import (
	"io"
	"math/rand"

	pclog "github.com/pingcap/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func newTestRand(seed int64) *rand.Rand { return rand.New(rand.NewSource(seed)) }

// quietPDClientLog sends the pd client's global logger (stdout by default)
// to nowhere, so test output stays readable.
func quietPDClientLog() {
	core := zapcore.NewNopCore()
	pclog.ReplaceGlobals(zap.New(core), &pclog.ZapProperties{Core: core, Syncer: zapcore.AddSync(io.Discard), Level: zap.NewAtomicLevel()})
}
