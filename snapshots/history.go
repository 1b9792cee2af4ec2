package snapshots

import "time"

// History is the incident timeline kept for scrubbing (--history): what the
// console saw over the last minutes, so that an operator (or a teammate
// replaying a saved snapshot) can step back to the moment an incident
// started. It is compact: every region's state, cause, lag and errors are
// kept as deltas between the moments recorded, not as full snapshots.
//
// The Recorder (recorder.go) builds it from the snapshots it observes; a
// Cursor (timeline.go) rebuilds the State at any recorded moment. Live mode
// and replay share both: the UI records what it pulls, headless what it
// prints, and both save the History with their snapshot.
//
// The encoding, per moment (a Frame): the small parts of the State as they
// were (totals, stores, causes, subscriptions, PD), and Deltas, the regions
// whose mark changed since the previous frame, with the old and the new
// value of every field that changed, so the timeline can be walked both
// ways. Base is every region's mark at the newest frame. A mark is what the
// views show of a region: state, cause, since, diagnosis, store, initialized,
// lag, retry attempts and last error. Lag is kept as a model, not sampled
// per frame: "tracking at L ms" (a healthy region, re-recorded only when its
// lag moves beyond a tolerance) or "frozen since T" (a stuck resolved ts,
// whose lag grows with the clock), so 15 minutes at 100k regions fit in a
// few MB.
type History struct {
	// WindowMs is how far back the timeline reaches (--history).
	WindowMs int64 `json:"window_ms"`
	// Regions are the regions the timeline knows; a delta names one by its
	// index here (its slot).
	Regions []HistoryRegion `json:"regions"`
	// States and Causes are the names a mark's state and cause index
	// (index 0: none); Strings the texts its error and diagnosis index
	// (index 0: "").
	States  []string `json:"states"`
	Causes  []string `json:"causes"`
	Strings []string `json:"strings"`
	// StoreIDs are the stores a mark's store index names (index 0: none).
	StoreIDs []uint64 `json:"store_ids"`
	// Base is every region's mark at the newest frame, encoded as deltas
	// from nothing.
	Base []byte `json:"base"`
	// Frames are the recorded moments, oldest first.
	Frames []HistoryFrame `json:"frames"`
}

// HistoryRegion is what never changes about a region.
type HistoryRegion struct {
	Subscription uint64 `json:"sub"`
	ID           uint64 `json:"id"`
	Start        string `json:"start"`
	End          string `json:"end"`
}

// HistoryFrame is one recorded moment: the State's small parts, and the
// region deltas since the previous frame.
type HistoryFrame struct {
	At            time.Time       `json:"at"`
	Seq           uint64          `json:"seq"`
	Source        Source          `json:"source"`
	Totals        Totals          `json:"totals"`
	Progress      Progress        `json:"progress"`
	Subscriptions []Subscription  `json:"subscriptions,omitempty"`
	Stores        []Store         `json:"stores,omitempty"`
	Causes        []CauseRow      `json:"causes,omitempty"`
	EngineError   string          `json:"engine_error,omitempty"`
	Sim           *SimGroundTruth `json:"sim,omitempty"`
	// Deltas are the regions that changed since the previous frame
	// (history_codec.go). The oldest frame has none (a recorder drops
	// them: nothing steps back past it); older files may have them.
	Deltas []byte `json:"deltas,omitempty"`
}
