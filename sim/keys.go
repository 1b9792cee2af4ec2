package sim

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/tikv/client-go/v2/util/codec"
)

// The workload writes row keys of a few TiDB tables, so that region
// boundaries look like a real cluster's and decode to t{table}_r{handle}.
// Every key the sim uses is a point of one linear keyspace: position p is row
// (firstTableID + p/handlesPerTable, p%handlesPerTable). Positions make
// splitting a region "in the middle" simple arithmetic.
const (
	firstTableID    = 100
	numTables       = 8
	handlesPerTable = 1 << 24
	maxPos          = numTables * handlesPerTable
)

// RowKey returns TiDB's raw row key for (tableID, handle): 't' + int64
// memcomparable + "_r" + int64 memcomparable.
func RowKey(tableID, handle int64) []byte {
	key := make([]byte, 0, 19)
	key = append(key, 't')
	key = codec.EncodeInt(key, tableID)
	key = append(key, '_', 'r')
	key = codec.EncodeInt(key, handle)
	return key
}

// EncodeKey turns a raw key into the memcomparable form PD and CDC requests use.
func EncodeKey(raw []byte) []byte {
	return codec.EncodeBytes(nil, raw)
}

// DecodeKey reverses EncodeKey.
func DecodeKey(encoded []byte) ([]byte, error) {
	_, raw, err := codec.DecodeBytes(encoded, nil)
	return raw, err
}

// TableDataSpan is [t, u) encoded: every TiDB table's data. It is the
// default subscription.
func TableDataSpan() (start, end []byte) {
	return EncodeKey([]byte{'t'}), EncodeKey([]byte{'u'})
}

// TableSpan is the encoded span of one table's row data.
func TableSpan(tableID int64) (start, end []byte) {
	prefix := append(codec.EncodeInt([]byte{'t'}, tableID), '_', 'r')
	endPrefix := append(codec.EncodeInt([]byte{'t'}, tableID), '_', 's')
	return EncodeKey(prefix), EncodeKey(endPrefix)
}

// posKey is the raw row key at linear position p.
func posKey(p int64) []byte {
	return RowKey(firstTableID+p/handlesPerTable, p%handlesPerTable)
}

// rawKeyPos returns the linear position of a raw row key written by the sim.
func rawKeyPos(raw []byte) (int64, bool) {
	if len(raw) != 19 || raw[0] != 't' || raw[9] != '_' || raw[10] != 'r' {
		return 0, false
	}
	table := int64(binary.BigEndian.Uint64(raw[1:9]) ^ (1 << 63))
	handle := int64(binary.BigEndian.Uint64(raw[11:19]) ^ (1 << 63))
	if table < firstTableID || table >= firstTableID+numTables || handle < 0 || handle >= handlesPerTable {
		return 0, false
	}
	return (table-firstTableID)*handlesPerTable + handle, true
}

// FormatKey renders a raw key for logs: t123_r456 for row keys, hex otherwise.
func FormatKey(raw []byte) string {
	if len(raw) == 19 && raw[0] == 't' && bytes.Equal(raw[9:11], []byte("_r")) {
		table := int64(binary.BigEndian.Uint64(raw[1:9]) ^ (1 << 63))
		handle := int64(binary.BigEndian.Uint64(raw[11:19]) ^ (1 << 63))
		return fmt.Sprintf("t%d_r%d", table, handle)
	}
	return fmt.Sprintf("%x", raw)
}
