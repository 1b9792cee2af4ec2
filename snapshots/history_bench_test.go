package snapshots

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// faultMix drives n regions over 3 stores through 15 minutes of incidents,
// one call per second (frame k), mutating regions in place as the engine's
// snapshots would change: lag jitter everywhere; leader moves on 20
// regions a second; a split every 10 s; store 2 down for a minute (a third
// of the regions retry, park and rescan); PD down for 30 s (every region
// stuck); a lock on 8 regions for 2 minutes; store 1 busy for a minute
// (region_not_found, reloads); store 3 hung for a minute.
type faultMix struct {
	regions  []Region
	nextID   uint64
	errs     map[string]string // one string per text, as the engine shares them
	diagText map[string]string
}

func newFaultMix(n int) *faultMix {
	m := &faultMix{nextID: uint64(n) + 1, errs: map[string]string{}, diagText: map[string]string{}}
	// Room for the splits, so that growing it does not count as history.
	m.regions = make([]Region, n, n+1000)
	for i := range m.regions {
		id := uint64(i + 1)
		m.regions[i] = Region{ID: id, Subscription: 1, Start: fmt.Sprintf("7480%08x", id), End: fmt.Sprintf("7480%08x", id+1),
			StoreID: 1 + id%3, State: StateInitialized, Initialized: true, Cause: CauseHealthy, Since: histT0, ResolvedTs: 1}
	}
	return m
}

func (m *faultMix) text(table map[string]string, s string) string {
	if t, ok := table[s]; ok {
		return t
	}
	table[s] = s
	return s
}

