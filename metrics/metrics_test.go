package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pulltop/pulltop/snapshots"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// source hands out whatever snapshot the test put there.
type source struct {
	st atomic.Pointer[snapshots.State]
}

func (s *source) Snapshot() *snapshots.State { return s.st.Load() }

func newSource(st *snapshots.State) *source {
	s := &source{}
	s.st.Store(st)
	return s
}

func region(id uint64, state string, lagMs int64, cause string) snapshots.Region {
	return snapshots.Region{ID: id, Subscription: 1, State: state, ResolvedLagMs: lagMs, Cause: cause}
}

func testState() *snapshots.State {
	return &snapshots.State{
		Version: snapshots.Version,
		TakenAt: time.Unix(1700000000, 500_000_000),
		Seq:     42,
		Totals: snapshots.Totals{
			Events: 1234, ResolvedLagMaxMs: 75_000,
			ErrorsByReason: map[string]int64{"not_leader": 3, "store_failure": 7},
			RetriesFired:   11, ReloadsFlushed: 5, ReloadSpansMerged: 2, RegionRequests: 40,
		},
		Subscriptions: []snapshots.Subscription{{ID: 1, ResolvedLagMs: 75_000}},
		Stores: []snapshots.Store{
			{ID: 1, State: snapshots.StoreUp}, {ID: 2, State: snapshots.StorePaused}, {ID: 3, State: snapshots.StoreCooldown},
		},
		Regions: []snapshots.Region{
			region(1, snapshots.StateInitialized, 50, ""),
			region(2, snapshots.StateInitialized, 100, ""),
			region(3, snapshots.StateInitialized, 101, ""),
			region(4, snapshots.StateStale, 75_000, ""),
			region(5, snapshots.StateParked, 4_000, ""),
			region(6, snapshots.StateRetryWait, 0, ""),
		},
		Retries: []snapshots.Retry{{RegionID: 6}},
		Reloads: []snapshots.Reload{{}, {}},
	}
}

const expectedText = `
# HELP pulltop_engine_up 1 while the engine runs, 0 once it stopped with an error.
# TYPE pulltop_engine_up gauge
pulltop_engine_up 1
# HELP pulltop_events_total Row events delivered.
# TYPE pulltop_events_total counter
pulltop_events_total 1234
# HELP pulltop_region_errors_total Region errors the engine met, by reason (not_leader, epoch_not_match, region_not_found, server_is_busy, congested, store_failure, ...).
# TYPE pulltop_region_errors_total counter
pulltop_region_errors_total{reason="not_leader"} 3
pulltop_region_errors_total{reason="store_failure"} 7
# HELP pulltop_region_requests_total Region requests sent to stores.
# TYPE pulltop_region_requests_total counter
pulltop_region_requests_total 40
# HELP pulltop_regions Subscribed regions by state (queued, locating, parked, requested, initialized, retry-wait, reload-wait, stale).
# TYPE pulltop_regions gauge
pulltop_regions{state="initialized"} 3
pulltop_regions{state="locating"} 0
pulltop_regions{state="parked"} 1
pulltop_regions{state="queued"} 0
pulltop_regions{state="reload-wait"} 0
pulltop_regions{state="requested"} 0
pulltop_regions{state="retry-wait"} 1
pulltop_regions{state="stale"} 1
# HELP pulltop_reload_spans_merged_total Reload requests absorbed into another span by merging.
# TYPE pulltop_reload_spans_merged_total counter
pulltop_reload_spans_merged_total 2
# HELP pulltop_reloads_flushed_total Merged spans the range-reload aggregator flushed.
# TYPE pulltop_reloads_flushed_total counter
pulltop_reloads_flushed_total 5
# HELP pulltop_reloads_waiting Spans waiting in the range-reload aggregator.
# TYPE pulltop_reloads_waiting gauge
pulltop_reloads_waiting 2
# HELP pulltop_resolved_lag_max_seconds The largest resolved-ts lag over the subscriptions and their regions.
# TYPE pulltop_resolved_lag_max_seconds gauge
pulltop_resolved_lag_max_seconds 75
# HELP pulltop_resolved_lag_seconds Resolved-ts lag of the subscribed regions: how far each region's resolved ts is behind now, one observation per region per snapshot.
# TYPE pulltop_resolved_lag_seconds histogram
pulltop_resolved_lag_seconds_bucket{le="0.1"} 3
pulltop_resolved_lag_seconds_bucket{le="0.25"} 4
pulltop_resolved_lag_seconds_bucket{le="0.5"} 4
pulltop_resolved_lag_seconds_bucket{le="1"} 4
pulltop_resolved_lag_seconds_bucket{le="2.5"} 4
pulltop_resolved_lag_seconds_bucket{le="5"} 5
pulltop_resolved_lag_seconds_bucket{le="10"} 5
pulltop_resolved_lag_seconds_bucket{le="30"} 5
pulltop_resolved_lag_seconds_bucket{le="60"} 5
pulltop_resolved_lag_seconds_bucket{le="120"} 6
pulltop_resolved_lag_seconds_bucket{le="300"} 6
pulltop_resolved_lag_seconds_bucket{le="600"} 6
pulltop_resolved_lag_seconds_bucket{le="1800"} 6
pulltop_resolved_lag_seconds_bucket{le="3600"} 6
pulltop_resolved_lag_seconds_bucket{le="+Inf"} 6
pulltop_resolved_lag_seconds_sum 79.251
pulltop_resolved_lag_seconds_count 6
# HELP pulltop_retries_fired_total Retries the retry scheduler fired.
# TYPE pulltop_retries_fired_total counter
pulltop_retries_fired_total 11
# HELP pulltop_retries_waiting Retries waiting in the scheduler's heap.
# TYPE pulltop_retries_waiting gauge
pulltop_retries_waiting 1
# HELP pulltop_snapshot_seq Sequence number of the snapshot these metrics come from.
# TYPE pulltop_snapshot_seq gauge
pulltop_snapshot_seq 42
# HELP pulltop_snapshot_timestamp_seconds When the snapshot these metrics come from was taken (Unix time).
# TYPE pulltop_snapshot_timestamp_seconds gauge
pulltop_snapshot_timestamp_seconds 1.7000000005e+09
# HELP pulltop_store_state 1 for each store's current state (up, cooldown, paused, down), 0 for the others.
# TYPE pulltop_store_state gauge
pulltop_store_state{state="cooldown",store="1"} 0
pulltop_store_state{state="cooldown",store="2"} 0
pulltop_store_state{state="cooldown",store="3"} 1
pulltop_store_state{state="down",store="1"} 0
pulltop_store_state{state="down",store="2"} 0
pulltop_store_state{state="down",store="3"} 0
pulltop_store_state{state="paused",store="1"} 0
pulltop_store_state{state="paused",store="2"} 1
pulltop_store_state{state="paused",store="3"} 0
pulltop_store_state{state="up",store="1"} 1
pulltop_store_state{state="up",store="2"} 0
pulltop_store_state{state="up",store="3"} 0
# HELP pulltop_subscription_resolved_lag_seconds Resolved-ts lag of each subscription.
# TYPE pulltop_subscription_resolved_lag_seconds gauge
pulltop_subscription_resolved_lag_seconds{subscription="1"} 75
`

