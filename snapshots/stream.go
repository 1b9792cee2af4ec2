package snapshots

// This file encodes and decodes a State one array element at a time, so that
// saving or loading a snapshot of a million regions never holds the whole
// JSON document in memory (at 1M regions it is ~500 MB, which used to be the
// process's peak RSS at exit).
//
// The format is the one json.MarshalIndent gives, with one difference: an
// array at the top level (regions, stores, log, ...) and in the history has
// one element per line, compact. Field names, order and omitempty are
// encoding/json's own (read from the struct tags), so json.Unmarshal still
// reads every file and json.Compact of a file equals json.Marshal of the
// State (TestEncodeIsMarshalIndentedDifferently). One region per line keeps
// the file diffable and lets `grep '"state":"stale"'` list the stale regions.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// field is one JSON field of a struct, as encoding/json sees it.
type field struct {
	name      string
	index     int
	omitEmpty bool
	omitZero  bool
}

var (
	stateFields   = jsonFields(reflect.TypeFor[State]())
	historyFields = jsonFields(reflect.TypeFor[History]())
	historyType   = reflect.TypeFor[*History]()
)

// jsonFields lists the fields encoding/json encodes, in its order. State and
// History have no embedded structs, so the simple rules suffice
// (TestEncodeIsMarshalIndentedDifferently fails if that changes).
func jsonFields(t reflect.Type) []field {
	var fs []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		f := field{name: name, index: i}
		for _, o := range strings.Split(opts, ",") {
			f.omitEmpty = f.omitEmpty || o == "omitempty"
			f.omitZero = f.omitZero || o == "omitzero"
		}
		fs = append(fs, f)
	}
	return fs
}

