package snapshots

import (
	"bytes"
	"slices"
	"time"

	"github.com/pulltop/pulltop/internal/slotindex"
)

// Recorder builds the timeline from the snapshots it observes, keeping the
// last window of them. Owned by one goroutine (the UI's, or headless's
// main loop); its History and Cursors are for that goroutine too.
//
// Observe costs one pass over the snapshot's regions with no allocation
// for a region that did not change: the engine keeps its region order and
// its strings between snapshots, so the slot of region i is found where it
// was last time and an unchanged error compares as the same string.
//
// A region's keys (subscription, id, start and end key) are not copied
// when its snapshot is a table (State.Table, a live view's immutable
// Version): they are read from the table last observed, at the region's
// row there (rows). The recorder keeps its own copy (kept) only of the
// keys that table no longer holds: a region that left, one whose range
// changed since the timeline first saw it (the timeline names a region
// by its first range), and every region observed as rows (State.Regions,
// which are the caller's to reuse) or restored from a file.
type Recorder struct {
	window time.Duration

	frames []HistoryFrame
	first  uint64 // frame number of frames[0]; numbers never repeat

	base  []mark  // every slot's mark at the newest frame
	rows  []int32 // by slot: its region's row in table (≥ 0), or -(k+1): its keys are kept[k]
	kept  []HistoryRegion
	table RegionTable             // the table observed last (nil: none, or rows)
	seen  []uint64                // a bit a slot: seen by the observation in progress (all clear between them)
	slots slotindex.Index[uint64] // by historyKey
	order []int32                 // the slot of each region of the last snapshot, in its order
	live  int                     // slots whose mark in base says present (state != 0)
	// leaving are the slots ObserveGone was told of in the observation in
	// progress.
	leaving []int32
	caps    regionCap

	states, causes []string
	strings        []string
	stores         []uint64
	stateIdx       map[string]uint8
	causeIdx       map[string]uint8
	stringIdx      map[string]int32
	storeIdx       map[uint64]uint16

	epoch epochTime // mark times count from here: the first moment
	buf   []byte
	obs   observation // of the snapshot being observed
}

// historyKey packs (subscription, region id) into one map key: region ids
// stay far below 2^52 (PD allocates them one by one) and subscriptions
// below 2^12.
func historyKey(sub, id uint64) uint64 { return id ^ sub<<52 }

// identity hashes a historyKey for the slot index (it mixes it itself).
func identity(k uint64) uint64 { return k }

// A region's lag in the timeline is right to within lagTolerance (ms): a
// healthy region's lag saws by a second or two between resolved-ts
// messages, and recording that would cost more than everything else. A lag
// above frozenAbove is modelled as a stopped resolved ts. (The totals of
// each moment, lag max and subscription lag, are kept exactly.)
const (
	lagTolerance = 2000
	frozenAbove  = 3000
)

// NewRecorder keeps the last window of what it observes; a window of 0
// keeps nothing (--history 0).
func NewRecorder(window time.Duration) *Recorder {
	r := &Recorder{
		window:    window,
		stateIdx:  map[string]uint8{},
		causeIdx:  map[string]uint8{},
		stringIdx: map[string]int32{},
		storeIdx:  map[uint64]uint16{},
	}
	r.stores = []uint64{0}
	r.states = []string{""}
	for _, s := range RegionStates() {
		r.stateIdx[s] = uint8(len(r.states))
		r.states = append(r.states, s)
	}
	r.causes = []string{""}
	for _, c := range Causes() {
		r.causeIdx[c] = uint8(len(r.causes))
		r.causes = append(r.causes, c)
	}
	r.strings = []string{""}
	return r
}

// Window is how far back the recorder keeps (0: off).
func (r *Recorder) Window() time.Duration { return r.window }

// Len is how many moments are kept.
func (r *Recorder) Len() int { return len(r.frames) }

// Observe records s as the newest moment. A snapshot already recorded, or
// older than the newest, is ignored.
func (r *Recorder) Observe(s *State) {
	if !r.BeginObserve(s) {
		return
	}
	for i := range s.Regions {
		r.ObserveRegion(i, &s.Regions[i])
	}
	r.EndObserve(s)
}

