package ui

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"

	"github.com/tikv/client-go/v2/util/codec"
)

// Keys arrive as lowercase hex of the memcomparable encoding (DESIGN §5).
// Operators think in TiDB tables and handles, so keys are shown decoded where
// they are TiDB keys: t123_r456 for a row key, t123 for a table prefix,
// t123_r for the start of a table's rows, and t / u for the bounds of all
// table data. Anything else stays hex, which the operator can paste back
// into a filter or a span.

// decodeKeyName returns the display name of one hex memcomparable key. The
// empty key is the start or the end of the keyspace; callers show it as
// -inf or +inf, depending on which bound it is.
func decodeKeyName(hexKey string) string {
	if hexKey == "" {
		return ""
	}
	encoded, err := hex.DecodeString(hexKey)
	if err != nil {
		return hexKey
	}
	_, raw, err := codec.DecodeBytes(encoded, nil)
	if err != nil || len(raw) == 0 {
		return hexKey
	}
	if name, ok := tidbKeyName(raw); ok {
		return name
	}
	return hexKey
}

// tidbKeyName names a raw (decoded) TiDB key, if it is one.
func tidbKeyName(raw []byte) (string, bool) {
	if raw[0] != 't' && raw[0] != 'u' {
		return "", false
	}
	if len(raw) == 1 {
		return string(raw), true
	}
	if raw[0] != 't' || len(raw) < 9 {
		return "", false
	}
	table := int64(binary.BigEndian.Uint64(raw[1:9]) ^ (1 << 63))
	b := make([]byte, 0, 40)
	b = append(b, 't')
	b = strconv.AppendInt(b, table, 10)
	rest := raw[9:]
	switch {
	case len(rest) == 0:
		return string(b), true
	case len(rest) == 10 && rest[0] == '_' && rest[1] == 'r':
		handle := int64(binary.BigEndian.Uint64(rest[2:10]) ^ (1 << 63))
		b = append(b, "_r"...)
		b = strconv.AppendInt(b, handle, 10)
		return string(b), true
	case len(rest) == 2 && rest[0] == '_' && 'a' <= rest[1] && rest[1] <= 'z':
		// t123_r and t123_s bound a table's row data; t123_i its indexes.
		b = append(b, '_', rest[1])
		return string(b), true
	}
	return "", false
}

// keyNames caches decoded key names. Region boundaries barely change between
// snapshots, so after the first frame a lookup is all a row costs; decoding
// allocates and would otherwise run for every visible row on every frame.
// Owned by the bubbletea goroutine (Update and View), so it has no lock.
type keyNames struct {
	names map[string]string
	limit int
}

func newKeyNames() *keyNames {
	return &keyNames{names: make(map[string]string), limit: 1 << 12}
}

// setLimit bounds the cache at a few times the keys in the current snapshot:
// enough to hold every boundary, without growing forever as regions split
// and merge.
func (k *keyNames) setLimit(keys int) {
	k.limit = max(1<<12, 3*keys)
}

// name returns the display name of hexKey ("" for the empty key).
func (k *keyNames) name(hexKey string) string {
	if hexKey == "" {
		return ""
	}
	if n, ok := k.names[hexKey]; ok {
		return n
	}
	if len(k.names) >= k.limit {
		clear(k.names)
	}
	n := decodeKeyName(hexKey)
	k.names[hexKey] = n
	return n
}

// start and end name a span bound; the empty key is the keyspace's edge.
func (k *keyNames) start(hexKey string) string {
	if hexKey == "" {
		return "-inf"
	}
	return k.name(hexKey)
}

func (k *keyNames) end(hexKey string) string {
	if hexKey == "" {
		return "+inf"
	}
	return k.name(hexKey)
}

// appendSpan appends "[start, end)" in w cells.
func (k *keyNames) appendSpan(dst []byte, startHex, endHex string, w int) []byte {
	s, e := k.start(startHex), k.end(endHex)
	n := len(s) + len(e) + 4
	if n > w || !plainASCII(s) || !plainASCII(e) {
		return appendCell(dst, "["+s+", "+e+")", w, false)
	}
	dst = append(dst, '[')
	dst = append(dst, s...)
	dst = append(dst, ", "...)
	dst = append(dst, e...)
	dst = append(dst, ')')
	return appendSpaces(dst, w-n)
}

// spanName is "[start, end)" for cold paths.
func (k *keyNames) spanName(startHex, endHex string) string {
	return "[" + k.start(startHex) + ", " + k.end(endHex) + ")"
}
