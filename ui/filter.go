package ui

import (
	"strconv"
	"strings"
	"time"
)

// The filter language (reference/tui.md §2.3): whitespace-separated terms,
// all of which must hold.
//
//	text         substring of any searchable field, ignoring case
//	!term        the term must not hold
//	field:value  text fields: substring; numbers: equal; durations: at least
//	field>value  numbers and durations (lag>5s, attempt>3)
//	field<value
//
// A filter is compiled once when typed and then run over every row of each
// snapshot, so matching allocates nothing.

type fieldKind uint8

const (
	fieldText fieldKind = iota
	fieldNum
	fieldDur // milliseconds; values are written as Go durations (5s, 300ms)
	fieldKey // a span: matches the decoded names and the hex of both bounds
)

// field is one attribute of a row that the filter can name. The accessor
// that fits kind is set; it reads the list's current snapshot.
type field struct {
	name    string
	aliases []string
	kind    fieldKind
	free    bool // searched by free-text terms
	text    func(i int32) string
	num     func(i int32) int64
	keys    func(i int32) (startHex, endHex string)
}

type filterOp uint8

const (
	opContains filterOp = iota
	opEq
	opGE
	opGT
	opLT
)

type filterTerm struct {
	field int // index into the fields, or -1 for free text
	neg   bool
	op    filterOp
	text  string // lower case
	num   int64
}

// filter is a compiled filter. The zero value matches everything.
type filter struct {
	raw   string
	terms []filterTerm
	err   string // set when raw does not parse; then nothing matches
}

func (f *filter) active() bool { return f.raw != "" }

// parseFilter compiles raw against the fields of one view.
func parseFilter(raw string, fields []field) filter {
	f := filter{raw: strings.TrimSpace(raw)}
	for _, tok := range strings.Fields(f.raw) {
		t := filterTerm{field: -1}
		if strings.HasPrefix(tok, "!") {
			t.neg = true
			tok = tok[1:]
		}
		if tok == "" {
			continue
		}
		sep := strings.IndexAny(tok, ":<>")
		if sep <= 0 {
			t.text = strings.ToLower(tok)
			f.terms = append(f.terms, t)
			continue
		}
		name, value := strings.ToLower(tok[:sep]), tok[sep+1:]
		t.field = findField(fields, name)
		if t.field < 0 {
			f.err = "unknown field " + strconv.Quote(name) + " (fields: " + fieldNames(fields) + ")"
			return f
		}
		if value == "" {
			f.err = name + tok[sep:sep+1] + " needs a value"
			return f
		}
		if err := t.compile(fields[t.field], tok[sep], value); err != "" {
			f.err = err
			return f
		}
		f.terms = append(f.terms, t)
	}
	return f
}

func (t *filterTerm) compile(fd field, op byte, value string) string {
	switch fd.kind {
	case fieldText, fieldKey:
		if op != ':' {
			return fd.name + " is text: use " + fd.name + ":value"
		}
		t.op, t.text = opContains, strings.ToLower(value)
	case fieldNum:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return fd.name + " wants a number, not " + strconv.Quote(value)
		}
		t.num = n
		t.op = map[byte]filterOp{':': opEq, '>': opGT, '<': opLT}[op]
	case fieldDur:
		d, err := time.ParseDuration(value)
		if err != nil {
			return fd.name + " wants a duration such as 5s or 300ms, not " + strconv.Quote(value)
		}
		t.num = d.Milliseconds()
		// "lag:5s" reads as "lagging 5s": at least that much.
		t.op = map[byte]filterOp{':': opGE, '>': opGT, '<': opLT}[op]
	}
	return ""
}

func findField(fields []field, name string) int {
	for i, fd := range fields {
		if fd.name == name {
			return i
		}
		for _, a := range fd.aliases {
			if a == name {
				return i
			}
		}
	}
	return -1
}

func fieldNames(fields []field) string {
	names := make([]string, len(fields))
	for i, fd := range fields {
		names[i] = fd.name
	}
	return strings.Join(names, " ")
}

// match reports whether row i passes every term.
func (f *filter) match(i int32, fields []field, names *keyNames) bool {
	if f.err != "" {
		return false
	}
	for k := range f.terms {
		t := &f.terms[k]
		if t.matches(i, fields, names) == t.neg {
			return false
		}
	}
	return true
}

func (t *filterTerm) matches(i int32, fields []field, names *keyNames) bool {
	if t.field >= 0 {
		return t.matchField(i, &fields[t.field], names)
	}
	for k := range fields {
		fd := &fields[k]
		if fd.free && t.matchText(i, fd, names) {
			return true
		}
	}
	return false
}

func (t *filterTerm) matchField(i int32, fd *field, names *keyNames) bool {
	switch fd.kind {
	case fieldNum, fieldDur:
		v := fd.num(i)
		switch t.op {
		case opEq:
			return v == t.num
		case opGE:
			return v >= t.num
		case opGT:
			return v > t.num
		case opLT:
			return v < t.num
		}
		return false
	default:
		return t.matchText(i, fd, names)
	}
}

// matchText is a substring match on the field as it is shown.
func (t *filterTerm) matchText(i int32, fd *field, names *keyNames) bool {
	switch fd.kind {
	case fieldText:
		return containsFold(fd.text(i), t.text)
	case fieldKey:
		start, end := fd.keys(i)
		return containsFold(names.start(start), t.text) || containsFold(names.end(end), t.text) ||
			containsFold(start, t.text) || containsFold(end, t.text)
	default:
		var tmp [24]byte
		return containsBytes(strconv.AppendInt(tmp[:0], fd.num(i), 10), t.text)
	}
}
