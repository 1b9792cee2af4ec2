package snapshots

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fullState sets every field to a non-zero value, so that a field without a
// working JSON tag cannot pass the round trip. TestFullStateIsFull keeps it
// full when fields are added.
func fullState() *State {
	// JSON keeps nanoseconds and UTC but not the monotonic reading.
	at := time.Date(2026, 11, 25, 20, 30, 0, 123456789, time.UTC)
	return &State{
		Version: Version,
		TakenAt: at,
		Source: Source{PD: []string{"127.0.0.1:2379", "127.0.0.1:2381"}, ClusterID: 7, EmbeddedSim: true, PDError: "PD GetAllStores: context deadline exceeded",
			PDErrorSince: at.Add(-3 * time.Second), PDLastOK: at.Add(-4 * time.Second), PDFailuresPerSec: 1.5,
			ClockSkewMs: 1500, StaleAfterMs: 10000, HistoryMs: 900000, ScanPriority: "low"},
		Totals: Totals{
			Regions: 64, Initialized: 60, Stale: 1, Events: 12345, EventsPerSec: 480.5,
			ResolvedLagMaxMs: 1200,
			ErrorsByReason:   map[string]int64{ReasonNotLeader: 3, ReasonServerIsBusy: 1},
			RetriesFired:     4, ReloadsFlushed: 2, ReloadSpansMerged: 9, RegionRequests: 70,
			SubLagMs: 800, SubLagID: 1, WorstRegion: 12, WorstStore: 2,
			ErrorsLastMinute: map[string]int64{ReasonNotLeader: 1},
			ErrorStores:      map[string][]uint64{ReasonNotLeader: {2}},
		},
		Subscriptions: []Subscription{{ID: 1, Start: "7480000000000000ff", End: "7480000000000001ff",
			ResolvedTs: 4000, ResolvedLagMs: 800, Initialized: true, Events: 99}},
		Stores: []Store{{ID: 2, Addr: "127.0.0.1:20161", State: StoreCooldown, CooldownMsLeft: 150,
			Failures: 2, Streams: 1, Regions: 21,
			Condition: CauseStoreCooling, Since: at.Add(-2 * time.Second), Diagnosis: "stream failed twice",
			Version: "8.5.0", MaxLagMs: 900, Waiting: 3, LastMsgAt: at.Add(-time.Second),
			LastError: "store_failure: connection refused", LastErrorAt: at.Add(-2 * time.Second), Suspect: true}},
		Regions: []Region{{ID: 12, Subscription: 1, Start: "7480", End: "7481", StoreID: 2, LeaderPeer: 13,
			EpochVersion: 5, EpochConfVer: 1, State: StateRetryWait, Initialized: true, ResolvedTs: 3999,
			ResolvedLagMs: 900, Events: 40, LastError: "not leader", RetryAttempts: 3,
			Cause: CauseRegionChurn, Since: at.Add(-5 * time.Second), Diagnosis: "3 not_leader in 10s",
			LastErrorAt: at.Add(-time.Second), LastAdvanceAt: at.Add(-900 * time.Millisecond),
			Lineage: []Origin{{Kind: "split", From: 8, At: at.Add(-time.Minute)}}}},
		Retries: []Retry{{Subscription: 1, RegionID: 12, Start: "7480", End: "7481", Reason: ReasonNotLeader,
			Attempt: 3, DueInMs: 5, StoreID: 2}},
		Reloads: []Reload{{Subscription: 1, Start: "74", End: "75", Reason: ReasonForceReload,
			MergedFrom: 4, QueuedMsAgo: 20}},
		Actions: []Action{{At: at.Add(-time.Second), Action: "pause-store", Target: "store 2", Result: "ok"}},
		Events: []Event{{Subscription: 1, RegionID: 12, Op: "put", Key: "7480000000000000ff5f72", StartTs: 10,
			CommitTs: 11, ValueLen: 64}},
		Sim:         &SimGroundTruth{CommittedRows: 100, MissingRows: 1},
		EngineError: "pd: context deadline exceeded",
		Seq:         42,
		Extra:       map[string]int64{"goroutines": 17},
		Progress:    Progress{Phase: PhaseScanning, Located: 64, Scanned: 60, Detail: "initial scans 60/64"},
		Causes: []CauseRow{{Cause: CauseRegionChurn, Regions: 1, Stores: []uint64{2}, Since: at.Add(-5 * time.Second),
			Example: "3 not_leader in 10s", ExampleRegion: 12}},
		RecentReloads: []RecentReload{{At: at.Add(-time.Second), Subscription: 1, Start: "74", End: "75",
			Reasons: []string{ReasonEpochNotMatch}, MergedFrom: 2,
			Absorbed: []SpanReason{{Start: "74", End: "7480", Reason: ReasonEpochNotMatch}}, Regions: 3}},
		RecentRetries: []RecentRetry{{At: at.Add(-time.Second), Subscription: 1, RegionID: 12, StoreID: 2,
			Start: "7480", End: "7481", Reason: ReasonNotLeader, Attempt: 2, Outcome: OutcomeRelock}},
		Log: []LogEntry{{At: at.Add(-time.Second), Kind: LogStore, Subject: "store 2", Text: "stream failed"}},
	}
}

