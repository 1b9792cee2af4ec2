// Package metrics exports what pulltop sees as Prometheus metrics
// (DESIGN §10), for the dashboards operators keep next to TiCDC's, TiKV's
// and PD's.
//
// Every value comes from the engine's published snapshot (snapshots.State),
// read when Prometheus scrapes: this package never instruments the engine,
// so the engine's hot loop pays nothing for it, and the metrics say exactly
// what the TUI and the headless status line say. The per-region aggregates
// (regions by state and cause, the lag histogram) are computed once per
// snapshot, however many scrapers ask; a scrape at 100k regions costs one
// pass over the regions (BenchmarkScrape).
package metrics

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulltop/pulltop/snapshots"
)

// Source is what the collector reads: the engine, or anything that hands
// out published snapshots. Snapshot must not block and may return nil
// before the first snapshot.
type Source interface {
	Snapshot() *snapshots.State
}

// LagBuckets are the upper bounds, in seconds, of pulltop_resolved_lag_seconds:
// from a healthy region's sub-second lag to an hour-long stall.
var LagBuckets = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}

// Collector is a prometheus.Collector over a Source's latest snapshot.
// Collect may be called by concurrent scrapes; mu guards the cache.
type Collector struct {
	src Source

	regions, lag, lagMax, errors, retriesFired, reloadsFlushed, spansMerged,
	regionRequests, storeState, storeCondition, storeRegions, storeLagMax, events, causes,
	retriesWaiting, reloadsWaiting, subLag, pdUp, snapshotTime, snapshotSeq, engineUp *prometheus.Desc

	mu     sync.Mutex
	cached *snapshots.State // the snapshot agg was computed from
	agg    aggregates
}

// aggregates are the per-region sums of one snapshot.
type aggregates struct {
	states  tally              // regions by state
	causes  tally              // regions by cause
	buckets map[float64]uint64 // cumulative, per LagBuckets
	lagSum  float64            // seconds
}

// tally counts regions by a label value: the known values (a fixed list,
// exported even at 0) in a slice, others (a newer engine's) in a map. Its
// regions come in key order, where runs of one value are common, so the
// last value's slot is reused without a lookup: a pass over a million
// regions does no hashing.
type tally struct {
	known   []string
	counts  []int
	other   map[string]int
	last    string
	lastIdx int
}

func newTally(known []string) tally {
	return tally{known: known, counts: make([]int, len(known)), lastIdx: -1}
}

func (t *tally) add(v string) {
	if v != t.last || t.lastIdx < 0 {
		t.last, t.lastIdx = v, slices.Index(t.known, v)
	}
	if t.lastIdx >= 0 {
		t.counts[t.lastIdx]++
		return
	}
	if t.other == nil {
		t.other = map[string]int{}
	}
	t.other[v]++
}

// count is the tally of one value.
func (t tally) count(v string) int {
	if i := slices.Index(t.known, v); i >= 0 {
		return t.counts[i]
	}
	return t.other[v]
}

// each calls fn for every known value, then the others in order.
func (t *tally) each(fn func(v string, n int)) {
	for i, v := range t.known {
		fn(v, t.counts[i])
	}
	for _, v := range sortedKeys(t.other) {
		fn(v, t.other[v])
	}
}

