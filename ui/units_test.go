package ui

import (
	"bytes"
	"encoding/hex"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tikv/client-go/v2/util/codec"
)

func TestDecodeKeyName(t *testing.T) {
	enc := func(raw []byte) string { return hex.EncodeToString(codec.EncodeBytes(nil, raw)) }
	cases := []struct {
		name, hexKey, want string
	}{
		{"row key", rowKeyHex(123, 456), "t123_r456"},
		{"negative handle", rowKeyHex(5, -7), "t5_r-7"},
		{"table prefix", enc(codec.EncodeInt([]byte{'t'}, 123)), "t123"},
		{"table rows start", tablePrefixHex(123, 'r'), "t123_r"},
		{"table rows end", tablePrefixHex(123, 's'), "t123_s"},
		{"all tables start", enc([]byte("t")), "t"},
		{"all tables end", enc([]byte("u")), "u"},
		{"meta key stays hex", enc([]byte("mDDLJobList")), enc([]byte("mDDLJobList"))},
		{"not memcomparable stays hex", "7480000000", "7480000000"},
		{"not hex stays as is", "zz", "zz"},
		{"empty", "", ""},
		{"index key stays hex", enc(append(codec.EncodeInt([]byte{'t'}, 1), '_', 'i', 1, 2)), enc(append(codec.EncodeInt([]byte{'t'}, 1), '_', 'i', 1, 2))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, decodeKeyName(c.hexKey))
		})
	}
	k := newKeyNames()
	require.Equal(t, "-inf", k.start(""))
	require.Equal(t, "+inf", k.end(""))
	require.Equal(t, "[t1_r2, +inf)", k.spanName(rowKeyHex(1, 2), ""))
}

func TestKeyNamesCacheIsBounded(t *testing.T) {
	k := newKeyNames()
	k.setLimit(10)
	for i := range 10000 {
		k.name(rowKeyHex(1, int64(i)))
	}
	require.LessOrEqual(t, len(k.names), 1<<12)
}

func TestParseFilter(t *testing.T) {
	fields := (&regionsView{}).fields()
	cases := []struct {
		raw, err string
		terms    int
	}{
		{"", "", 0},
		{"stale", "", 1},
		{"!stale store:2", "", 2},
		{"lag>5s lag<1m lag:2s", "", 3},
		{"attempts>3", "", 1},
		{"colour:red", `unknown field "colour"`, 0},
		{"store:", "needs a value", 0},
		{"store:two", "wants a number", 0},
		{"lag>five", "wants a duration", 0},
		{"state>x", "is text", 0},
	}
	for _, c := range cases {
		f := parseFilter(c.raw, fields)
		if c.err != "" {
			require.Contains(t, f.err, c.err, c.raw)
			continue
		}
		require.Empty(t, f.err, c.raw)
		require.Len(t, f.terms, c.terms, c.raw)
	}
}

func TestFilterMatching(t *testing.T) {
	s := fixtureState()
	v := &regionsView{ctx: &renderCtx{names: newKeyNames()}}
	v.setState(s)
	fields := v.fields()
	count := func(raw string) int {
		f := parseFilter(raw, fields)
		n := 0
		for i := range int32(len(s.Regions)) {
			if f.match(i, fields, v.ctx.names) {
				n++
			}
		}
		return n
	}
	require.Equal(t, 16, count(""))
	require.Equal(t, 1, count("STALE"), "case-insensitive")
	require.Equal(t, 15, count("!stale"))
	require.Equal(t, 4, count("store:2"))
	require.Equal(t, 4, count("state:parked"))
	require.Equal(t, 1, count("store:2 state:parked"))
	require.Equal(t, 11, count("lag>1s"), "waiting regions lag from their range's resolved ts")
	require.Equal(t, 1, count("lag:12s"))
	require.Equal(t, 2, count("retries>3"))
	require.Equal(t, 1, count("t107"), "decoded span")
	require.Equal(t, 2, count("not_leader"), "error text (region 3 has an old one)")
	require.Equal(t, 1, count("sub:2"))
	require.Equal(t, 8, count("key:t100_r1"), "substring of a bound: t100_r1000, t100_r10000…")
	require.Equal(t, 0, count("key:t100_r1000,"), "bounds are matched one at a time, not as the shown text")
}

func TestAppendDur(t *testing.T) {
	for ms, want := range map[int64]string{
		0: "0ms", 850: "850ms", 1000: "1.0s", 1234: "1.2s", 59999: "59.9s", 60000: "1m00s",
		123000: "2m03s", 3600000: "1h00m", 3723000: "1h02m", 86400000: "1d00h", 97200000: "1d03h",
		-1500: "-1.5s",
	} {
		require.Equal(t, want, fmtDur(ms), ms)
	}
}

func TestAppendCell(t *testing.T) {
	require.Equal(t, "ab   ", string(appendCell(nil, "ab", 5, false)))
	require.Equal(t, "   ab", string(appendCell(nil, "ab", 5, true)))
	require.Equal(t, "abcd…", string(appendCell(nil, "abcdefgh", 5, false)))
	require.Equal(t, "", string(appendCell(nil, "ab", 0, false)))
	// Control characters from an error message never reach the terminal.
	require.Equal(t, "a b  ", string(appendCell(nil, "a\nb", 5, false)))
	require.Equal(t, "héllo…", string(appendCell(nil, "héllo wörld", 6, false)))
	require.Equal(t, 6, textWidth(string(appendCell(nil, "日本語のテキスト", 6, false))))
}

func TestContainsFold(t *testing.T) {
	require.True(t, containsFold("Not_Leader: x", "not_leader"))
	require.False(t, containsFold("abc", "abcd"))
	require.True(t, containsFold("abc", ""))
}

func TestTableLayoutDropsColumns(t *testing.T) {
	tbl := newTable((&regionsView{}).columns(), regColLag, true)
	tbl.setSize(60, 10)
	require.Zero(t, tbl.widths[regColError], "error dropped first")
	require.Zero(t, tbl.widths[regColSub])
	require.NotZero(t, tbl.widths[regColState], "state never dropped")
	require.NotZero(t, tbl.widths[regColLag])
	tbl.setSize(200, 10)
	for i, w := range tbl.widths {
		require.NotZero(t, w, "column %d at 200 cells", i)
	}
	require.LessOrEqual(t, tbl.widths[regColSpan], 36)
}

// TestRun runs the real program over pipes: it starts, draws, and quits
// on q with no goroutine left behind (goleak in TestMain).
func TestRun(t *testing.T) {
	src := &fakeSource{s: fixtureState()}
	in, inW := io.Pipe()
	var out lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(Options{Source: src, RefreshInterval: 250 * time.Millisecond}, in, &out)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "Overview") {
		require.True(t, time.Now().Before(deadline), "no frame drawn: %q", out.String())
		time.Sleep(10 * time.Millisecond)
	}
	_, err := inW.Write([]byte("q"))
	require.NoError(t, err)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after q")
	}
	inW.Close()
}

// lockedBuffer is the program's output, read while it is being written.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