// fullStateWithHistory is fullState with a timeline of two moments
// recorded from it, every part of it set.
func fullStateWithHistory() *State {
	s := fullState()
	earlier := fullState()
	earlier.TakenAt, earlier.Seq = s.TakenAt.Add(-time.Second), s.Seq-1
	earlier.Regions[0].State, earlier.Regions[0].ResolvedLagMs = StateInitialized, 900
	rec := NewRecorder(15 * time.Minute)
	rec.Observe(earlier)
	rec.Observe(s)
	s.History = rec.History()
	return s
}

func TestFullStateIsFull(t *testing.T) {
	var check func(path string, v reflect.Value)
	check = func(path string, v reflect.Value) {
		switch v.Kind() {
		case reflect.Struct:
			if v.Type() == reflect.TypeFor[time.Time]() {
				break
			}
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).Tag.Get("json") == "-" {
					continue // not in a file (State.Table: the rows a save writes)
				}
				check(path+"."+v.Type().Field(i).Name, v.Field(i))
			}
			return
		case reflect.Slice:
			// The last element: a timeline's tables start with an empty
			// entry on purpose; bytes are an encoding, any value is fine.
			if v.Len() > 0 && v.Type().Elem().Kind() != reflect.Uint8 {
				check(path+"[last]", v.Index(v.Len()-1))
			}
		case reflect.Pointer:
			if !v.IsNil() {
				check(path, v.Elem())
			}
		}
		if v.IsZero() {
			t.Errorf("fullState()%s is zero; set it so the round trip covers it", path)
		}
	}
	check("", reflect.ValueOf(fullStateWithHistory()).Elem())
}

func TestSaveLoadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snap.json")
	want := fullStateWithHistory()
	require.NoError(t, Save(path, want))
	got, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

func TestRoundTripDropsMonotonicReading(t *testing.T) {
	s := fullState()
	s.TakenAt = time.Now() // has a monotonic reading and a local zone
	data, err := Marshal(s)
	require.NoError(t, err)
	got, err := Unmarshal(data, "snap.json")
	require.NoError(t, err)
	assert.True(t, got.TakenAt.Equal(s.TakenAt), "taken_at %v, want %v", got.TakenAt, s.TakenAt)
}

func TestMarshalIsStableAndSnakeCase(t *testing.T) {
	s := fullState()
	s.Totals.ErrorsByReason = map[string]int64{"z": 1, "a": 2, "m": 3}
	first, err := Marshal(s)
	require.NoError(t, err)
	for range 5 {
		again, err := Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(first), string(again))
	}
	text := string(first)
	assert.True(t, strings.HasPrefix(text, "{\n  \"version\": 2,\n  \"taken_at\": \"2026-11-25T20:30:00.123456789Z\",\n"), "starts:\n%.120s", text)
	assert.True(t, strings.HasSuffix(text, "}\n"))
	assert.Less(t, strings.Index(text, `"a": 2`), strings.Index(text, `"m": 3`))
	assert.Less(t, strings.Index(text, `"m": 3`), strings.Index(text, `"z": 1`))
	for _, key := range []string{`"cluster_id"`, `"errors_by_reason"`, `"resolved_lag_ms"`, `"cooldown_ms_left"`, `"due_in_ms"`, `"merged_from"`, `"missing_rows"`} {
		assert.Contains(t, text, key)
	}
}