// omitted is encoding/json's rule for omitempty and omitzero.
func (f field) omitted(v reflect.Value) bool {
	if f.omitZero && v.IsZero() {
		return true
	}
	if !f.omitEmpty {
		return false
	}
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// streamed says whether a value of type t is written and read one element
// at a time: every slice but []byte (base64, one string), and the history.
func streamed(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 || t == historyType
}

// encoder writes a State to w. Every element goes through one json.Encoder
// into a reused buffer, so the cost in memory is one element.
type encoder struct {
	w       io.Writer
	buf     bytes.Buffer
	enc     *json.Encoder
	flatBuf []byte
	err     error
}

// encode writes s (already prepared by Marshal's checks) to w.
func encode(w io.Writer, s *State) error {
	e := &encoder{w: w}
	e.enc = json.NewEncoder(&e.buf)
	e.object(reflect.ValueOf(s).Elem(), stateFields, "")
	e.write("\n")
	return e.err
}

func (e *encoder) write(s string) {
	if e.err == nil {
		_, e.err = io.WriteString(e.w, s)
	}
}

func (e *encoder) writeBytes(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

// object writes a struct, one field per line, indented as MarshalIndent
// would at this depth.
func (e *encoder) object(v reflect.Value, fields []field, indent string) {
	inner := indent + "  "
	e.write("{")
	first := true
	for _, f := range fields {
		fv := v.Field(f.index)
		if f.omitted(fv) {
			continue
		}
		if !first {
			e.write(",")
		}
		first = false
		e.write("\n" + inner + `"` + f.name + `": `)
		e.value(fv, inner)
	}
	if !first {
		e.write("\n" + indent)
	}
	e.write("}")
}

func (e *encoder) value(v reflect.Value, indent string) {
	if e.err != nil {
		return
	}
	switch {
	case v.Type() == historyType && !v.IsNil():
		e.object(v.Elem(), historyFields, indent)
	case streamed(v.Type()) && !v.IsNil() && v.Len() > 0:
		flat := flatOf(v.Type().Elem())
		isString := v.Type().Elem().Kind() == reflect.String && !hasOwnCodec(v.Type().Elem())
		e.write("[")
		for i := range v.Len() {
			if i > 0 {
				e.write(",")
			}
			e.write("\n" + indent + "  ")
			switch {
			case flat != nil:
				e.flat(flat, v.Index(i))
			case isString:
				e.flatBuf, e.err = appendString(e.flatBuf[:0], v.Index(i).String())
				e.writeBytes(e.flatBuf)
			default:
				e.compact(v.Index(i).Addr().Interface())
			}
		}
		e.write("\n" + indent + "]")
	default:
		// Small values, and nil or empty slices (null or []), as
		// MarshalIndent writes them.
		b, err := json.MarshalIndent(v.Addr().Interface(), indent, "  ")
		if err != nil {
			e.err = err
			return
		}
		e.writeBytes(b)
	}
}

func (e *encoder) flat(f *flatStruct, v reflect.Value) {
	if e.err != nil {
		return
	}
	var err error
	e.flatBuf, err = f.encode(e.flatBuf[:0], v)
	if err != nil {
		e.err = err
		return
	}
	e.writeBytes(e.flatBuf)
}

func (e *encoder) compact(x any) {
	e.buf.Reset()
	if err := e.enc.Encode(x); err != nil {
		e.err = err
		return
	}
	e.writeBytes(bytes.TrimSuffix(e.buf.Bytes(), []byte("\n")))
}

// errNeedsDiagnosis marks a stream that is not a valid snapshot document
// for a reason the streaming decoder does not describe well (a syntax or
// type error, a truncation, trailing data): the caller re-reads the bytes
// and lets diagnose place the error at a line and column.
type errNeedsDiagnosis struct{ err error }

func (e *errNeedsDiagnosis) Error() string { return e.err.Error() }
func (e *errNeedsDiagnosis) Unwrap() error { return e.err }

// decodeStream reads one snapshot document from r, one array element at a
// time, so the memory it takes is the State's own plus one element. The
// version is checked as soon as it is read, before the fields after it are
// decoded (pulltop writes it first; a field before it is kept raw until the
// version is known).
//
// encoding/json's Decoder would do, but at a quarter of the speed: it scans
// every byte twice through its state machine, and a million regions must
// load in seconds. So the structure (the top-level object, the arrays) is
// read here, every other value is cut out whole and given to json.Unmarshal,
// and an element of a flat struct (a region, a store) goes through
// decodeFlat, which takes only what it can decode exactly as encoding/json
// would and leaves the rest to json.Unmarshal (FuzzDecodeStream checks that
// the two agree on any input).
//
// It returns a *VersionError, a Validate error (both final), a *readError
// (the file's bytes could not be read), or an *errNeedsDiagnosis for
// anything wrong with the JSON itself.
func decodeStream(r io.Reader, name string) (*State, error) {
	s, err := decodeDocument(&jsonReader{r: r, buf: make([]byte, 256<<10)}, name)
	if err == nil {
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("%s: bad snapshot: %w", name, err)
		}
		// A snapshot file is text from outside: nothing in it may reach the
		// terminal as a control sequence, and no string is huge.
		return Clean(s), nil
	}
	var re *readError
	var ve *VersionError
	switch {
	case errors.As(err, &re):
		return nil, re
	case errors.As(err, &ve):
		return nil, ve
	}
	return nil, &errNeedsDiagnosis{err}
}

func decodeDocument(j *jsonReader, name string) (*State, error) {
	if err := j.expect('{'); err != nil {
		return nil, err
	}
	var s State
	sv := reflect.ValueOf(&s).Elem()
	type rawField struct {
		f   *field
		raw []byte
	}
	var early []rawField // fields read before the version
	haveVersion := false
	err := j.object(func(key []byte) error {
		f := lookup(stateFields, key)
		switch {
		case f != nil && f.name == "version":
			raw, err := j.value()
			if err != nil {
				return err
			}
			var v *int
			if err := json.Unmarshal(raw, &v); err != nil {
				return err
			}
			if v == nil {
				haveVersion = false
				return nil
			}
			if *v < MinVersion || *v > Version {
				return &VersionError{Name: name, Version: *v}
			}
			s.Version, haveVersion = *v, true
			for _, rf := range early {
				if err := json.Unmarshal(rf.raw, sv.Field(rf.f.index).Addr().Interface()); err != nil {
					return err
				}
			}
			early = nil
			return nil
		case f == nil:
			// A field of a newer pulltop is skipped; it must still be JSON.
			return j.skip()
		case !haveVersion:
			raw, err := j.value()
			if err != nil {
				return err
			}
			early = append(early, rawField{f, bytes.Clone(raw)})
			return nil
		}
		hint := 0
		if f.name == "regions" {
			// Sized once: growing a slice of 1M regions copies it over and
			// over, and leaves the copies for the collector. Bounded, as the
			// file is not trusted: a hint too big costs address space only.
			hint = min(s.Totals.Regions, 1<<22)
		}
		return j.decode(sv.Field(f.index), hint)
	})
	if err != nil {
		return nil, err
	}
	// Nothing may follow the object, and reading to the end is what checks a
	// gzip stream's checksum.
	if err := j.end(); err != nil {
		return nil, err
	}
	if !haveVersion {
		return nil, &VersionError{Name: name, Missing: true}
	}
	return &s, nil
}

// lookup finds the field a key names as encoding/json does: the exact name,
// else one that matches ignoring case.
func lookup(fields []field, key []byte) *field {
	for i := range fields {
		if fields[i].name == string(key) {
			return &fields[i]
		}
	}
	for i := range fields {
		if strings.EqualFold(fields[i].name, string(key)) {
			return &fields[i]
		}
	}
	return nil
}

// jsonReader reads JSON from r through its own buffer. A value it returns
// is a slice of the buffer, valid until the next read.
type jsonReader struct {
	r          io.Reader
	buf        []byte
	pos, limit int   // unread bytes: buf[pos:limit]
	err        error // from r, once it has failed (io.EOF at the end)
}

// fill reads more, keeping buf[pos:limit] (moved to the front); false when
// nothing more comes.
func (j *jsonReader) fill() bool {
	if j.err != nil {
		return false
	}
	if j.pos > 0 {
		j.limit = copy(j.buf, j.buf[j.pos:j.limit])
		j.pos = 0
	}
	if j.limit == len(j.buf) {
		j.buf = append(j.buf, make([]byte, len(j.buf))...)
	}
	n, err := j.r.Read(j.buf[j.limit:])
	j.limit += n
	if err != nil {
		j.err = err
	}
	return n > 0 || err == nil
}

// cut is the error for input that stops early: the reader's own error, or
// a truncation.
func (j *jsonReader) cut() error {
	if j.err != nil && j.err != io.EOF {
		return j.err
	}
	return io.ErrUnexpectedEOF
}

// next skips white space and returns the next byte, unread.
func (j *jsonReader) next() (byte, error) {
	for {
		for j.pos < j.limit {
			switch c := j.buf[j.pos]; c {
			case ' ', '\t', '\n', '\r':
				j.pos++
			default:
				return c, nil
			}
		}
		if !j.fill() {
			return 0, j.cut()
		}
	}
}

func (j *jsonReader) expect(want byte) error {
	c, err := j.next()
	if err != nil {
		return err
	}
	if c != want {
		return fmt.Errorf("want %q, found %q", want, c)
	}
	j.pos++
	return nil
}

// end checks that only white space is left.
func (j *jsonReader) end() error {
	c, err := j.next()
	if err == io.ErrUnexpectedEOF {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("data after the snapshot: %q", c)
}

// object reads the members of an object whose '{' is read, calling member
// with each key; member must read the value.
func (j *jsonReader) object(member func(key []byte) error) error {
	c, err := j.next()
	if err != nil {
		return err
	}
	if c == '}' {
		j.pos++
		return nil
	}
	for {
		raw, err := j.value()
		if err != nil {
			return err
		}
		key, err := stringValue(raw)
		if err != nil {
			return err
		}
		if err := j.expect(':'); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		if c, err = j.next(); err != nil {
			return err
		}
		j.pos++
		switch c {
		case ',':
		case '}':
			return nil
		default:
			return fmt.Errorf("want ',' or '}' after an object member, found %q", c)
		}
	}
}

// value cuts out the next value whole, without checking more than its
// extent: whoever decodes it checks it.
func (j *jsonReader) value() ([]byte, error) {
	c, err := j.next()
	if err != nil {
		return nil, err
	}
	e := extent{k: 1, scalar: c != '"' && c != '{' && c != '[', inString: c == '"'}
	if c == '{' || c == '[' {
		e.depth = 1
	}
	for {
		e.scan(j.buf[j.pos:j.limit])
		if e.done {
			break
		}
		if !j.fill() {
			if e.scalar && j.err == io.EOF {
				break // a literal that ends the input
			}
			return nil, j.cut()
		}
	}
	raw := j.buf[j.pos : j.pos+e.k]
	j.pos += e.k
	return raw, nil
}

// extent finds where a JSON value ends, over a buffer that may not hold all
// of it yet: scan stops at the end of b and goes on from there when called
// again with more.
type extent struct {
	k        int // bytes of the value seen
	depth    int
	inString bool
	scalar   bool // a number or literal: it ends at a delimiter
	done     bool
}

func (e *extent) scan(b []byte) {
	for e.k < len(b) {
		if e.inString {
			rest := b[e.k:]
			q := bytes.IndexByte(rest, '"')
			seg := rest
			if q >= 0 {
				seg = rest[:q]
			}
			if bs := bytes.IndexByte(seg, '\\'); bs >= 0 {
				if e.k+bs+1 >= len(b) {
					e.k += bs // the escaped byte is not here yet
					return
				}
				e.k += bs + 2
				continue
			}
			if q < 0 {
				e.k = len(b)
				return
			}
			e.k += q + 1
			e.inString = false
			if e.depth == 0 {
				e.done = true
				return
			}
			continue
		}
		c := b[e.k]
		if e.scalar {
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				e.done = true
				return
			}
			e.k++
			continue
		}
		e.k++
		switch c {
		case '"':
			e.inString = true
		case '{', '[':
			e.depth++
		case '}', ']':
			e.depth--
			if e.depth == 0 {
				e.done = true
				return
			}
		}
	}
}

// skip reads the next value, which must be valid JSON.
func (j *jsonReader) skip() error {
	raw, err := j.value()
	if err != nil {
		return err
	}
	if !json.Valid(raw) {
		var v any
		return json.Unmarshal(raw, &v) // for its error
	}
	return nil
}

// decode reads the next value into v: an array one element at a time, the
// history one field at a time, anything else whole.
func (j *jsonReader) decode(v reflect.Value, hint int) error {
	if !streamed(v.Type()) {
		raw, err := j.value()
		if err != nil {
			return err
		}
		return json.Unmarshal(raw, v.Addr().Interface())
	}
	c, err := j.next()
	if err != nil {
		return err
	}
	if c == 'n' { // null, as json.Unmarshal: nil
		raw, err := j.value()
		if err != nil {
			return err
		}
		if string(raw) != "null" {
			return fmt.Errorf("invalid literal %q", raw)
		}
		v.SetZero()
		return nil
	}
	if v.Type() == historyType {
		if err := j.expect('{'); err != nil {
			return err
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		h := v.Elem()
		return j.object(func(key []byte) error {
			if f := lookup(historyFields, key); f != nil {
				return j.decode(h.Field(f.index), 0)
			}
			return j.skip()
		})
	}
	if err := j.expect('['); err != nil {
		return err
	}
	// As json.Unmarshal: an empty array is an empty slice, not nil.
	v.Set(reflect.MakeSlice(v.Type(), 0, max(hint, 0)))
	if c, err := j.next(); err != nil {
		return err
	} else if c == ']' {
		j.pos++
		return nil
	}
	flat := flatOf(v.Type().Elem())
	isString := v.Type().Elem().Kind() == reflect.String && !hasOwnCodec(v.Type().Elem())
	for n := 0; ; n++ {
		if n == v.Cap() {
			grown := reflect.MakeSlice(v.Type(), n, max(16, n+n/2))
			reflect.Copy(grown, v)
			v.Set(grown)
		}
		v.SetLen(n + 1)
		raw, err := j.value()
		if err != nil {
			return err
		}
		if err := decodeElem(raw, v.Index(n), flat, isString); err != nil {
			return err
		}
		c, err := j.next()
		if err != nil {
			return err
		}
		j.pos++
		switch c {
		case ',':
		case ']':
			return nil
		default:
			return fmt.Errorf("want ',' or ']' after an array element, found %q", c)
		}
	}
}

// decodeElem decodes one array element: a flat struct or a plain string
// here, anything else (or anything the fast path is unsure of) by
// json.Unmarshal.
func decodeElem(raw []byte, elem reflect.Value, flat *flatStruct, isString bool) error {
	if isString {
		if s, ok := plainString(raw); ok {
			elem.SetString(string(s))
			return nil
		}
	}
	if flat != nil && flat.decode(raw, elem) {
		return nil
	}
	elem.SetZero()
	return json.Unmarshal(raw, elem.Addr().Interface())
}
