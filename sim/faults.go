package sim

import (
	"fmt"
	"math/rand"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
)

// faultRunner executes a fault script against a running sim: one goroutine
// per script line, each waiting for its time (and, for `every`, repeating)
// until stop-faults or Close. Random targets come from one source seeded with
// --seed, so a script replays the same choices on the same cluster (as far as
// the goroutines' interleaving allows).
type faultRunner struct {
	sim    *Sim
	logger *zap.Logger

	rngMu sync.Mutex
	rng   *rand.Rand

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
		rng:     rand.New(rand.NewSource(seed ^ 0xfa017)),
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
			f.tell(a, nil)
			f.stopAll()
		}
		return
	}
	next := t0.Add(a.At)
	for f.sleepUntil(next, false) && f.execUnlessStopped(a) && a.Every > 0 {
		next = next.Add(a.Every)
	}
}

// execUnlessStopped runs a unless faults have stopped; it reports whether
// they are still running.
func (f *faultRunner) execUnlessStopped(a Action) bool {
	f.execMu.RLock()
	defer f.execMu.RUnlock()
	select {
	case <-f.stopped:
		return false
	default:
	}
	f.exec(a)
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

func (f *faultRunner) pickRegion(a Action) uint64 {
	if !a.Random {
		return a.Region
	}
	f.rngMu.Lock()
	defer f.rngMu.Unlock()
	return f.sim.cluster.RandomRegion(f.rng)
}

func (f *faultRunner) pickStore(a Action) uint64 {
	if !a.Random {
		return a.Store
	}
	f.rngMu.Lock()
	defer f.rngMu.Unlock()
	return uint64(f.rng.Intn(len(f.sim.stores)) + 1)
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

// tell passes a fired line to Config.OnFault.
func (f *faultRunner) tell(a Action, err error) {
	if fn := f.sim.cfg.OnFault; fn != nil {
		fn(a.Line, a.Text, err)
	}
}

func (f *faultRunner) exec(a Action) {
	err := f.apply(a)
	f.tell(a, err)
	if err != nil {
		f.logger.Warn("fault failed", zap.Int("line", a.Line), zap.String("action", a.Text), zap.Error(err))
		f.mu.Lock()
		f.errs = append(f.errs, fmt.Errorf("line %d (%s): %w", a.Line, a.Text, err))
		f.mu.Unlock()
		return
	}
	f.logger.Info("fault", zap.Int("line", a.Line), zap.String("action", a.Text))
}

func (f *faultRunner) apply(a Action) error {
	s, c := f.sim, f.sim.cluster
	now := time.Now()
	switch a.Verb {
	case VerbSplit:
		_, err := c.Split(f.pickRegion(a), a.Into)
		return err
	case VerbMerge:
		_, err := c.Merge(f.pickRegion(a))
		return err
	case VerbTransferLeader:
		to := a.Store
		_, err := c.TransferLeader(f.pickRegion(a), to)
		return err
	case VerbStopStore:
		return s.StopStore(f.pickStore(a))
	case VerbDrainStore:
		return s.DrainStore(f.pickStore(a))
	case VerbRemoveStore:
		return s.RemoveStore(f.pickStore(a))
	case VerbStartStore:
		return s.StartStore(f.pickStore(a))
	case VerbRestartStore:
		id := f.pickStore(a)
		if err := s.StopStore(id); err != nil {
			return err
		}
		f.later(a.For, func() { f.report(a, s.StartStore(id)) })
		return nil
	case VerbHangStore:
		return c.SetStoreHung(f.pickStore(a), now.Add(a.For))
	case VerbBusyStore:
		return c.SetStoreBusy(f.pickStore(a), now.Add(a.For))
	case VerbSlowStore:
		return c.SetStoreSlow(f.pickStore(a), a.Delay, now.Add(a.For))
	case VerbCongestRegion:
		return c.CongestRegion(f.pickRegion(a), now.Add(a.For))
	case VerbSilenceRegion:
		return c.SilenceRegion(f.pickRegion(a), now.Add(a.For))
	case VerbKillStream:
		code := codes.Unavailable
		if a.Code == "unknown" {
			code = codes.Unknown
		}
		return c.KillStreams(f.pickStore(a), code)
	case VerbLock:
		return f.lockRegion(a)
	case VerbPDDown:
		s.PDDown()
		f.later(a.For, func() { f.report(a, s.PDUp()) })
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
// pins its resolved ts, then commits it.
func (f *faultRunner) lockRegion(a Action) error {
	c := f.sim.cluster
	regionID := f.pickRegion(a)
	f.rngMu.Lock()
	key, ok := c.RandomKeyIn(regionID, f.rng)
	f.rngMu.Unlock()
	if !ok {
		return fmt.Errorf("unknown region %d", regionID)
	}
	startTs := c.CurrentTS()
	locked := c.Prewrite(startTs, []Mutation{{Key: key, Op: putOp, Value: []byte("locked-by-fault")}})
	if len(locked) == 0 {
		return fmt.Errorf("region %d: key %s is already locked", regionID, FormatKey(key))
	}
	f.later(a.For, func() { c.Commit(startTs, c.CurrentTS(), [][]byte{key}) })
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
