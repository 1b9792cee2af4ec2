package engine

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/pulltop/pulltop/snapshots"
)

// The event log (snapshot Log, the UI's Events view) is what happened, in
// words an operator reads during an incident: a store failing and coming
// back, PD going away, a cause appearing, a region splitting, an operator
// action, a fault-script line firing. It is not every region flip: at a
// million regions that would be the whole log every second. Region-level
// news is aggregated (counts across the cluster, compared between two
// publishes), and a burst of the same kind of news is folded into one entry
// that counts it ("… (47 times in 1.0s)").
const (
	logCapacity = 1000
	// coalesceWindow folds repeats of one group into the entry that
	// started the burst, as long as they keep coming this close together.
	coalesceWindow = 2 * time.Second
	// coalesceLookback is how many recent entries a repeat may skip over
	// to find its burst (a split storm interleaves with retries).
	coalesceLookback = 16
)

// logItem is one entry with what coalescing needs.
type logItem struct {
	entry snapshots.LogEntry
	group string    // repeats of a group within coalesceWindow are folded
	last  time.Time // the newest repeat
	n     int       // repeats folded in, 1 for a single entry
	text  string    // the text of the newest repeat, before the count
}

// eventLog is the bounded log and the state it compares each publish
// against. Owned by the event loop, except ext, which other goroutines
// (the embedded sim's fault runner, through Engine.Note) fill.
type eventLog struct {
	items history[logItem]
	// published is the last Log handed to a snapshot; nil once anything
	// changed.
	published []snapshots.LogEntry

	ext struct {
		mu      sync.Mutex
		pending []logItem
	}

	// What the previous publish showed, to log what changed.
	seen       bool
	stores     map[uint64]storeSeen
	pdErr      string
	pdSince    time.Time
	causes     map[string]int
	allInit    bool
	notInitAt  time.Time
	stale      int
	staleSince time.Time
}

type storeSeen struct {
	state    string
	suspect  bool
	failures int
	since    time.Time
}

func newEventLog() *eventLog {
	return &eventLog{items: newHistory[logItem](logCapacity)}
}

// add appends an entry, or folds it into a recent entry of the same group.
func (l *eventLog) add(at time.Time, kind, subject, text, group string) {
	at = at.UTC()
	if group != "" {
		n := l.items.len()
		for k := 0; k < min(n, coalesceLookback); k++ {
			seq := l.items.added - uint64(k)
			i := int(seq % uint64(len(l.items.rows)))
			it := &l.items.rows[i]
			if it.group != group {
				continue
			}
			if at.Sub(it.last) <= coalesceWindow {
				l.items.update(seq, func(it *logItem) {
					it.n++
					it.entry.Subject = subject // the newest, as the text
					it.last = at
					it.text = text
					it.entry.Text = text + " (" + strconv.Itoa(it.n) + "× in " +
						at.Sub(it.entry.At).Round(100*time.Millisecond).String() + ")"
				})
				l.published = nil
				return
			}
			break
		}
	}
	l.items.add(logItem{
		entry: snapshots.LogEntry{At: at, Kind: kind, Subject: subject, Text: text},
		group: group, last: at, n: 1, text: text,
	})
	l.published = nil
}

// note queues an entry from another goroutine; the next publish adds it.
func (l *eventLog) note(at time.Time, kind, subject, text, group string) {
	l.ext.mu.Lock()
	defer l.ext.mu.Unlock()
	if len(l.ext.pending) >= logCapacity {
		return // nobody is publishing; the oldest news is enough
	}
	l.ext.pending = append(l.ext.pending, logItem{
		entry: snapshots.LogEntry{At: at, Kind: kind, Subject: subject, Text: text}, group: group,
	})
}

// takeNoted moves the queued entries into the log.
func (l *eventLog) takeNoted() {
	l.ext.mu.Lock()
	pending := l.ext.pending
	l.ext.pending = nil
	l.ext.mu.Unlock()
	for _, it := range pending {
		l.add(it.entry.At, it.entry.Kind, it.entry.Subject, it.entry.Text, it.group)
	}
}

