package engine

import (
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/tikv/client-go/v2/oracle"
	"github.com/tikv/client-go/v2/util/codec"
	"go.uber.org/zap"

	"github.com/pulltop/pulltop/engine/reload"
	"github.com/pulltop/pulltop/engine/retry"
	"github.com/pulltop/pulltop/engine/storebackoff"
	"github.com/pulltop/pulltop/snapshots"
)

// newPublishEngine builds an event-loop-less engine holding n locked
// regions over 3 stores, most initialized and advancing, a few stale, a few
// waiting, so publish can be measured without a cluster. Nothing runs in
// the background but the retry scheduler, stopped by the test's cleanup.
func newPublishEngine(tb testing.TB, n int) *Engine {
	tb.Helper()
	now := time.Now()
	startTs := oracle.GoTimeToTS(now.Add(-time.Minute))
	e := &Engine{
		// StaleAfter is long so that the healthy regions stay healthy
		// however many publishes the benchmark runs.
		cfg:           Config{PD: []string{"127.0.0.1:2379"}, StaleAfter: 24 * time.Hour},
		locator:       &regionLocator{},
		sched:         retry.NewScheduler(retry.SystemClock(), retry.SchedulerOptions{}),
		storeCooldown: storebackoff.New(time.Now),
		agg:           reload.New(reload.Config{}),
		regions:       make(map[regionKey]*regionState, n),
		stores:        make(map[uint64]*storeInfo),
		stats:         engineStats{errorsByReason: map[string]int64{snapshots.ReasonNotLeader: 3}},
		log:           newEventLog(),
		tallies:       map[uint64]*storeTally{},
		logger:        zap.NewNop(),
	}
	tb.Cleanup(e.sched.Stop)
	sub := newSubscription(1, TableDataSpan(), startTs)
	e.subs = []*subscription{sub}
	for id := uint64(1); id <= 3; id++ {
		e.learnStore(id, "127.0.0.1:2016"+string(rune('0'+id)))
	}
	key := func(i int) []byte {
		raw := codec.EncodeInt([]byte{'t'}, 1)
		raw = append(raw, '_', 'r')
		raw = codec.EncodeInt(raw, int64(i)*1000)
		return codec.EncodeBytes(nil, raw)
	}
	for i := range n {
		start, end := key(i), key(i+1)
		if i == 0 {
			start = sub.span.Start
		}
		if i == n-1 {
			end = sub.span.End
		}
		store := uint64(i%3 + 1)
		r := newRegionState(sub, RegionLoc{ID: uint64(i + 10), Start: start, End: end, Version: 1, ConfVer: 1,
			Leader: &metapb.Peer{Id: uint64(i + 100000), StoreId: store}})
		res, err := sub.lock.TryLock(r.start, r.end, r.id, r.version, r)
		if err != nil || res.Status != LockSuccess {
			tb.Fatalf("lock region %d: %v %v", r.id, res.Status, err)
		}
		r.lock = res.Locked
		r.lock.MarkInitialized()
		r.initialized = true
		r.state = snapshots.StateInitialized
		r.lastAdvance = now
		switch {
		case i%1000 == 1:
			r.state = snapshots.StateStale
			r.lastAdvance = now.Add(-time.Minute)
		case i%1000 == 2:
			r.state, r.initialized = snapshots.StateRetryWait, false
			r.lastError = "not_leader: not leader"
		}
		sub.lock.UpdateResolvedTs(r.lock, oracle.GoTimeToTS(r.lastAdvance))
		e.regions[r.key()] = r
	}
	e.publish(now) // builds the region order once, as the running engine does
	return e
}

// BenchmarkPublish100k is one snapshot of 100k regions, the work the event
// loop does every PublishInterval (500ms): steady state, a few regions
// stale or waiting.
//
//	go test -run '^$' -bench Publish100k -benchmem -count 5 ./engine/
func BenchmarkPublish100k(b *testing.B) {
	e := newPublishEngine(b, 100_000)
	now := time.Now()
	for b.Loop() {
		now = now.Add(500 * time.Millisecond)
		e.publish(now)
	}
}

// BenchmarkPublish100kAllStalled is the worst case for the diagnosis: every
// region stuck at once (a PD outage), so every one is decided in full and
// gets a diagnosis.
func BenchmarkPublish100kAllStalled(b *testing.B) {
	e := newPublishEngine(b, 100_000)
	for _, r := range e.regions {
		r.state = snapshots.StateStale
	}
	now := time.Now()
	for b.Loop() {
		now = now.Add(500 * time.Millisecond)
		e.publish(now)
	}
}

// BenchmarkPublishScale is one steady-state publish at 100k and at 1M
// regions, in the same run, so the growth of its cost with the region count
// shows as a ratio (DESIGN §8: the 1M/100k ratio should stay near 10, no
// worse: linear, not quadratic).
//
//	go test -run '^$' -bench PublishScale -benchmem -count 5 ./engine/
func BenchmarkPublishScale(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		for _, rows := range []bool{true, false} {
			name := "regions=" + countText(n)
			if !rows {
				name += "/rows=on-demand" // headless: totals, stores, causes; no rows
			}
			b.Run(name, func(b *testing.B) {
				e := newPublishEngine(b, n)
				now := time.Now()
				for b.Loop() {
					now = now.Add(500 * time.Millisecond)
					e.publishRows(now, rows)
				}
			})
		}
	}
}

