package main

import (
	"strconv"
	"sync"
	"time"

	"github.com/pulltop/pulltop/engine"
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
	at   time.Time
	line int
	text string
	err  error
}

const faultLogBacklog = 64

// fired is the sim's OnFault hook; it never blocks on the engine.
func (f *faultLog) fired(line int, text string, err error) {
	at := time.Now()
	f.mu.Lock()
	e := f.engine
	if e == nil && len(f.pending) < faultLogBacklog {
		f.pending = append(f.pending, firedFault{at, line, text, err})
	}
	f.mu.Unlock()
	if e != nil {
		noteFault(e, firedFault{at, line, text, err})
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

func noteFault(e *engine.Engine, p firedFault) {
	subject := "script line " + strconv.Itoa(p.line)
	text := p.text
	if p.err != nil {
		text += " — failed: " + p.err.Error()
	}
	// A recurring line (every 50ms split random) folds into one entry.
	e.Note(p.at, snapshots.LogFault, subject, text, subject)
}
