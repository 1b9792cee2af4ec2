package main

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulltop/pulltop/engine"
	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
)

// faultLog carries the embedded sim's fault-script lines, as they fire,
// into the engine's event log (the Events view). The sim starts first, so
// lines that fire before the engine exists wait here (a few; the rest are
// dropped, as a burst of `every` lines would only be folded anyway).
type faultLog struct {
	mu      sync.Mutex
	engine  *engine.Engine
	pending []firedFault
}

type firedFault struct {
	at time.Time
	ev sim.FaultEvent
}

const faultLogBacklog = 64

// fired is the sim's OnFault hook; it never blocks on the engine.
func (f *faultLog) fired(ev sim.FaultEvent) {
	at := time.Now()
	f.mu.Lock()
	e := f.engine
	if e == nil && len(f.pending) < faultLogBacklog {
		f.pending = append(f.pending, firedFault{at, ev})
	}
	f.mu.Unlock()
	if e != nil {
		noteFault(e, firedFault{at, ev})
	}
}

// attach hands the engine over and passes on what waited.
func (f *faultLog) attach(e *engine.Engine) {
	f.mu.Lock()
	pending := f.pending
	f.pending, f.engine = nil, e
	f.mu.Unlock()
	for _, p := range pending {
		noteFault(e, p)
	}
}

// noteFault logs a fired line under the target it acted on ("region 17",
// "store 2", "pd": the subjects the engine's own entries use), as written,
// with what was done to the target "random" picked, and its line number.
func noteFault(e *engine.Engine, p firedFault) {
	ev := p.ev
	line := "script line " + strconv.Itoa(ev.Line)
	text := ev.Text
	if ev.Random {
		text += " → " + ev.Did
	}
	text += " (" + line + ")"
	if ev.Err != nil {
		text += " — failed: " + ev.Err.Error()
	}
	// A recurring line (every 50ms split random) folds into one entry.
	e.Note(p.at, snapshots.LogFault, faultSubject(ev), text, line)
}

// faultSubject names what a fired line acted on.
func faultSubject(ev sim.FaultEvent) string {
	switch {
	case ev.Region != 0:
		return "region " + strconv.FormatUint(ev.Region, 10)
	case ev.Store != 0:
		return "store " + strconv.FormatUint(ev.Store, 10)
	case strings.HasPrefix(ev.Did, string(sim.VerbPDDown)):
		return "pd"
	}
	return "script line " + strconv.Itoa(ev.Line)
}