// BeginObserve, ObserveRegion and EndObserve are Observe in parts, for a
// caller that makes its own pass over the regions and would rather read
// the million rows once than once per consumer (the UI: cleaning, its
// history and this). BeginObserve reports whether s is to be recorded;
// if so, ObserveRegion must be called for every region of s in order
// (i, &s.Regions[i], with the same values Observe would read) and then
// EndObserve(s).
func (r *Recorder) BeginObserve(s *State) bool {
	return s != nil && r.BeginObserveN(s, len(s.Regions), false)
}

// BeginObserveN is BeginObserve for a snapshot whose regions are n rows of
// a table (State.Table; ObserveRegion(i, row i)). With partial, only the
// rows that changed since the last observation are observed, and the
// regions that left are told with ObserveGone: the others are recorded as
// unchanged (their lag model too: a region's lag is re-modelled when its
// row changes, as when it goes stale). The cost is then the changes'.
func (r *Recorder) BeginObserveN(s *State, n int, partial bool) bool {
	if s == nil || r.window <= 0 {
		return false
	}
	if n := len(r.frames); n > 0 {
		last := &r.frames[n-1]
		if (s.Seq == last.Seq && s.TakenAt.Equal(last.At)) || s.TakenAt.Before(last.At) {
			return false
		}
	}
	at := s.TakenAt.UnixMilli()
	if len(r.frames) == 0 && len(r.base) == 0 {
		r.epoch = epochTime(at)
		// Sized for the first snapshot (and some splits), rather than
		// grown by append: at 100k regions the slack of growing is MBs.
		size := n + n/16
		r.rows, r.base = make([]int32, 0, size), make([]mark, 0, size)
		r.slots = slotindex.New(size, identity)
		if s.Table == nil {
			r.kept = make([]HistoryRegion, 0, size) // rows: every region's keys are kept
		}
	}
	clear(r.seen)
	r.obs = observation{w: newDeltaWriter(r.buf, at, r.epoch), at: at, prevOrder: r.order, partial: partial, table: s.Table}
	if s.Table == nil {
		r.keepAll() // rows: the caller's, not to be read again
	}
	switch {
	case partial:
		// Rows keep their places: order is read and written in place.
		for len(r.order) < n {
			r.order = append(r.order, -1)
		}
		r.order = r.order[:n]
		r.obs.prevOrder = r.order
	case cap(r.order) < n:
		r.order = make([]int32, n)
	default:
		// Same array: prevOrder[i] is read before order[i] is written.
		r.order = r.order[:n]
	}
	return true
}

// observation is what an Observe in progress keeps between its parts.
type observation struct {
	w         deltaWriter
	at        int64   // the snapshot's time, unix ms
	prevOrder []int32 // order as it was at the last snapshot
	seenLive  int     // slots seen now whose mark says present
	partial   bool    // only changed rows are observed (BeginObserveN)
	// table is the snapshot's table (nil: rows): a slot seen by this
	// observation has its row there, the others in r.table.
	table RegionTable
}

// ObserveGone records that the region (sub, id) left, in a partial
// observation.
//
// Its departure is recorded by EndObserve, and only if ObserveRegion did
// not see it: a region can leave and come back within the versions one
// observation covers, in either order, and a frame holds one delta a
// region (a cursor applies a frame's deltas in order, both ways).
func (r *Recorder) ObserveGone(sub, id uint64) {
	if slot, ok := r.slots.Get((*slotKeys)(r), historyKey(sub, id)); ok {
		r.leaving = append(r.leaving, slot)
	}
}

// depart records that the region in slot, present until now and not seen
// by this observation, left.
func (r *Recorder) depart(slot int32) {
	r.keep(slot)
	r.record(slot, &mark{})
}

// record makes m slot's mark at this observation, within the slot's cap
// (regioncap.go): past it, m is held back.
func (r *Recorder) record(slot int32, m *mark) {
	old := &r.base[slot]
	if *m == *old {
		if len(r.caps.held) > 0 {
			delete(r.caps.held, slot) // back where it was recorded
		}
		return
	}
	if present(*m) == present(*old) && !r.caps.take(slot, r.obs.at) {
		if r.caps.held == nil {
			r.caps.held = map[int32]mark{}
		}
		r.caps.held[slot] = *m
		return
	}
	if len(r.caps.held) > 0 {
		delete(r.caps.held, slot)
	}
	r.obs.w.add(int(slot), old, m)
	r.live += present(*m) - present(*old)
	*old = *m
}

// recordHeld records the marks held back whose regions may record again.
func (r *Recorder) recordHeld() {
	for slot, m := range r.caps.held {
		if r.caps.take(slot, r.obs.at) {
			delete(r.caps.held, slot)
			r.obs.w.add(int(slot), &r.base[slot], &m)
			r.base[slot] = m
		}
	}
	r.caps.sweep(r.obs.at)
}