func TestMarshalFillsVersionWithoutModifyingState(t *testing.T) {
	s := fullState()
	s.Version = 0
	data, err := Marshal(s)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"version": 2,`)
	assert.Equal(t, 0, s.Version, "Marshal must not modify a published State")

	path := filepath.Join(t.TempDir(), "snap.json")
	require.NoError(t, Save(path, s))
	assert.Equal(t, 0, s.Version, "Save must not modify a published State")
	got, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, Version, got.Version)
}

func TestMarshalRefuses(t *testing.T) {
	_, err := Marshal(nil)
	assert.EqualError(t, err, "snapshot: nil State")

	s := fullState()
	s.Version = 3
	_, err = Marshal(s)
	assert.EqualError(t, err, "snapshot has version 3, but this pulltop writes version 2")

	s = fullState()
	s.Regions[0].State = ""
	_, err = Marshal(s)
	assert.EqualError(t, err, `invalid snapshot: regions[0] (region 12): unknown state "" (known: queued, locating, parked, requested, initialized, retry-wait, reload-wait, stale)`)
}

func TestSaveLeavesNoTempFilesAndCleansStaleOnes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "pulltop")
	path := filepath.Join(dir, "snap.json")
	require.ErrorContains(t, Save(path, fullState()), "does not exist", "a missing directory is not created")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	// What a killed save left (issue 25 item 6/8): an old temp file of
	// ours goes with the next save; a young one (a save in progress) and
	// files of other names stay.
	stale := filepath.Join(dir, ".snap.json.tmp-123456")
	young := filepath.Join(dir, ".snap.json.tmp-654321")
	other := filepath.Join(dir, ".snap.json.tmp-notours")
	for _, f := range []string{stale, young, other} {
		require.NoError(t, os.WriteFile(f, []byte("partial"), 0o600))
	}
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(stale, old, old))
	require.NoError(t, os.Chtimes(other, old, old))
	require.NoError(t, Save(path, fullState()))
	assert.NoFileExists(t, stale)
	assert.FileExists(t, young)
	assert.FileExists(t, other)
	require.NoError(t, os.Remove(young))
	require.NoError(t, os.Remove(other))

	s := fullState()
	s.Seq = 43
	require.NoError(t, Save(path, s), "overwriting")
	got, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, uint64(43), got.Seq)

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the snapshot, no temp files")
	info, err := entries[0].Info()
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), info.Mode().Perm())
}

func TestSaveFailures(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(blocker, []byte("x"), 0o600))

	// The parent "directory" is a file.
	path := filepath.Join(blocker, "snap.json")
	err := Save(path, fullState())
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "saving snapshot "+path+": "), "error: %v", err)

	// The target is a directory: the rename fails and the temp file is removed.
	target := filepath.Join(dir, "target")
	require.NoError(t, os.Mkdir(filepath.Join(target), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(target, "keep"), nil, 0o600))
	err = Save(target, fullState())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "saving snapshot "+target+": ")

	// An invalid State writes nothing at all.
	bad := fullState()
	bad.Stores[0].Failures = -1
	err = Save(filepath.Join(dir, "bad.json"), bad)
	assert.EqualError(t, err, "saving snapshot "+filepath.Join(dir, "bad.json")+": invalid snapshot: stores[0] (store 2): failures is negative (-1)")

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"file", "target"}, names, "no temp files or partial snapshots left behind")
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.json")
	_, err := Load(path)
	require.Error(t, err)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), path)
}

func TestUnmarshalVersion(t *testing.T) {
	tests := []struct {
		name, data, want string
		missing          bool
		version          int
	}{
		{"newer", `{"version": 3, "regions": "a v3 shape"}`,
			"snap.json: snapshot version 3 is not supported by this pulltop (reads versions 1 to 2); upgrade pulltop", false, 3},
		{"missing", `{"taken_at": "2026-11-25T20:30:00Z"}`,
			`snap.json: not a pulltop snapshot: no "version" field (this pulltop reads versions 1 to 2)`, true, 0},
		{"null", `{"version": null}`,
			`snap.json: not a pulltop snapshot: no "version" field (this pulltop reads versions 1 to 2)`, true, 0},
		{"zero", `{"version": 0}`,
			"snap.json: invalid snapshot version 0 (this pulltop reads versions 1 to 2)", false, 0},
		{"negative", `{"version": -3}`,
			"snap.json: invalid snapshot version -3 (this pulltop reads versions 1 to 2)", false, -3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Unmarshal([]byte(tt.data), "snap.json")
			require.EqualError(t, err, tt.want)
			var verr *VersionError
			require.ErrorAs(t, err, &verr)
			assert.Equal(t, tt.missing, verr.Missing)
			assert.Equal(t, tt.version, verr.Version)
		})
	}
}

func TestUnmarshalMalformed(t *testing.T) {
	full, err := Marshal(fullState())
	require.NoError(t, err)
	cut := len(full) / 2
	cutLine := bytes.Count(full[:cut], []byte("\n")) + 1
	cutCol := cut - bytes.LastIndexByte(full[:cut], '\n')

	tests := []struct {
		name, data, want string
	}{
		{"empty", "", "snap.json: empty file, not a pulltop snapshot"},
		{"blank", " \n\t\n", "snap.json: empty file, not a pulltop snapshot"},
		{"truncated", string(full[:cut]),
			"snap.json: snapshot is truncated: the JSON stops at line " + strconv.Itoa(cutLine) + ", column " + strconv.Itoa(cutCol) + " (byte offset " + strconv.Itoa(cut) + "): unexpected end of JSON input"},
		{"corrupt", "{\n  \"version\": 1,,\n}",
			`snap.json: malformed snapshot at line 2, column 16 (byte offset 17): invalid character ',' looking for beginning of object key string`},
		{"trailing data", "{\"version\": 1}\n{\"version\": 1}\n",
			`snap.json: malformed snapshot at line 2, column 1 (byte offset 15): invalid character '{' after top-level value`},
		{"not JSON", "\x00\x01binary",
			`snap.json: malformed snapshot at line 1, column 1 (byte offset 0): invalid character '\x00' looking for beginning of value`},
		{"array", `[{"version": 1}]`, "snap.json: not a pulltop snapshot: want a JSON object, found array"},
		{"string", `"snap"`, "snap.json: not a pulltop snapshot: want a JSON object, found string"},
		{"version string", `{"version": "1"}`,
			`snap.json: not a pulltop snapshot: "version" is string, want an integer (this pulltop reads versions 1 to 2)`},
		{"version float", `{"version": 1.5}`,
			`snap.json: not a pulltop snapshot: "version" is number 1.5, want an integer (this pulltop reads versions 1 to 2)`},
		{"wrong field type", "{\"version\": 1,\n \"regions\": [{\"id\": 3, \"state\": 5}]}",
			`snap.json: bad snapshot at line 2, column 33 (byte offset 47): json: cannot unmarshal number into Go struct field Region.regions.state of type string`},
		{"negative uint", `{"version": 1, "seq": -1}`,
			`snap.json: bad snapshot at line 1, column 24 (byte offset 23): json: cannot unmarshal number -1 into Go struct field State.seq of type uint64`},
		{"bad time", `{"version": 1, "taken_at": "yesterday"}`,
			`snap.json: bad snapshot: parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Unmarshal([]byte(tt.data), "snap.json")
			assert.Nil(t, s)
			assert.EqualError(t, err, tt.want)
		})
	}
}

