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
// The engine's region records are its region cache: a NotLeader with a
// leader hint updates the record's leader in place and the region is retried
// on the new store; EpochNotMatch, RegionNotFound, a NotLeader without a
// usable hint and a store failure drop what the record knew and reload the
// range from PD (BatchScanRegions), through the reload aggregator so that a
// burst of errors becomes a few merged scans. Store addresses are cached by
// the locator.
//
// One goroutine, the event loop, owns all region, subscription and store
// state. Stream workers, PD lookups and retry timers only post messages to
// it. The engine must never import the UI or the simulated cluster, never
// write to the terminal, and never panic on what a cluster sends.
package engine
