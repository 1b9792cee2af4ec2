package sim

import (
	"fmt"
	"math/rand"
	randv2 "math/rand/v2"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
)

// faultRunner executes a fault script against a running sim: one goroutine
// per script line, each waiting for its time (and, for `every`, repeating)
// until stop-faults or Close.
//
// Random targets replay: the n-th firing of a line draws from a source
// seeded with (--seed, line, n), so which goroutine runs first does not
// change what a line picks, and a random region is the one holding a random
// point of the keyspace, so splits elsewhere do not change it either. The
// same script and seed pick the same targets, unless a split or merge fires
// at the very moment another line picks near it.
type faultRunner struct {
	sim    *Sim
	logger *zap.Logger
	seed   int64

	stopOnce sync.Once
	stopped  chan struct{} // closed by stop-faults
	done     <-chan struct{}

	// execMu is held for reading while an action runs; stop-faults takes it
	// for writing, so that once it returns no recurring action is running.
	execMu sync.RWMutex

	mu      sync.Mutex
	pending []func() // completions of timed faults (restart, pd-down, lock), run early by stop-faults
	errs    []error
}

func newFaultRunner(s *Sim, seed int64, done <-chan struct{}) *faultRunner {
	return &faultRunner{
		sim:     s,
		logger:  s.logger.Named("faults"),
		seed:    seed,
		stopped: make(chan struct{}),
		done:    done,
	}
}

func (f *faultRunner) start(script *Script, wg *sync.WaitGroup) {
	t0 := time.Now()
	for _, a := range script.Actions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.runAction(t0, a)
		}()
	}
}

func (f *faultRunner) runAction(t0 time.Time, a Action) {
	if a.Verb == VerbStopFaults {
		if f.sleepUntil(t0.Add(a.At), true) {
			f.logger.Info("fault", zap.Int("line", a.Line), zap.String("action", a.Text))
			f.tell(a, FaultEvent{Line: a.Line, Text: a.Text, Did: string(a.Verb)})
			f.stopAll()
		}
		return
	}
	next := t0.Add(a.At)
	for n := 0; f.sleepUntil(next, false) && f.execUnlessStopped(a, n) && a.Every > 0; n++ {
		next = next.Add(a.Every)
	}
}

// execUnlessStopped runs the n-th firing of a unless faults have stopped;
// it reports whether they are still running.
func (f *faultRunner) execUnlessStopped(a Action, n int) bool {
	f.execMu.RLock()
	defer f.execMu.RUnlock()
	select {
	case <-f.stopped:
		return false
	default:
	}
	f.exec(a, n)
	return true
}

// sleepUntil waits for t; it returns false when the sim closes or (unless
// ignoreStop) the faults were stopped.
func (f *faultRunner) sleepUntil(t time.Time, ignoreStop bool) bool {
	d := time.Until(t)
	if d <= 0 {
		d = 0
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	stopped := f.stopped
	if ignoreStop {
		stopped = nil
	}
	select {
	case <-timer.C:
		return true
	case <-stopped:
		return false
	case <-f.done:
		return false
	}
}

// firing is one run of a script line: its own random source, and what it
// picked and did, for the log and the fault truth.
type firing struct {
	a      Action
	rng    *rand.Rand
	region uint64
	store  uint64
	did    string
	// For the fault truth: a lock's key, and pd-down touching everything.
	lockKey []byte
	all     bool
}

// lineRand is the random source of the n-th firing of a line.
func lineRand(seed int64, line, n int) *rand.Rand {
	return rand.New(pcgSource{randv2.NewPCG(uint64(seed)^0xfa017, uint64(line)<<32|uint64(uint32(n)))})
}

// pcgSource lets math/rand draw from a PCG, which is cheap to seed (a
// math/rand source is 5 KB of state, and a storm fires 50 times a second).
type pcgSource struct{ *randv2.PCG }

func (p pcgSource) Int63() int64 { return int64(p.Uint64() >> 1) }
func (p pcgSource) Seed(int64)   {}

func (fr *firing) pickRegion(c *Cluster) uint64 {
	if fr.a.Random {
		fr.region = c.regionAt(posKey(fr.rng.Int63n(maxPos)))
	} else {
		fr.region = fr.a.Region
	}
	return fr.region
}

func (fr *firing) pickStore(n int) uint64 {
	if fr.a.Random {
		fr.store = uint64(fr.rng.Intn(n) + 1)
	} else {
		fr.store = fr.a.Store
	}
	return fr.store
}

// later runs fn after d, or at once when faults stop, or never if the sim
// closes first.
func (f *faultRunner) later(d time.Duration, fn func()) {
	var once sync.Once
	run := func() { once.Do(fn) }
	f.mu.Lock()
	f.pending = append(f.pending, run)
	f.mu.Unlock()
	go func() {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
			run()
		case <-f.stopped:
			run()
		case <-f.done:
		}
	}()
}

