package engine

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"github.com/tikv/client-go/v2/oracle"

	"github.com/pulltop/pulltop/snapshots"
)

// BenchmarkResolvedTsIngest1M is what a store's resolved-ts batch costs the
// event loop at a million regions: 3 stores, each sending one ResolvedTs
// for its 333k regions every second (TiKV's min-ts interval), region ids in
// no particular order. One op is one region's advance; at a million
// regions the loop does a million of them every second.
//
//	go test -run '^$' -bench ResolvedTsIngest1M -benchmem ./engine/
func BenchmarkResolvedTsIngest1M(b *testing.B) {
	const n, stores = 1_000_000, 3
	e := newPublishEngine(b, n) // locked, initialized regions on 3 stores
	workers := make([]*streamWorker, stores)
	batches := make([][]uint64, stores)
	for i := range workers {
		workers[i] = &streamWorker{e: e, storeID: uint64(i + 1), deregPending: map[dsKey]bool{}}
	}
	for _, r := range e.regions {
		if r.lock == nil {
			continue
		}
		r.state, r.initialized = snapshots.StateInitialized, true
		w := workers[r.storeID-1]
		w.regions.set(r.sub.id, r.id, r)
		r.worker = w
		batches[r.storeID-1] = append(batches[r.storeID-1], r.id)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, ids := range batches {
		rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	}
	ts := oracle.GoTimeToTS(time.Now())
	b.ResetTimer()
	done := 0
	for round := 0; done < b.N; round++ {
		for s, ids := range batches {
			ts++
			ev := &cdcpb.ChangeDataEvent{ResolvedTs: &cdcpb.ResolvedTs{Regions: ids, Ts: ts, RequestId: 1}}
			e.handleEvent(workers[s], ev)
			done += len(ids)
		}
	}
}
