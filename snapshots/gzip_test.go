package snapshots

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var gzipMagic = []byte{0x1f, 0x8b}

func TestSaveLoadRoundTripJSONAndGzip(t *testing.T) {
	dir := t.TempDir()
	want := fullStateWithHistory()
	for _, tc := range []struct {
		name string
		gz   bool
	}{{"s.json", false}, {"s.json.gz", true}, {"S.JSON.GZ", true}, {"s.gz", true}, {"s.gzip", false}} {
		path := filepath.Join(dir, tc.name)
		require.NoError(t, Save(path, want))
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, tc.gz, bytes.HasPrefix(data, gzipMagic), "%s: gzip", tc.name)
		if !tc.gz {
			assert.Equal(t, byte('{'), data[0])
		}
		got, err := Load(path)
		require.NoError(t, err, tc.name)
		assert.Equal(t, want, got, tc.name)
	}
	// A .gz name through a link to a file without it, and the other way
	// round: either name asks for gzip.
	require.NoError(t, os.Symlink("target.json", filepath.Join(dir, "link.json.gz")))
	require.NoError(t, Save(filepath.Join(dir, "link.json.gz"), want))
	data, err := os.ReadFile(filepath.Join(dir, "target.json"))
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(data, gzipMagic), "gzip through a link named .gz")
}

// The gzip file holds the very bytes of the JSON file.
func TestGzipHoldsTheSameDocument(t *testing.T) {
	dir := t.TempDir()
	s := fullStateWithHistory()
	require.NoError(t, Save(filepath.Join(dir, "a.json"), s))
	require.NoError(t, Save(filepath.Join(dir, "a.json.gz"), s))
	plain, err := os.ReadFile(filepath.Join(dir, "a.json"))
	require.NoError(t, err)
	f, err := os.Open(filepath.Join(dir, "a.json.gz"))
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	var unzipped bytes.Buffer
	_, err = unzipped.ReadFrom(zr)
	require.NoError(t, err)
	assert.Equal(t, string(plain), unzipped.String())
	marshaled, err := Marshal(s)
	require.NoError(t, err)
	assert.Equal(t, string(marshaled), string(plain), "Save writes what Marshal returns")
}

func TestLoadDetectsGzipByMagicNotName(t *testing.T) {
	dir := t.TempDir()
	s := fullState()
	gz := filepath.Join(dir, "s.json.gz")
	require.NoError(t, Save(gz, s))
	plain := filepath.Join(dir, "p.json")
	require.NoError(t, Save(plain, s))
	data, err := os.ReadFile(gz)
	require.NoError(t, err)
	plainData, err := os.ReadFile(plain)
	require.NoError(t, err)
	for name, content := range map[string][]byte{
		"gzip-named.json": data, "gzip-no-extension": data, "plain-named.gz": plainData,
	} {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, content, 0o600))
		got, err := Load(path)
		require.NoError(t, err, name)
		assert.Equal(t, s.Seq, got.Seq, name)
	}
}

func TestLoadTruncatedOrCorruptGzip(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.json.gz")
	require.NoError(t, Save(full, fullStateWithHistory()))
	data, err := os.ReadFile(full)
	require.NoError(t, err)
	for _, cut := range []int{5, 20, len(data) / 2, len(data) - 6, len(data) - 1} {
		path := filepath.Join(dir, "cut.json.gz")
		require.NoError(t, os.WriteFile(path, data[:cut], 0o600))
		s, err := Load(path)
		require.Error(t, err, "cut at %d of %d", cut, len(data))
		assert.Nil(t, s)
		assert.Regexp(t, `^`+regexpQuote(path)+`: gzip file is truncated: it ends after \d+ bytes of JSON, before the end of its compressed data \(an interrupted copy or a full disk\?\)$`, err.Error(), "cut at %d", cut)
	}

	// A bad byte in the middle: flate's own error, or garbage JSON whose
	// checksum then fails; a gzip error either way.
	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 0xff
	path := filepath.Join(dir, "bad.json.gz")
	require.NoError(t, os.WriteFile(path, bad, 0o600))
	_, err = Load(path)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), path+": corrupt gzip file (after "), err.Error())

	// The checksum of the JSON is wrong: every byte read was fine.
	sum := bytes.Clone(data)
	sum[len(sum)-8] ^= 0xff
	require.NoError(t, os.WriteFile(path, sum, 0o600))
	_, err = Load(path)
	require.ErrorContains(t, err, path+": corrupt gzip file (after ")
	require.ErrorContains(t, err, "gzip: invalid checksum")

	// gzip holding something else than JSON.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("\x00\x01binary"))
	zw.Close()
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o600))
	_, err = Load(path)
	require.EqualError(t, err, path+": not a pulltop snapshot: it is gzip, but what it holds starts with byte 0x00, not a JSON object")
}