// NewCollector returns the collector of src's snapshots.
//
// Every label value pulltop knows (region states, causes, error reasons,
// store states and conditions) is exported from the first scrape, at 0
// until it happens, so rate() and alerts work before the first error.
// Help strings say what a value means and where to look next.
func NewCollector(src Source) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &Collector{
		src: src,
		regions: d("pulltop_regions", "Subscribed regions by state (queued, locating, parked, requested, "+
			"initialized, retry-wait, reload-wait, stale). Regions not initialized or stale for minutes: "+
			"pulltop_causes says why; the TUI's Regions view lists them.", "state"),
		lag: d("pulltop_resolved_lag_seconds", "Resolved-ts lag of the subscribed regions: how far each "+
			"region's resolved ts is behind now, one observation per region per snapshot. A tail past "+
			"the stale threshold: look at pulltop_causes and the TUI's Regions view sorted by LAG."),
		lagMax: d("pulltop_resolved_lag_max_seconds", "The largest resolved-ts lag over the subscriptions "+
			"and their regions. A changefeed over these spans would lag at least this much; if it keeps "+
			"growing, pulltop_causes names the cause."),
		errors: d("pulltop_region_errors_total", "Region errors the engine met, by reason (not_leader, "+
			"epoch_not_match, region_not_found, server_is_busy, congested, store_failure, "+
			"rpc_ctx_unavailable, duplicate_request, pd_fault, row_outside_region, unknown). A burst of not_leader/epoch_not_match is "+
			"region churn (splits, leader moves); server_is_busy/congested is a loaded TiKV; "+
			"store_failure is a store's stream failing: see pulltop_store_state.", "reason"),
		retriesFired: d("pulltop_retries_fired_total", "Retries the retry scheduler fired. A high rate with "+
			"regions not initializing is a retry storm: check pulltop_region_errors_total by reason."),
		reloadsFlushed: d("pulltop_reloads_flushed_total",
			"Merged spans the range-reload aggregator flushed (each is a PD lookup). A high rate follows "+
				"splits, merges and store failures; it should fall back to 0 once they stop."),
		spansMerged: d("pulltop_reload_spans_merged_total",
			"Reload requests absorbed into another span by merging (PD lookups saved)."),
		regionRequests: d("pulltop_region_requests_total", "Region requests (initial scans) sent to stores. "+
			"Well above the region count means regions keep re-registering: check the error reasons."),
		storeState: d("pulltop_store_state", "1 for each store's current state (up, cooldown, paused, "+
			"down), 0 for the others. A store down or in cooldown for minutes: check that TiKV; a "+
			"paused one was paused by an operator (P in the TUI resumes it).", "store", "state"),
		storeCondition: d("pulltop_store_condition", "1 for each store's condition as diagnosed (healthy, "+
			"store_down, store_stalled, store_flapping, ...), 0 for the other known ones. The TUI's Stores "+
			"view shows the evidence.", "store", "condition"),
		storeRegions: d("pulltop_store_regions", "Subscribed regions whose leader is on the store.", "store"),
		storeLagMax: d("pulltop_store_resolved_lag_max_seconds", "The largest resolved-ts lag among the "+
			"store's regions: one store far above the others is that store's problem.", "store"),
		events: d("pulltop_events_total", "Row events delivered."),
		causes: d("pulltop_causes", "Regions by the cause the engine decided for them (healthy, lock, "+
			"store_down, ...), every known cause listed, 0 when none. Anything but healthy for minutes: "+
			"the TUI's Overview causes board has one example diagnosis per cause.", "cause"),
		retriesWaiting: d("pulltop_retries_waiting", "Retries waiting in the scheduler's heap."),
		reloadsWaiting: d("pulltop_reloads_waiting", "Spans waiting in the range-reload aggregator."),
		subLag: d("pulltop_subscription_resolved_lag_seconds", "Resolved-ts lag of each subscription: "+
			"what a changefeed over that span would lag.", "subscription"),
		pdUp: d("pulltop_pd_up", "1 while PD answers the engine, 0 while it does not: region lookups "+
			"wait and resolved ts stops advancing. Check PD's own health (pd-ctl, PD's dashboard)."),
		snapshotTime: d("pulltop_snapshot_timestamp_seconds",
			"When the snapshot these metrics come from was taken (Unix time). Far behind time(): the "+
				"engine is too busy to publish (see the README's performance table)."),
		snapshotSeq: d("pulltop_snapshot_seq", "Sequence number of the snapshot these metrics come from."),
		engineUp: d("pulltop_engine_up", "1 while the engine runs, 0 once it stopped with an error "+
			"(the headless output and the log say which); restart pulltop after fixing it."),
	}
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.regions, c.lag, c.lagMax, c.errors, c.retriesFired,
		c.reloadsFlushed, c.spansMerged, c.regionRequests, c.storeState, c.storeCondition, c.storeRegions,
		c.storeLagMax, c.events, c.causes, c.retriesWaiting, c.reloadsWaiting, c.subLag, c.pdUp,
		c.snapshotTime, c.snapshotSeq, c.engineUp} {
		ch <- d
	}
}