// FaultEvent is one fired fault-script line, as Config.OnFault hears it.
type FaultEvent struct {
	Line int
	Text string // the line as written
	// Did is what was done, with the targets "random" picked named
	// ("lock region 17 for 5s"); Random says a target was picked.
	Did    string
	Random bool
	Region uint64 // the region it acted on (0: none)
	Store  uint64 // the store it acted on (0: none)
	Err    error  // why it failed
}

// tell passes a fired line to Config.OnFault.
func (f *faultRunner) tell(a Action, ev FaultEvent) {
	if fn := f.sim.cfg.OnFault; fn != nil {
		fn(ev)
	}
}

func (f *faultRunner) exec(a Action, n int) {
	fr := &firing{a: a, rng: lineRand(f.seed, a.Line, n)}
	err := f.apply(fr)
	if fr.did == "" { // a verb with no target (write-rate): the action as written
		fr.did = a.Text
		if i := strings.Index(a.Text, string(a.Verb)); i >= 0 {
			fr.did = a.Text[i:]
		}
	}
	f.tell(a, FaultEvent{Line: a.Line, Text: a.Text, Did: fr.did, Random: a.Random, Region: fr.region, Store: fr.store, Err: err})
	if err != nil {
		f.logger.Warn("fault failed", zap.Int("line", a.Line), zap.String("action", a.Text), zap.String("did", fr.did), zap.Error(err))
		f.mu.Lock()
		f.errs = append(f.errs, fmt.Errorf("line %d (%s): %w", a.Line, fr.did, err))
		f.mu.Unlock()
		return
	}
	f.logger.Info("fault", zap.Int("line", a.Line), zap.String("action", a.Text), zap.String("did", fr.did))
}

// record starts the fault's ground truth (nil when it is not kept).
func (f *faultRunner) record(fr *firing, start, end time.Time, touched ...Touch) *FaultRecord {
	ft := f.sim.cluster.faults
	if ft == nil {
		return nil
	}
	rec := FaultRecord{Line: fr.a.Line, Verb: fr.a.Verb, Did: fr.did, Start: start, End: end,
		Store: fr.store, Region: fr.region, All: fr.all, lockKey: fr.lockKey}
	for _, t := range touched {
		rec.touch(t)
	}
	return ft.begin(rec)
}

func targets(ids []uint64, at time.Time, how string) []Touch {
	out := make([]Touch, len(ids))
	for i, id := range ids {
		out[i] = Touch{Region: id, At: at, How: how}
	}
	return out
}

