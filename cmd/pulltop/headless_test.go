package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
)

var statusLine = regexp.MustCompile(`^t=\S+ regions=(\d+) initialized=(\d+) lag_max=\d+\.\ds events/s=\d+ retries=\d+ reloads=\d+ stores_cooling=\d+ stores_paused=\d+ stale=(\d+) sub_lag=\d+\.\ds time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z causes=(none|[a-z_]+:\d+(?:@\d+(?:\+\d+)*)?(?:,[a-z_]+:\d+(?:@\d+(?:\+\d+)*)?)*)(?: phase=[a-z]+ located=\d+ scanned=\d+)?$`)

// lineTime is the wall-clock time the status lines of the unit tests carry.
var lineTime = time.Date(2026, 12, 5, 3, 4, 5, 678_000_000, time.FixedZone("CET", 3600))

// Issue 6: ten status lines, exit 0, a snapshot that loads with every
// region initialized and nothing missing.
func TestHeadlessTenSecondsOnEmbeddedSim(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.json")
	out, stderr, code := runPulltop(t, "headless", "--duration", "10s", "--snapshot", path)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 10, out)
	for _, l := range lines {
		require.Regexp(t, statusLine, l)
	}
	require.True(t, strings.HasPrefix(lines[9], "t=10s regions=64 initialized=64 "), lines[9])
	st, err := snapshots.Load(path)
	require.NoError(t, err)
	require.Len(t, st.Regions, 64)
	for _, r := range st.Regions {
		require.Equal(t, snapshots.StateInitialized, r.State, "region %d", r.ID)
	}
	require.NotNil(t, st.Sim)
	require.Positive(t, st.Sim.CommittedRows)
	require.Zero(t, st.Sim.MissingRows)
}

// Issue 6: a silenced region shows as stale in the status lines and in the
// snapshot.
func TestHeadlessSilencedRegionGoesStale(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := filepath.Join(dir, "silence.txt")
	require.NoError(t, os.WriteFile(script, []byte("at 1s silence-region 7 for 1h\n"), 0o644))
	path := filepath.Join(dir, "s.json")
	out, stderr, code := runPulltop(t, "headless", "--duration", "15s", "--script", script, "--snapshot", path)
	require.Equal(t, 0, code, stderr)
	var stale []int
	var causes []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		m := statusLine.FindStringSubmatch(l)
		require.NotNil(t, m, l)
		n, _ := strconv.Atoi(m[3])
		stale = append(stale, n)
		causes = append(causes, m[4])
	}
	require.Zero(t, stale[0], "nothing is stale at first: %v", stale)
	require.Equal(t, 1, stale[len(stale)-1], "the silenced region is stale by the end: %v", stale)
	require.Regexp(t, `^silent:1@\d+$`, causes[len(causes)-1], "and named silent, with its store: %v", causes)
	st, err := snapshots.Load(path)
	require.NoError(t, err)
	found := false
	for _, r := range st.Regions {
		if r.ID == 7 {
			found = true
			require.Equal(t, snapshots.StateStale, r.State)
			require.Equal(t, snapshots.CauseSilent, r.Cause)
			require.Contains(t, r.Diagnosis, "with no error, no open transaction")
		} else {
			require.NotEqual(t, snapshots.StateStale, r.State, "region %d", r.ID)
		}
	}
	require.True(t, found)
}