func regexpQuote(s string) string {
	return strings.NewReplacer(".", `\.`, "+", `\+`, "(", `\(`, ")", `\)`).Replace(s)
}

// A gzip bomb, a small file that expands far beyond the cap, is refused
// once the cap is read, not after filling memory; so is a plain file over
// the cap.
func TestLoadRefusesGzipBomb(t *testing.T) {
	const limit = 1 << 20
	dir := t.TempDir()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	require.NoError(t, err)
	zw.Write([]byte(`{"version": 2, "engine_error": "`))
	zeros := bytes.Repeat([]byte("0"), 1<<20)
	for range 64 { // 64 MiB of JSON
		zw.Write(zeros)
	}
	zw.Write([]byte(`"}`))
	require.NoError(t, zw.Close())
	require.Less(t, buf.Len(), 256<<10, "the bomb is small")
	bomb := filepath.Join(dir, "bomb.json")
	require.NoError(t, os.WriteFile(bomb, buf.Bytes(), 0o600))

	_, err = load(bomb, limit)
	require.EqualError(t, err, bomb+": decompresses to more than 1 MiB: not a snapshot pulltop wrote (a gzip bomb?)")

	// Under the cap the same file loads: the cap, not the content, refused it.
	_, err = load(bomb, 128<<20)
	require.NoError(t, err)

	big := filepath.Join(dir, "big.json")
	require.NoError(t, os.WriteFile(big, append(append([]byte(`{"version": 2, "engine_error": "`), bytes.Repeat([]byte("0"), 2<<20)...), `"}`...), 0o600))
	_, err = load(big, limit)
	require.EqualError(t, err, big+": larger than 1 MiB: not a snapshot pulltop wrote")

	// Exactly at the cap is fine.
	exact := filepath.Join(dir, "exact.json")
	doc := []byte(`{"version": 2}`)
	require.NoError(t, os.WriteFile(exact, doc, 0o600))
	_, err = load(exact, int64(len(doc)))
	require.NoError(t, err)
	_, err = load(exact, int64(len(doc))-1)
	require.ErrorContains(t, err, "larger than 13 bytes")
}

// ctrl+s: a big snapshot is written gzipped, a small one stays plain JSON.
func TestSaveNewGzipsBigSnapshots(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 11, 25, 20, 30, 0, 0, time.UTC)
	small, err := SaveNew(dir, at, fullState())
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "pulltop-20261125-203000.json"), small)

	big := bigState(GzipAbove + 1)
	for _, want := range []string{"pulltop-20261125-203000.json.gz", "pulltop-20261125-203000_2.json.gz"} {
		path, err := SaveNew(dir, at, big)
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(dir, want), path)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.True(t, bytes.HasPrefix(data, gzipMagic))
		got, err := Load(path)
		require.NoError(t, err)
		assert.Len(t, got.Regions, GzipAbove+1)
	}
	atLimit, err := SaveNew(dir, at.Add(time.Second), bigState(GzipAbove))
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(atLimit, ".json"), atLimit)
}

