package engine

import (
	"testing"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"google.golang.org/grpc/mem"
)

// BenchmarkDecodeChangeDataEvent is the codec's work for one message
// received and handled (decode, release): a message of the live stream
// (64 one-row events) and a store's ResolvedTs at a million regions over 3
// stores (333k ids, once a second per store).
//
//	go test -run '^$' -bench DecodeChangeDataEvent -benchmem ./engine/
func BenchmarkDecodeChangeDataEvent(b *testing.B) {
	live := &cdcpb.ChangeDataEvent{}
	for i := range 64 {
		live.Events = append(live.Events, &cdcpb.Event{RegionId: uint64(i + 1), RequestId: 1, Event: &cdcpb.Event_Entries_{
			Entries: &cdcpb.Event_Entries{Entries: []*cdcpb.Event_Row{
				{StartTs: 10, CommitTs: 11, Type: cdcpb.Event_COMMITTED, Key: make([]byte, 19), Value: make([]byte, 64)},
			}},
		}})
	}
	ids := make([]uint64, 333_334)
	for i := range ids {
		ids[i] = uint64(3*i + 1)
	}
	batch := &cdcpb.ChangeDataEvent{ResolvedTs: &cdcpb.ResolvedTs{Regions: ids, Ts: 12}}
	for _, m := range []struct {
		name string
		ev   *cdcpb.ChangeDataEvent
	}{{"live-64-rows", live}, {"resolved-ts-333k", batch}} {
		b.Run(m.name, func(b *testing.B) {
			buf, err := m.ev.Marshal()
			if err != nil {
				b.Fatal(err)
			}
			codec := newEventCodec()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				d := &decodedEvent{}
				if err := codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(buf)}, d); err != nil {
					b.Fatal(err)
				}
				d.release()
			}
		})
	}
}
