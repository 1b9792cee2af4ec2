package snapshots

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hugeStringSize is the string the replay memory tests hide in a file:
// 128 MiB by default (the old decoder held it twice over), the issue's
// 1 GiB with PULLTOP_SOAK set.
func hugeStringSize() int {
	if os.Getenv("PULLTOP_SOAK") != "" {
		return 1 << 30
	}
	return 128 << 20
}

// writeHugeGzip writes, streaming, a gzip snapshot whose JSON is head, n
// bytes of fill, then tail: a few MB on disk, n bytes of JSON.
func writeHugeGzip(t *testing.T, head string, n int, fill byte, tail string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "huge.json.gz")
	f, err := os.Create(path)
	require.NoError(t, err)
	bw := bufio.NewWriter(f)
	zw, err := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	require.NoError(t, err)
	_, err = zw.Write([]byte(head))
	require.NoError(t, err)
	chunk := []byte(strings.Repeat(string(fill), 1<<20))
	for left := n; left > 0; left -= len(chunk) {
		_, err = zw.Write(chunk[:min(left, len(chunk))])
		require.NoError(t, err)
	}
	_, err = zw.Write([]byte(tail))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, bw.Flush())
	require.NoError(t, f.Close())
	return path
}

// allocatedBy is how many bytes fn allocated on the heap: a bound on its
// peak heap that does not depend on when the collector ran.
func allocatedBy(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

const replayHeapBound = 32 << 20

// Issue 25 item 2: a small .json.gz holding one huge string in a field this
// pulltop does not know took 4.9 GB to load (1 GiB of JSON). An unknown
// field is skipped as it streams, so loading costs the read buffers.
func TestLoadSkipsAHugeUnknownField(t *testing.T) {
	n := hugeStringSize()
	path := writeHugeGzip(t, `{"version": 2, "from_the_future": {"note": "`, n, 'a', `", "n": [1, 2.5e3, true, null]}, "seq": 7}`)
	var st *State
	var err error
	alloc := allocatedBy(func() { st, err = Load(path) })
	require.NoError(t, err)
	assert.Equal(t, uint64(7), st.Seq, "the fields after the unknown one are read")
	assert.Less(t, alloc, uint64(replayHeapBound), "loading a %d MiB unknown string allocated %d MiB", n>>20, alloc>>20)
}

// A huge string in a field pulltop knows is cut while it is read: a key to
// MaxKeyLen and marked, any other string then to MaxStringLen by cleaning.
func TestLoadCutsHugeStringsWhileDecoding(t *testing.T) {
	n := hugeStringSize() / 2
	region := func(id int, start, lastErrorHead string) string {
		return `{"id": ` + string(rune('0'+id)) + `, "subscription": 1, "start": "` + start + `", "end": "", "state": "initialized", "last_error": "` + lastErrorHead
	}
	path := writeHugeGzip(t, `{"version": 2, "regions": [`+region(1, "7480", `x`), n, 'e',
		`"}, `+region(2, "74", "")+`"}], "engine_error": "`+strings.Repeat("\\u001b", 5)+`"}`)
	var st *State
	var err error
	alloc := allocatedBy(func() { st, err = Load(path) })
	require.NoError(t, err)
	require.Len(t, st.Regions, 2)
	assert.LessOrEqual(t, len(st.Regions[0].LastError), MaxStringLen)
	assert.True(t, strings.HasSuffix(st.Regions[0].LastError, "…"))
	assert.Equal(t, `\x1b\x1b\x1b\x1b\x1b`, st.EngineError)
	assert.Less(t, alloc, uint64(replayHeapBound), "loading a %d MiB string allocated %d MiB", n>>20, alloc>>20)

	// A key past MaxKeyLen is cut and marked as CleanKey cuts it, and the
	// result is valid.
	path = writeHugeGzip(t, `{"version": 2, "regions": [{"id": 3, "subscription": 1, "state": "queued", "end": "", "start": "74`, n, 'f', `"}]}`)
	alloc = allocatedBy(func() { st, err = Load(path) })
	require.NoError(t, err)
	assert.Equal(t, CleanKey("74"+strings.Repeat("f", MaxKeyLen)), st.Regions[0].Start)
	assert.Less(t, alloc, uint64(replayHeapBound))
}

// The streaming skip accepts exactly what json.Valid does.
func TestSkipAgreesWithJSONValid(t *testing.T) {
	for _, v := range []string{
		`1`, `-0.5e+10`, `01`, `-`, `1.`, `1e`, `.5`, `"a\"b\\c\u00e9\n"`, `"\x"`, `"\u12G4"`, "\"a\x01\"",
		`[]`, `{}`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{1:2}`, `[1 2]`, `[[[[]]]]`, `{"a":{"b":[true,false,null]}}`,
		`tru`, `nul`, `truex`, `[1}`, `{"a":1]`, `"unterminated`, `[` + strings.Repeat(`"x",`, 1000) + `"y"]`,
	} {
		doc := `{"version": 2, "unknown": ` + v + `}`
		_, err := decodeStream(strings.NewReader(doc), "t")
		assert.Equal(t, json.Valid([]byte(doc)), err == nil, "%s: %v", v, err)
	}
}

// The timeline's tables are long base64 strings: cutting strings while
// decoding must leave them whole (a 100k-region snapshot failed to load
// with "illegal base64 data at input byte 65536" before they were spared).
func TestLoadKeepsLongTimelineTablesWhole(t *testing.T) {
	s := scaleState(20_000)
	require.NotNil(t, s.History)
	long := false
	for _, f := range s.History.Frames {
		b, err := json.Marshal(f)
		require.NoError(t, err)
		long = long || len(b) > MaxKeyLen
	}
	path := filepath.Join(t.TempDir(), "s.json")
	require.NoError(t, Save(path, s))
	got, err := Load(path)
	require.NoError(t, err)
	require.Len(t, got.Regions, 20_000)
	require.Equal(t, len(s.History.Frames), len(got.History.Frames))
	t.Logf("a frame over %d bytes: %v", MaxKeyLen, long)
}
