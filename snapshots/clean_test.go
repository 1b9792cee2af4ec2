package snapshots

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestCleanString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain 127.0.0.1:20160", "plain 127.0.0.1:20160"},
		{"stalled — 3 regions…", "stalled — 3 regions…"},
		{"a\tb\nc\r\u2028d", "a b c  d"},
		{"\x1b]0;pwned\x07", `\x1b]0;pwned\a`},
		{"\x1b[2J", `\x1b[2J`},
		{"\u009b31m", `\u009b31m`},
		{"\u202eevil", `\u202eevil`},
		{"zero\u200bwidth", `zero\u200bwidth`},
		{"bad\xffbyte\x9b", `bad\xffbyte\x9b`},
		{"\x7f", `\x7f`},
	} {
		got := CleanString(c.in)
		require.Equal(t, c.want, got, "CleanString(%q)", c.in)
		require.Empty(t, escapeFree(got), "CleanString(%q) = %q", c.in, got)
		require.Equal(t, c.in != c.want, NeedsCleaning(c.in), "NeedsCleaning(%q)", c.in)
		require.False(t, NeedsCleaning(got), "cleaning is idempotent: %q", got)
	}
	long := strings.Repeat("é", MaxStringLen) // 2 bytes a rune
	got := CleanString(long)
	require.True(t, NeedsCleaning(long))
	require.LessOrEqual(t, len(got), MaxStringLen+len("…"))
	require.True(t, strings.HasSuffix(got, "é…"), "cut on a rune boundary")
}

func TestCleanReturnsACleanStateItself(t *testing.T) {
	s := fullState()
	require.Same(t, s, Clean(s))
	require.Nil(t, Clean(nil))

	// One dirty region: the copy shares nothing it changed with s.
	s.Regions = append(s.Regions, s.Regions[0])
	s.Regions[1].LastError = "boom\x1b[2J"
	c := Clean(s)
	require.NotSame(t, s, c)
	require.Equal(t, `boom\x1b[2J`, c.Regions[1].LastError)
	require.Equal(t, "boom\x1b[2J", s.Regions[1].LastError)
	require.Equal(t, s.Stores, c.Stores)
}

// bigState has n regions with their own key and error strings, as the
// engine's are.
func bigState(n int) *State {
	s := fullState()
	r := s.Regions[0]
	r.Diagnosis = "pinned 25s by txn 470712; no commit or rollback seen"
	s.Regions = make([]Region, n)
	for i := range s.Regions {
		s.Regions[i] = r
		s.Regions[i].Start = fmt.Sprintf("7480000000000000ff%016x", 2*i)
		s.Regions[i].End = fmt.Sprintf("7480000000000000ff%016x", 2*i+1)
		s.Regions[i].LastError = fmt.Sprintf("not_leader: region %d", i)
	}
	return s
}

// BenchmarkClean is a first look at a snapshot of 1M regions (replay).
func BenchmarkClean(b *testing.B) {
	s := bigState(1_000_000)
	b.ResetTimer()
	for range b.N {
		if Clean(s) != s {
			b.Fatal("clean state copied")
		}
	}
}

// BenchmarkCleanSince is the UI's refresh on a live engine at 1M regions:
// a new snapshot (new records) whose strings are mostly those of the last.
func BenchmarkCleanSince(b *testing.B) {
	prev := bigState(1_000_000)
	next := *prev
	next.Regions = slices.Clone(prev.Regions)
	for i := 0; i < len(next.Regions); i += 100 {
		next.Regions[i].Diagnosis = fmt.Sprintf("stalled %ds", i) // 1% changed
	}
	b.ResetTimer()
	for range b.N {
		if CleanSince(&next, prev) != &next {
			b.Fatal("clean state copied")
		}
	}
}

// hostile mirrors snapshotstest.Hostile (which this package's own tests
// cannot import).
const hostile = "x\x1b]0;pwned\x07\x1b]52;c;cm0gLXJmIH4v\x07\x1b[2J\u009b31m\u009d0;t\u009c\u202eevil\xff\x9b"

// escapeFree reports why s could still drive a terminal, or "".
func escapeFree(s string) string {
	if !utf8.ValidString(s) {
		return "invalid UTF-8"
	}
	for i, r := range s {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == '\u202e' {
			return fmt.Sprintf("%q at byte %d", r, i)
		}
	}
	return ""
}
