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
	regionRequests, storeState, events, causes, retriesWaiting, reloadsWaiting,
	subLag, snapshotTime, snapshotSeq, engineUp *prometheus.Desc

	mu     sync.Mutex
	cached *snapshots.State // the snapshot agg was computed from
	agg    aggregates
}

// aggregates are the per-region sums of one snapshot.
type aggregates struct {
	states  []int              // per snapshots.RegionStates(), in that order
	other   map[string]int     // states not in that list (a newer engine's)
	buckets map[float64]uint64 // cumulative, per LagBuckets
	lagSum  float64            // seconds
	causes  map[string]int     // nil while no region carries a cause
}

// NewCollector returns the collector of src's snapshots.
func NewCollector(src Source) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &Collector{
		src: src,
		regions: d("pulltop_regions", "Subscribed regions by state (queued, locating, parked, requested, "+
			"initialized, retry-wait, reload-wait, stale).", "state"),
		lag: d("pulltop_resolved_lag_seconds", "Resolved-ts lag of the subscribed regions: how far each "+
			"region's resolved ts is behind now, one observation per region per snapshot."),
		lagMax: d("pulltop_resolved_lag_max_seconds", "The largest resolved-ts lag over the subscriptions "+
			"and their regions."),
		errors: d("pulltop_region_errors_total", "Region errors the engine met, by reason (not_leader, "+
			"epoch_not_match, region_not_found, server_is_busy, congested, store_failure, ...).", "reason"),
		retriesFired: d("pulltop_retries_fired_total", "Retries the retry scheduler fired."),
		reloadsFlushed: d("pulltop_reloads_flushed_total",
			"Merged spans the range-reload aggregator flushed."),
		spansMerged: d("pulltop_reload_spans_merged_total",
			"Reload requests absorbed into another span by merging."),
		regionRequests: d("pulltop_region_requests_total", "Region requests sent to stores."),
		storeState: d("pulltop_store_state", "1 for each store's current state (up, cooldown, paused, "+
			"down), 0 for the others.", "store", "state"),
		events: d("pulltop_events_total", "Row events delivered."),
		causes: d("pulltop_causes", "Regions by the cause the engine decided for them (healthy, lock, "+
			"store_down, ...); absent until the engine decides causes.", "cause"),
		retriesWaiting: d("pulltop_retries_waiting", "Retries waiting in the scheduler's heap."),
		reloadsWaiting: d("pulltop_reloads_waiting", "Spans waiting in the range-reload aggregator."),
		subLag: d("pulltop_subscription_resolved_lag_seconds", "Resolved-ts lag of each subscription.",
			"subscription"),
		snapshotTime: d("pulltop_snapshot_timestamp_seconds",
			"When the snapshot these metrics come from was taken (Unix time)."),
		snapshotSeq: d("pulltop_snapshot_seq", "Sequence number of the snapshot these metrics come from."),
		engineUp:    d("pulltop_engine_up", "1 while the engine runs, 0 once it stopped with an error."),
	}
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.regions, c.lag, c.lagMax, c.errors, c.retriesFired,
		c.reloadsFlushed, c.spansMerged, c.regionRequests, c.storeState, c.events, c.causes,
		c.retriesWaiting, c.reloadsWaiting, c.subLag, c.snapshotTime, c.snapshotSeq, c.engineUp} {
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
	for i, state := range snapshots.RegionStates() {
		send(c.regions, prometheus.GaugeValue, float64(agg.states[i]), state)
	}
	for _, state := range sortedKeys(agg.other) {
		send(c.regions, prometheus.GaugeValue, float64(agg.other[state]), state)
	}
	h, err := prometheus.NewConstHistogram(c.lag, uint64(st.NumRegions()), agg.lagSum, agg.buckets)
	if err != nil {
		h = prometheus.NewInvalidMetric(c.lag, err)
	}
	ch <- h
	send(c.lagMax, prometheus.GaugeValue, seconds(st.Totals.ResolvedLagMaxMs))
	for _, reason := range sortedKeys(st.Totals.ErrorsByReason) {
		send(c.errors, prometheus.CounterValue, float64(st.Totals.ErrorsByReason[reason]), reason)
	}
	send(c.retriesFired, prometheus.CounterValue, float64(st.Totals.RetriesFired))
	send(c.reloadsFlushed, prometheus.CounterValue, float64(st.Totals.ReloadsFlushed))
	send(c.spansMerged, prometheus.CounterValue, float64(st.Totals.ReloadSpansMerged))
	send(c.regionRequests, prometheus.CounterValue, float64(st.Totals.RegionRequests))
	send(c.events, prometheus.CounterValue, float64(st.Totals.Events))
	storeStates := snapshots.StoreStates()
	for _, store := range st.Stores {
		id := strconv.FormatUint(store.ID, 10)
		known := false
		for _, state := range storeStates {
			v := 0.0
			if store.State == state {
				v, known = 1, true
			}
			send(c.storeState, prometheus.GaugeValue, v, id, state)
		}
		if !known && store.State != "" {
			send(c.storeState, prometheus.GaugeValue, 1, id, store.State)
		}
	}
	if agg.causes != nil {
		for _, cause := range snapshots.Causes() {
			send(c.causes, prometheus.GaugeValue, float64(agg.causes[cause]), cause)
		}
		for _, cause := range sortedKeys(agg.causes) {
			if !isKnownCause(cause) {
				send(c.causes, prometheus.GaugeValue, float64(agg.causes[cause]), cause)
			}
		}
	}
	send(c.retriesWaiting, prometheus.GaugeValue, float64(len(st.Retries)))
	send(c.reloadsWaiting, prometheus.GaugeValue, float64(len(st.Reloads)))
	for _, sub := range st.Subscriptions {
		send(c.subLag, prometheus.GaugeValue, seconds(sub.ResolvedLagMs), strconv.FormatUint(sub.ID, 10))
	}
	send(c.snapshotTime, prometheus.GaugeValue, float64(st.TakenAt.UnixNano())/1e9)
	send(c.snapshotSeq, prometheus.GaugeValue, float64(st.Seq))
	up := 1.0
	if st.EngineError != "" {
		up = 0
	}
	send(c.engineUp, prometheus.GaugeValue, up)
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
	states := snapshots.RegionStates()
	a := aggregates{states: make([]int, len(states))}
	lagCounts := make([]uint64, len(LagBuckets)+1)
	var lagMsSum int64
	lastState, lastIdx := "", -1
	t := st.RegionTable()
	for i := range t.Len() {
		r := t.Static(i)
		lagMs := t.LagMs(i)
		// Regions come in key order, so runs of one state are common: the
		// last lookup is reused.
		if r.State != lastState || lastIdx < 0 {
			lastState, lastIdx = r.State, stateIndex(states, r.State)
		}
		if lastIdx >= 0 {
			a.states[lastIdx]++
		} else {
			if a.other == nil {
				a.other = map[string]int{}
			}
			a.other[r.State]++
		}
		lagMsSum += lagMs
		lagCounts[lagBucket(lagMs)]++
		if r.Cause != "" {
			if a.causes == nil {
				a.causes = make(map[string]int, 16)
			}
			a.causes[r.Cause]++
		}
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

func stateIndex(states []string, s string) int {
	for i, v := range states {
		if v == s {
			return i
		}
	}
	return -1
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

func isKnownCause(cause string) bool {
	for _, c := range snapshots.Causes() {
		if c == cause {
			return true
		}
	}
	return false
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
