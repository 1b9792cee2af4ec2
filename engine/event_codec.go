package engine

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"unsafe"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
)

// eventCodec is the EventFeedV2 stream's codec: requests are encoded by
// gRPC's proto codec, and each ChangeDataEvent is decoded by
// decodeChangeDataEvent, which makes a handful of allocations per message
// where the generated decoder made seven per row (an Event, its oneof
// wrapper, Entries, the row slice, the Row, its key and its value). At 20k
// rows/s those allocations and the garbage collection they caused were a
// third of pulltop's CPU.
//
// The decoded rows' byte fields alias one copy of the message: whoever
// keeps a row's bytes past the event's handling (the txn matcher's prewrite
// cache, the recent-rows ring) copies them, so that a small value never
// holds a large message in memory.
type eventCodec struct{ proto encoding.CodecV2 }

func newEventCodec() eventCodec { return eventCodec{proto: encoding.GetCodecV2("proto")} }

// callOption makes a stream use the codec; the content-subtype stays
// "proto" (the codec's Name), so the server sees nothing different.
func (c eventCodec) callOption() grpc.CallOption { return grpc.ForceCodecV2(c) }

func (c eventCodec) Name() string { return "proto" }

func (c eventCodec) Marshal(v any) (mem.BufferSlice, error) { return c.proto.Marshal(v) }

func (c eventCodec) Unmarshal(data mem.BufferSlice, v any) error {
	switch m := v.(type) {
	case *decodedEvent:
		// One copy: gRPC recycles data's buffers once Unmarshal returns,
		// and the rows alias what they were decoded from.
		m.slabs = slabPool.Get().(*slabs)
		return m.slabs.decode(data.Materialize(), &m.ChangeDataEvent)
	case *cdcpb.ChangeDataEvent:
		return decodeChangeDataEvent(data.Materialize(), m)
	}
	return c.proto.Unmarshal(data, v)
}

// decodedEvent is a ChangeDataEvent whose events and rows live in pooled
// slabs: the event loop gives them back (release) once it has handled the
// event. Nothing may keep a pointer to an Event or an Event_Row past
// that (the txn matcher keeps rows held back before INITIALIZED by value);
// the rows' byte fields alias the message's own copy, never pooled, so
// delivered rows keep theirs.
type decodedEvent struct {
	cdcpb.ChangeDataEvent
	slabs *slabs
}

// release gives the slabs back; the event must not be read after it.
func (d *decodedEvent) release() {
	if d.slabs != nil {
		d.slabs.release()
		d.slabs = nil
	}
	d.ChangeDataEvent = cdcpb.ChangeDataEvent{}
}

var slabPool = sync.Pool{New: func() any { return new(slabs) }}

var errTruncated = errors.New("cdcpb: truncated message")

// decodeChangeDataEvent decodes a ChangeDataEvent from buf into ev with
// slabs of its own (nothing pooled).
func decodeChangeDataEvent(buf []byte, ev *cdcpb.ChangeDataEvent) error {
	return new(slabs).decode(buf, ev)
}

// slabs hold a decoded message's structs: filled in order by decode,
// zeroed by release (a pooled slabs is all zero up to its length) and
// reused by the next message. At 20k rows/s, reusing them rather than
// allocating 240 bytes of structs per row keeps the garbage collector
// mostly idle.
type slabs struct {
	events   []cdcpb.Event
	eventPtr []*cdcpb.Event
	wrappers []cdcpb.Event_Entries_
	entries  []cdcpb.Event_Entries
	rows     []cdcpb.Event_Row
	rowPtr   []*cdcpb.Event_Row
	rts      cdcpb.ResolvedTs
	regions  []uint64 // rts.Regions's storage
	// handed out so far by decode
	nEvents, nEntries, nRows int
}