func TestUnmarshalToleratesUnknownFields(t *testing.T) {
	data := `{"version": 1, "from_the_future": {"x": [1, 2]}, "stores": [{"id": 1, "state": "up", "zone": "z1"}]}`
	s, err := Unmarshal([]byte(data), "snap.json")
	require.NoError(t, err)
	require.Len(t, s.Stores, 1)
	assert.Equal(t, StoreUp, s.Stores[0].State)
}

func TestUnmarshalValidates(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*State)
		want   string
	}{
		{"region state", func(s *State) { s.Regions[0].State = "runing" },
			`regions[0] (region 12): unknown state "runing" (known: queued, locating, parked, requested, initialized, retry-wait, reload-wait, stale)`},
		{"store state", func(s *State) { s.Stores[0].State = "gone" },
			`stores[0] (store 2): unknown state "gone" (known: up, cooldown, paused, down)`},
		{"negative totals", func(s *State) { s.Totals.Stale = -1 }, "totals.stale is negative (-1)"},
		{"negative errors", func(s *State) { s.Totals.ErrorsByReason[ReasonCongested] = -2 },
			`totals.errors_by_reason["congested"] is negative (-2)`},
		{"negative rate", func(s *State) { s.Totals.EventsPerSec = -1 },
			"totals.events_per_sec is -1, want a non-negative number"},
		{"negative store count", func(s *State) { s.Stores[0].Streams = -1 }, "stores[0] (store 2): streams is negative (-1)"},
		{"negative cooldown", func(s *State) { s.Stores[0].CooldownMsLeft = -1 }, "stores[0] (store 2): cooldown_ms_left is negative (-1)"},
		{"negative retry attempts", func(s *State) { s.Regions[0].RetryAttempts = -1 }, "regions[0] (region 12): retry_attempts is negative (-1)"},
		{"region key", func(s *State) { s.Regions[0].End = "t1_r2" }, `regions[0] (region 12): end key "t1_r2" is not hex`},
		{"subscription key", func(s *State) { s.Subscriptions[0].Start = "748" }, `subscriptions[0] (subscription 1): start key "748" is not hex`},
		{"retry attempt", func(s *State) { s.Retries[0].Attempt = -1 }, "retries[0] (region 12): attempt is negative (-1)"},
		{"retry key", func(s *State) { s.Retries[0].Start = "zz" }, `retries[0] (region 12): start key "zz" is not hex`},
		{"reload merged", func(s *State) { s.Reloads[0].MergedFrom = -1 }, "reloads[0] (subscription 1): merged_from is negative (-1)"},
		{"reload age", func(s *State) { s.Reloads[0].QueuedMsAgo = -1 }, "reloads[0] (subscription 1): queued_ms_ago is negative (-1)"},
		{"event key", func(s *State) { s.Events[0].Key = "x" }, `events[0] (region 12): key "x" is not hex`},
		{"event value", func(s *State) { s.Events[0].ValueLen = -1 }, "events[0] (region 12): value_len is negative (-1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fullState()
			tt.mutate(s)
			require.EqualError(t, s.Validate(), tt.want)

			// Encode the bad value past Marshal's check, as a hand-edited or
			// foreign file would carry it, and load it.
			data, err := json.MarshalIndent(s, "", "  ")
			require.NoError(t, err)
			_, err = Unmarshal(data, "snap.json")
			assert.EqualError(t, err, "snap.json: bad snapshot: "+tt.want)
		})
	}

	var nilState *State
	assert.EqualError(t, nilState.Validate(), "nil State")
	empty := &State{Version: Version}
	assert.NoError(t, empty.Validate(), "an empty snapshot (no regions yet) is valid")
}