// ObserveRegion records region i of the snapshot being observed.
func (r *Recorder) ObserveRegion(i int, reg *Region) {
	o := &r.obs
	slot := int32(-1)
	if i < len(o.prevOrder) {
		if sl := o.prevOrder[i]; sl >= 0 && int(sl) < len(r.base) && r.holds(sl, reg) {
			slot = sl
		}
	}
	fresh, wasSeen := false, false
	if slot < 0 {
		slot, fresh = r.slot(i, reg)
	}
	if !fresh {
		if row := r.rows[slot]; row >= 0 {
			// Its row moves to this table's (read before it is seen: the
			// last table's). A range that changed (a split) is kept as
			// the timeline first saw it.
			if old := r.tableOf(slot).Static(int(row)); old.Start != reg.Start || old.End != reg.End {
				r.keep(slot)
			} else {
				r.rows[slot] = int32(i)
			}
		}
		wasSeen = r.see(slot)
	}
	r.order[i] = slot
	m := r.markOf(reg, slot, o.at)
	r.record(slot, &m)
	if !wasSeen && m.state != 0 {
		o.seenLive++
	}
}

// holds says whether slot is reg's.
func (r *Recorder) holds(slot int32, reg *Region) bool {
	if row := r.rows[slot]; row < 0 {
		k := &r.kept[-row-1]
		return k.ID == reg.ID && k.Subscription == reg.Subscription
	}
	t := r.tableOf(slot).Static(int(r.rows[slot]))
	return t.ID == reg.ID && t.Subscription == reg.Subscription
}

// tableOf is the table slot's row is a row of (when it has one).
func (r *Recorder) tableOf(slot int32) RegionTable {
	if r.obs.table != nil && r.wasSeen(int(slot)) {
		return r.obs.table
	}
	return r.table
}

// region is slot's keys.
func (r *Recorder) region(slot int32) HistoryRegion {
	row := r.rows[slot]
	if row < 0 {
		return r.kept[-row-1]
	}
	t := r.tableOf(slot).Static(int(row))
	return HistoryRegion{Subscription: t.Subscription, ID: t.ID, Start: t.Start, End: t.End}
}

// slotKeys is the recorder as the slot index reads it (slotindex.Keys).
type slotKeys Recorder

func (k *slotKeys) SlotKey(slot int32) uint64 { return (*Recorder)(k).slotKey(slot) }

// slotKey is slot's historyKey (for the slot index).
func (r *Recorder) slotKey(slot int32) uint64 {
	if row := r.rows[slot]; row < 0 {
		k := &r.kept[-row-1]
		return historyKey(k.Subscription, k.ID)
	}
	t := r.tableOf(slot).Static(int(r.rows[slot]))
	return historyKey(t.Subscription, t.ID)
}

// keep copies slot's keys out of the table, which will not hold them.
func (r *Recorder) keep(slot int32) {
	if r.rows[slot] < 0 {
		return
	}
	r.kept = append(r.kept, r.region(slot))
	r.rows[slot] = -int32(len(r.kept))
}

// keepAll keeps every slot's keys: the next snapshot is not a table.
func (r *Recorder) keepAll() {
	if r.table == nil {
		return
	}
	for slot := range r.rows {
		r.keep(int32(slot))
	}
	r.table = nil
}

// EndObserve finishes the observation of s.
func (r *Recorder) EndObserve(s *State) {
	w := &r.obs.w
	// A region present last time and not now is gone. When every present
	// slot was seen, none is, and the pass over every slot is skipped.
	for _, slot := range r.leaving {
		if !r.wasSeen(int(slot)) && r.base[slot].state != 0 {
			r.depart(slot)
		}
	}
	r.leaving = r.leaving[:0]
	if r.obs.seenLive != r.live && !r.obs.partial {
		for slot := range r.base {
			if !r.wasSeen(slot) && r.base[slot].state != 0 {
				r.depart(int32(slot))
			}
		}
	}
	r.recordHeld()
	// Every slot with a row has it in this snapshot's table now: the
	// ones seen were given theirs, the others kept theirs (partial: rows
	// that did not change) or left.
	r.table = r.obs.table
	r.buf = w.b
	if cap(r.buf) > 256<<10 {
		r.buf = nil // an outage's frame was big; do not keep its buffer for the quiet ones
	}
	f := HistoryFrame{
		At: s.TakenAt, Seq: s.Seq, Source: s.Source, Totals: s.Totals, Progress: s.Progress,
		Subscriptions: s.Subscriptions, Stores: s.Stores, Causes: s.Causes, EngineError: s.EngineError, Sim: s.Sim,
	}
	// The oldest frame's deltas are never read (a cursor stops at the
	// oldest moment; they would lead to the one before it) and the first
	// one's are every region appearing: not kept.
	if len(w.b) > 0 && len(r.frames) > 0 {
		f.Deltas = bytes.Clone(w.b)
	}
	r.obs = observation{}
	r.frames = append(r.frames, f)
	r.trim()
}