// grow returns s[:n], all zero, reusing s's storage when it is large
// enough.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// decode decodes a ChangeDataEvent from buf into ev (reset first) as the
// generated Unmarshal does, but with rows, events and their wrappers taken
// from the slabs, sized by a first pass over the message. Byte fields
// alias buf (capacity cut to their length). Unknown fields are skipped;
// Admin, Error and LongTxn events, rare, go through their generated
// decoders.
func (s *slabs) decode(buf []byte, ev *cdcpb.ChangeDataEvent) error {
	*ev = cdcpb.ChangeDataEvent{}
	nEvents, nEntries, nRows, err := countChangeDataEvent(buf)
	if err != nil {
		return err
	}
	s.events, s.eventPtr = grow(s.events, nEvents), grow(s.eventPtr, nEvents)
	s.wrappers, s.entries = grow(s.wrappers, nEntries), grow(s.entries, nEntries)
	s.rows, s.rowPtr = grow(s.rows, nRows), grow(s.rowPtr, nRows)
	for i := 0; i < len(buf); {
		field, wire, n, err := tag(buf[i:])
		if err != nil {
			return err
		}
		i += n
		switch {
		case field == 1 && wire == 2:
			sub, n, err := lengthDelimited(buf[i:])
			if err != nil {
				return err
			}
			i += n
			e := &s.events[s.nEvents]
			s.eventPtr[s.nEvents] = e
			s.nEvents++
			if err := s.decodeEvent(sub, e); err != nil {
				return err
			}
		case field == 2 && wire == 2:
			sub, n, err := lengthDelimited(buf[i:])
			if err != nil {
				return err
			}
			i += n
			if ev.ResolvedTs == nil {
				ev.ResolvedTs = &s.rts
				s.rts.Regions = s.regions[:0]
			}
			err = decodeResolvedTs(sub, ev.ResolvedTs)
			s.regions = s.rts.Regions[:0]
			if err != nil {
				return err
			}
		default:
			n, err := skipField(buf[i:], wire)
			if err != nil {
				return err
			}
			i += n
		}
	}
	if s.nEvents > 0 {
		ev.Events = s.eventPtr[:s.nEvents:s.nEvents]
	}
	if ev.ResolvedTs != nil && len(ev.ResolvedTs.Regions) == 0 {
		ev.ResolvedTs.Regions = nil // as decoded by the generated code
	}
	return nil
}

// maxPooledSlabBytes bounds the storage of slabs put back in the pool. The
// pool's slabs never sit idle long enough for the garbage collector to
// drop them (gets and puts happen on different Ps and keep cycling them),
// so every slab keeps, for as long as pulltop runs, the largest message
// it ever decoded: a store's ResolvedTs lists every region it leads (2.7
// MB of ids at a million regions over 3 stores) and an initial scan's
// messages are the largest with rows. Pooling is for the many small
// messages of the live stream (tens of rows each) whose per-row structs
// it saves; a message over the bound (2,000 rows or 32k region ids) costs
// one allocation per slab kind, nothing next to decoding it, so its slabs
// go to the garbage collector instead.
const maxPooledSlabBytes = 256 << 10

// bytes is the storage the slabs hold, used or not.
func (s *slabs) bytes() int {
	const ptr = int(unsafe.Sizeof(uintptr(0)))
	return cap(s.events)*int(unsafe.Sizeof(cdcpb.Event{})) + cap(s.eventPtr)*ptr +
		cap(s.wrappers)*int(unsafe.Sizeof(cdcpb.Event_Entries_{})) + cap(s.entries)*int(unsafe.Sizeof(cdcpb.Event_Entries{})) +
		cap(s.rows)*int(unsafe.Sizeof(cdcpb.Event_Row{})) + cap(s.rowPtr)*ptr +
		cap(s.regions)*int(unsafe.Sizeof(uint64(0)))
}

// release zeroes what decode handed out (so that no old message is kept
// alive through the pool) and puts the slabs back in the pool, unless
// they grew past maxPooledSlabBytes.
func (s *slabs) release() {
	if s.bytes() > maxPooledSlabBytes {
		return
	}
	clear(s.events[:s.nEvents])
	clear(s.eventPtr[:s.nEvents])
	clear(s.wrappers[:s.nEntries])
	clear(s.entries[:s.nEntries])
	clear(s.rows[:s.nRows])
	clear(s.rowPtr[:s.nRows])
	s.rts = cdcpb.ResolvedTs{}
	s.nEvents, s.nEntries, s.nRows = 0, 0, 0
	slabPool.Put(s)
}

