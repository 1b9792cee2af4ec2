// Package snapshotstest has test helpers shared by the packages that print
// snapshots: a State whose every string is hostile, and a check that output
// carries nothing that could drive a terminal. It is imported by tests
// only.
package snapshotstest

import (
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pulltop/pulltop/snapshots"
)

// Hostile is text a malicious server or snapshot file might carry: OSC 0
// (set the window title), OSC 52 (write the clipboard: "rm -rf ~/"), CSI 2J
// (clear the screen), 8-bit C1 CSI, OSC and ST, a bidi override and bare
// invalid bytes (0x9b alone is C1 CSI to an 8-bit terminal).
const Hostile = "x\x1b]0;pwned\x07\x1b]52;c;cm0gLXJmIH4v\x07\x1b[2J\u009b31m\u009d0;t\u009c\u202eevil\xff\x9b"

// Unsafe reports why text could drive a terminal (an ESC that does not
// start a colour sequence, or any other C0 or C1 control, invalid UTF-8, a
// bidi override), or "" when it cannot. Colour (SGR, ESC [ … m) is allowed
// when sgrOK; line breaks always are.
func Unsafe(text string, sgrOK bool) string {
	if !utf8.ValidString(text) {
		i := 0
		for i < len(text) {
			r, n := utf8.DecodeRuneInString(text[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		return "invalid UTF-8 at byte " + strconv.Itoa(i) + context(text, i)
	}
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == 0x1b:
			if sgrOK && isSGR(text[i:]) {
				i += strings.IndexByte(text[i:], 'm') + 1
				continue
			}
			return "ESC at byte " + strconv.Itoa(i) + context(text, i)
		case r == '\n':
		case r < 0x20 || r == 0x7f:
			return "C0 control " + strconv.QuoteRune(r) + " at byte " + strconv.Itoa(i) + context(text, i)
		case r >= 0x80 && r <= 0x9f:
			return "C1 control " + strconv.QuoteRune(r) + " at byte " + strconv.Itoa(i) + context(text, i)
		case r == '\u202e':
			return "bidi override at byte " + strconv.Itoa(i) + context(text, i)
		}
		i += n
	}
	return ""
}

func isSGR(s string) bool {
	if len(s) < 3 || s[1] != '[' {
		return false
	}
	for i := 2; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9' || c == ';' || c == ':':
		case c == 'm':
			return true
		default:
			return false
		}
	}
	return false
}

func context(s string, i int) string {
	return ": " + strconv.Quote(s[max(0, i-40):min(len(s), i+40)])
}

// HostileState is a State whose every string field (every slice two long,
// every map two keys, every pointer set) carries text, found by reflection
// so fields added later are included. Numbers and times are zero.
func HostileState(text string) *snapshots.State {
	s := &snapshots.State{}
	Fill(reflect.ValueOf(s), text)
	return s
}

// Fill sets every string reachable from v to text (map keys get a suffix
// to stay distinct).
func Fill(v reflect.Value, text string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		Fill(v.Elem(), text)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				Fill(v.Field(i), text)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			Fill(s.Index(i), text)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for i := 0; i < 2; i++ {
			k := reflect.New(v.Type().Key()).Elem()
			Fill(k, text+strings.Repeat("k", i))
			e := reflect.New(v.Type().Elem()).Elem()
			Fill(e, text)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	}
}

// UnsafeStrings lists, by path, the strings reachable from v that Unsafe
// flags or that are longer than snapshots.MaxStringLen.
func UnsafeStrings(v reflect.Value, path string, out *[]string) {
	switch v.Kind() {
	case reflect.String:
		if why := Unsafe(v.String(), false); why != "" {
			*out = append(*out, path+": "+why)
		} else if v.Len() > snapshots.MaxStringLen {
			*out = append(*out, path+": longer than MaxStringLen")
		}
	case reflect.Pointer:
		if !v.IsNil() {
			UnsafeStrings(v.Elem(), path, out)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if f := v.Type().Field(i); f.IsExported() {
				UnsafeStrings(v.Field(i), path+"."+f.Name, out)
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			UnsafeStrings(v.Index(i), path+"[]", out)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			UnsafeStrings(k, path+"{key}", out)
			UnsafeStrings(v.MapIndex(k), path+"{}", out)
		}
	}
}
