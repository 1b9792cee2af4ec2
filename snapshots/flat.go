package snapshots

// This file encodes and decodes the bulk of a snapshot, the elements of its
// big arrays (regions, history regions, stores), several times faster than
// encoding/json's reflection does, and byte for byte as it does: whatever
// it is not sure to do exactly as encoding/json (an escape in a string, a
// number with an exponent, an unknown key, a time outside years 0-9999), it
// hands to encoding/json. TestFlatMatchesEncodingJSON and FuzzFlatDecode
// hold it to that.

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"
)

// flatStruct is one struct type whose fields are mostly strings, booleans,
// integers and times.
type flatStruct struct {
	fields []field
	kinds  []fieldKind // by position in fields
	elems  []*flatStruct
}

type fieldKind uint8

const (
	kindOther fieldKind = iota // encoding/json
	kindString
	kindBool
	kindInt
	kindUint
	kindTime
	kindFlatSlice // a slice of a flat struct (a region's lineage)
)

var (
	flatStructs = map[reflect.Type]*flatStruct{}
	timeType    = reflect.TypeFor[time.Time]()
)

func init() {
	// Built once, before any use: read without a lock afterwards. Origin
	// first: a region's lineage is a slice of them.
	for _, t := range []reflect.Type{reflect.TypeFor[Origin](), reflect.TypeFor[Region](),
		reflect.TypeFor[HistoryRegion](), reflect.TypeFor[Store](), reflect.TypeFor[Subscription](),
		reflect.TypeFor[LogEntry](), reflect.TypeFor[Retry](), reflect.TypeFor[Event]()} {
		f := &flatStruct{fields: jsonFields(t)}
		for _, fd := range f.fields {
			ft := t.Field(fd.index).Type
			k, elem := kindOther, (*flatStruct)(nil)
			switch {
			case ft != timeType && hasOwnCodec(ft):
				// Its own (Un)MarshalJSON or text form: encoding/json's.
			case ft == timeType:
				k = kindTime
			case ft.Kind() == reflect.Slice && flatStructs[ft.Elem()] != nil:
				k, elem = kindFlatSlice, flatStructs[ft.Elem()]
			case ft.Kind() == reflect.String:
				k = kindString
			case ft.Kind() == reflect.Bool:
				k = kindBool
			case ft.Kind() >= reflect.Int && ft.Kind() <= reflect.Int64:
				k = kindInt
			case ft.Kind() >= reflect.Uint && ft.Kind() <= reflect.Uint64:
				k = kindUint
			}
			f.kinds = append(f.kinds, k)
			f.elems = append(f.elems, elem)
		}
		flatStructs[t] = f
	}
}

func flatOf(t reflect.Type) *flatStruct { return flatStructs[t] }

func hasOwnCodec(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	for _, i := range []reflect.Type{reflect.TypeFor[json.Marshaler](), reflect.TypeFor[json.Unmarshaler](),
		reflect.TypeFor[encoding.TextMarshaler](), reflect.TypeFor[encoding.TextUnmarshaler]()} {
		if t.Implements(i) || p.Implements(i) {
			return true
		}
	}
	return false
}