func TestCollectorSaysWhatTheSnapshotSays(t *testing.T) {
	c := NewCollector(newSource(testState()))
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(expectedText)))
	// Consistent with its own Describe (what a registry checks).
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	require.Empty(t, problems)
}

func TestCausesAppearOnceTheEngineDecidesThem(t *testing.T) {
	st := testState()
	src := newSource(st)
	c := NewCollector(src)
	require.Equal(t, 0, testutil.CollectAndCount(c, "pulltop_causes"), "no cause in the data: no pulltop_causes series")

	st2 := testState()
	st2.Regions[0].Cause = snapshots.CauseHealthy
	st2.Regions[1].Cause = snapshots.CauseHealthy
	st2.Regions[3].Cause = snapshots.CauseSilent
	st2.Regions[4].Cause = snapshots.CauseStorePaused
	st2.Regions[5].Cause = "a_cause_from_a_newer_engine"
	src.st.Store(st2)
	want := "# HELP pulltop_causes Regions by the cause the engine decided for them (healthy, lock, store_down, ...); absent until the engine decides causes.\n# TYPE pulltop_causes gauge\n"
	for _, cause := range append(snapshots.Causes(), "a_cause_from_a_newer_engine") {
		n := map[string]int{snapshots.CauseHealthy: 2, snapshots.CauseSilent: 1, snapshots.CauseStorePaused: 1, "a_cause_from_a_newer_engine": 1}[cause]
		want += fmt.Sprintf("pulltop_causes{cause=%q} %d\n", cause, n)
	}
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want), "pulltop_causes"))
}

func TestUnknownStatesPassThrough(t *testing.T) {
	st := testState()
	st.Regions = []snapshots.Region{region(1, "hibernating", 10, "")}
	st.Stores = []snapshots.Store{{ID: 9, State: "tombstone"}}
	c := NewCollector(newSource(st))
	want := "# HELP pulltop_regions Subscribed regions by state (queued, locating, parked, requested, initialized, retry-wait, reload-wait, stale).\n# TYPE pulltop_regions gauge\n"
	for _, state := range snapshots.RegionStates() {
		want += fmt.Sprintf("pulltop_regions{state=%q} 0\n", state)
	}
	want += `pulltop_regions{state="hibernating"} 1` + "\n"
	want += "# HELP pulltop_store_state 1 for each store's current state (up, cooldown, paused, down), 0 for the others.\n# TYPE pulltop_store_state gauge\n"
	for _, state := range snapshots.StoreStates() {
		want += fmt.Sprintf("pulltop_store_state{state=%q,store=\"9\"} 0\n", state)
	}
	want += `pulltop_store_state{state="tombstone",store="9"} 1` + "\n"
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want), "pulltop_regions", "pulltop_store_state"))
}