func (s *slabs) decodeEvent(buf []byte, e *cdcpb.Event) error {
	for i := 0; i < len(buf); {
		field, wire, n, err := tag(buf[i:])
		if err != nil {
			return err
		}
		i += n
		if wire == 0 {
			v, n, err := varint(buf[i:])
			if err != nil {
				return err
			}
			i += n
			switch field {
			case 1:
				e.RegionId = v
			case 2:
				e.Index = v
			case 7:
				e.RequestId = v
			case 6:
				e.Event = &cdcpb.Event_ResolvedTs{ResolvedTs: v}
			}
			continue
		}
		if wire != 2 || (field != 3 && field != 4 && field != 5 && field != 8) {
			n, err := skipField(buf[i:], wire)
			if err != nil {
				return err
			}
			i += n
			continue
		}
		sub, n, err := lengthDelimited(buf[i:])
		if err != nil {
			return err
		}
		i += n
		switch field {
		case 3:
			w, entries := &s.wrappers[s.nEntries], &s.entries[s.nEntries]
			s.nEntries++
			if err := s.decodeEntries(sub, entries); err != nil {
				return err
			}
			w.Entries = entries
			e.Event = w
		case 4:
			x := &cdcpb.Event_Admin{}
			if err := x.Unmarshal(sub); err != nil {
				return err
			}
			e.Event = &cdcpb.Event_Admin_{Admin: x}
		case 5:
			x := &cdcpb.Error{}
			if err := x.Unmarshal(sub); err != nil {
				return err
			}
			e.Event = &cdcpb.Event_Error{Error: x}
		case 8:
			x := &cdcpb.Event_LongTxn{}
			if err := x.Unmarshal(sub); err != nil {
				return err
			}
			e.Event = &cdcpb.Event_LongTxn_{LongTxn: x}
		}
	}
	return nil
}

func (s *slabs) decodeEntries(buf []byte, entries *cdcpb.Event_Entries) error {
	start := s.nRows
	for i := 0; i < len(buf); {
		field, wire, k, err := tag(buf[i:])
		if err != nil {
			return err
		}
		i += k
		if field != 1 || wire != 2 {
			k, err := skipField(buf[i:], wire)
			if err != nil {
				return err
			}
			i += k
			continue
		}
		sub, k, err := lengthDelimited(buf[i:])
		if err != nil {
			return err
		}
		i += k
		row := &s.rows[s.nRows]
		s.rowPtr[s.nRows] = row
		s.nRows++
		if err := decodeRow(sub, row); err != nil {
			return err
		}
	}
	if s.nRows > start {
		entries.Entries = s.rowPtr[start:s.nRows:s.nRows]
	}
	return nil
}

func decodeRow(buf []byte, row *cdcpb.Event_Row) error {
	for i := 0; i < len(buf); {
		field, wire, n, err := tag(buf[i:])
		if err != nil {
			return err
		}
		i += n
		switch {
		case wire == 0 && field <= 10 && field != 5 && field != 6 && field != 7:
			v, n, err := varint(buf[i:])
			if err != nil {
				return err
			}
			i += n
			switch field {
			case 1:
				row.StartTs = v
			case 2:
				row.CommitTs = v
			case 3:
				row.Type = cdcpb.Event_LogType(v)
			case 4:
				row.OpType = cdcpb.Event_Row_OpType(v)
			case 8:
				row.ExpireTsUnixSecs = v
			case 9:
				row.TxnSource = v
			case 10:
				row.Generation = v
			}
		case wire == 2 && field >= 5 && field <= 7:
			b, n, err := lengthDelimited(buf[i:])
			if err != nil {
				return err
			}
			i += n
			switch field {
			case 5:
				row.Key = b
			case 6:
				row.Value = b
			case 7:
				row.OldValue = b
			}
		default:
			n, err := skipField(buf[i:], wire)
			if err != nil {
				return err
			}
			i += n
		}
	}
	return nil
}

// decodeResolvedTs merges buf into rts (as the generated decoder does when
// the field repeats): region ids packed or not.
func decodeResolvedTs(buf []byte, rts *cdcpb.ResolvedTs) error {
	for i := 0; i < len(buf); {
		field, wire, n, err := tag(buf[i:])
		if err != nil {
			return err
		}
		i += n
		switch {
		case field == 1 && wire == 2:
			packed, n, err := lengthDelimited(buf[i:])
			if err != nil {
				return err
			}
			i += n
			count := 0
			for _, b := range packed {
				if b < 0x80 {
					count++
				}
			}
			// Exactly the room it needs: growing a reused small slab by
			// doubling would allocate a dozen times for a store's batch.
			rts.Regions = slices.Grow(rts.Regions, count)
			for j := 0; j < len(packed); {
				v, n, err := varint(packed[j:])
				if err != nil {
					return err
				}
				j += n
				rts.Regions = append(rts.Regions, v)
			}
		case wire == 0 && field <= 3:
			v, n, err := varint(buf[i:])
			if err != nil {
				return err
			}
			i += n
			switch field {
			case 1:
				rts.Regions = append(rts.Regions, v)
			case 2:
				rts.Ts = v
			case 3:
				rts.RequestId = v
			}
		default:
			n, err := skipField(buf[i:], wire)
			if err != nil {
				return err
			}
			i += n
		}
	}
	return nil
}

