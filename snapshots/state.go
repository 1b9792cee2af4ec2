// Package snapshots owns pulltop's view model: the immutable, versioned State
// that the engine publishes, the UI renders, headless mode writes and replay
// mode loads (DESIGN §5). It must never import the engine, the UI or the sim:
// everything here is plain data.
//
// A State is immutable once published: whoever builds one hands it over and
// never touches it again, so readers need no lock.
package snapshots

import (
	"strconv"
	"time"
)

// Version is the JSON format version this build writes. It reads every
// version from MinVersion to Version: version 2 only added fields (causes,
// diagnosis, timeline, recent flushes and retries, store conditions), so a
// version 1 file decodes into the same State with those left empty.
const (
	Version    = 2
	MinVersion = 1
)

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

// Causes: why a region (or a store) is not healthy, decided in the engine
// from the evidence it holds (DESIGN §5, version 2). Every region carries one;
// a healthy region carries CauseHealthy.
const (
	CauseHealthy       = "healthy"
	CauseLock          = "lock"           // resolved ts pinned by an uncommitted transaction seen on the stream
	CauseStoreDown     = "store_down"     // its store's stream failed and does not come back
	CauseStoreStalled  = "store_stalled"  // its store's regions stopped advancing together
	CauseStorePaused   = "store_paused"   // the operator paused its store
	CauseStoreCooling  = "store_cooling"  // its store is in cooldown after failures
	CauseStoreBusy     = "store_busy"     // ServerIsBusy / Congested / RegionNotFound from raftstore
	CausePDUnreachable = "pd_unreachable" // PD does not answer: no lookups, no TSO, resolved ts stops
	CauseRegionChurn   = "region_churn"   // repeated EpochNotMatch / NotLeader: splits, merges, leader moves
	CauseScanPending   = "scan_pending"   // waiting for a scan slot, or in its initial scan
	CauseSilent        = "silent"         // stalled with no evidence of anything above (TiCDC #5096)
	CauseIncompatible  = "incompatible"   // the store cannot serve pulltop (version, protocol)
	CauseStoreSlow     = "store_slow"     // its stream is up but its resolved ts arrives late against PD time and the other stores
	CauseStoreFlapping = "store_flapping" // its stream failed again and again within a short window
	CauseStoreDraining = "store_draining" // PD lists it Offline, or its leaders moved away: being drained, not a crash
	CauseStoreRemoved  = "store_removed"  // PD lists it Tombstone (or no longer lists it): taken out of the cluster
	CauseLagging       = "lagging"        // lag past min(3s, stale-after/2) with nothing else known yet
)

// Causes lists every cause, healthy first, then roughly from the most to the
// least specific evidence.
func Causes() []string {
	return []string{CauseHealthy, CauseLock, CauseStoreDown, CauseStoreStalled, CauseStorePaused,
		CauseStoreCooling, CauseStoreBusy, CausePDUnreachable, CauseRegionChurn, CauseScanPending,
		CauseSilent, CauseIncompatible, CauseStoreSlow, CauseStoreFlapping, CauseStoreDraining, CauseStoreRemoved,
		CauseLagging}
}

// Outcomes of a fired retry (RecentRetry.Outcome).
const (
	OutcomeRelock     = "relock"     // the same region was locked and sent again
	OutcomeReload     = "reload"     // its range went to the reload aggregator
	OutcomeRelocate   = "relocate"   // a failed PD lookup was asked again
	OutcomeSuperseded = "superseded" // the region changed while it waited; nothing was done
)

// Kinds of log entries (State.Log): what happened, for the Events view.
const (
	LogState  = "state"  // a region or store changed condition
	LogStore  = "store"  // a store stream failed or recovered
	LogPD     = "pd"     // PD stopped or started answering
	LogAction = "action" // an operator action
	LogFault  = "fault"  // a fault-script line fired (embedded sim only)
	LogEngine = "engine" // the engine started, changed phase or stopped
	LogRegion = "region" // a region split, merged or moved
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
	// ReasonPDFault: PD answered a region lookup with regions that cannot
	// be right (empty, reversed, duplicated, overlapping, out of order).
	ReasonPDFault = "pd_fault"
	// ReasonRowOutsideRegion: TiKV sent a row whose key lies outside the
	// range of the region it came for; the row is counted, not delivered.
	ReasonRowOutsideRegion = "row_outside_region"
)