func TestNoSnapshotYetNoMetrics(t *testing.T) {
	c := NewCollector(&source{})
	require.Equal(t, 0, testutil.CollectAndCount(c))
}

func TestEngineDownSaysSo(t *testing.T) {
	st := testState()
	st.EngineError = "cluster id mismatch"
	c := NewCollector(newSource(st))
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(`
# HELP pulltop_engine_up 1 while the engine runs, 0 once it stopped with an error.
# TYPE pulltop_engine_up gauge
pulltop_engine_up 0
`), "pulltop_engine_up"))
}

// A second scrape of the same snapshot reuses its aggregates; a new
// snapshot is aggregated afresh.
func TestAggregatesOncePerSnapshot(t *testing.T) {
	st := testState()
	c := NewCollector(newSource(st))
	initialized := stateIndex(snapshots.RegionStates(), snapshots.StateInitialized)
	require.Equal(t, 3, c.aggregatesOf(st).states[initialized])
	// Published snapshots never change; this one does, to show that the
	// second scrape did not look at its regions again.
	st.Regions[0].State = snapshots.StateStale
	require.Equal(t, 3, c.aggregatesOf(st).states[initialized])
	next := *st
	require.Equal(t, 2, c.aggregatesOf(&next).states[initialized])
}

func TestLagBucketEdges(t *testing.T) {
	for ms, want := range map[int64]int{0: 0, 100: 0, 101: 1, 250: 1, 3_600_000: len(LagBuckets) - 1, 3_600_001: len(LagBuckets)} {
		require.Equal(t, want, lagBucket(ms), "lag %dms", ms)
	}
}

func TestParseAddr(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:9090", ":9090", "localhost:0", "[::1]:9100"} {
		require.NoError(t, ParseAddr(ok), ok)
	}
	for addr, want := range map[string]string{
		"9090":            "want HOST:PORT",
		"127.0.0.1":       "want HOST:PORT",
		"127.0.0.1:http":  `port "http" is not a number`,
		"127.0.0.1:70000": `port 70000 is out of range (0 to 65535`,
		"127.0.0.1:-1":    "port -1 is out of range",
		"":                "want HOST:PORT",
		"a:b:c":           "want HOST:PORT",
	} {
		err := ParseAddr(addr)
		require.Error(t, err, addr)
		require.Contains(t, err.Error(), want, addr)
		require.Contains(t, err.Error(), "--metrics-addr", addr)
	}
}

func TestListenRefusesAPortInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	_, err = Listen(taken.Addr().String(), &source{}, nil)
	require.ErrorContains(t, err, "--metrics-addr "+taken.Addr().String()+": address already in use")
}