// snapshot returns the log oldest first, shared between snapshots until it
// changes.
func (l *eventLog) snapshot() []snapshots.LogEntry {
	if l.published == nil && l.items.len() > 0 {
		items := l.items.snapshot()
		out := make([]snapshots.LogEntry, len(items))
		for i := range items {
			out[i] = items[i].entry
		}
		l.published = out
	}
	return l.published
}

// observe logs what changed between the previous publish and st: store
// states, PD, causes, stale and initialized regions. It looks at stores
// and counters only, never at every region.
func (l *eventLog) observe(st *snapshots.State, now time.Time) {
	first := !l.seen
	l.seen = true
	if l.stores == nil {
		l.stores = map[uint64]storeSeen{}
	}
	for i := range st.Stores {
		s := &st.Stores[i]
		prev, known := l.stores[s.ID]
		cur := storeSeen{state: s.State, suspect: s.Suspect, failures: s.Failures, since: prev.since}
		subject := "store " + strconv.FormatUint(s.ID, 10)
		switch {
		case !known:
			cur.since = now
		case prev.state != s.State:
			cur.since = now
			l.add(now, snapshots.LogStore, subject, storeChange(s, prev, now, l.said(subject, s.LastError)), "")
		case s.Failures > prev.failures && s.State == snapshots.StoreUp && prev.state == snapshots.StoreUp:
			// Failed and recovered between two publishes (a 200ms
			// cooldown): the state never showed it, the count does. (A
			// store that stays down fails at every retry: its state
			// change said so once.)
			text := "stream failed"
			if s.LastError != "" && !l.said(subject, s.LastError) {
				text += ": " + s.LastError
			}
			l.add(now, snapshots.LogStore, subject, text+" (failure #"+strconv.Itoa(s.Failures)+")", "store-failure "+subject)
		case s.Suspect && !prev.suspect && s.State == snapshots.StoreUp:
			l.add(now, snapshots.LogStore, subject, fmt.Sprintf("quiet: no message for %s while %d regions should advance (suspect)",
				ago(now, s.LastMsgAt), s.Regions-s.Waiting), "")
		case !s.Suspect && prev.suspect && s.State == snapshots.StoreUp:
			l.add(now, snapshots.LogStore, subject, "talking again", "")
		}
		l.stores[s.ID] = cur
	}

	pdErr := st.Source.PDError
	switch {
	case pdErr != "" && l.pdErr == "":
		l.pdSince = now
		what := "not answering: "
		if strings.HasPrefix(pdErr, errPDFault.Error()) {
			what = "answering wrongly: "
		}
		l.add(now, snapshots.LogPD, "pd", what+pdErr, "")
	case pdErr == "" && l.pdErr != "":
		l.add(now, snapshots.LogPD, "pd", "answering again after "+now.Sub(l.pdSince).Round(100*time.Millisecond).String(), "")
	}
	l.pdErr = pdErr

	causes := make(map[string]int, len(st.Causes))
	for _, c := range st.Causes {
		causes[c.Cause] = c.Regions
		if _, had := l.causes[c.Cause]; !had {
			text := c.Cause + ": " + regionsWord(c.Regions)
			if len(c.Stores) > 0 {
				text += " on " + storeList(c.Stores)
			}
			if c.Example != "" {
				text += " — " + c.Example
			}
			l.add(now, snapshots.LogState, "cause "+c.Cause, text, "")
		}
	}
	for c := range l.causes {
		if _, still := causes[c]; !still {
			l.add(now, snapshots.LogState, "cause "+c, c+": cleared", "")
		}
	}
	l.causes = causes

	t := &st.Totals
	all := t.Regions > 0 && t.Initialized == t.Regions
	switch {
	case all && !l.allInit:
		text := "all " + strconv.Itoa(t.Regions) + " regions initialized"
		if !l.notInitAt.IsZero() {
			text += " again after " + now.Sub(l.notInitAt).Round(100*time.Millisecond).String()
		}
		l.add(now, snapshots.LogState, "regions", text, "regions-init")
	case !all && l.allInit && !first:
		l.notInitAt = now
		l.add(now, snapshots.LogState, "regions", strconv.Itoa(t.Regions-t.Initialized)+" of "+
			strconv.Itoa(t.Regions)+" regions not initialized"+worst(st), "regions-init")
	}
	l.allInit = all
	switch {
	case t.Stale > 0 && l.stale == 0:
		l.staleSince = now
		l.add(now, snapshots.LogState, "regions", regionsWord(t.Stale)+" stale (resolved ts not moving)"+worst(st), "regions-stale")
	case t.Stale == 0 && l.stale > 0:
		l.add(now, snapshots.LogState, "regions", "no region stale any more (after "+now.Sub(l.staleSince).Round(100*time.Millisecond).String()+")", "regions-stale")
	}
	l.stale = t.Stale
}

