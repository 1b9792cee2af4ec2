package ui

import (
	"math/bits"
	"strconv"
	"time"

	"github.com/pulltop/pulltop/internal/slotindex"
	"github.com/pulltop/pulltop/snapshots"
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
	changeSuspect // a store went quiet (to "y") or talks again
)

// change is one entry in a region's or store's history.
type change struct {
	at       time.Time // the snapshot's taken_at
	seq      uint64    // the snapshot's seq, to hide changes newer than a frozen view
	kind     changeKind
	from, to string
	n        int64
	why      string // the reason shown with it: the error or diagnosis of the moment
}

func (c *change) seqOf() uint64 { return c.seq }

// regionChange is a change as a region's ring keeps it: half the size of
// a change, since most of a million regions change a few times while
// they are first scanned. States and stores are refs into the history's
// tables; regionChanges turns it back into a change.
type regionChange struct {
	at  int64 // the snapshot's taken_at, unix ms
	seq uint64
	why string // changeState: the error that moved it; changeError: the error
	// changeState: stateRefs; changeStore: storeRefs; changeRetry: to is
	// the attempt.
	from, to uint32
	kind     changeKind
}

func (c *regionChange) seqOf() uint64 { return c.seq }

// ring keeps the newest regionHistoryLen changes (T, whose pointer P
// tells its seq).
type ring[T any, P interface {
	*T
	seqOf() uint64
}] struct {
	items []T
	head  int // index of the oldest entry once full
}

func (r *ring[T, P]) add(c T) {
	if len(r.items) < regionHistoryLen {
		r.items = append(r.items, c)
		return
	}
	r.items[r.head] = c
	r.head = (r.head + 1) % len(r.items)
}

// newestFirst returns the changes up to seq, newest first.
func (r *ring[T, P]) newestFirst(seq uint64) []T {
	out := make([]T, 0, len(r.items))
	for k := len(r.items) - 1; k >= 0; k-- {
		c := r.items[(r.head+k)%len(r.items)]
		if P(&c).seqOf() <= seq {
			out = append(out, c)
		}
	}
	return out
}

type regionKey struct{ sub, id uint64 }

func (k regionKey) hash() uint64 { return k.id ^ bits.RotateLeft64(k.sub, 32) }

// tracks are the history's regions as its slot index reads them.
type tracks []regionTrack

func (t tracks) SlotKey(slot int32) regionKey { return t[slot].key }

// regionTrack is what the UI remembers of one region. There is one per
// region, and a cluster may have a million, most of which never change
// after they appear: such a region costs this, its place in the index and
// in order, about 80 bytes. Its first sight is kept here, not in a ring,
// and the ring and the error (regionPast) are allocated when it has some.
type regionTrack struct {
	key      regionKey // whose track it is
	storeID  uint64
	firstAt  int64  // when it was first seen: the snapshot's taken_at, unix ms
	firstSeq uint64 // and the snapshot's seq
	past     *regionPast
	attempts int32
	seenGen  uint32
	state    stateRef // 0: a free slot
	first    stateRef // its state when first seen
}

// regionPast is the part of a region's track that only a region that
// changed, or has an error, has.
type regionPast struct {
	hist    ring[regionChange, *regionChange] // its changes, the first sight not among them
	lastErr string
}

// stateRef is a region state, as its index in history.states.
type stateRef uint16

type storeTrack struct {
	hist     ring[change, *change]
	state    string
	failures int
	suspect  bool
	seenGen  uint32
}

// lagSample is one point of the Overview's lag history.
type lagSample struct {
	seq          uint64
	at           time.Time // the snapshot's taken_at: the sparkline is labelled in seconds
	lagMs        int64     // the headline lag: the worst subscription's
	eventsPerSec float64
}

// history accumulates what the UI has seen. Owned by the bubbletea
// goroutine.
type history struct {
	gen     uint32
	slots   slotindex.Index[regionKey] // a region's slot in regions, by key (the fallback of order, and the detail's lookup)
	regions []regionTrack
	free    []int32
	// states are the region states seen, by stateRef; states[0] is no
	// state (a free slot).
	states   []string
	stateRef map[string]stateRef
	// storeIDs are the stores regions moved between, by storeRef.
	storeIDs []uint64
	storeRef map[uint64]uint32
	stores   map[uint64]*storeTrack
	lag      []lagSample // ring of lagHistoryLen
	lagHead  int
	// order is the slot of each region of the last snapshot, in its
	// order. The engine keeps its region order between snapshots, so
	// region i is looked for in order[i] first: at a million regions an
	// index lookup per region was most of a refresh.
	order []int32
	// Of the snapshot being observed (begin to end).
	at        time.Time
	seq       uint64
	prevOrder []int32
	partial   bool
}

func newHistory() *history {
	return &history{states: []string{""}, stateRef: map[string]stateRef{}, storeRef: map[uint64]uint32{},
		stores: make(map[uint64]*storeTrack)}
}

