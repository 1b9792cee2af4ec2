// Package engine is pulltop's change-data puller: the machinery of TiCDC's
// log puller run in-process against a PD address (or the simulated cluster).
// It subscribes spans, locates their regions through PD, opens one
// EventFeedV2 stream per store, locks ranges so each is requested once,
// matches prewrites to commits, tracks resolved ts per region and per
// subscription, and handles every TiKV error through the retry scheduler
// (engine/retry), the range-reload aggregator (engine/reload) and the store
// cooldown (engine/storebackoff). What it sees is published as an immutable
// snapshots.State; the operator steers it through Controller methods.
//
// One goroutine, the event loop, owns all region, subscription and store
// state. Stream workers, PD lookups and retry timers only post messages to
// it. The engine must never import the UI or the simulated cluster, never
// write to the terminal, and never panic on what a cluster sends.
package engine