func (f *faultRunner) apply(fr *firing) error {
	s, c, a := f.sim, f.sim.cluster, fr.a
	now := time.Now()
	window := func(err error) error {
		if err == nil {
			f.record(fr, now, now.Add(a.For), targets(c.ledBy(fr.store), now, TouchLed)...)
		}
		return err
	}
	switch a.Verb {
	case VerbSplit:
		id := fr.pickRegion(c)
		fr.did = fmt.Sprintf("split region %d into %d", id, a.Into)
		parts, err := c.Split(id, a.Into)
		if err == nil {
			touched := []Touch{{Region: id, At: now, How: TouchTarget}}
			for _, p := range parts {
				if p.ID != id {
					touched = append(touched, Touch{Region: p.ID, At: now, How: TouchPart})
				}
			}
			f.record(fr, now, now, touched...)
		}
		return err
	case VerbMerge:
		id := fr.pickRegion(c)
		fr.did = fmt.Sprintf("merge region %d", id)
		into, err := c.Merge(id)
		if err == nil {
			fr.did = fmt.Sprintf("merge region %d into %d", id, into.ID)
			f.record(fr, now, now, Touch{Region: id, At: now, How: TouchTarget}, Touch{Region: into.ID, At: now, How: TouchMerged})
		}
		return err
	case VerbTransferLeader:
		id := fr.pickRegion(c)
		fr.did = fmt.Sprintf("transfer-leader region %d", id)
		fr.store = c.leaderOf(id)
		info, err := c.TransferLeader(id, a.Store)
		if err == nil {
			fr.did = fmt.Sprintf("transfer-leader region %d from store %d to %d", id, fr.store, info.LeaderStore)
			f.record(fr, now, now, Touch{Region: id, At: now, How: TouchTarget})
		}
		return err
	case VerbStopStore, VerbDrainStore, VerbRemoveStore:
		id := fr.pickStore(len(s.stores))
		fr.did = fmt.Sprintf("%s %d", a.Verb, id)
		led := c.ledBy(id) // before: a drain moves them away
		var err error
		switch a.Verb {
		case VerbStopStore:
			err = s.StopStore(id)
		case VerbDrainStore:
			err = s.DrainStore(id)
		default:
			err = s.RemoveStore(id)
		}
		if err == nil {
			f.record(fr, now, time.Time{}, targets(led, now, TouchLed)...)
		}
		return err
	case VerbStartStore:
		id := fr.pickStore(len(s.stores))
		fr.did = fmt.Sprintf("start-store %d", id)
		err := s.StartStore(id)
		if err == nil {
			c.faults.storeBack(id, time.Now())
		}
		return err
	case VerbRestartStore:
		id := fr.pickStore(len(s.stores))
		fr.did = fmt.Sprintf("restart-store %d after %s", id, a.For)
		led := c.ledBy(id)
		if err := s.StopStore(id); err != nil {
			return err
		}
		rec := f.record(fr, now, time.Time{}, targets(led, now, TouchLed)...)
		f.later(a.For, func() {
			err := s.StartStore(id)
			c.faults.end(rec, time.Now())
			f.report(a, err)
		})
		return nil
	case VerbHangStore:
		fr.did = fmt.Sprintf("hang-store %d for %s", fr.pickStore(len(s.stores)), a.For)
		return window(c.SetStoreHung(fr.store, now.Add(a.For)))
	case VerbBusyStore:
		fr.did = fmt.Sprintf("busy-store %d for %s", fr.pickStore(len(s.stores)), a.For)
		led := c.ledBy(fr.store)
		err := c.SetStoreBusy(fr.store, now.Add(a.For))
		if err == nil {
			f.record(fr, now, now.Add(a.For), targets(led, now, TouchLed)...)
		}
		return err
	case VerbSlowStore:
		fr.did = fmt.Sprintf("slow-store %d %s for %s", fr.pickStore(len(s.stores)), a.Delay, a.For)
		return window(c.SetStoreSlow(fr.store, a.Delay, now.Add(a.For)))
	case VerbCongestRegion, VerbSilenceRegion:
		id := fr.pickRegion(c)
		fr.did = fmt.Sprintf("%s %d for %s", a.Verb, id, a.For)
		fr.store = c.leaderOf(id)
		var err error
		if a.Verb == VerbCongestRegion {
			err = c.CongestRegion(id, now.Add(a.For))
		} else {
			err = c.SilenceRegion(id, now.Add(a.For))
		}
		if err == nil {
			f.record(fr, now, now.Add(a.For), Touch{Region: id, At: now, How: TouchTarget})
		}
		return err
	case VerbKillStream:
		code := codes.Unavailable
		if a.Code == KillCodeUnknown {
			code = codes.Unknown
		}
		id := fr.pickStore(len(s.stores))
		fr.did = fmt.Sprintf("kill-stream %d %s", id, a.Code)
		led := c.ledBy(id)
		err := c.KillStreams(id, code)
		if err == nil {
			f.record(fr, now, now, targets(led, now, TouchLed)...)
		}
		return err
	case VerbLock:
		return f.lockRegion(fr, now)
	case VerbPDDown:
		fr.did = fmt.Sprintf("pd-down for %s", a.For)
		s.PDDown()
		fr.all = true
		rec := f.record(fr, now, time.Time{})
		f.later(a.For, func() {
			err := s.PDUp()
			c.faults.end(rec, time.Now())
			f.report(a, err)
		})
		return nil
	case VerbWriteRate:
		s.SetWriteRate(a.Rate)
		return nil
	case VerbStopFaults:
		go f.stopAll() // never under execMu, which stopAll waits for
		return nil
	}
	return fmt.Errorf("verb %q is not implemented", a.Verb)
}