func TestHeadlessJSONLinesAndSink(t *testing.T) {
	t.Parallel()
	sink := filepath.Join(t.TempDir(), "rows.jsonl")
	out, stderr, code := runPulltop(t, "headless", "--duration", "2s", "--json", "--regions", "16", "--sink", sink)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	var s status
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &s))
	require.Equal(t, 16, s.Regions)
	require.Equal(t, 2000, int(s.TMs/1000*1000))
	require.NotNil(t, s.Causes, "causes is always a list: %s", lines[1])
	require.Contains(t, lines[1], `"causes":[`)

	data, err := os.ReadFile(sink)
	require.NoError(t, err)
	rows := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Greater(t, len(rows), 100, "the workload writes 500 rows/s")
	for _, line := range rows {
		var row struct {
			Subscription uint64 `json:"subscription"`
			Region       uint64 `json:"region"`
			Op           string `json:"op"`
			Key          string `json:"key"`
			CommitTs     uint64 `json:"commit_ts"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &row), line)
		require.Equal(t, uint64(1), row.Subscription)
		require.Contains(t, []string{"put", "delete"}, row.Op)
		require.NotEmpty(t, row.Key)
		require.Positive(t, row.CommitTs)
	}
}

// An unreachable PD is reported within 10 s, naming the address; exit 1.
func TestHeadlessUnreachablePD(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close()) // nothing listens there now
	start := time.Now()
	_, stderr, code := runPulltop(t, "headless", "--duration", "5s", "--pd", addr)
	require.Equal(t, 1, code, stderr)
	require.Less(t, time.Since(start), 10*time.Second)
	require.Contains(t, stderr, addr)
	require.Contains(t, stderr, "cannot reach PD")
}

func TestHeadlessBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"headless"}, // --duration is required
		{"headless", "--duration", "1s", "--span", "t:abc"},
		{"headless", "--duration", "1s", "--span", "zz:00"},
		{"headless", "--duration", "1s", "--start-ts", "yesterday"},
		{"headless", "--duration", "1s", "--interval", "0s"},
		{"headless", "--duration", "1s", "--pd", "127.0.0.1:1", "--ca", "/nonexistent/ca.pem"},
	} {
		_, stderr, code := runPulltop(t, args...)
		require.Equal(t, 2, code, "%v: %s", args, stderr)
		require.NotContains(t, stderr, "panic")
	}
	_, stderr, _ := runPulltop(t, "headless", "--duration", "1s", "--pd", "127.0.0.1:1", "--ca", "/nonexistent/ca.pem")
	require.Contains(t, stderr, "/nonexistent/ca.pem")
}

// The status line names the causes in the causes board's order, in both
// forms.
func TestStatusLineCauses(t *testing.T) {
	st := &snapshots.State{Causes: []snapshots.CauseRow{
		{Cause: snapshots.CauseLock, Regions: 1}, {Cause: snapshots.CauseStoreDown, Regions: 21, Stores: []uint64{2}},
		{Cause: snapshots.CauseStoreStalled, Regions: 40, Stores: []uint64{1, 3}},
	}}
	var text strings.Builder
	require.NoError(t, writeStatus(&text, statusOf(st, lineTime, 5*time.Second), false))
	require.Regexp(t, statusLine, strings.TrimSpace(text.String()))
	// The wall-clock time in UTC, whatever the zone it was taken in.
	require.Contains(t, text.String(), " time=2026-12-05T02:04:05.678Z ")
	require.True(t, strings.HasSuffix(text.String(), " causes=lock:1,store_down:21@2,store_stalled:40@1+3\n"), text.String())

	var js strings.Builder
	require.NoError(t, writeStatus(&js, statusOf(st, lineTime, 5*time.Second), true))
	require.Contains(t, js.String(), `"time":"2026-12-05T02:04:05.678Z","t":"5s"`)
	require.Contains(t, js.String(), `"causes":[{"cause":"lock","regions":1},{"cause":"store_down","regions":21,"stores":[2]},{"cause":"store_stalled","regions":40,"stores":[1,3]}]`)

	text.Reset()
	require.NoError(t, writeStatus(&text, statusOf(&snapshots.State{}, lineTime, time.Second), false))
	require.True(t, strings.HasSuffix(text.String(), " causes=none\n"), text.String())
	js.Reset()
	require.NoError(t, writeStatus(&js, statusOf(&snapshots.State{}, lineTime, time.Second), true))
	require.Contains(t, js.String(), `"causes":[]`)
}

// pd_error is on the lines while PD fails (with how long), never after it
// answers again; the first line after that says it recovered, once.
func TestStatusLinePDRecovery(t *testing.T) {
	down := lineTime.Add(-7 * time.Second)
	failing := &snapshots.State{TakenAt: lineTime, Source: snapshots.Source{
		PDError: "rpc error: code = Unavailable desc = connection refused", PDErrorSince: down, PDLastOK: down,
	}}
	healthy := &snapshots.State{TakenAt: lineTime.Add(5 * time.Second), Source: snapshots.Source{PDLastOK: lineTime.Add(5 * time.Second)}}
	var w pdWatch
	var lines []string
	for i, st := range []*snapshots.State{healthy, failing, failing, healthy, healthy} {
		s := statusOf(st, lineTime, time.Duration(i+1)*time.Second)
		s.PDRecoveredAfterMs = w.observe(st)
		var text strings.Builder
		require.NoError(t, writeStatus(&text, s, false))
		lines = append(lines, text.String())
	}
	require.NotContains(t, lines[0], "pd_")
	for _, l := range lines[1:3] {
		require.Contains(t, l, ` pd_down=7.0s pd_error="rpc error: code = Unavailable desc = connection refused"`)
		require.NotContains(t, l, "pd_recovered")
	}
	// Away from the first failure to the first good answer: 7 s + 5 s.
	require.True(t, strings.HasSuffix(lines[3], " pd_recovered_after=12.0s\n"), lines[3])
	require.NotContains(t, lines[3], "pd_error")
	require.NotContains(t, lines[4], "pd_")

	w = pdWatch{}
	w.observe(failing)
	s := statusOf(healthy, lineTime, time.Second)
	s.PDRecoveredAfterMs = w.observe(healthy)
	var js strings.Builder
	require.NoError(t, writeStatus(&js, s, true))
	require.Contains(t, js.String(), `"pd_recovered_after_ms":12000`)
	require.NotContains(t, js.String(), `"pd_error"`)
}

// Until every region streams, the status line says how far the engine is
// (a million regions take tens of seconds to locate and scan); once
// streaming it says nothing more.
func TestStatusLinePhase(t *testing.T) {
	st := &snapshots.State{Progress: snapshots.Progress{Phase: snapshots.PhaseScanning, Located: 1_000_000, Scanned: 120_000, Detail: "initial scans 120k/1M"}}
	var text strings.Builder
	require.NoError(t, writeStatus(&text, statusOf(st, lineTime, 5*time.Second), false))
	require.Regexp(t, statusLine, strings.TrimSpace(text.String()))
	require.True(t, strings.HasSuffix(text.String(), " phase=scanning located=1000000 scanned=120000\n"), text.String())
	var js strings.Builder
	require.NoError(t, writeStatus(&js, statusOf(st, lineTime, 5*time.Second), true))
	require.Contains(t, js.String(), `"phase":"scanning","located":1000000,"scanned":120000`)

	st.Progress = snapshots.Progress{Phase: snapshots.PhaseStreaming, Detail: "streaming 1M regions"}
	text.Reset()
	require.NoError(t, writeStatus(&text, statusOf(st, lineTime, 5*time.Second), false))
	require.NotContains(t, text.String(), "phase=")
}
