package engine

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/mem"
)

// randomEvent builds a ChangeDataEvent with every kind of region event and
// every row field, as TiKV could send it.
func randomEvent(rng *rand.Rand) *cdcpb.ChangeDataEvent {
	bytesOf := func(max int) []byte {
		switch rng.IntN(4) {
		case 0:
			return nil
		case 1:
			return []byte{} // present, empty
		}
		b := make([]byte, 1+rng.IntN(max))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	ev := &cdcpb.ChangeDataEvent{}
	for range rng.IntN(6) {
		e := &cdcpb.Event{RegionId: rng.Uint64N(1 << 40), Index: rng.Uint64(), RequestId: rng.Uint64N(4096)}
		switch rng.IntN(6) {
		case 0, 1:
			entries := &cdcpb.Event_Entries{}
			for range rng.IntN(5) {
				entries.Entries = append(entries.Entries, &cdcpb.Event_Row{
					StartTs: rng.Uint64(), CommitTs: rng.Uint64(), Type: cdcpb.Event_LogType(rng.IntN(6)),
					Generation: rng.Uint64N(3), OpType: cdcpb.Event_Row_OpType(rng.IntN(3)),
					Key: bytesOf(40), Value: bytesOf(300), OldValue: bytesOf(20),
					ExpireTsUnixSecs: rng.Uint64N(2), TxnSource: rng.Uint64N(2),
				})
			}
			e.Event = &cdcpb.Event_Entries_{Entries: entries}
		case 2:
			e.Event = &cdcpb.Event_Error{Error: &cdcpb.Error{NotLeader: &errorpb.NotLeader{RegionId: 7, Leader: &metapb.Peer{Id: 3, StoreId: 2}}}}
		case 3:
			e.Event = &cdcpb.Event_ResolvedTs{ResolvedTs: rng.Uint64()}
		case 4:
			e.Event = &cdcpb.Event_LongTxn_{LongTxn: &cdcpb.Event_LongTxn{TxnInfo: []*cdcpb.TxnInfo{{StartTs: 5, Primary: []byte("p")}}}}
		}
		ev.Events = append(ev.Events, e)
	}
	if rng.IntN(2) == 0 {
		rts := &cdcpb.ResolvedTs{Ts: rng.Uint64(), RequestId: rng.Uint64N(4096)}
		for range rng.IntN(300) {
			rts.Regions = append(rts.Regions, rng.Uint64N(1<<(1+rng.IntN(63))))
		}
		ev.ResolvedTs = rts
	}
	return ev
}

// generated decodes with kvproto's generated Unmarshal, which skips
// unknown fields (since kvproto 20260724 it no longer keeps them in
// XXX_unrecognized), as the engine's decoder does.
func generated(t testing.TB, b []byte) (*cdcpb.ChangeDataEvent, error) {
	t.Helper()
	want := &cdcpb.ChangeDataEvent{}
	if err := want.Unmarshal(b); err != nil {
		return nil, err
	}
	return want, nil
}

// Through the codec, message after message: the pooled slabs of one
// message are reused by the next, and nothing of the last one shows.
func TestEventCodecReusesSlabsCleanly(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 12))
	codec := newEventCodec()
	reused := 0
	var last *slabs
	for i := range 2000 {
		b, err := randomEvent(rng).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		want, err := generated(t, b)
		if err != nil {
			t.Fatal(err)
		}
		d := &decodedEvent{}
		if err := codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, d); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if d.slabs == last {
			reused++
		}
		last = d.slabs
		if !reflect.DeepEqual(&d.ChangeDataEvent, want) {
			t.Fatalf("message %d decoded as\n%v\nwant\n%v", i, &d.ChangeDataEvent, want)
		}
		d.release()
	}
	if reused < 1000 {
		t.Fatalf("slabs reused for %d of 2000 messages: the pool is not doing its job", reused)
	}
}

func TestDecodeChangeDataEventMatchesGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 2000 {
		b, err := randomEvent(rng).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		want, err := generated(t, b)
		if err != nil {
			t.Fatal(err)
		}
		got := &cdcpb.ChangeDataEvent{Events: []*cdcpb.Event{{RegionId: 99}}} // reset first
		if err := decodeChangeDataEvent(b, got); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("message %d decoded as\n%v\nwant\n%v", i, got, want)
		}
	}
}

// Unknown fields (a newer TiKV) are skipped, known ones still read. The
// generated structs no longer carry unknown fields, so the message is
// put together by hand: each level's known fields as kvproto marshals
// them, with unknown ones of every wire type appended.
func TestDecodeChangeDataEventSkipsUnknownFields(t *testing.T) {
	marshal := func(m interface{ Marshal() ([]byte, error) }) []byte {
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	embed := func(b []byte, field uint64, msg []byte) []byte { // a length-delimited field
		b = binary.AppendUvarint(b, field<<3|2)
		b = binary.AppendUvarint(b, uint64(len(msg)))
		return append(b, msg...)
	}
	row := marshal(&cdcpb.Event_Row{StartTs: 5, CommitTs: 6, Type: cdcpb.Event_COMMITTED, Key: []byte("k"), Value: []byte("v")})
	row = append(row, 0x98, 0x06, 0x01, 0xa2, 0x06, 0x02, 'h', 'i', 0xad, 0x06, 1, 2, 3, 4) // fields 99, 100, 101
	entries := embed(nil, 1, row)
	event := marshal(&cdcpb.Event{RegionId: 3, RequestId: 1})
	event = embed(event, 3, entries)
	event = append(event, 0xa1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8) // field 100, fixed64
	b := embed(nil, 1, event)
	b = append(b, 0x9b, 0x06, 0x08, 0x01, 0x9c, 0x06) // a group, field 99
	want, err := generated(t, b)
	if err != nil {
		t.Fatalf("the hand-built message is not valid protobuf: %v", err)
	}
	if n := len(want.Events); n != 1 || len(want.Events[0].GetEntries().GetEntries()) != 1 {
		t.Fatalf("the hand-built message decodes as %v", want)
	}
	got := &cdcpb.ChangeDataEvent{}
	if err := decodeChangeDataEvent(b, got); err != nil {
		t.Fatal(err)
	}
	r := got.Events[0].GetEntries().GetEntries()[0]
	if got.Events[0].RegionId != 3 || r.CommitTs != 6 || string(r.Key) != "k" || string(r.Value) != "v" {
		t.Fatalf("decoded %v", got)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded as\n%v\nthe generated decoder says\n%v", got, want)
	}
}

// A truncated or corrupt message is an error, never a panic; whatever
// the generated decoder accepts, this one decodes the same.
func TestDecodeChangeDataEventCorrupt(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		b, err := randomEvent(rng).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		for cut := 0; cut < len(b); cut += 1 + len(b)/50 {
			checkAgainstGenerated(t, b[:cut])
		}
		if len(b) > 0 {
			flipped := bytes.Clone(b)
			flipped[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
			checkAgainstGenerated(t, flipped)
		}
	}
}

func checkAgainstGenerated(t testing.TB, b []byte) {
	t.Helper()
	want, werr := generated(t, b)
	got := &cdcpb.ChangeDataEvent{}
	err := decodeChangeDataEvent(b, got)
	if werr == nil && err != nil {
		t.Fatalf("%x: generated decodes it, this one says %v", b, err)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%x decoded as\n%v\nwant\n%v", b, got, want)
	}
}

func FuzzDecodeChangeDataEvent(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20 {
		b, _ := randomEvent(rng).Marshal()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkAgainstGenerated(t, b) })
}