// ErrorReasons lists every reason the engine counts an error under
// (Totals.ErrorsByReason); force_reload and stale are reasons for a reload,
// never errors. Exporters list them all from the start, at 0.
func ErrorReasons() []string {
	return []string{ReasonNotLeader, ReasonEpochNotMatch, ReasonRegionNotFound, ReasonServerIsBusy,
		ReasonCongested, ReasonStoreFailure, ReasonRPCCtxUnavailable, ReasonDuplicateRequest, ReasonPDFault,
		ReasonRowOutsideRegion, ReasonUnknown}
}

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

	// Version 2.

	// Progress says what the engine is doing as a whole (locating regions
	// from PD, initial scans, streaming), so the first screen is useful at
	// any cluster size.
	Progress Progress `json:"progress"`
	// Causes has one row per cause that affects at least one region or
	// store, healthy excluded; the Overview's causes board.
	Causes []CauseRow `json:"causes,omitempty"`
	// RecentReloads are the last flushes of the reload aggregator, newest
	// last (bounded, e.g. 256); Reloads only shows what waits right now.
	RecentReloads []RecentReload `json:"recent_reloads,omitempty"`
	// RecentRetries are the last fired retries with their outcome, newest
	// last (bounded, e.g. 256).
	RecentRetries []RecentRetry `json:"recent_retries,omitempty"`
	// Log is what happened, newest last (bounded, e.g. 1000): state
	// changes, store failures and recoveries, PD errors, operator actions,
	// fault-script lines. Events are delivered rows; this is the event log.
	Log []LogEntry `json:"log,omitempty"`
	// History is the timeline kept for scrubbing (--history); nil when not
	// kept. Its encoding lives in history.go.
	History *History `json:"history,omitempty"`

	// Table, when set, holds the regions instead of Regions: a live
	// engine's publish (see RegionTable). Never saved as such: a save
	// writes its rows (WithRows).
	Table RegionTable `json:"-"`
}

// Progress is the engine's phase and its counters.
type Progress struct {
	// Phase is one of PhaseConnecting, PhaseLocating, PhaseScanning,
	// PhaseStreaming, PhaseStopped; empty in version 1 files.
	Phase string `json:"phase,omitempty"`
	// Located counts regions PD has answered for so far; Scanned counts
	// regions whose initial scan finished (initialized at least once).
	Located int `json:"located"`
	Scanned int `json:"scanned"`
	// Detail is one line for the operator, e.g. "locating 340k regions from
	// PD" or "initial scans 120k/1M".
	Detail string `json:"detail,omitempty"`
}

// Engine phases (Progress.Phase).
const (
	PhaseConnecting = "connecting"
	PhaseLocating   = "locating"
	PhaseScanning   = "scanning"
	PhaseStreaming  = "streaming"
	PhaseStopped    = "stopped"
)

// CauseRow is one row of the causes board.
type CauseRow struct {
	Cause   string    `json:"cause"`
	Regions int       `json:"regions"`
	Stores  []uint64  `json:"stores,omitempty"`
	Since   time.Time `json:"since"` // the earliest Since among its regions and stores
	// Example is one affected region's diagnosis; ExampleRegion its id (0
	// when the cause affects only stores).
	Example       string `json:"example,omitempty"`
	ExampleRegion uint64 `json:"example_region,omitempty"`
}

// RecentReload is one flush of the reload aggregator: the spans it
// absorbed and the span it became.
type RecentReload struct {
	At           time.Time `json:"at"`
	Subscription uint64    `json:"subscription"`
	Start        string    `json:"start"` // the merged span
	End          string    `json:"end"`
	Reasons      []string  `json:"reasons"`
	MergedFrom   int       `json:"merged_from"` // requests absorbed
	// Absorbed are the requested spans before merging (possibly capped,
	// MergedFrom is the true count).
	Absorbed []SpanReason `json:"absorbed,omitempty"`
	// Regions is how many regions PD answered for the merged span; -1
	// until the lookup is answered, or when it failed.
	Regions int `json:"regions"`
}

// SpanReason is a key range with why it was asked for.
type SpanReason struct {
	Start  string `json:"start"`
	End    string `json:"end"`
	Reason string `json:"reason"`
}

// RecentRetry is one fired retry and what came of it.
type RecentRetry struct {
	At           time.Time `json:"at"`
	Subscription uint64    `json:"subscription"`
	RegionID     uint64    `json:"region_id"` // 0 for a range retry (a failed PD lookup)
	StoreID      uint64    `json:"store_id,omitempty"`
	Start        string    `json:"start"`
	End          string    `json:"end"`
	Reason       string    `json:"reason"`
	Attempt      int       `json:"attempt"`
	Outcome      string    `json:"outcome"` // Outcome* constants
}

