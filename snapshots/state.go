// Package snapshots owns pulltop's view model: the immutable, versioned State
// that the engine publishes, the UI renders, headless mode writes and replay
// mode loads (DESIGN §5). It must never import the engine, the UI or the sim:
// everything here is plain data.
//
// A State is immutable once published: whoever builds one hands it over and
// never touches it again, so readers need no lock.
package snapshots

import "time"

// Version is the JSON format version this build reads and writes.
const Version = 1

// Region states shown to the operator (DESIGN §4).
const (
	StateQueued      = "queued"      // waiting for the range lock or the scheduler
	StateLocating    = "locating"    // PD lookup in flight
	StateParked      = "parked"      // store cooling down or paused by the operator
	StateRequested   = "requested"   // request sent, incremental scan running
	StateInitialized = "initialized" // streaming, resolved ts advancing
	StateRetryWait   = "retry-wait"  // waiting in the retry heap
	StateReloadWait  = "reload-wait" // waiting in the reload aggregator
	StateStale       = "stale"       // initialized, but resolved ts stuck for the stale threshold
)

// Store states.
const (
	StoreUp       = "up"
	StoreCooldown = "cooldown"
	StorePaused   = "paused"
	StoreDown     = "down"
)

// Error reasons, the keys of Totals.ErrorsByReason and RetryRow.Reason.
const (
	ReasonNotLeader         = "not_leader"
	ReasonEpochNotMatch     = "epoch_not_match"
	ReasonRegionNotFound    = "region_not_found"
	ReasonServerIsBusy      = "server_is_busy"
	ReasonCongested         = "congested"
	ReasonStoreFailure      = "store_failure"
	ReasonRPCCtxUnavailable = "rpc_ctx_unavailable"
	ReasonDuplicateRequest  = "duplicate_request"
	ReasonUnknown           = "unknown"
	ReasonForceReload       = "force_reload"
	ReasonStale             = "stale"
)

// State is one published view of the engine.
type State struct {
	Version       int              `json:"version"`
	TakenAt       time.Time        `json:"taken_at"`
	Source        Source           `json:"source"`
	Totals        Totals           `json:"totals"`
	Subscriptions []Subscription   `json:"subscriptions"`
	Stores        []Store          `json:"stores"`
	Regions       []Region         `json:"regions"`
	Retries       []Retry          `json:"retries"`
	Reloads       []Reload         `json:"reloads"`
	Actions       []Action         `json:"actions"`
	Events        []Event          `json:"events,omitempty"`
	Sim           *SimGroundTruth  `json:"sim,omitempty"`
	EngineError   string           `json:"engine_error,omitempty"`
	Seq           uint64           `json:"seq"`
	Extra         map[string]int64 `json:"extra,omitempty"`
}

// Source says where the data came from.
type Source struct {
	PD          []string `json:"pd"`
	ClusterID   uint64   `json:"cluster_id"`
	EmbeddedSim bool     `json:"embedded_sim"`
	// PDError is why PD did not answer the engine's last request; empty
	// while PD is healthy. The engine keeps streaming from the stores
	// while PD is away; only region lookups wait.
	PDError string `json:"pd_error,omitempty"`
}

// Totals are the cluster-wide counters shown on the Overview.
type Totals struct {
	Regions           int              `json:"regions"`
	Initialized       int              `json:"initialized"`
	Stale             int              `json:"stale"`
	Events            uint64           `json:"events"`
	EventsPerSec      float64          `json:"events_per_sec"`
	ResolvedLagMaxMs  int64            `json:"resolved_lag_max_ms"`
	ErrorsByReason    map[string]int64 `json:"errors_by_reason"`
	RetriesFired      uint64           `json:"retries_fired"`
	ReloadsFlushed    uint64           `json:"reloads_flushed"`
	ReloadSpansMerged uint64           `json:"reload_spans_merged"`
	RegionRequests    uint64           `json:"region_requests"`
}

// Subscription is one subscribed span.
type Subscription struct {
	ID            uint64 `json:"id"`
	Start         string `json:"start"` // lowercase hex of the memcomparable key
	End           string `json:"end"`
	ResolvedTs    uint64 `json:"resolved_ts"`
	ResolvedLagMs int64  `json:"resolved_lag_ms"`
	Initialized   bool   `json:"initialized"`
	Events        uint64 `json:"events"`
}

// Store is one TiKV store as the engine sees it.
type Store struct {
	ID             uint64 `json:"id"`
	Addr           string `json:"addr"`
	State          string `json:"state"`
	CooldownMsLeft int64  `json:"cooldown_ms_left"`
	Failures       int    `json:"failures"`
	Streams        int    `json:"streams"`
	Regions        int    `json:"regions"`
}

// Region is one subscribed region (or region part, when a subscription cuts it).
type Region struct {
	ID            uint64 `json:"id"`
	Subscription  uint64 `json:"subscription"`
	Start         string `json:"start"`
	End           string `json:"end"`
	StoreID       uint64 `json:"store_id"`
	LeaderPeer    uint64 `json:"leader_peer"`
	EpochVersion  uint64 `json:"epoch_version"`
	EpochConfVer  uint64 `json:"epoch_conf_ver"`
	State         string `json:"state"`
	Initialized   bool   `json:"initialized"`
	ResolvedTs    uint64 `json:"resolved_ts"`
	ResolvedLagMs int64  `json:"resolved_lag_ms"`
	Events        uint64 `json:"events"`
	LastError     string `json:"last_error"`
	RetryAttempts int    `json:"retry_attempts"`
}

// Retry is one entry waiting in the retry heap.
type Retry struct {
	Subscription uint64 `json:"subscription"`
	RegionID     uint64 `json:"region_id"`
	Start        string `json:"start"`
	End          string `json:"end"`
	Reason       string `json:"reason"`
	Attempt      int    `json:"attempt"`
	DueInMs      int64  `json:"due_in_ms"`
}

// Reload is one merged span waiting in the reload aggregator.
type Reload struct {
	Subscription uint64 `json:"subscription"`
	Start        string `json:"start"`
	End          string `json:"end"`
	Reason       string `json:"reason"`
	MergedFrom   int    `json:"merged_from"`
	QueuedMsAgo  int64  `json:"queued_ms_ago"`
}

// Action is one operator action and what came of it.
type Action struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Result string    `json:"result"`
}

// Event is one delivered row, for the recent-events view.
type Event struct {
	Subscription uint64 `json:"subscription"`
	RegionID     uint64 `json:"region_id"`
	Op           string `json:"op"` // put | delete
	Key          string `json:"key"`
	StartTs      uint64 `json:"start_ts"`
	CommitTs     uint64 `json:"commit_ts"`
	ValueLen     int    `json:"value_len"`
}

// SimGroundTruth is present only with the embedded simulated cluster.
type SimGroundTruth struct {
	CommittedRows uint64 `json:"committed_rows"`
	MissingRows   uint64 `json:"missing_rows"`
}