// BenchmarkPublishChanged is one publish against the number of regions
// that changed since the last one, at 100k and at 1M regions, in one run:
// changed=k moves k regions' resolved ts and changes their rows (a retry
// count); advanced=all moves every region's resolved ts and nothing else
// (the steady state at 1M: every region advances every second). The
// changes are made with the timer stopped; the publish is timed. Time
// stands still, so that no region lags into a diagnosis: what is
// measured is the cost of a change, not of an incident. The fixture keeps
// 1 region in 500 stale or waiting, looked at by every publish.
//
//	go test -run '^$' -bench PublishChanged -benchmem -count 3 ./engine/
func BenchmarkPublishChanged(b *testing.B) {
	skipPublishCheck = true
	b.Cleanup(func() { skipPublishCheck = false })
	for _, n := range []int{100_000, 1_000_000} {
		e := newPublishEngine(b, n)
		// The fixture's time: its regions advanced then (building it
		// takes longer than the lagging threshold at 1M).
		now := e.lastPublish
		e.publishRows(now, false)
		var regions []*regionState
		for _, r := range e.regions {
			if streaming(r) && r.state == snapshots.StateInitialized {
				regions = append(regions, r)
			}
		}
		for _, k := range []int{0, 100, 10_000, -1} {
			name := "regions=" + countText(n) + "/changed=" + countText(k)
			if k < 0 {
				name = "regions=" + countText(n) + "/advanced=all"
			}
			b.Run(name, func(b *testing.B) {
				next := 0
				ts := oracle.GoTimeToTS(now)
				for b.Loop() {
					b.StopTimer()
					ts++
					if k < 0 {
						for _, r := range regions {
							e.advanceRegion(r, ts, now)
						}
					}
					for range max(k, 0) {
						r := regions[next%len(regions)]
						next++
						e.advanceRegion(r, ts, now)
						r.retryAttempts ^= 1
						e.markDirty(r)
					}
					b.StartTimer()
					e.publishRows(now, false)
				}
			})
		}
	}
}

// BenchmarkPublishScanning is one publish during the initial scans, at
// 100k and at 1M regions: a tenth of the regions initialized, each store
// running ScansPerStore scans (128) and the rest queued for a scan slot,
// as at start-up. Between publishes (timer stopped) every store's scans
// finish and the next ones in its queue start; the finished regions go
// back to the queue's tail, so the queue stays as long however many
// publishes run. Every queued region's place then moves at every
// publish, as it does at start-up: a diagnosis naming it changes every
// row. rows=on-demand is headless's publish (no rows built).
//
//	go test -run '^$' -bench PublishScanning -benchmem ./engine/
func BenchmarkPublishScanning(b *testing.B) {
	skipPublishCheck = true
	b.Cleanup(func() { skipPublishCheck = false })
	for _, n := range []int{100_000, 1_000_000} {
		for _, rows := range []bool{true, false} {
			name := "regions=" + countText(n)
			if !rows {
				name += "/rows=on-demand"
			}
			b.Run(name, func(b *testing.B) { benchmarkPublishScanning(b, n, rows) })
		}
	}
}

func benchmarkPublishScanning(b *testing.B, n int, rows bool) {
	e, regions := newScanningEngine(b, n, 128)
	e.cfg.ScansPerStore = 128
	now := e.lastPublish
	scanning := map[uint64][]*regionState{}
	for _, r := range regions {
		if r.state == snapshots.StateRequested {
			scanning[r.storeID] = append(scanning[r.storeID], r)
		}
	}
	var initialized []*regionState
	for _, r := range regions {
		if r.initialized {
			initialized = append(initialized, r)
		}
	}
	e.publish(now)
	for b.Loop() {
		b.StopTimer()
		now = now.Add(500 * time.Millisecond)
		// The initialized regions advance, as they do at start-up: a store
		// whose every streaming region stood still would read as stalled
		// after a few seconds, and every waiting region with it.
		ts := oracle.GoTimeToTS(now)
		for _, r := range initialized {
			e.advanceRegion(r, ts, now)
		}
		for id, st := range e.stores {
			next := scanning[id][:0]
			for _, r := range scanning[id] {
				r.state, r.scanning = snapshots.StateQueued, false
				st.admission = append(st.admission, r)
				e.markDirty(r)
			}
			for range len(scanning[id]) {
				r := st.admission[0]
				st.admission = st.admission[1:]
				r.state, r.scanning, r.requestedAt = snapshots.StateRequested, true, now.UnixNano()
				e.markDirty(r)
				next = append(next, r)
			}
			scanning[id] = next
		}
		b.StartTimer()
		e.publishRows(now, rows)
	}
}