// Collect sends the metrics of the source's latest snapshot; nothing
// before the first one.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Snapshot()
	if st == nil {
		return
	}
	agg := c.aggregatesOf(st)

	send := func(desc *prometheus.Desc, kind prometheus.ValueType, v float64, labels ...string) {
		m, err := prometheus.NewConstMetric(desc, kind, v, labels...)
		if err != nil {
			m = prometheus.NewInvalidMetric(desc, err)
		}
		ch <- m
	}
	agg.states.each(func(state string, n int) { send(c.regions, prometheus.GaugeValue, float64(n), state) })
	h, err := prometheus.NewConstHistogram(c.lag, uint64(st.NumRegions()), agg.lagSum, agg.buckets)
	if err != nil {
		h = prometheus.NewInvalidMetric(c.lag, err)
	}
	ch <- h
	send(c.lagMax, prometheus.GaugeValue, seconds(st.Totals.ResolvedLagMaxMs))
	reasons := snapshots.ErrorReasons()
	for _, reason := range reasons {
		send(c.errors, prometheus.CounterValue, float64(st.Totals.ErrorsByReason[reason]), reason)
	}
	for _, reason := range sortedKeys(st.Totals.ErrorsByReason) {
		if !slices.Contains(reasons, reason) {
			send(c.errors, prometheus.CounterValue, float64(st.Totals.ErrorsByReason[reason]), reason)
		}
	}
	send(c.retriesFired, prometheus.CounterValue, float64(st.Totals.RetriesFired))
	send(c.reloadsFlushed, prometheus.CounterValue, float64(st.Totals.ReloadsFlushed))
	send(c.spansMerged, prometheus.CounterValue, float64(st.Totals.ReloadSpansMerged))
	send(c.regionRequests, prometheus.CounterValue, float64(st.Totals.RegionRequests))
	send(c.events, prometheus.CounterValue, float64(st.Totals.Events))
	storeStates, causes := snapshots.StoreStates(), snapshots.Causes()
	for _, store := range st.Stores {
		id := strconv.FormatUint(store.ID, 10)
		oneOf(send, c.storeState, id, store.State, storeStates)
		oneOf(send, c.storeCondition, id, store.Condition, causes)
		send(c.storeRegions, prometheus.GaugeValue, float64(store.Regions), id)
		send(c.storeLagMax, prometheus.GaugeValue, seconds(store.MaxLagMs), id)
	}
	agg.causes.each(func(cause string, n int) { send(c.causes, prometheus.GaugeValue, float64(n), cause) })
	send(c.retriesWaiting, prometheus.GaugeValue, float64(len(st.Retries)))
	send(c.reloadsWaiting, prometheus.GaugeValue, float64(len(st.Reloads)))
	for _, sub := range st.Subscriptions {
		send(c.subLag, prometheus.GaugeValue, seconds(sub.ResolvedLagMs), strconv.FormatUint(sub.ID, 10))
	}
	send(c.pdUp, prometheus.GaugeValue, boolValue(st.Source.PDError == ""))
	send(c.snapshotTime, prometheus.GaugeValue, float64(st.TakenAt.UnixNano())/1e9)
	send(c.snapshotSeq, prometheus.GaugeValue, float64(st.Seq))
	send(c.engineUp, prometheus.GaugeValue, boolValue(st.EngineError == ""))
}

// oneOf sends a store's one-hot series: 1 for its value, 0 for every other
// known value, and its value with 1 when it is not a known one (a newer
// engine's).
func oneOf(send func(*prometheus.Desc, prometheus.ValueType, float64, ...string), desc *prometheus.Desc,
	store, value string, known []string) {
	for _, k := range known {
		send(desc, prometheus.GaugeValue, boolValue(value == k), store, k)
	}
	if value != "" && !slices.Contains(known, value) {
		send(desc, prometheus.GaugeValue, 1, store, value)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// aggregatesOf returns st's per-region aggregates, computed on the first
// scrape of each snapshot.
func (c *Collector) aggregatesOf(st *snapshots.State) aggregates {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cached != st {
		c.agg = aggregate(st)
		c.cached = st
	}
	return c.agg
}

// aggregate makes one pass over the regions.
func aggregate(st *snapshots.State) aggregates {
	a := aggregates{states: newTally(snapshots.RegionStates()), causes: newTally(snapshots.Causes())}
	lagCounts := make([]uint64, len(LagBuckets)+1)
	var lagMsSum int64
	t := st.RegionTable()
	for i := range t.Len() {
		r := t.Static(i)
		lagMs := t.LagMs(i)
		a.states.add(r.State)
		if r.Cause != "" { // a version 1 snapshot, or before the first diagnosis
			a.causes.add(r.Cause)
		}
		lagMsSum += lagMs
		lagCounts[lagBucket(lagMs)]++
	}
	a.lagSum = float64(lagMsSum) / 1000
	a.buckets = make(map[float64]uint64, len(LagBuckets))
	var cumulative uint64
	for i, upper := range LagBuckets {
		cumulative += lagCounts[i]
		a.buckets[upper] = cumulative
	}
	return a
}

// lagBuckets in whole milliseconds, so a region's bucket is found without
// floating point.
var lagBucketsMs = func() []int64 {
	out := make([]int64, len(LagBuckets))
	for i, b := range LagBuckets {
		out[i] = int64(math.Round(b * 1000))
	}
	return out
}()

// lagBucket is the index of the first bucket whose upper bound is at least
// ms (len(LagBuckets) for +Inf).
func lagBucket(ms int64) int {
	for i, upper := range lagBucketsMs {
		if ms <= upper {
			return i
		}
	}
	return len(lagBucketsMs)
}

func seconds(ms int64) float64 { return float64(ms) / 1000 }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