// Decoded byte fields cannot be appended to over the rest of the message.
func TestDecodeChangeDataEventCapsByteFields(t *testing.T) {
	ev := &cdcpb.ChangeDataEvent{Events: []*cdcpb.Event{{RegionId: 1, Event: &cdcpb.Event_Entries_{Entries: &cdcpb.Event_Entries{
		Entries: []*cdcpb.Event_Row{{Key: []byte("a"), Value: []byte("b")}, {Key: []byte("c"), Value: []byte("d")}}}}}}}
	b, _ := ev.Marshal()
	got := &cdcpb.ChangeDataEvent{}
	if err := decodeChangeDataEvent(b, got); err != nil {
		t.Fatal(err)
	}
	rows := got.Events[0].GetEntries().GetEntries()
	_ = append(rows[0].Key, 'X')
	_ = append(rows[0].Value, 'X')
	if string(rows[0].Value) != "b" || string(rows[1].Key) != "c" {
		t.Fatalf("an append to a decoded field changed the message: %q %q", rows[0].Value, rows[1].Key)
	}
}

// The codec decodes through the slab decoder and copies the message out
// of gRPC's buffers, which gRPC reuses once Unmarshal returns.
func TestEventCodecCopiesOutOfGRPCBuffers(t *testing.T) {
	ev := &cdcpb.ChangeDataEvent{Events: []*cdcpb.Event{{RegionId: 1, Event: &cdcpb.Event_Entries_{Entries: &cdcpb.Event_Entries{
		Entries: []*cdcpb.Event_Row{{Key: []byte("key"), Value: []byte("value")}}}}}}}
	b, _ := ev.Marshal()
	buf := bytes.Clone(b)
	got := &cdcpb.ChangeDataEvent{}
	if err := newEventCodec().Unmarshal(mem.BufferSlice{mem.SliceBuffer(buf)}, got); err != nil {
		t.Fatal(err)
	}
	clear(buf) // gRPC reusing its buffer
	if r := got.Events[0].GetEntries().GetEntries()[0]; string(r.Key) != "key" || string(r.Value) != "value" {
		t.Fatalf("decoded row changed with gRPC's buffer: %q %q", r.Key, r.Value)
	}
	// Requests still go out through the proto codec.
	req := &cdcpb.ChangeDataRequest{RegionId: 5, RequestId: 2}
	out, err := newEventCodec().Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := req.Marshal()
	if !bytes.Equal(out.Materialize(), want) {
		t.Fatalf("request encoded as %x, want %x", out.Materialize(), want)
	}
}

// A slab that decoded a message of the live stream goes back to the pool;
// one that decoded a store's ResolvedTs at a million regions (333k ids)
// is over the bound and is left to the garbage collector, so the pool
// does not keep the start-up's largest messages for good.
func TestEventCodecPoolsOnlySmallSlabs(t *testing.T) {
	codec := newEventCodec()
	decode := func(ev *cdcpb.ChangeDataEvent) *slabs {
		t.Helper()
		b, err := ev.Marshal()
		require.NoError(t, err)
		d := &decodedEvent{}
		require.NoError(t, codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, d))
		s := d.slabs
		d.release()
		return s
	}

	live := &cdcpb.ChangeDataEvent{}
	for i := range 64 {
		live.Events = append(live.Events, &cdcpb.Event{RegionId: uint64(i + 1), RequestId: 1, Event: &cdcpb.Event_Entries_{
			Entries: &cdcpb.Event_Entries{Entries: []*cdcpb.Event_Row{
				{StartTs: 10, CommitTs: 11, Type: cdcpb.Event_COMMITTED, Key: []byte("k"), Value: []byte("v")},
			}},
		}})
	}
	live.ResolvedTs = &cdcpb.ResolvedTs{Regions: make([]uint64, 1000), Ts: 12}
	require.LessOrEqual(t, decode(live).bytes(), maxPooledSlabBytes, "a live message's slabs are pooled")

	ids := make([]uint64, 333_334)
	for i := range ids {
		ids[i] = uint64(3*i + 1)
	}
	batch := decode(&cdcpb.ChangeDataEvent{ResolvedTs: &cdcpb.ResolvedTs{Regions: ids, Ts: 12}})
	require.Greater(t, batch.bytes(), maxPooledSlabBytes, "a store's batch at 1M regions is not pooled")
	require.LessOrEqual(t, cap(batch.regions), len(ids)+len(ids)/4, "its ids are decoded into one allocation, not grown by doubling")
}