func TestServerServesMetricsAndSnapshot(t *testing.T) {
	st := testState()
	s, err := Listen("127.0.0.1:0", newSource(st), nil)
	require.NoError(t, err)
	defer s.Close()
	get := func(path string) (int, string, string) {
		resp, err := http.Get("http://" + s.Addr() + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	code, ctype, body := get("/metrics")
	require.Equal(t, 200, code)
	require.Contains(t, ctype, "text/plain")
	require.Contains(t, body, "pulltop_events_total 1234\n")
	require.Contains(t, body, "go_goroutines ")
	require.Contains(t, body, "process_") // the process collector (Linux)

	code, ctype, body = get("/snapshot")
	require.Equal(t, 200, code)
	require.Equal(t, "application/json", ctype)
	got, err := snapshots.Unmarshal([]byte(body), "/snapshot")
	require.NoError(t, err)
	require.Equal(t, st.Seq, got.Seq)
	require.Len(t, got.Regions, len(st.Regions))

	code, _, body = get("/")
	require.Equal(t, 200, code)
	require.Contains(t, body, "/metrics")
	code, _, _ = get("/nope")
	require.Equal(t, 404, code)

	require.NoError(t, s.Close())
	_, err = http.Get("http://" + s.Addr() + "/metrics")
	require.Error(t, err, "closed server still answers")
}

func TestSnapshotBeforeTheFirstOne(t *testing.T) {
	rec := httptest.NewRecorder()
	(&snapshotHandler{src: &source{}, slots: make(chan struct{}, 1)}).ServeHTTP(rec, httptest.NewRequest("GET", "/snapshot", nil))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
}

// bigState is a snapshot of n regions in realistic proportions.
func bigState(n int) *snapshots.State {
	st := testState()
	st.Regions = make([]snapshots.Region, n)
	states := snapshots.RegionStates()
	for i := range st.Regions {
		state := snapshots.StateInitialized
		if i%50 == 0 {
			state = states[i/50%len(states)]
		}
		st.Regions[i] = snapshots.Region{ID: uint64(i + 1), Subscription: 1, StoreID: uint64(i%3 + 1),
			State: state, ResolvedLagMs: int64(i % 5000), Cause: snapshots.CauseHealthy}
	}
	for i := range 50 {
		st.Stores = append(st.Stores, snapshots.Store{ID: uint64(i + 4), State: snapshots.StoreUp})
	}
	return st
}

// BenchmarkScrape is a whole /metrics scrape (collect, encode) of the
// pulltop collector at 100k regions: "new" is a new snapshot every scrape
// (the pass over the regions included), "same" a repeated scrape of one.
func BenchmarkScrape(b *testing.B) {
	for _, tc := range []struct {
		name string
		n    int
		same bool
	}{{"regions=100k/new", 100_000, false}, {"regions=100k/same", 100_000, true}, {"regions=1k/new", 1_000, false}} {
		b.Run(tc.name, func(b *testing.B) {
			st := bigState(tc.n)
			src := newSource(st)
			reg := prometheus.NewRegistry()
			reg.MustRegister(NewCollector(src))
			h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
			req := httptest.NewRequest("GET", "/metrics", nil)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if !tc.same {
					next := *st // a new snapshot over the same regions
					src.st.Store(&next)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code, rec.Body.String())
				}
			}
		})
	}
}

// Issue 25 item 3: /snapshot is streamed, one at a time. A slow reader
// holds the only slot (the document is bigger than the socket buffers, so
// its handler is still writing); a second request is told to come back
// (429, Retry-After) instead of building another copy; once the reader is
// done the next one gets the whole document. With --metrics-snapshot=false
// there is no /snapshot at all.
func TestSnapshotOneAtATimeStreamed(t *testing.T) {
	s, err := Listen("127.0.0.1:0", newSource(bigState(100_000)), nil)
	require.NoError(t, err)
	defer s.Close()
	url := "http://" + s.Addr() + "/snapshot"
	slow, err := http.Get(url)
	require.NoError(t, err)
	require.Equal(t, 200, slow.StatusCode)
	head := make([]byte, 16)
	_, err = io.ReadFull(slow.Body, head)
	require.NoError(t, err)
	require.Equal(t, "{\n  \"version\": 2", string(head))

	busy, err := http.Get(url)
	require.NoError(t, err)
	body, _ := io.ReadAll(busy.Body)
	busy.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, busy.StatusCode, string(body))
	require.Equal(t, "1", busy.Header.Get("Retry-After"))

	rest, err := io.ReadAll(slow.Body)
	require.NoError(t, err)
	slow.Body.Close()
	var st snapshots.State
	require.NoError(t, json.Unmarshal(append(head, rest...), &st))
	require.Len(t, st.Regions, 100_000)

	deadline := time.Now().Add(10 * time.Second)
	for {
		next, err := http.Get(url)
		require.NoError(t, err)
		b, _ := io.ReadAll(next.Body)
		next.Body.Close()
		if next.StatusCode == 200 {
			require.NoError(t, json.Unmarshal(b, &st))
			break
		}
		require.Equal(t, http.StatusTooManyRequests, next.StatusCode) // the slot is freed as the handler returns
		require.True(t, time.Now().Before(deadline), "the slot was never given back")
		time.Sleep(10 * time.Millisecond)
	}

	off, err := ListenWith("127.0.0.1:0", newSource(bigState(10)), nil, Options{NoSnapshot: true})
	require.NoError(t, err)
	defer off.Close()
	resp, err := http.Get("http://" + off.Addr() + "/snapshot")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Contains(t, string(b), "--metrics-snapshot=false")
	require.True(t, off.Loopback())
}

// The server cuts off a client that reads a /snapshot too slowly, or
// never finishes its request: the timeouts are set.
func TestServerTimeouts(t *testing.T) {
	s, err := Listen("127.0.0.1:0", newSource(bigState(10)), nil)
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, readTimeout, s.srv.ReadTimeout)
	require.Equal(t, writeTimeout, s.srv.WriteTimeout)
	require.NotZero(t, s.srv.IdleTimeout)
	every, err := Listen(":0", newSource(bigState(10)), nil)
	require.NoError(t, err)
	defer every.Close()
	require.False(t, every.Loopback(), "%s", every.Addr())
}