// maxStates bounds the distinct region states kept: a file may hold any
// strings. The ones past it share the last.
const maxStates = 1<<16 - 1

// ref is state's stateRef.
func (h *history) ref(state string) stateRef {
	if ref, ok := h.stateRef[state]; ok {
		return ref
	}
	if len(h.states) == maxStates {
		return maxStates - 1
	}
	h.states = append(h.states, state)
	ref := stateRef(len(h.states) - 1)
	h.stateRef[state] = ref
	return ref
}

// storeRefOf is a store's ref, for a region's move.
func (h *history) storeRefOf(id uint64) uint32 {
	if ref, ok := h.storeRef[id]; ok {
		return ref
	}
	h.storeIDs = append(h.storeIDs, id)
	ref := uint32(len(h.storeIDs) - 1)
	h.storeRef[id] = ref
	return ref
}

// observe folds one new snapshot into the history.
func (h *history) observe(s *snapshots.State) {
	h.beginObserve(s)
	for i := range s.Regions {
		h.observeRegion(i, &s.Regions[i])
	}
	h.endObserve(s)
}

// beginObserve, observeRegion and endObserve are observe in parts, for the UI's one pass over
// a snapshot's regions (app.take): beginObserve(s), then
// observeRegion(i, &s.Regions[i]) for every region in order, endObserve(s).
func (h *history) beginObserve(s *snapshots.State) { h.beginObserveN(s, len(s.Regions), false) }

// beginObserveN begins the observation of s, whose regions are n rows;
// partial: only the rows that changed since the last observation will be
// observed (and the regions gone told with goneRegion), the others are
// as they were.
func (h *history) beginObserveN(s *snapshots.State, n int, partial bool) {
	h.partial = partial
	if !partial {
		h.gen++
	}
	if h.regions == nil {
		// Sized for the first snapshot (and some splits), rather than
		// grown by append: at a million regions the slack of growing is
		// tens of MBs.
		size := n + n/16
		h.regions = make([]regionTrack, 0, size)
		h.slots = slotindex.New(size, regionKey.hash)
	}
	h.at, h.seq = s.TakenAt, s.Seq
	h.prevOrder = h.order
	switch {
	case cap(h.order) < n && partial:
		h.order = append(h.order, make([]int32, n-len(h.order))...)
		h.prevOrder = h.order
	case cap(h.order) < n:
		h.order = make([]int32, n)
	default:
		// Same array: prevOrder[i] is read before order[i] is written.
		h.order = h.order[:n]
		if partial {
			h.prevOrder = h.order
		}
	}
}

// goneRegion forgets a region that left (a partial observation's).
func (h *history) goneRegion(sub, id uint64) {
	if slot, ok := h.slots.Get(tracks(h.regions), regionKey{sub, id}); ok {
		h.release(slot)
	}
}

// observeRegion folds in region i of the snapshot being observed.
func (h *history) observeRegion(i int, r *snapshots.Region) {
	at, seq := h.at.UnixMilli(), h.seq
	k := regionKey{r.Subscription, r.ID}
	slot, ok := int32(-1), false
	if i < len(h.prevOrder) {
		if sl := h.prevOrder[i]; int(sl) < len(h.regions) && h.regions[sl].key == k && h.regions[sl].state != 0 {
			slot, ok = sl, true
		}
	}
	if !ok {
		slot, ok = h.slots.Get(tracks(h.regions), k)
	}
	if !ok {
		slot = h.alloc()
		h.order[i] = slot
		t := &h.regions[slot]
		ref := h.ref(r.State)
		*t = regionTrack{key: k, firstAt: at, firstSeq: seq, state: ref, first: ref,
			attempts: int32(r.RetryAttempts), storeID: r.StoreID, seenGen: h.gen}
		if r.LastError != "" {
			t.past = &regionPast{lastErr: r.LastError}
		}
		h.slots.Put(tracks(h.regions), slot)
		return
	}
	h.order[i] = slot
	t := &h.regions[slot]
	t.seenGen = h.gen
	lastErr := ""
	if t.past != nil {
		lastErr = t.past.lastErr
	}
	errNoted := false
	if from := h.states[t.state]; from != r.State {
		if to := h.ref(r.State); to != t.state {
			c := regionChange{at: at, seq: seq, kind: changeState, from: uint32(t.state), to: uint32(to)}
			if r.State != snapshots.StateInitialized && r.LastError != lastErr && r.LastError != "" {
				c.why, errNoted = r.LastError, true // the error that moved it
			}
			t.add(c)
			t.state = to
		}
	}
	if lastErr != r.LastError {
		if r.LastError != "" && !errNoted {
			t.add(regionChange{at: at, seq: seq, kind: changeError, why: r.LastError})
		}
		if t.past == nil {
			t.past = &regionPast{}
		}
		t.past.lastErr = r.LastError
	}
	if int(t.attempts) != r.RetryAttempts {
		if r.RetryAttempts > int(t.attempts) {
			t.add(regionChange{at: at, seq: seq, kind: changeRetry, to: uint32(int32(r.RetryAttempts))})
		}
		t.attempts = int32(r.RetryAttempts)
	}
	// Store 0 is "no leader known yet": not a move.
	if t.storeID != r.StoreID && r.StoreID != 0 {
		if t.storeID != 0 {
			t.add(regionChange{at: at, seq: seq, kind: changeStore, from: h.storeRefOf(t.storeID), to: h.storeRefOf(r.StoreID)})
		}
		t.storeID = r.StoreID
	}
}