// countChangeDataEvent is the first pass: how many events, Entries and rows
// the message holds, so each slab is allocated once.
func countChangeDataEvent(buf []byte) (events, entries, rows int, err error) {
	err = eachField(buf, func(field, wire int, sub []byte) error {
		if field != 1 || wire != 2 {
			return nil
		}
		events++
		return eachField(sub, func(field, wire int, sub []byte) error {
			if field != 3 || wire != 2 {
				return nil
			}
			entries++
			return eachField(sub, func(field, wire int, _ []byte) error {
				if field == 1 && wire == 2 {
					rows++
				}
				return nil
			})
		})
	})
	return events, entries, rows, err
}

// eachField calls fn for every field of a message, with the contents of a
// length-delimited one (nil for the others).
func eachField(buf []byte, fn func(field, wire int, sub []byte) error) error {
	for i := 0; i < len(buf); {
		field, wire, n, err := tag(buf[i:])
		if err != nil {
			return err
		}
		i += n
		var sub []byte
		if wire == 2 {
			sub, n, err = lengthDelimited(buf[i:])
		} else {
			n, err = skipField(buf[i:], wire)
		}
		if err != nil {
			return err
		}
		i += n
		if err := fn(field, wire, sub); err != nil {
			return err
		}
	}
	return nil
}

func varint(buf []byte) (v uint64, n int, err error) {
	for shift := uint(0); shift < 64; shift += 7 {
		if n >= len(buf) {
			return 0, 0, errTruncated
		}
		b := buf[n]
		n++
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v, n, nil
		}
	}
	return 0, 0, errors.New("cdcpb: varint overflows 64 bits")
}

func tag(buf []byte) (field, wire, n int, err error) {
	v, n, err := varint(buf)
	if err != nil {
		return 0, 0, 0, err
	}
	// As the generated decoders read it (an int32), so that both accept
	// and refuse the same tags.
	field, wire = int(int32(v>>3)), int(v&7)
	if field <= 0 {
		return 0, 0, 0, fmt.Errorf("cdcpb: illegal field number %d", field)
	}
	return field, wire, n, nil
}

// lengthDelimited returns a length-delimited field's contents, capacity
// cut to its length (an append to it must not write over the message),
// and how many bytes it took.
func lengthDelimited(buf []byte) ([]byte, int, error) {
	l, n, err := varint(buf)
	if err != nil {
		return nil, 0, err
	}
	if l > uint64(len(buf)-n) {
		return nil, 0, errTruncated
	}
	end := n + int(l)
	return buf[n:end:end], end, nil
}

// skipField returns the size of a field's value of the given wire type.
func skipField(buf []byte, wire int) (int, error) {
	switch wire {
	case 0:
		_, n, err := varint(buf)
		return n, err
	case 1:
		if len(buf) < 8 {
			return 0, errTruncated
		}
		return 8, nil
	case 2:
		_, n, err := lengthDelimited(buf)
		return n, err
	case 5:
		if len(buf) < 4 {
			return 0, errTruncated
		}
		return 4, nil
	case 3:
		// A group (proto2; never sent by TiKV, skipped as the generated
		// decoder skips it): fields up to the matching end-group.
		// Tags inside are not checked, as the generated skip does not.
		for i := 0; i < len(buf); {
			t, n, err := varint(buf[i:])
			if err != nil {
				return 0, err
			}
			i += n
			w := int(t & 7)
			if w == 4 {
				return i, nil
			}
			n, err = skipField(buf[i:], w)
			if err != nil {
				return 0, err
			}
			i += n
		}
		return 0, errTruncated
	}
	return 0, fmt.Errorf("cdcpb: illegal wire type %d", wire)
}
