package snapshots

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// Hostile is text a malicious server or snapshot file might carry: OSC 0
// (set the window title), OSC 52 (write the clipboard), CSI 2J (clear the
// screen), 8-bit C1 CSI and OSC, a bidi override and a bare invalid byte.
const Hostile = "x\x1b]0;pwned\x07\x1b]52;c;cm0gLXJmIH4v\x07\x1b[2J\u009b31m\u009d0;t\u009c\u202eevil\xff\x9b"

// escapeFree reports why s could still drive a terminal, or "".
func escapeFree(s string) string {
	if !utf8.ValidString(s) {
		return "invalid UTF-8"
	}
	for i, r := range s {
		switch {
		case r == 0x1b:
			return "ESC at byte " + strconv.Itoa(i)
		case r < 0x20 || r == 0x7f:
			return "C0 control at byte " + strconv.Itoa(i)
		case r >= 0x80 && r <= 0x9f:
			return "C1 control at byte " + strconv.Itoa(i)
		case r == '\u202e':
			return "bidi override at byte " + strconv.Itoa(i)
		}
	}
	if len(s) > MaxStringLen+len("…") {
		return "longer than MaxStringLen"
	}
	return ""
}

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

// fillStrings sets every string reachable from v (fields, slice and map
// elements, map keys, pointers) to text, giving slices and maps two
// elements, so a check after cleaning sees every field.
func fillStrings(v reflect.Value, text string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fillStrings(v.Elem(), text)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fillStrings(v.Field(i), text)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fillStrings(s.Index(i), text)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for i := 0; i < 2; i++ {
			k := reflect.New(v.Type().Key()).Elem()
			fillStrings(k, text+strings.Repeat("k", i))
			e := reflect.New(v.Type().Elem()).Elem()
			fillStrings(e, text)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	}
}

// dirtyStrings lists the paths of strings reachable from v that could still
// drive a terminal.
func dirtyStrings(v reflect.Value, path string, out *[]string) {
	switch v.Kind() {
	case reflect.String:
		if why := escapeFree(v.String()); why != "" {
			*out = append(*out, path+": "+why)
		}
	case reflect.Pointer:
		if !v.IsNil() {
			dirtyStrings(v.Elem(), path, out)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if f := v.Type().Field(i); f.IsExported() {
				dirtyStrings(v.Field(i), path+"."+f.Name, out)
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			dirtyStrings(v.Index(i), path+"[]", out)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			dirtyStrings(k, path+"{key}", out)
			dirtyStrings(v.MapIndex(k), path+"{}", out)
		}
	}
}

// HostileState is a State whose every string field carries Hostile.
func HostileState() *State {
	s := &State{}
	fillStrings(reflect.ValueOf(s), Hostile)
	return s
}

// TestCleanCoversEveryStringField is the guard for fields added later: it
// fills every string of a State by reflection, so a new field that the
// cleaner does not visit fails here with its path.
func TestCleanCoversEveryStringField(t *testing.T) {
	s := HostileState()
	var before []string
	dirtyStrings(reflect.ValueOf(s), "State", &before)
	require.NotEmpty(t, before, "the hostile text must be found dirty")

	c := Clean(s)
	var left []string
	dirtyStrings(reflect.ValueOf(c), "State", &left)
	require.Empty(t, left, "strings Clean missed (add them to cleaner.state in clean.go)")

	var after []string
	dirtyStrings(reflect.ValueOf(s), "State", &after)
	require.Equal(t, before, after, "Clean must not modify the State it was given")
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
