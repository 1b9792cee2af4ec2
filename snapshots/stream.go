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
	s, err := decodeDocument(&jsonReader{name: name, r: r, buf: make([]byte, 256<<10)}, name)
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
	name       string // the file, for errors that are final
	inHistory  bool   // reading the timeline: its strings are data
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
// extent: whoever decodes it checks it. A string in it longer than
// MaxKeyLen is cut as it is read (what follows is dropped from the buffer
// and KeyCutMark put in its place), so a file holding a 1 GiB string costs
// MaxKeyLen, not a gigabyte; and a value over maxValueLen even so is
// refused.
func (j *jsonReader) value() ([]byte, error) {
	c, err := j.next()
	if err != nil {
		return nil, err
	}
	e := extent{k: 1, scalar: c != '"' && c != '{' && c != '[', inString: c == '"', strStart: 1, lastEsc: -1, cap: MaxKeyLen}
	if j.inHistory {
		// The timeline's tables are base64 strings as long as the
		// regions are many: not cut, not capped (Validate decodes them).
		e.cap = 0
	}
	if c == '{' || c == '[' {
		e.depth = 1
	}
	for {
		e.scan(j.buf[j.pos:j.limit])
		if e.over {
			if err := j.cutString(&e); err != nil {
				return nil, err
			}
			continue
		}
		if e.done {
			break
		}
		if e.k > maxValueLen && !j.inHistory {
			return nil, &readError{fmt.Sprintf("%s: holds a single value larger than %s (after cutting its strings to %s): not a snapshot pulltop wrote",
				j.name, sizeString(maxValueLen), sizeString(MaxKeyLen)), nil}
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

// maxValueLen bounds one value the decoder holds whole: a region, a store,
// the totals. The largest pulltop writes are a few KiB (a region with two
// long keys, ~130 KiB); a value of an unknown field is skipped as it
// streams, never held.
const maxValueLen = 64 << 20

// cutString drops the string content the extent e found past its cap, up
// to the string's closing quote, reading on as needed, and puts KeyCutMark
// where it was cut. The cut never splits an escape; it may split a UTF-8
// sequence, which decodes as U+FFFD and is escaped by cleaning.
func (j *jsonReader) cutString(e *extent) error {
	at := e.strStart + e.cap
	if e.lastEsc >= e.strStart && at-e.lastEsc < len(`\u0000`) {
		at = e.lastEsc
	}
	i := at // scanned up to here, relative to j.pos
	for {
		b := j.buf[j.pos:j.limit]
		quote := -1
		for i < len(b) {
			c := b[i]
			if c == '"' {
				quote = i
				break
			}
			if c == '\\' {
				if i+1 >= len(b) {
					break // the escaped byte comes with the next read
				}
				i += 2
				continue
			}
			i++
		}
		if quote >= 0 {
			tail := len(b) - quote
			mark := len(KeyCutMark)
			if j.pos+at+mark+tail > len(j.buf) {
				j.buf = append(j.buf, make([]byte, mark)...)
			}
			copy(j.buf[j.pos+at+mark:], j.buf[j.pos+quote:j.limit])
			copy(j.buf[j.pos+at:], KeyCutMark)
			j.limit = j.pos + at + mark + tail
			e.k, e.over = at+mark, false
			e.lastEsc, e.quoteAt, e.noQuoteTo = -1, -1, 0
			e.strStart = e.k - e.cap // the string is full: only its quote is left
			return nil
		}
		// Drop what was scanned; keep an escape cut in two.
		n := copy(j.buf[j.pos+at:], b[i:])
		j.limit = j.pos + at + n
		i = at
		if !j.fill() {
			return j.cut()
		}
	}
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

	// With cap > 0, scan stops with over set once the string it is in
	// holds more than cap bytes (strStart is where its content starts,
	// lastEsc where its last escape did, -1 for none).
	cap, strStart, lastEsc int
	over                   bool
	// quoteAt is the next '"' at or after k in the current string, when
	// it is not below k; noQuoteTo is how far none was found. They keep a
	// string of many escapes linear to scan.
	quoteAt, noQuoteTo int
}

func (e *extent) scan(b []byte) {
	for e.k < len(b) {
		if e.inString {
			if e.quoteAt < e.k {
				from := max(e.k, e.noQuoteTo)
				if q := bytes.IndexByte(b[from:], '"'); q >= 0 {
					e.quoteAt = from + q
				} else {
					e.quoteAt, e.noQuoteTo = -1, len(b)
				}
			}
			end := len(b)
			if e.quoteAt >= 0 {
				end = e.quoteAt
			}
			if bs := bytes.IndexByte(b[e.k:end], '\\'); bs >= 0 {
				if e.cap > 0 && e.k+bs >= e.strStart+e.cap {
					e.over = true
					return
				}
				if e.k+bs+1 >= len(b) {
					e.k += bs // the escaped byte is not here yet
					return
				}
				e.lastEsc = e.k + bs
				e.k += bs + 2
				continue
			}
			if e.quoteAt < 0 {
				e.k = len(b)
				if e.cap > 0 && e.k > e.strStart+e.cap {
					e.over = true
				}
				return
			}
			if e.cap > 0 && e.quoteAt > e.strStart+e.cap {
				e.over = true
				return
			}
			e.k = e.quoteAt + 1
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
			e.inString, e.strStart, e.lastEsc = true, e.k, -1
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

// skip reads the next value, which must be valid JSON (as json.Valid
// has it), as it streams: nothing of it is held, so an unknown field of a
// gigabyte costs the read buffer (TestLoadSkipsAHugeUnknownField).
func (j *jsonReader) skip() error {
	var open []byte // the containers the value is in: '{' or '['
	for {
		// A value.
		c, err := j.next()
		if err != nil {
			return err
		}
		switch {
		case c == '{' || c == '[':
			j.pos++
			if len(open) == maxNesting {
				return fmt.Errorf("JSON nested deeper than %d", maxNesting)
			}
			if c2, err := j.next(); err != nil {
				return err
			} else if c2 == c+2 { // '}' is '{'+2, ']' is '['+2
				j.pos++
				break
			}
			open = append(open, c)
			if c == '{' {
				if err := j.skipKey(); err != nil {
					return err
				}
			}
			continue
		case c == '"':
			if err := j.skipString(); err != nil {
				return err
			}
		case c == '-' || '0' <= c && c <= '9':
			if err := j.skipNumber(); err != nil {
				return err
			}
		case c == 't':
			err = j.skipLiteral("true")
		case c == 'f':
			err = j.skipLiteral("false")
		case c == 'n':
			err = j.skipLiteral("null")
		default:
			return fmt.Errorf("invalid character %q looking for the beginning of a value", c)
		}
		if err != nil {
			return err
		}
		// After a value: close containers, or go on to the next member.
		for {
			if len(open) == 0 {
				return nil
			}
			c, err := j.next()
			if err != nil {
				return err
			}
			j.pos++
			top := open[len(open)-1]
			if c == top+2 {
				open = open[:len(open)-1]
				continue
			}
			if c != ',' {
				return fmt.Errorf("invalid character %q after a value in an %s", c, map[byte]string{'{': "object", '[': "array"}[top])
			}
			if top == '{' {
				if err := j.skipKey(); err != nil {
					return err
				}
			}
			break
		}
	}
}

// maxNesting is encoding/json's limit on nested arrays and objects.
const maxNesting = 10000

// skipKey reads an object's key and the colon after it.
func (j *jsonReader) skipKey() error {
	c, err := j.next()
	if err != nil {
		return err
	}
	if c != '"' {
		return fmt.Errorf("invalid character %q looking for the beginning of an object key", c)
	}
	if err := j.skipString(); err != nil {
		return err
	}
	return j.expect(':')
}

// ensure makes n unread bytes available, if the input has them.
func (j *jsonReader) ensure(n int) bool {
	for j.limit-j.pos < n {
		if !j.fill() {
			return false
		}
	}
	return true
}

// skipString reads a string whose '"' is next.
func (j *jsonReader) skipString() error {
	j.pos++
	for {
		for j.pos < j.limit {
			c := j.buf[j.pos]
			switch {
			case c == '"':
				j.pos++
				return nil
			case c < 0x20:
				return fmt.Errorf("invalid control character %q in a string", c)
			case c == '\\':
				if !j.ensure(2) {
					return j.cut()
				}
				switch j.buf[j.pos+1] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
					j.pos += 2
				case 'u':
					if !j.ensure(6) {
						return j.cut()
					}
					for _, h := range j.buf[j.pos+2 : j.pos+6] {
						if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
							return fmt.Errorf("invalid character %q in a \\u escape", h)
						}
					}
					j.pos += 6
				default:
					return fmt.Errorf("invalid escape %q in a string", j.buf[j.pos+1])
				}
			default:
				j.pos++
			}
		}
		if !j.fill() {
			return j.cut()
		}
	}
}

// peek is the next byte, unread, white space included; false at the end.
func (j *jsonReader) peek() (byte, bool) {
	if j.pos == j.limit && !j.fill() {
		return 0, false
	}
	return j.buf[j.pos], true
}

// digits reads one or more decimal digits.
func (j *jsonReader) digits() error {
	n := 0
	for {
		c, ok := j.peek()
		if !ok || c < '0' || c > '9' {
			break
		}
		j.pos++
		n++
	}
	if n == 0 {
		if c, ok := j.peek(); ok {
			return fmt.Errorf("invalid character %q in a number, want a digit", c)
		}
		return j.cut()
	}
	return nil
}

// skipNumber reads a number, as JSON spells one.
func (j *jsonReader) skipNumber() error {
	if c, _ := j.peek(); c == '-' {
		j.pos++
	}
	if c, ok := j.peek(); ok && c == '0' {
		j.pos++
	} else if err := j.digits(); err != nil {
		return err
	}
	if c, ok := j.peek(); ok && c == '.' {
		j.pos++
		if err := j.digits(); err != nil {
			return err
		}
	}
	if c, ok := j.peek(); ok && (c == 'e' || c == 'E') {
		j.pos++
		if c, ok := j.peek(); ok && (c == '+' || c == '-') {
			j.pos++
		}
		return j.digits()
	}
	return nil
}

func (j *jsonReader) skipLiteral(lit string) error {
	if !j.ensure(len(lit)) {
		return j.cut()
	}
	if string(j.buf[j.pos:j.pos+len(lit)]) != lit {
		return fmt.Errorf("invalid literal %q, want %s", j.buf[j.pos:j.pos+len(lit)], lit)
	}
	j.pos += len(lit)
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
		j.inHistory = true
		defer func() { j.inHistory = false }()
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