func TestDefaultDir(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	dir, err := DefaultDir()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(state, "pulltop"), dir)

	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_STATE_HOME", "")
	dir, err = DefaultDir()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(home, ".local", "state", "pulltop"), dir)

	// The XDG spec says relative paths are invalid and must be ignored.
	t.Setenv("XDG_STATE_HOME", "relative/state")
	dir, err = DefaultDir()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(home, ".local", "state", "pulltop"), dir)

	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "")
	_, err = DefaultDir()
	assert.ErrorContains(t, err, "choosing a snapshot directory: XDG_STATE_HOME is not set and there is no home directory")
}

func TestNewFileName(t *testing.T) {
	at := time.Date(2026, 11, 25, 20, 30, 0, 999_000_000, time.UTC)
	assert.Equal(t, "pulltop-20261125-203000.json", NewFileName(at))
	assert.Equal(t, "pulltop-20260105-090807.json", NewFileName(time.Date(2026, 1, 5, 9, 8, 7, 0, time.FixedZone("X", 3600))))
	assert.True(t, NewFileName(at) < NewFileName(at.Add(time.Second)), "names sort by time")
}

// FuzzUnmarshal checks that no input panics, that every error names the
// file, and that whatever loads can be saved and loads again to the same
// bytes.
func FuzzUnmarshal(f *testing.F) {
	full, err := Marshal(fullState())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	f.Add(full[:len(full)/3])
	f.Add([]byte(`{"version": 1}`))
	f.Add([]byte(`{"version": 2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Unmarshal(data, "fuzz.json")
		if err != nil {
			if s != nil {
				t.Fatalf("got a State and an error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "fuzz.json: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		first, err := Marshal(s)
		if err != nil {
			t.Fatalf("loaded a State that cannot be saved: %v", err)
		}
		again, err := Unmarshal(first, "fuzz.json")
		if err != nil {
			t.Fatalf("cannot load what was saved: %v\n%s", err, first)
		}
		second, err := Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("save/load/save changed the file:\n%s\n---\n%s", first, second)
		}
	})
}