// lockRegion leaves an uncommitted prewrite in the region for a.For, which
// pins its resolved ts, then commits it. A random lock holds a random
// point of the keyspace (in whichever region holds it); a named region's
// lock holds a random key inside it.
func (f *faultRunner) lockRegion(fr *firing, now time.Time) error {
	c, a := f.sim.cluster, fr.a
	var key []byte
	if a.Random {
		key = posKey(fr.rng.Int63n(maxPos))
		fr.region = c.regionAt(key)
	} else {
		fr.region = a.Region
		var ok bool
		if key, ok = c.RandomKeyIn(a.Region, fr.rng); !ok {
			fr.did = fmt.Sprintf("lock region %d for %s", a.Region, a.For)
			return fmt.Errorf("unknown region %d", a.Region)
		}
	}
	fr.did = fmt.Sprintf("lock region %d for %s (key %s)", fr.region, a.For, FormatKey(key))
	fr.store = c.leaderOf(fr.region)
	startTs := c.CurrentTS()
	locked := c.Prewrite(startTs, []Mutation{{Key: key, Op: putOp, Value: []byte("locked-by-fault")}})
	if len(locked) == 0 {
		return fmt.Errorf("region %d: key %s is already locked", fr.region, FormatKey(key))
	}
	fr.lockKey = key
	rec := f.record(fr, now, time.Time{}, Touch{Region: fr.region, At: now, How: TouchTarget})
	f.later(a.For, func() {
		c.Commit(startTs, c.CurrentTS(), [][]byte{key})
		c.faults.end(rec, time.Now())
	})
	return nil
}

func (f *faultRunner) report(a Action, err error) {
	if err != nil {
		f.logger.Warn("fault completion failed", zap.Int("line", a.Line), zap.String("action", a.Text), zap.Error(err))
	}
}

// stopAll ends every recurring fault and every fault window, finishes timed
// faults now, and brings stopped stores and PD back: after stop-faults the
// cluster is healthy.
func (f *faultRunner) stopAll() {
	f.stopOnce.Do(func() { close(f.stopped) })
	f.execMu.Lock() // wait for actions already running
	f.execMu.Unlock()
	f.mu.Lock()
	pending := f.pending
	f.pending = nil
	f.mu.Unlock()
	for _, run := range pending {
		run()
	}
	f.sim.cluster.ClearFaultWindows()
	f.sim.cluster.faults.stopAll(time.Now())
	for _, id := range f.sim.cluster.StoreIDs() {
		_ = f.sim.StartStore(id)
	}
	f.sim.cluster.ElectNow()
	_ = f.sim.PDUp()
}

// Errors returns the faults that could not be applied (e.g. a split of a
// region too small to split), for tests and the sim's log.
func (f *faultRunner) Errors() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.errs...)
}
