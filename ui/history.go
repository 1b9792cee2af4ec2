package ui

import (
	"strconv"
	"time"

	"pulltop/snapshots"
)

// The engine publishes only the present. An operator looking at a stuck
// region wants its past too ("it was initialized, went stale, got
// not_leader three times"), so the UI keeps a short history per region and
// per store, built by comparing each snapshot it sees with the previous one.
// Only changes are stored, so a healthy region costs a few words.

const (
	regionHistoryLen = 32  // changes kept per region
	lagHistoryLen    = 120 // snapshots kept for the lag sparkline
	// forgetAfter is how many snapshots a region may be missing (split,
	// merged away, unsubscribed) before its history is dropped.
	forgetAfter = 300
)

type changeKind uint8

const (
	changeFirstSeen changeKind = iota
	changeState
	changeError
	changeRetry
	changeStore
)

// change is one entry in a region's or store's history.
type change struct {
	at       time.Time // the snapshot's taken_at
	seq      uint64    // the snapshot's seq, to hide changes newer than a frozen view
	kind     changeKind
	from, to string
	n        int64
}

// ring keeps the newest regionHistoryLen changes.
type ring struct {
	items []change
	head  int // index of the oldest entry once full
}

func (r *ring) add(c change) {
	if len(r.items) < regionHistoryLen {
		r.items = append(r.items, c)
		return
	}
	r.items[r.head] = c
	r.head = (r.head + 1) % len(r.items)
}

// newestFirst returns the changes up to seq, newest first.
func (r *ring) newestFirst(seq uint64) []change {
	out := make([]change, 0, len(r.items))
	for k := len(r.items) - 1; k >= 0; k-- {
		c := r.items[(r.head+k)%len(r.items)]
		if c.seq <= seq {
			out = append(out, c)
		}
	}
	return out
}

type regionKey struct{ sub, id uint64 }

// regionTrack is what the UI remembers of one region. It is kept small
// (no pointers but the ring's slice and the error string) because there is
// one per region, and a cluster may have a million.
type regionTrack struct {
	hist     ring
	lastErr  string
	firstAt  time.Time
	attempts int32
	seenGen  uint32
	state    string
	storeID  uint64
}

type storeTrack struct {
	hist     ring
	state    string
	failures int
	seenGen  uint32
}

// lagSample is one point of the Overview's lag history.
type lagSample struct {
	seq          uint64
	lagMaxMs     int64
	eventsPerSec float64
}

// history accumulates what the UI has seen. Owned by the bubbletea
// goroutine.
type history struct {
	gen     uint32
	slot    map[regionKey]int32
	regions []regionTrack
	free    []int32
	stores  map[uint64]*storeTrack
	lag     []lagSample // ring of lagHistoryLen
	lagHead int
}

func newHistory() *history {
	return &history{slot: make(map[regionKey]int32), stores: make(map[uint64]*storeTrack)}
}