// said reports whether a recent entry about subject already carries text
// (the engine logs some failures itself as they happen).
func (l *eventLog) said(subject, text string) bool {
	if text == "" {
		return false
	}
	n := l.items.len()
	for k := 0; k < min(n, coalesceLookback); k++ {
		it := &l.items.rows[int((l.items.added-uint64(k))%uint64(len(l.items.rows)))]
		if it.entry.Subject == subject && strings.Contains(it.entry.Text, text) {
			return true
		}
	}
	return false
}

// storeChange words a store's state change; said: its error is already
// in the log.
func storeChange(s *snapshots.Store, prev storeSeen, now time.Time, said bool) string {
	was := strings.ToUpper(prev.state)
	text := was + " -> " + strings.ToUpper(s.State)
	switch s.State {
	case snapshots.StoreUp:
		if prev.state == snapshots.StoreCooldown || prev.state == snapshots.StoreDown {
			return "recovered after " + now.Sub(prev.since).Round(100*time.Millisecond).String() + " (" + text + ")"
		}
	case snapshots.StoreCooldown, snapshots.StoreDown:
		if s.LastError != "" && !said {
			text += ": " + s.LastError
		}
		if s.Failures > 0 {
			text += " (failure #" + strconv.Itoa(s.Failures) + ")"
		}
	}
	return text
}

func worst(st *snapshots.State) string {
	if st.Totals.WorstRegion == 0 {
		return ""
	}
	return "; worst region " + strconv.FormatUint(st.Totals.WorstRegion, 10) + " on store " + strconv.FormatUint(st.Totals.WorstStore, 10)
}

func regionsWord(n int) string {
	if n == 1 {
		return "1 region"
	}
	return strconv.Itoa(n) + " regions"
}

func storeList(ids []uint64) string {
	var b []byte
	if len(ids) == 1 {
		b = append(b, "store "...)
	} else {
		b = append(b, "stores "...)
	}
	for i, id := range ids {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendUint(b, id, 10)
	}
	return string(b)
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "ever"
	}
	return now.Sub(t).Round(100 * time.Millisecond).String()
}

// logEvent adds an entry from the event loop and writes it to the log file.
func (e *Engine) logEvent(now time.Time, kind, subject, text, group string) {
	e.log.add(now, kind, subject, text, group)
	e.logger.Info("event", zap.String("kind", kind), zap.String("subject", subject), zap.String("text", text))
}

// Note adds an entry to the event log from outside the engine (the
// embedded sim's fault runner: "fault line 3: at 5s stop-store 2"). It is
// safe for concurrent use and never blocks: the entry appears with the
// next snapshot. Entries with the same group that come in a burst are
// folded into one that counts them. text is cleaned: it may quote a file.
func (e *Engine) Note(at time.Time, kind, subject, text, group string) {
	e.log.note(at.UTC(), snapshots.CleanString(kind), snapshots.CleanString(subject), snapshots.CleanString(text), group)
}
