package sim

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The sim's ground truth of faults: every fault a script ran, when it began
// and ended, and which regions and stores it touched, directly or the way a
// real cluster passes trouble on. It is what the diagnosis oracle (issue 24)
// judges the engine's causes against, so it says what happened, never what
// the engine should call it: mapping verbs to causes is the oracle's job.
//
// Indirect effects recorded, as a TiKV cluster has them:
//   - a store fault (stop, restart, drain, remove, hang, slow, busy,
//     kill-stream) touches every region the store leads when it begins
//     (a crashed store's lost leaders included) and every region that comes
//     to be led by it while the fault lasts;
//   - a lock touches the region holding its key, wherever splits and merges
//     move the key, and its batch-mates: TiKV sends one resolved ts for a
//     batch of up to 8 regions (then 32, 128 …) at the batch's minimum, so
//     the regions batched with a locked region are held at its ts too;
//   - pd-down touches every region and every store;
//   - a split touches the region and the parts it made, a merge both
//     regions, a leader transfer its region.
//
// Memory is bounded: records that ended more than faultRetention ago are
// dropped, at most maxFaultRecords are kept, and a record keeps at most
// maxTouches regions (Truncated says when it stopped adding).

const (
	faultRetention  = 10 * time.Minute
	maxFaultRecords = 4096
	maxTouches      = 1 << 16
	// heldForget is how long a batch-mate observation stays usable.
	heldForget = 30 * time.Second
)

// How a region was touched by a fault (Touch.How).
const (
	TouchTarget = "target"     // the region the line named or picked
	TouchLed    = "led"        // led by the store the fault acts on
	TouchMate   = "batch-mate" // batched with a locked region, held at its resolved ts
	TouchPart   = "split-part" // a region a split made
	TouchMerged = "merged"     // the region a merge folded its target into
)

// Touch is one region a fault touched, from when.
type Touch struct {
	Region uint64
	At     time.Time
	How    string // Touch* constants
	// By is, for a batch-mate, the locked region that held it.
	By uint64
}

// FaultRecord is one fault the sim ran.
type FaultRecord struct {
	Seq  int
	Line int    // the script line
	Verb Verb   //
	Did  string // what was done, with the targets "random" picked: "lock region 17 for 5s"
	// Start is when the fault began; End when its effect on the cluster
	// ended: Start for an instant fault (split, merge, transfer-leader,
	// kill-stream), the window's end for a "for D" fault, when start-store
	// (or stop-faults) ran for stop-store and drain-store. Zero while it
	// lasts (remove-store lasts for good).
	Start, End time.Time
	// Store is the store it acts on (for a region fault: the store that
	// led the region when it began); 0 for none.
	Store uint64
	// Region is the region it was aimed at (0: none).
	Region uint64
	// All: it touches every region and store (pd-down).
	All bool
	// Touched are the regions it touched, each once, in the order touched.
	Touched   []Touch
	Truncated bool

	lockKey []byte         // lock: the key it holds
	index   map[uint64]int // Touched by region (the sim's own record only)
}

// Active reports whether the fault lasts at t.
func (r *FaultRecord) Active(t time.Time) bool {
	return !t.Before(r.Start) && (r.End.IsZero() || !t.After(r.End))
}

// EndedBy is End, or t while the fault lasts.
func (r *FaultRecord) EndedBy(t time.Time) time.Time {
	if r.End.IsZero() || r.End.After(t) {
		return t
	}
	return r.End
}

// Touches returns how region id was touched first (ok false: never).
func (r *FaultRecord) Touches(id uint64) (Touch, bool) {
	if r.index != nil {
		i, ok := r.index[id]
		if !ok {
			return Touch{}, false
		}
		return r.Touched[i], true
	}
	for _, t := range r.Touched {
		if t.Region == id {
			return t, true
		}
	}
	return Touch{}, false
}

func (r *FaultRecord) touch(t Touch) {
	if _, ok := r.Touches(t.Region); ok {
		return
	}
	if len(r.Touched) >= maxTouches {
		r.Truncated = true
		return
	}
	if r.index == nil {
		r.index = map[uint64]int{}
		for i, t := range r.Touched {
			r.index[t.Region] = i
		}
	}
	r.index[t.Region] = len(r.Touched)
	r.Touched = append(r.Touched, t)
}

// faultTruth holds the records. Lock order: Cluster.mu before mu (the
// truth is read under the model lock; batch-mates are noted with or
// without it).
type faultTruth struct {
	mu      sync.Mutex
	seq     int
	records []*FaultRecord
	held    map[uint64]heldBy
	// locks counts lock records that last: the resolved-ts walk notes
	// batch-mates only while one does.
	locks atomic.Int32
}

// heldBy is a region the store sent a batch's resolved ts below its own:
// the holders are the batch's regions at that minimum.
type heldBy struct {
	by          []uint64
	first, last time.Time
}

func newFaultTruth() *faultTruth { return &faultTruth{held: map[uint64]heldBy{}} }

// begin adds a record and returns it (nil when the truth is off).
func (f *faultTruth) begin(rec FaultRecord) *FaultRecord {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	rec.Seq = f.seq
	r := &rec
	f.records = append(f.records, r)
	if rec.Verb == VerbLock {
		f.locks.Add(1)
	}
	f.prune(rec.Start)
	return r
}

// end closes a record at t (unless it already ended).
func (f *faultTruth) end(r *FaultRecord, t time.Time) {
	if f == nil || r == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.endLocked(r, t)
}

func (f *faultTruth) endLocked(r *FaultRecord, t time.Time) {
	if !r.End.IsZero() && !r.End.After(t) {
		return
	}
	if r.Verb == VerbLock && r.End.IsZero() {
		f.locks.Add(-1)
	}
	r.End = t
}

