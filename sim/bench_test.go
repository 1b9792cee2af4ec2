package sim

import (
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/cdcpb"
)

// BenchmarkSimStart100k measures starting a 100k-region cluster with every
// server listening (budget: < 5 s, so the sim never limits the engine's
// scale benchmarks).
//
//	go test -run '^$' -bench SimStart100k -benchtime 3x ./sim/
func BenchmarkSimStart100k(b *testing.B) {
	for b.Loop() {
		s, err := Start(Config{Stores: 3, Regions: 100_000})
		if err != nil {
			b.Fatal(err)
		}
		if s.Cluster().RegionCount() != 100_000 {
			b.Fatal("wrong region count")
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}

// BenchmarkSimStreamRows measures how many committed rows per second the sim
// streams to one EventFeedV2 client subscribed to 10k regions (budget:
// ≥ 50k rows/s on 2 cores). One op is one row delivered.
//
//	go test -run '^$' -bench SimStreamRows -benchtime 200000x ./sim/
func BenchmarkSimStreamRows(b *testing.B) {
	const regions = 10_000
	s, err := Start(Config{Stores: 1, Regions: regions, MinTsInterval: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := s.Cluster()
	f := openFeed(&testing.T{}, c.StoreAddr(1), feedOpts{})
	defer f.close()
	for _, ri := range c.Regions() {
		if err := f.stream.Send(registerReq(c, ri, 1, 0)); err != nil {
			b.Fatal(err)
		}
	}
	initialized := 0
	for initialized < regions {
		ev := <-f.events
		for _, e := range ev.Events {
			for _, row := range e.GetEntries().GetEntries() {
				if row.Type == cdcpb.Event_INITIALIZED {
					initialized++
				}
			}
		}
	}
	rng := newTestRand(1)
	b.ResetTimer()
	start := time.Now()
	go func() {
		muts := make([]Mutation, 4)
		for written := 0; written < b.N; written += len(muts) {
			for i := range muts {
				muts[i] = Mutation{Key: RandomKey(rng), Op: putOp, Value: []byte("value-0123456789")}
			}
			c.Commit1PC(muts)
		}
	}()
	received := 0
	for received < b.N {
		ev, ok := <-f.events
		if !ok {
			b.Fatal(<-f.err)
		}
		for _, e := range ev.Events {
			received += len(e.GetEntries().GetEntries())
		}
	}
	b.ReportMetric(float64(received)/time.Since(start).Seconds(), "rows/s")
}