// add records a change of the region.
func (t *regionTrack) add(c regionChange) {
	if t.past == nil {
		t.past = &regionPast{}
	}
	t.past.hist.add(c)
}

// endObserve finishes the observation of s.
func (h *history) endObserve(s *snapshots.State) {
	at, seq := h.at, h.seq
	h.prevOrder = nil
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
			t.hist.add(change{at: at, seq: seq, kind: changeState, from: t.state, to: st.State, why: storeWhy(st, s)})
			t.state = st.State
		}
		if st.Failures > t.failures {
			t.hist.add(change{at: at, seq: seq, kind: changeError, n: int64(st.Failures), to: "failure", why: st.LastError})
		}
		t.failures = st.Failures
		if st.Suspect != t.suspect {
			c := change{at: at, seq: seq, kind: changeSuspect}
			if st.Suspect {
				c.to = "y"
				if !st.LastMsgAt.IsZero() {
					c.why = "no message for " + fmtDur(at.Sub(st.LastMsgAt).Milliseconds()) + " while " +
						strconv.Itoa(st.Regions-st.Waiting) + " regions should advance"
				}
			}
			t.hist.add(c)
			t.suspect = st.Suspect
		}
	}
	if h.gen%64 == 0 && !h.partial {
		h.forget()
	}

	lag := s.Totals.SubLagMs
	if s.Totals.SubLagID == 0 { // a version 1 file
		lag = s.Totals.ResolvedLagMaxMs
	}
	sample := lagSample{seq: seq, at: at, lagMs: lag, eventsPerSec: s.Totals.EventsPerSec}
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

// release frees slot, whose region is in the index.
func (h *history) release(slot int32) {
	h.slots.Remove(tracks(h.regions), slot)
	h.regions[slot] = regionTrack{}
	h.free = append(h.free, slot)
}

// forget drops regions and stores not seen for forgetAfter snapshots.
func (h *history) forget() {
	for slot := range h.regions {
		if t := &h.regions[slot]; t.state != 0 && h.gen-t.seenGen > forgetAfter {
			h.release(int32(slot))
		}
	}
	for id, t := range h.stores {
		if h.gen-t.seenGen > forgetAfter {
			delete(h.stores, id)
		}
	}
}

func (h *history) region(sub, id uint64) *regionTrack {
	slot, ok := h.slots.Get(tracks(h.regions), regionKey{sub, id})
	if !ok {
		return nil
	}
	return &h.regions[slot]
}

// regionChanges returns t's changes up to seq, newest first: those its
// ring keeps and, while the ring has not had to drop any, its first sight.
func (h *history) regionChanges(t *regionTrack, seq uint64) []change {
	var out []change
	if t.past != nil {
		for _, c := range t.past.hist.newestFirst(seq) {
			out = append(out, h.change(&c))
		}
	}
	if (t.past == nil || len(t.past.hist.items) < regionHistoryLen) && t.firstSeq <= seq {
		out = append(out, change{at: time.UnixMilli(t.firstAt), seq: t.firstSeq, kind: changeFirstSeen, to: h.states[t.first]})
	}
	return out
}

// change is c as shown.
func (h *history) change(c *regionChange) change {
	out := change{at: time.UnixMilli(c.at), seq: c.seq, kind: c.kind}
	switch c.kind {
	case changeState:
		out.from, out.to, out.why = h.states[c.from], h.states[c.to], c.why
	case changeError:
		out.to = c.why
	case changeRetry:
		out.n = int64(int32(c.to))
	case changeStore:
		out.from, out.to = strconv.FormatUint(h.storeIDs[c.from], 10), strconv.FormatUint(h.storeIDs[c.to], 10)
	}
	return out
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

// storeWhy is why a store changed state, as far as the snapshot says: its
// condition's diagnosis, its last error, or that PD cannot route to it.
func storeWhy(st *snapshots.Store, s *snapshots.State) string {
	switch {
	case noRoute(st, s):
		return "PD not answering: " + s.Source.PDError
	case st.State == snapshots.StoreUp:
		return ""
	case st.State == snapshots.StorePaused:
		return "paused by the operator"
	case st.Diagnosis != "":
		return st.Diagnosis
	}
	return st.LastError
}

// describe renders a change for the detail view, with its reason.
func (c change) describe() string {
	text := c.what()
	if c.why != "" {
		text += ": " + c.why
	}
	return text
}

func (c change) what() string {
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
	case changeSuspect:
		if c.to == "y" {
			return "quiet (SUSPECT)"
		}
		return "talking again"
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