func (m *faultMix) state(k int) *State {
	at := histT0.Add(time.Duration(k) * time.Second)
	sec := func(s int) time.Time { return histT0.Add(time.Duration(s) * time.Second) }
	for i := range m.regions {
		r := &m.regions[i]
		id := r.ID
		healthy := func() {
			if r.Cause != CauseHealthy {
				r.Since = at
			}
			r.State, r.Initialized, r.Cause, r.Diagnosis = StateInitialized, true, CauseHealthy, ""
			r.ResolvedTs = uint64(k + 2)
			r.ResolvedLagMs = int64(200 + (id*7919+uint64(k)*104729)%1200)
		}
		stuck := func(cause, diag string, since int) {
			r.State, r.Cause, r.Since = StateStale, cause, sec(since)
			r.Diagnosis = m.text(m.diagText, diag)
			r.ResolvedLagMs = int64(k-since)*1000 + 500 // resolved ts unchanged
		}
		switch {
		case k >= 200 && k < 230: // PD down
			stuck(CausePDUnreachable, fmt.Sprintf("PD unreachable for %ds; resolved ts stuck %ds", k-200, k-200), 200)
		case r.StoreID == 2 && k >= 60 && k < 130: // store 2 down, back at 120, rescanned by 130
			if k < 120 {
				// Each region retries about every 5 s (backoff up to 5 s,
				// cooldown up to 5 s): retry-wait, parked, requested.
				states := []string{StateRetryWait, StateParked, StateRequested}
				step := (k - 60 + int(id%5)) / 5
				r.State, r.Initialized, r.Cause, r.Since = states[step%3], false, CauseStoreDown, sec(60)
				r.Diagnosis = m.text(m.diagText, fmt.Sprintf("store 2 down since 14:01:00: %d failed attempts", k-59))
				r.LastError, r.LastErrorAt = m.text(m.errs, "store_failure: connection refused"), sec(60)
				r.RetryAttempts = step / 3
				r.ResolvedLagMs = int64(k-60)*1000 + 500
			} else if uint64(k-120)*10 > id%100 {
				healthy()
			} else {
				r.State, r.Cause = StateRequested, CauseScanPending
			}
		case r.StoreID == 1 && k >= 500 && k < 560 && (id+uint64(k))%7 == 0: // store 1 busy
			r.State, r.Initialized, r.Cause = StateReloadWait, false, CauseStoreBusy
			r.Diagnosis = m.text(m.diagText, "store 1 busy; waiting to retry")
			r.LastError, r.LastErrorAt = m.text(m.errs, "region_not_found: region not found on store"), at
		case r.StoreID == 3 && k >= 700 && k < 760: // store 3 hung
			stuck(CauseStoreStalled, fmt.Sprintf("resolved ts stalled on store 3 since 14:11:40, %d regions", len(m.regions)/3), 700)
		case id%12500 == 0 && k >= 300 && k < 420: // 8 locks
			stuck(CauseLock, fmt.Sprintf("pinned %ds by txn %d holding t1_r%d; no commit or rollback seen", k-300, 4707+id, id), 300)
		case (id+uint64(k)*20)%uint64(len(m.regions)) < 20: // leader moves
			r.State, r.Initialized, r.Cause, r.Since = StateRetryWait, false, CauseRegionChurn, at
			r.LastError, r.LastErrorAt = m.text(m.errs, "not_leader: not leader; leader is on store 3"), at
			r.RetryAttempts = 1
			r.Diagnosis = m.text(m.diagText, "1 not_leader/epoch_not_match/region_not_found in the last minute; waiting to retry")
		default:
			healthy()
		}
	}
	if k%10 == 5 { // a split: one region becomes two new ones
		i := (k * 7919) % len(m.regions)
		old := m.regions[i]
		a, b := old, old
		a.ID, b.ID = m.nextID, m.nextID+1
		m.nextID += 2
		a.End, b.Start = old.Start+"80", old.Start+"80"
		m.regions[i] = a
		m.regions = append(m.regions, b)
	}
	return &State{Version: Version, TakenAt: at, Seq: uint64(k + 1), Regions: m.regions,
		Totals:  Totals{Regions: len(m.regions), ResolvedLagMaxMs: int64(k), ErrorsByReason: map[string]int64{ReasonNotLeader: int64(20 * k)}},
		Stores:  []Store{{ID: 1, State: StoreUp}, {ID: 2, State: StoreUp}, {ID: 3, State: StoreUp}},
		Causes:  []CauseRow{{Cause: CauseRegionChurn, Regions: 20}},
		Source:  Source{PD: []string{"127.0.0.1:2379"}},
		Actions: nil}
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// recordFaultMix records 15 minutes (900 one-second frames) of the fault
// mix at n regions.
func recordFaultMix(n int) (*Recorder, *faultMix) {
	mix := newFaultMix(n)
	rec := NewRecorder(15 * time.Minute)
	for k := 0; k < 900; k++ {
		rec.Observe(mix.state(k))
	}
	return rec, mix
}

// BenchmarkHistory15m100k is DESIGN §8's history memory budget: 15 minutes
// at 100k regions under a fault mix cost at most a quarter of the engine's
// heap (BenchmarkScale's heapB/region at 100k: ~1150 B, so ≤ ~290 B per
// region). It reports the recorder's live heap per region.
//
//	go test -run '^$' -bench History15m100k -benchtime 1x ./snapshots/
func BenchmarkHistory15m100k(b *testing.B) {
	for b.Loop() {
		mix := newFaultMix(100_000)
		before := liveHeap()
		rec := NewRecorder(15 * time.Minute)
		for k := 0; k < 900; k++ {
			rec.Observe(mix.state(k))
		}
		after := liveHeap()
		// The mix's regions were allocated before the first measurement
		// (with room for its splits): the difference is the recorder.
		b.ReportMetric(float64(after-before)/100_000, "historyB/region")
		b.ReportMetric(float64(after-before)/(1<<20), "historyMiB")
		b.ReportMetric(float64(rec.Len()), "frames")
		runtime.KeepAlive(rec)
		runtime.KeepAlive(mix)
	}
}

// BenchmarkScrubStep100k is one scrub step at 100k regions: move the
// cursor one frame back and rebuild the State of that moment (DESIGN §8:
// ≤ 50 ms).
//
//	go test -run '^$' -bench ScrubStep100k -benchmem ./snapshots/
func BenchmarkScrubStep100k(b *testing.B) {
	rec, mix := recordFaultMix(100_000)
	latest := mix.state(900)
	c := rec.Cursor()
	for b.Loop() {
		if c.Step(-1) == 0 {
			c.Step(rec.Len())
			c.Step(-1)
		}
		if s := c.State(latest); len(s.Regions) < 100_000 {
			b.Fatalf("%d regions", len(s.Regions))
		}
	}
}

// BenchmarkScrubMinute100k is `{`: a minute (60 frames) back, and the
// State of that moment.
func BenchmarkScrubMinute100k(b *testing.B) {
	rec, mix := recordFaultMix(100_000)
	latest := mix.state(900)
	c := rec.Cursor()
	for b.Loop() {
		if c.Step(-60) == 0 {
			c.Step(rec.Len())
			c.Step(-60)
		}
		c.State(latest)
	}
}

// BenchmarkObserve100k is what recording costs per refresh at 100k
// regions, on the UI's goroutine (steady state: lag jitter and leader
// moves).
func BenchmarkObserve100k(b *testing.B) {
	mix := newFaultMix(100_000)
	rec := NewRecorder(15 * time.Minute)
	k := 1000
	for b.Loop() {
		k++
		rec.Observe(mix.state(k % 50)) // the first 50 s: no outage, leader moves only
	}
}

// BenchmarkRegionTimeline100k is what a region's detail costs per refresh
// with 15 minutes of the fault mix kept at 100k regions: its strip walks
// every frame's deltas.
func BenchmarkRegionTimeline100k(b *testing.B) {
	rec, _ := recordFaultMix(100_000)
	for b.Loop() {
		if p := rec.RegionTimeline(1, 2); len(p) < 2 {
			b.Fatalf("%d points", len(p))
		}
	}
}