// The streamed encoder writes what json.Marshal writes, whitespace aside:
// the same fields, order, escapes and times. So any JSON reader reads the
// files, and a field added to State cannot be lost by the encoder.
func TestEncodeIsMarshalIndentedDifferently(t *testing.T) {
	for name, s := range map[string]*State{
		"full":    fullStateWithHistory(),
		"empty":   {Version: Version},
		"hostile": hostileState(),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := prepare(s)
			require.NoError(t, err)
			want, err := json.Marshal(c)
			require.NoError(t, err)
			got, err := Marshal(s)
			require.NoError(t, err)
			var compact bytes.Buffer
			require.NoError(t, json.Compact(&compact, got))
			assert.Equal(t, string(want), compact.String())
		})
	}
}

// hostileState has what the fast paths must hand to encoding/json: escapes,
// HTML characters, non-ASCII, times in other zones, empty and nil slices.
func hostileState() *State {
	s := fullStateWithHistory()
	s.Regions = append(s.Regions, s.Regions[0], s.Regions[0], s.Regions[0])
	r := &s.Regions[1]
	r.Diagnosis = `a "quoted" <b>&amp;</b> \ back` + "\u2028 line sep, é, 日本, tab\there"
	r.LastError = hostile
	r.Since = time.Date(2026, 3, 1, 2, 3, 4, 5, time.FixedZone("X", 5*3600+30*60))
	r.LastErrorAt = time.Date(2026, 3, 1, 2, 3, 4, 0, time.FixedZone("Y", -7*3600))
	r.LastAdvanceAt = time.Time{}
	r.Lineage = []Origin{}
	s.Regions[2].Lineage = nil
	s.Regions[3].Lineage = []Origin{{Kind: "merge", From: 1, At: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)}, {Kind: "split", From: 1 << 63}}
	s.Regions[3].ResolvedLagMs = 1<<63 - 1
	s.Stores[0].Addr = "[::1]:20160"
	s.Stores = append(s.Stores, Store{ID: 3, State: StoreDown, Addr: "é"})
	s.Log = append(s.Log, LogEntry{Kind: LogState, Text: "x\u0000y"})
	s.Retries = []Retry{}
	s.Events = nil
	return s
}

func TestDecodeReadsTheOldIndentedFormat(t *testing.T) {
	for _, s := range []*State{fullStateWithHistory(), hostileState()} {
		c, err := prepare(s)
		require.NoError(t, err)
		indented, err := json.MarshalIndent(c, "", "  ")
		require.NoError(t, err)
		compact, err := json.Marshal(c)
		require.NoError(t, err)
		for _, data := range [][]byte{indented, compact} {
			got, err := Unmarshal(data, "old.json")
			require.NoError(t, err)
			want, err := diagnose(data, "old.json")
			require.NoError(t, err)
			assert.Equal(t, want, got)
		}
	}
}

// Elements the fast path must leave to encoding/json, and the result must
// still be encoding/json's.
func TestDecodeFastPathAgreesOnOddElements(t *testing.T) {
	for _, region := range []string{
		`{"id":1,"state":"initialized","start":"74","end":"75"}`,
		`{"ID":1,"State":"initialized"}`,                            // keys in another case
		`{"id":1,"state":"init\u0069alized","unknown":[1,{"a":2}]}`, // escape, unknown key
		`{"id":1,"state":"initialized","id":2}`,                     // a key twice
		`{"id":1,"state":"initialized","last_error":null,"lineage":null}`,
		`{"id":1,"state":"initialized","lineage":[]}`,
		`{"id":1,"state":"initialized","lineage":[{"kind":"split","from":3,"at":"2026-01-01T00:00:00+05:30"}]}`,
		`{"id":1,"state":"initialized","since":"2026-01-01T00:00:00.5-07:00"}`,
		` { "id" : 1 , "state" : "initialized" , "initialized" : true } `,
		`{"id":1,"state":"initialized","retry_attempts":-0}`,
		`{"id":1,"state":"initialized","last_error":"\xff\xfe bad utf-8"}`,
		`{}`,
	} {
		data := []byte(`{"version": 2, "regions": [` + region + `]}`)
		got, err := Unmarshal(data, "odd.json")
		want, werr := diagnose(data, "odd.json")
		require.Equal(t, werr == nil, err == nil, "%s: stream %v, encoding/json %v", region, err, werr)
		assert.Equal(t, want, got, region)
	}
	for _, region := range []string{
		`{"id":1e3,"state":"initialized"}`,
		`{"id":-1,"state":"initialized"}`,
		`{"id":18446744073709551616,"state":"initialized"}`,
		`{"id":01,"state":"initialized"}`,
		`{"id":1,"state":"initialized","initialized":"yes"}`,
		`{"id":1,"state":"initialized","since":"yesterday"}`,
		`{"id":1,"state":"initialized",}`,
		`{"id":1 "state":"initialized"}`,
		`{"id":1,"state":"initialized"`,
		`[1]`,
	} {
		data := []byte(`{"version": 2, "regions": [` + region + `]}`)
		_, err := Unmarshal(data, "odd.json")
		_, werr := diagnose(data, "odd.json")
		require.Error(t, werr, region)
		require.EqualError(t, err, werr.Error(), region)
	}
}