// encode appends v as json.Marshal would write it.
func (f *flatStruct) encode(b []byte, v reflect.Value) ([]byte, error) {
	b = append(b, '{')
	first := true
	for n, fd := range f.fields {
		fv := v.Field(fd.index)
		if fd.omitted(fv) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, fd.name...)
		b = append(b, '"', ':')
		var err error
		switch f.kinds[n] {
		case kindString:
			b, err = appendString(b, fv.String())
		case kindBool:
			b = strconv.AppendBool(b, fv.Bool())
		case kindInt:
			b = strconv.AppendInt(b, fv.Int(), 10)
		case kindUint:
			b = strconv.AppendUint(b, fv.Uint(), 10)
		case kindTime:
			b, err = appendJSONTime(b, fv.Addr().Interface().(*time.Time))
		case kindFlatSlice:
			if fv.IsNil() {
				b = append(b, "null"...)
				break
			}
			b = append(b, '[')
			for i := range fv.Len() {
				if i > 0 {
					b = append(b, ',')
				}
				if b, err = f.elems[n].encode(b, fv.Index(i)); err != nil {
					return b, err
				}
			}
			b = append(b, ']')
		default:
			b, err = appendMarshal(b, fv.Addr().Interface())
		}
		if err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

func appendMarshal(b []byte, v any) ([]byte, error) {
	m, err := json.Marshal(v)
	return append(b, m...), err
}

// appendString writes s quoted; anything json.Marshal would escape (quotes,
// backslashes, controls, <, >, & and all non-ASCII, to be safe) goes through
// json.Marshal.
func appendString(b []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return appendMarshal(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), nil
}

// appendJSONTime writes t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds), leaving to it the times it refuses.
func appendJSONTime(b []byte, t *time.Time) ([]byte, error) {
	_, off := t.Zone()
	if y := t.Year(); y < 0 || y > 9999 || off%60 != 0 || off <= -24*3600 || off >= 24*3600 {
		return appendMarshal(b, t)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

// decode decodes the object raw into v (a zero value) and reports whether
// it did so exactly as json.Unmarshal would; when not, the caller zeroes v
// and gives raw to json.Unmarshal (which also says what is wrong).
func (f *flatStruct) decode(raw []byte, v reflect.Value) bool {
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '{' {
		return false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return skipSpace(raw, i+1) == len(raw)
	}
	expect := 0 // keys usually come in the order encode writes them
	for {
		k, next, ok := scanPlainString(raw, i)
		if !ok {
			return false
		}
		fi := -1
		if expect < len(f.fields) && f.fields[expect].name == string(k) {
			fi = expect
		} else {
			for n := range f.fields {
				if f.fields[n].name == string(k) {
					fi = n
					break
				}
			}
		}
		if fi < 0 { // an unknown or differently cased key
			return false
		}
		expect = fi + 1
		i = skipSpace(raw, next)
		if i == len(raw) || raw[i] != ':' {
			return false
		}
		i = skipSpace(raw, i+1)
		var val []byte
		if f.kinds[fi] == kindString {
			// The common case, in one pass.
			s, next2, ok := scanPlainString(raw, i)
			if !ok {
				return false
			}
			v.Field(f.fields[fi].index).SetString(string(s))
			next = next2
		} else {
			val, next, ok = plainToken(raw, i)
			if !ok || !f.set(v.Field(f.fields[fi].index), fi, val) {
				return false
			}
		}
		i = skipSpace(raw, next)
		if i == len(raw) {
			return false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			return skipSpace(raw, i+1) == len(raw)
		default:
			return false
		}
	}
}

// set stores one value as encoding/json would, or reports that it cannot
// tell.
func (f *flatStruct) set(v reflect.Value, fi int, val []byte) bool {
	switch f.kinds[fi] {
	case kindString:
		s, ok := plainString(val)
		if !ok {
			return false
		}
		v.SetString(string(s))
	case kindBool:
		switch string(val) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return false
		}
	case kindInt:
		if !isInteger(val) {
			return false
		}
		n, err := strconv.ParseInt(string(val), 10, 64)
		if err != nil || v.OverflowInt(n) {
			return false
		}
		v.SetInt(n)
	case kindUint:
		if !isInteger(val) || val[0] == '-' {
			return false
		}
		n, err := strconv.ParseUint(string(val), 10, 64)
		if err != nil || v.OverflowUint(n) {
			return false
		}
		v.SetUint(n)
	case kindTime:
		// encoding/json hands time.Time the literal as it is.
		if _, ok := plainString(val); !ok {
			return false
		}
		return v.Addr().Interface().(*time.Time).UnmarshalJSON(val) == nil
	case kindFlatSlice:
		return f.setSlice(v, f.elems[fi], val)
	default:
		if !json.Valid(val) {
			return false
		}
		return json.Unmarshal(val, v.Addr().Interface()) == nil
	}
	return true
}

// setSlice decodes an array of flat objects (or null) into v.
func (f *flatStruct) setSlice(v reflect.Value, elem *flatStruct, val []byte) bool {
	if string(val) == "null" {
		v.SetZero()
		return true
	}
	i := skipSpace(val, 1)
	if val[0] != '[' {
		return false
	}
	v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	if i < len(val) && val[i] == ']' {
		return i+1 == len(val)
	}
	for n := 0; ; n++ {
		tok, next, ok := plainToken(val, i)
		if !ok {
			return false
		}
		v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
		if !elem.decode(tok, v.Index(n)) {
			return false
		}
		i = skipSpace(val, next)
		if i == len(val) {
			return false
		}
		switch val[i] {
		case ',':
			i = skipSpace(val, i+1)
		case ']':
			return i+1 == len(val)
		default:
			return false
		}
	}
}

// stringValue is the string a JSON string literal holds.
func stringValue(raw []byte) ([]byte, error) {
	if s, ok := plainString(raw); ok {
		return s, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// plainString returns what a string literal holds when encoding/json would
// return it byte for byte: no escapes, no control characters, valid UTF-8.
func plainString(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	s := raw[1 : len(raw)-1]
	ascii := true
	for _, c := range s {
		if c < ' ' || c == '"' || c == '\\' {
			return nil, false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return s, ascii || utf8.Valid(s)
}

// scanPlainString reads the string literal at b[i:] in one pass and returns
// what it holds when encoding/json would return it byte for byte (as
// plainString).
func scanPlainString(b []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	ascii := true
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			s = b[i+1 : j]
			return s, j + 1, ascii || utf8.Valid(s)
		case c < ' ' || c == '\\':
			return nil, j, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, len(b), false
}

// isInteger: a JSON number without fraction or exponent.
func isInteger(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 1 && b[0] == '0' {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainToken cuts out the value at b[i:]: a string (escapes allowed; the
// caller decides), an array or object, or a literal up to the next
// delimiter.
func plainToken(b []byte, i int) (tok []byte, next int, ok bool) {
	if i >= len(b) {
		return nil, i, false
	}
	var e extent
	switch c := b[i]; {
	case c == '"':
		e = extent{k: 1, inString: true}
	case c == '{' || c == '[':
		e = extent{k: 1, depth: 1}
	default:
		e = extent{k: 0, scalar: true}
	}
	e.scan(b[i:])
	if !e.done && !(e.scalar && e.k > 0) {
		return nil, i, false
	}
	return b[i : i+e.k], i + e.k, true
}