// observe folds one new snapshot into the history.
func (h *history) observe(s *snapshots.State) {
	h.gen++
	at, seq := s.TakenAt, s.Seq
	for i := range s.Regions {
		r := &s.Regions[i]
		k := regionKey{r.Subscription, r.ID}
		slot, ok := h.slot[k]
		if !ok {
			slot = h.alloc()
			h.slot[k] = slot
			t := &h.regions[slot]
			*t = regionTrack{firstAt: at, state: r.State, lastErr: r.LastError,
				attempts: int32(r.RetryAttempts), storeID: r.StoreID, seenGen: h.gen}
			t.hist.add(change{at: at, seq: seq, kind: changeFirstSeen, to: r.State})
			continue
		}
		t := &h.regions[slot]
		t.seenGen = h.gen
		if t.state != r.State {
			t.hist.add(change{at: at, seq: seq, kind: changeState, from: t.state, to: r.State})
			t.state = r.State
		}
		if t.lastErr != r.LastError {
			if r.LastError != "" {
				t.hist.add(change{at: at, seq: seq, kind: changeError, to: r.LastError})
			}
			t.lastErr = r.LastError
		}
		if int(t.attempts) != r.RetryAttempts {
			if r.RetryAttempts > int(t.attempts) {
				t.hist.add(change{at: at, seq: seq, kind: changeRetry, n: int64(r.RetryAttempts)})
			}
			t.attempts = int32(r.RetryAttempts)
		}
		if t.storeID != r.StoreID {
			t.hist.add(change{at: at, seq: seq, kind: changeStore,
				from: strconv.FormatUint(t.storeID, 10), to: strconv.FormatUint(r.StoreID, 10)})
			t.storeID = r.StoreID
		}
	}
	for i := range s.Stores {
		st := &s.Stores[i]
		t := h.stores[st.ID]
		if t == nil {
			t = &storeTrack{state: st.State, failures: st.Failures}
			t.hist.add(change{at: at, seq: seq, kind: changeFirstSeen, to: st.State})
			h.stores[st.ID] = t
		}
		t.seenGen = h.gen
		if t.state != st.State {
			t.hist.add(change{at: at, seq: seq, kind: changeState, from: t.state, to: st.State})
			t.state = st.State
		}
		if st.Failures > t.failures {
			t.hist.add(change{at: at, seq: seq, kind: changeError, n: int64(st.Failures), to: "failure"})
		}
		t.failures = st.Failures
	}
	if h.gen%64 == 0 {
		h.forget()
	}

	sample := lagSample{seq: seq, lagMaxMs: s.Totals.ResolvedLagMaxMs, eventsPerSec: s.Totals.EventsPerSec}
	if len(h.lag) < lagHistoryLen {
		h.lag = append(h.lag, sample)
	} else {
		h.lag[h.lagHead] = sample
		h.lagHead = (h.lagHead + 1) % lagHistoryLen
	}
}

func (h *history) alloc() int32 {
	if n := len(h.free); n > 0 {
		slot := h.free[n-1]
		h.free = h.free[:n-1]
		return slot
	}
	h.regions = append(h.regions, regionTrack{})
	return int32(len(h.regions) - 1)
}

// forget drops regions and stores not seen for forgetAfter snapshots.
func (h *history) forget() {
	for k, slot := range h.slot {
		if h.gen-h.regions[slot].seenGen > forgetAfter {
			h.regions[slot] = regionTrack{}
			h.free = append(h.free, slot)
			delete(h.slot, k)
		}
	}
	for id, t := range h.stores {
		if h.gen-t.seenGen > forgetAfter {
			delete(h.stores, id)
		}
	}
}

func (h *history) region(sub, id uint64) *regionTrack {
	slot, ok := h.slot[regionKey{sub, id}]
	if !ok {
		return nil
	}
	return &h.regions[slot]
}

// lagUpTo returns the lag samples up to seq, oldest first.
func (h *history) lagUpTo(seq uint64) []lagSample {
	out := make([]lagSample, 0, len(h.lag))
	for k := range h.lag {
		s := h.lag[(h.lagHead+k)%len(h.lag)]
		if s.seq <= seq {
			out = append(out, s)
		}
	}
	return out
}

// describe renders a change for the detail view.
func (c change) describe() string {
	switch c.kind {
	case changeFirstSeen:
		return "first seen " + stateWordAny(c.to)
	case changeState:
		return "state " + stateWordAny(c.from) + " -> " + stateWordAny(c.to)
	case changeError:
		if c.to == "failure" && c.n > 0 {
			return "failure #" + strconv.FormatInt(c.n, 10)
		}
		return "error " + c.to
	case changeRetry:
		return "retry attempt " + strconv.FormatInt(c.n, 10)
	case changeStore:
		return "moved from store " + c.from + " to store " + c.to
	}
	return ""
}

// stateWordAny names a region or store state.
func stateWordAny(s string) string {
	switch s {
	case snapshots.StoreUp, snapshots.StoreCooldown, snapshots.StorePaused, snapshots.StoreDown:
		return storeStateWord(s)
	}
	return regionStateWord(s)
}