// storeBack closes the outages of a store that start-store ended.
func (f *faultTruth) storeBack(store uint64, t time.Time) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.records {
		if r.Store == store && r.End.IsZero() && (r.Verb == VerbStopStore || r.Verb == VerbDrainStore) {
			r.End = t
		}
	}
}

// stopAll closes every record at t but removals, which last (stop-faults
// does not bring a removed store back).
func (f *faultTruth) stopAll(t time.Time) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.records {
		if r.Verb != VerbRemoveStore {
			f.endLocked(r, t)
		}
	}
}

// prune drops records that ended long ago, then the oldest beyond the cap.
// Caller holds mu.
func (f *faultTruth) prune(now time.Time) {
	keep := f.records[:0]
	for _, r := range f.records {
		if r.End.IsZero() || now.Sub(r.End) < faultRetention {
			keep = append(keep, r)
		}
	}
	clear(f.records[len(keep):])
	f.records = keep
	if n := len(f.records) - maxFaultRecords; n > 0 {
		for _, r := range f.records[:n] {
			f.endLocked(r, now) // a dropped lock must not count as lasting
		}
		clear(f.records[:n])
		f.records = append(f.records[:0], f.records[n:]...)
	}
}

// noteHeld records a batch of one resolved-ts message: list is the batch
// (region, its own resolved ts) and ts what was sent for all of them.
func (f *faultTruth) noteHeld(list []regionTs, ts uint64, now time.Time) {
	var by []uint64
	for _, rt := range list {
		if rt.ts == ts {
			by = append(by, rt.regionID)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, rt := range list {
		if rt.ts == ts {
			continue
		}
		h := f.held[rt.regionID]
		if !slices.Equal(h.by, by) || now.Sub(h.last) > heldForget {
			h = heldBy{by: by, first: now}
		}
		h.last = now
		f.held[rt.regionID] = h
	}
	if len(f.held) > 1024 {
		for id, h := range f.held {
			if now.Sub(h.last) > heldForget {
				delete(f.held, id)
			}
		}
	}
}

// FaultTruth returns the faults that last at now or ended at or after
// since, oldest first, with the regions they touched so far. It is the
// oracle's view: copies, safe to keep. Nil unless the sim was started
// with KeepFaultTruth.
func (s *Sim) FaultTruth(since time.Time) []FaultRecord {
	return s.cluster.faultTruth(since, time.Now())
}

func (c *Cluster) faultTruth(since, now time.Time) []FaultRecord {
	f := c.faults
	if f == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []FaultRecord
	for _, r := range f.records {
		if !r.End.IsZero() && r.End.Before(since) {
			continue
		}
		if r.End.IsZero() || !now.After(r.End) {
			c.refreshTouchesLocked(f, r, now)
		}
		cp := *r
		cp.Touched = slices.Clone(r.Touched)
		cp.lockKey, cp.index = nil, nil
		out = append(out, cp)
	}
	return out
}

// refreshTouchesLocked adds what a lasting fault touches now. Caller holds
// c.mu and f.mu.
func (c *Cluster) refreshTouchesLocked(f *faultTruth, r *FaultRecord, now time.Time) {
	switch r.Verb {
	case VerbStopStore, VerbRestartStore, VerbDrainStore, VerbRemoveStore,
		VerbHangStore, VerbSlowStore, VerbBusyStore:
		for _, id := range c.ledByLocked(r.Store) {
			r.touch(Touch{Region: id, At: now, How: TouchLed})
		}
	case VerbLock:
		if reg := c.regionOf(EncodeKey(r.lockKey)); reg != nil {
			r.touch(Touch{Region: reg.id, At: now, How: TouchTarget})
		}
		for id, h := range f.held {
			if h.last.Before(r.Start) || now.Sub(h.last) > heldForget {
				continue
			}
			for _, by := range h.by {
				if t, ok := r.Touches(by); ok && t.How == TouchTarget {
					r.touch(Touch{Region: id, At: h.first, How: TouchMate, By: by})
					break
				}
			}
		}
	}
}

// ledBy returns the regions a store leads, a crashed store's lost leaders
// included.
func (c *Cluster) ledBy(store uint64) []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ledByLocked(store)
}

func (c *Cluster) ledByLocked(store uint64) []uint64 {
	var ids []uint64
	for _, r := range c.regions {
		if (r.leader != nil && r.leader.StoreId == store) || (r.leader == nil && r.lostLeader != nil && r.lostLeader.StoreId == store) {
			ids = append(ids, r.id)
		}
	}
	return ids
}

// leaderOf is the store leading a region (0: none known).
func (c *Cluster) leaderOf(id uint64) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.byID[id]; r != nil && r.leader != nil {
		return r.leader.StoreId
	}
	return 0
}

// regionAt is the region holding a raw key.
func (c *Cluster) regionAt(raw []byte) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.regionOf(EncodeKey(raw)); r != nil {
		return r.id
	}
	return 0
}

// noteBatchMates records, for the fault truth, the regions of each
// resolved-ts batch held below their own resolved ts by the batch's
// minimum. list is sorted by ts; batches are 8, then 32, 128 … regions.
func (c *Cluster) noteBatchMates(list []regionTs) {
	f := c.faults
	if f == nil || f.locks.Load() == 0 {
		return
	}
	now := c.now()
	for size := 8; len(list) > 0; size *= 4 {
		n := min(size, len(list))
		if list[0].ts < list[n-1].ts {
			f.noteHeld(list[:n], list[0].ts, now)
		}
		list = list[n:]
	}
}
