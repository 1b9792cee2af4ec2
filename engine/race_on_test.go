//go:build race

package engine_test

// raceEnabled: the race detector slows the event loop several-fold, which
// distorts timing measurements (but not correctness checks).
const raceEnabled = true