// LogEntry is one line of the event log.
type LogEntry struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"` // Log* constants
	// Subject names what it is about: "region 60", "store 2", "pd".
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text"`
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

	// Version 2.

	// PDErrorSince is when PD stopped answering (zero while healthy);
	// PDLastOK is PD's last good answer.
	PDErrorSince time.Time `json:"pd_error_since,omitempty"`
	PDLastOK     time.Time `json:"pd_last_ok,omitempty"`
	// PDFailuresPerSec is failed PD requests per second over the last minute.
	PDFailuresPerSec float64 `json:"pd_failures_per_sec,omitempty"`
	// ClockSkewMs is PD's clock (from TSO round trips) minus this host's:
	// lag is computed in PD's time, and a skew above 1 s is shown.
	ClockSkewMs int64 `json:"clock_skew_ms,omitempty"`
	// StaleAfterMs is the --stale-after threshold the engine used, so the
	// UI (and a replay) can colour lag against it.
	StaleAfterMs int64 `json:"stale_after_ms,omitempty"`
	// HistoryMs is how far back the timeline goes (--history); 0 when off.
	HistoryMs int64 `json:"history_ms,omitempty"`
	// ScanPriority is the initial-scan priority the engine asks TiKV for
	// on every region request (cdcpb.ScanPriority in lower case: "low",
	// so a console yields to production changefeeds); empty in files
	// written before kvproto 20260724.
	ScanPriority string `json:"scan_priority,omitempty"`
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

	// Version 2.

	// SubLagMs is the worst subscription's resolved-ts lag, the headline
	// number (what a changefeed's checkpoint would lag); SubLagID names it.
	SubLagMs int64  `json:"sub_lag_ms"`
	SubLagID uint64 `json:"sub_lag_id,omitempty"`
	// WorstRegion and WorstStore name the region with the largest lag.
	WorstRegion uint64 `json:"worst_region,omitempty"`
	WorstStore  uint64 `json:"worst_store,omitempty"`
	// ErrorsLastMinute is errors by reason over the last minute, and
	// ErrorStores the stores each reason came from.
	ErrorsLastMinute map[string]int64    `json:"errors_last_minute,omitempty"`
	ErrorStores      map[string][]uint64 `json:"error_stores,omitempty"`
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

	// Version 2.

	// Condition is the store's own cause (Cause* constants: healthy,
	// store_down, store_stalled, store_paused, store_cooling, store_busy,
	// pd_unreachable, incompatible), Since when it began, Diagnosis one line
	// of evidence ("resolved ts stalled since 14:03:07, 22 regions").
	Condition string    `json:"condition,omitempty"`
	Since     time.Time `json:"since,omitempty"`
	Diagnosis string    `json:"diagnosis,omitempty"`
	// Version is the TiKV version PD reports for the store.
	Version string `json:"version,omitempty"`
	// MaxLagMs is the largest lag among its regions; Waiting counts its
	// regions that are not initialized.
	MaxLagMs int64 `json:"max_lag_ms"`
	Waiting  int   `json:"waiting"`
	// LastMsgAt is when its stream last delivered anything (zero: never).
	LastMsgAt time.Time `json:"last_msg_at,omitempty"`
	// LastError and LastErrorAt are its last stream or region error.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitempty"`
	// Suspect: its stream has been quiet for half the suspicion window
	// while it carries regions that should be advancing.
	Suspect bool `json:"suspect,omitempty"`
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

	// Version 2.

	// Cause is why the region is not healthy (Cause* constants; healthy
	// when it is), Since when the current condition began, Diagnosis one
	// line with its evidence ("pinned 25s by txn 4707… holding t101_r146…;
	// no commit or rollback seen").
	Cause     string    `json:"cause,omitempty"`
	Since     time.Time `json:"since,omitempty"`
	Diagnosis string    `json:"diagnosis,omitempty"`
	// LastErrorAt is when LastError happened, so its age can be shown and an
	// error older than the current condition is never read as its cause.
	LastErrorAt time.Time `json:"last_error_at,omitempty"`
	// LastAdvanceAt is when the region's resolved ts last moved; it
	// survives re-registrations of the same range.
	LastAdvanceAt time.Time `json:"last_advance_at,omitempty"`
	// Lineage is where the region came from when it split or merged,
	// newest first ("split from 70 at 00:28:20").
	Lineage []Origin `json:"lineage,omitempty"`
}

// Origin is one step of a region's lineage.
type Origin struct {
	Kind string    `json:"kind"` // OriginSplit | OriginMerge
	From uint64    `json:"from"`
	At   time.Time `json:"at"`
}

// Origin kinds.
const (
	OriginSplit = "split"
	OriginMerge = "merge"
)

// Phrase is the step as words: "split from 70", "merged with 12".
func (o Origin) Phrase() string {
	verb := "split from "
	if o.Kind == OriginMerge {
		verb = "merged with "
	}
	return verb + strconv.FormatUint(o.From, 10)
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
	// StoreID is the store the region was on (0 for a range retry).
	StoreID uint64 `json:"store_id,omitempty"`
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