// trim drops the moments older than the window before the newest.
func (r *Recorder) trim() {
	if len(r.frames) < 2 {
		return
	}
	oldest := r.frames[len(r.frames)-1].At.Add(-r.window)
	k := 0
	for k < len(r.frames)-1 && r.frames[k].At.Before(oldest) {
		k++
	}
	if k == 0 {
		return
	}
	// Copy down rather than reslice, so the dropped frames' deltas and
	// the snapshots' parts they hold can be collected.
	n := copy(r.frames, r.frames[k:])
	clear(r.frames[n:])
	r.frames = r.frames[:n]
	r.frames[0].Deltas = nil // the oldest: never read (EndObserve)
	r.first += uint64(k)
}

// slot finds the slot of reg, row i of the snapshot, or makes it
// (fresh: already seen). A new slot's keys are its row's in the
// snapshot's table, or kept (rows).
func (r *Recorder) slot(i int, reg *Region) (slot int32, fresh bool) {
	k := historyKey(reg.Subscription, reg.ID)
	if slot, ok := r.slots.Get((*slotKeys)(r), k); ok {
		return slot, false
	}
	slot = int32(len(r.base))
	r.base = append(r.base, mark{})
	if r.obs.table != nil {
		r.rows = append(r.rows, int32(i))
	} else {
		r.kept = append(r.kept, HistoryRegion{Subscription: reg.Subscription, ID: reg.ID, Start: reg.Start, End: reg.End})
		r.rows = append(r.rows, -int32(len(r.kept)))
	}
	r.see(slot) // seen: its row is in the snapshot's table
	r.slots.Put((*slotKeys)(r), slot)
	return slot, true
}

// wasSeen says whether this observation saw slot.
func (r *Recorder) wasSeen(slot int) bool {
	return slot>>6 < len(r.seen) && r.seen[slot>>6]&(1<<(slot&63)) != 0
}

// see marks slot seen by this observation and says whether it was already.
func (r *Recorder) see(slot int32) bool {
	w := int(slot >> 6)
	if w >= len(r.seen) {
		r.seen = append(r.seen, make([]uint64, w+1-len(r.seen))...)
	}
	bit := uint64(1) << (slot & 63)
	was := r.seen[w]&bit != 0
	r.seen[w] |= bit
	return was
}

func unixMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// markOf is reg's mark at at (ms), given its previous mark: unchanged
// texts keep their index, and the lag model is kept while it predicts
// the lag within the tolerance.
func (r *Recorder) markOf(reg *Region, slot int32, at int64) mark {
	old := &r.base[slot]
	m := mark{
		since: r.epoch.rel(unixMs(reg.Since)), errAt: r.epoch.rel(unixMs(reg.LastErrorAt)),
		attempts: int32(reg.RetryAttempts),
	}
	// Most regions keep their store, state and cause: compare before
	// looking the names up.
	if old.store != 0 && r.stores[old.store] == reg.StoreID {
		m.store = old.store
	} else {
		m.store = r.storeIndex(reg.StoreID)
	}
	if old.state != 0 && r.states[old.state] == reg.State {
		m.state = old.state
	} else {
		m.state = r.stateIndex(reg.State)
	}
	if old.cause != 0 && r.causes[old.cause] == reg.Cause {
		m.cause = old.cause
	} else {
		m.cause = r.causeIndex(reg.Cause)
	}
	if reg.Initialized {
		m.flags |= flagInitialized
	}
	switch {
	case reg.LastError == "":
	case old.err != 0 && r.strings[old.err] == reg.LastError:
		m.err = old.err
	default:
		m.err = r.intern(reg.LastError)
	}
	// A diagnosis names ages and counts that move every snapshot; it is
	// recorded again only when its words change (or the cause does).
	switch {
	case reg.Diagnosis == "":
	case old.diag != 0 && old.cause == m.cause && sameWords(r.strings[old.diag], reg.Diagnosis):
		m.diag = old.diag
	default:
		m.diag = r.intern(reg.Diagnosis)
	}

	// Lag is kept as a model, re-recorded only when the lag leaves it: a
	// small lag as "tracking at L" (a healthy region's lag saws between
	// 0 and ~2 s with every resolved-ts message: that is noise to the
	// timeline), a large one as "frozen since T", which is what a stuck
	// resolved ts does (its lag grows with the clock).
	lag := reg.ResolvedLagMs
	// Large, or stale: its lag grows with the clock. Decided with the
	// state, so that a region that goes stale costs one delta, not one for
	// its state and another once its lag has grown. (A region waiting a
	// moment to retry keeps tracking: its lag hardly moves.)
	stuck := lag > frozenAbove || reg.State == StateStale
	switch {
	case reg.ResolvedTs == 0 && lag <= 0:
	case old.lag == lagFrozen && abs64(at-r.epoch.abs(old.lagRef)-lag) <= lagTolerance &&
		(stuck || lag > frozenAbove-lagTolerance):
		m.lag, m.lagRef = old.lag, old.lagRef
	case old.lag == lagTracking && abs64(lag-int64(old.lagRef)) <= lagTolerance && !stuck:
		m.lag, m.lagRef = old.lag, old.lagRef
	case stuck:
		m.lag, m.lagRef = lagFrozen, r.epoch.rel(at-lag)
	default:
		m.lag, m.lagRef = lagTracking, int32(lag)
	}
	return m
}