// FuzzDecodeStream: the streaming decoder and encoding/json agree on every
// input: both refuse it, or both give the same State.
//
//	go test -run '^$' -fuzz FuzzDecodeStream -fuzztime 60s ./snapshots/
func FuzzDecodeStream(f *testing.F) {
	for _, s := range []*State{fullStateWithHistory(), hostileState()} {
		data, err := Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)*2/3])
		compact, _ := json.Marshal(s)
		f.Add(compact)
	}
	f.Add([]byte(`{"version": 1, "regions": [{"id": 1, "state": "queued"}], "stores": null}`))
	f.Add([]byte(`{"regions": [], "version": 2, "history": {"regions": [{"sub":1}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeStream(bytes.NewReader(data), "f.json")
		want, werr := diagnose(data, "f.json")
		if (err == nil) != (werr == nil) {
			// A version error may come before a syntax error further on.
			var ve *VersionError
			if err != nil && errors.As(err, &ve) {
				return
			}
			t.Fatalf("stream: %v; encoding/json: %v", err, werr)
		}
		if err == nil && !reflect.DeepEqual(want, got) {
			// (assert.Equal's diff of two States takes minutes.)
			t.Fatalf("stream and encoding/json decode differently:\n%.2000s", data)
		}
	})
}

// TestDecodeStreamAgreesOnMutations is FuzzDecodeStream's check on a few
// thousand deterministic mutations (byte changes, cuts, inserted JSON
// punctuation and escapes, removed spans) of real snapshots, so it runs
// with every `go test`.
func TestDecodeStreamAgreesOnMutations(t *testing.T) {
	var seeds [][]byte
	for _, s := range []*State{fullStateWithHistory(), hostileState()} {
		data, err := Marshal(s)
		require.NoError(t, err)
		seeds = append(seeds, data)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const punct = "\\\"{}[],: n0e-"
	for it := range 3000 {
		d := bytes.Clone(seeds[it%len(seeds)])
		for range 1 + rng.IntN(3) {
			i := rng.IntN(len(d))
			switch rng.IntN(4) {
			case 0:
				d[i] = byte(rng.IntN(256))
			case 1:
				d = d[:i+1]
			case 2:
				d = slices.Insert(d, i, punct[rng.IntN(len(punct))])
			case 3:
				d = slices.Delete(d, i, i+rng.IntN(len(d)-i))
			}
			if len(d) == 0 {
				d = []byte("{")
			}
		}
		got, err := decodeStream(bytes.NewReader(d), "m.json")
		want, werr := diagnose(d, "m.json")
		var ve *VersionError
		if (err == nil) != (werr == nil) && !errors.As(err, &ve) {
			t.Fatalf("mutation %d: stream %v; encoding/json %v\n%.3000s", it, err, werr, d)
		}
		if err == nil && !reflect.DeepEqual(want, got) {
			t.Fatalf("mutation %d: stream and encoding/json decode differently\n%.3000s", it, d)
		}
	}
}
