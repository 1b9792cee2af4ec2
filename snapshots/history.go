package snapshots

// History is the incident timeline kept for scrubbing (--history): deltas of
// region state and cause and sampled lag, not full snapshots. Its encoding
// and the scrubbing (rebuilding the State at a moment) live in this file.
type History struct {
	// Placeholder until the timeline is built (DESIGN §5, version 2).
}