// present is 1 for the mark of a region that is there.
func present(m mark) int {
	if m.state != 0 {
		return 1
	}
	return 0
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func (r *Recorder) stateIndex(s string) uint8 {
	if i, ok := r.stateIdx[s]; ok {
		return i
	}
	if len(r.states) >= 255 {
		return 0 // a snapshot with hundreds of unknown states: not kept
	}
	i := uint8(len(r.states))
	r.stateIdx[s] = i
	r.states = append(r.states, s)
	return i
}

func (r *Recorder) causeIndex(c string) uint8 {
	if c == "" {
		return 0
	}
	if i, ok := r.causeIdx[c]; ok {
		return i
	}
	if len(r.causes) >= 255 {
		return 0
	}
	i := uint8(len(r.causes))
	r.causeIdx[c] = i
	r.causes = append(r.causes, c)
	return i
}

func (r *Recorder) storeIndex(id uint64) uint16 {
	if id == 0 {
		return 0
	}
	if i, ok := r.storeIdx[id]; ok {
		return i
	}
	if len(r.stores) > 65535 {
		return 0
	}
	i := uint16(len(r.stores))
	r.storeIdx[id] = i
	r.stores = append(r.stores, id)
	return i
}

func (r *Recorder) intern(s string) int32 {
	if i, ok := r.stringIdx[s]; ok {
		return i
	}
	i := int32(len(r.strings))
	r.stringIdx[s] = i
	r.strings = append(r.strings, s)
	return i
}

// sameWords compares two texts ignoring their numbers ("pinned 12s" and
// "pinned 13s" are the same diagnosis a second apart).
func sameWords(a, b string) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if isDigit(a[i]) && isDigit(b[j]) {
			i, j = skipNumber(a, i), skipNumber(b, j)
			continue
		}
		if a[i] != b[j] {
			return false
		}
		i++
		j++
	}
	return i == len(a) && j == len(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func skipNumber(s string, i int) int {
	for i < len(s) && (isDigit(s[i]) || (s[i] == '.' && i+1 < len(s) && isDigit(s[i+1]))) {
		i++
	}
	return i
}

// regions is every slot's keys, by slot.
func (r *Recorder) regions() []HistoryRegion {
	out := make([]HistoryRegion, len(r.rows))
	for slot := range out {
		out[slot] = r.region(int32(slot))
	}
	return out
}

// History is the timeline to save with a snapshot (nil when nothing was
// recorded). It shares the recorder's immutable parts.
func (r *Recorder) History() *History {
	if len(r.frames) == 0 {
		return nil
	}
	w := newDeltaWriter(nil, r.frames[len(r.frames)-1].At.UnixMilli(), r.epoch)
	var none mark
	for slot := range r.base {
		if r.base[slot] != none {
			w.add(slot, &none, &r.base[slot])
		}
	}
	base := w.b
	return &History{
		WindowMs: r.window.Milliseconds(),
		Regions:  r.regions(),
		States:   slices.Clone(r.states),
		Causes:   slices.Clone(r.causes),
		StoreIDs: slices.Clone(r.stores),
		Strings:  slices.Clone(r.strings),
		Base:     base,
		Frames:   slices.Clone(r.frames),
	}
}

// NewRecorderFrom restores a recorder from a saved History, to scrub a
// replayed snapshot's timeline (and keep recording, if anything comes). It
// checks every delta, so a corrupt file is an error here rather than a
// panic while scrubbing.
func NewRecorderFrom(h *History) (*Recorder, error) {
	r := NewRecorder(time.Duration(h.WindowMs) * time.Millisecond)
	if r.window <= 0 {
		r.window = time.Duration(1<<63 - 1)
	}
	r.states, r.causes = append([]string{}, h.States...), append([]string{}, h.Causes...)
	if len(r.states) == 0 || len(r.causes) == 0 || len(h.Strings) == 0 || r.states[0] != "" || r.causes[0] != "" || h.Strings[0] != "" {
		return nil, errHistoryTables
	}
	if len(r.states) > 255 || len(r.causes) > 255 {
		return nil, errHistoryTables
	}
	clear(r.stateIdx)
	for i, s := range r.states {
		r.stateIdx[s] = uint8(i)
	}
	clear(r.causeIdx)
	for i, c := range r.causes {
		r.causeIdx[c] = uint8(i)
	}
	if len(h.StoreIDs) == 0 || h.StoreIDs[0] != 0 || len(h.StoreIDs) > 65536 {
		return nil, errHistoryTables
	}
	r.stores = append([]uint64{}, h.StoreIDs...)
	clear(r.storeIdx)
	for i, id := range r.stores {
		r.storeIdx[id] = uint16(i)
	}
	r.strings = append([]string{}, h.Strings...)
	// Sized at once: at 1M regions, growing these maps cost more than
	// decoding the rest of the snapshot.
	r.stringIdx = make(map[string]int32, len(r.strings))
	for i, s := range r.strings {
		r.stringIdx[s] = int32(i)
	}
	n := len(h.Regions)
	r.kept = append([]HistoryRegion{}, h.Regions...)
	r.rows = make([]int32, n)
	for slot := range r.rows {
		r.rows[slot] = -int32(slot) - 1
	}
	r.slots = slotindex.New(n, identity)
	for slot := range n {
		r.slots.Put((*slotKeys)(r), int32(slot))
	}
	r.base = make([]mark, n)
	r.frames = append([]HistoryFrame{}, h.Frames...)
	if len(r.frames) == 0 {
		if len(h.Base) > 0 {
			return nil, errHistoryCorrupt
		}
		return r, nil
	}
	for i := 1; i < len(r.frames); i++ {
		if r.frames[i].At.Before(r.frames[i-1].At) {
			return nil, errHistoryOrder
		}
	}
	r.epoch = epochTime(r.frames[0].At.UnixMilli())
	d := r.reader(h.Base, len(r.frames)-1)
	var o, nm mark
	for {
		slot, mask, ok := d.next(&o, &nm)
		if !ok {
			break
		}
		setFields(&r.base[slot], &nm, mask)
	}
	if d.err != nil {
		return nil, d.err
	}
	for slot := range r.base {
		r.live += present(r.base[slot])
	}
	// Every frame must decode: walk them once.
	for i := range r.frames {
		d := r.reader(r.frames[i].Deltas, i)
		for {
			if _, _, ok := d.next(&o, &nm); !ok {
				break
			}
		}
		if d.err != nil {
			return nil, d.err
		}
	}
	return r, nil
}

func (r *Recorder) reader(b []byte, frame int) deltaReader {
	return deltaReader{b: b, at: r.frames[frame].At.UnixMilli(), epoch: r.epoch, prev: -1, slots: len(r.base),
		states: len(r.states), causes: len(r.causes), stores: len(r.stores), strings: len(r.strings)}
}

var (
	errHistoryTables = historyError("history: state, cause, store and string tables must start with an empty entry (and hold at most 255 states and causes, 65535 stores)")
	errHistoryOrder  = historyError("history: frames are not in time order")
)

type historyError string

func (e historyError) Error() string { return string(e) }
