// Package oracle judges the engine's diagnosis against the simulated
// cluster's ground truth of faults (issue 24): at every published snapshot,
// is each cause named on a region or a store backed by a fault that touches
// it (precision), and does each region a fault touched carry the right
// cause within a window of its first visible trouble (recall)?
//
// It is pure: it reads snapshots and sim.FaultRecords and never runs a
// cluster (engine/oracle_test.go does, on the embedded sim). What the
// engine should call each fault is the table here (Expected), from DESIGN
// §5 and §11; it is the one place to change when a cause is added.
package oracle

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
)

// Causes of round 3 that snapshots may not name yet (DESIGN §11); the
// oracle expects them by name so that their recall reads 0 until the
// engine names them.
const (
	CauseLagging       = "lagging"
	CauseStoreSlow     = "store_slow"
	CauseStoreFlapping = "store_flapping"
	CauseStoreDraining = "store_draining"
	CauseStoreRemoved  = "store_removed"
)

// Expected is, per verb, the causes a region it touches should carry:
// recall counts a region named with one of them.
var Expected = map[sim.Verb][]string{
	sim.VerbLock:           {snapshots.CauseLock},
	sim.VerbSilenceRegion:  {snapshots.CauseSilent, CauseLagging},
	sim.VerbStopStore:      {snapshots.CauseStoreDown},
	sim.VerbRestartStore:   {snapshots.CauseStoreDown},
	sim.VerbKillStream:     {snapshots.CauseStoreCooling, CauseStoreFlapping},
	sim.VerbHangStore:      {snapshots.CauseStoreStalled},
	sim.VerbSlowStore:      {CauseStoreSlow},
	sim.VerbBusyStore:      {snapshots.CauseStoreBusy},
	sim.VerbCongestRegion:  {snapshots.CauseStoreBusy}, // Congested is a busy-class error (DESIGN §5)
	sim.VerbPDDown:         {snapshots.CausePDUnreachable},
	sim.VerbDrainStore:     {CauseStoreDraining},
	sim.VerbRemoveStore:    {CauseStoreRemoved},
	sim.VerbSplit:          {snapshots.CauseRegionChurn},
	sim.VerbMerge:          {snapshots.CauseRegionChurn},
	sim.VerbTransferLeader: {snapshots.CauseRegionChurn},
}

// alsoTrue are causes that are not what recall asks for but are true of a
// region a fault touches, so precision accepts them: a crashed store is
// first cooling, and its leaders move (churn) after the election; a drain
// and a removal move leaders too. Every fault also accepts the two causes
// that claim no culprit: lagging (trouble, nothing known yet) and
// scan_pending (the region is being scanned again).
var alsoTrue = map[sim.Verb][]string{
	sim.VerbStopStore:    {snapshots.CauseStoreCooling, snapshots.CauseRegionChurn},
	sim.VerbRestartStore: {snapshots.CauseStoreCooling, snapshots.CauseRegionChurn},
	sim.VerbDrainStore:   {snapshots.CauseRegionChurn},
	// A removal passes through PD's Offline (NodeState Removing) before
	// Tombstone: store_draining is what the engine names while PD says so.
	sim.VerbRemoveStore: {snapshots.CauseRegionChurn, CauseStoreDraining},
}

// Accepted are the causes precision accepts on what a verb touches.
func Accepted(v sim.Verb) []string {
	out := append(slices.Clone(Expected[v]), alsoTrue[v]...)
	return append(out, CauseLagging, snapshots.CauseScanPending)
}

// Verbs judged, in the table's order.
func Verbs() []sim.Verb {
	return []sim.Verb{sim.VerbLock, sim.VerbSilenceRegion, sim.VerbStopStore, sim.VerbRestartStore,
		sim.VerbKillStream, sim.VerbHangStore, sim.VerbSlowStore, sim.VerbBusyStore, sim.VerbCongestRegion,
		sim.VerbPDDown, sim.VerbDrainStore, sim.VerbRemoveStore, sim.VerbSplit, sim.VerbMerge, sim.VerbTransferLeader}
}

func isStoreVerb(v sim.Verb) bool {
	switch v {
	case sim.VerbStopStore, sim.VerbRestartStore, sim.VerbDrainStore, sim.VerbRemoveStore,
		sim.VerbHangStore, sim.VerbSlowStore, sim.VerbBusyStore, sim.VerbKillStream:
		return true
	}
	return false
}

// Rules are the oracle's stated tolerances.
type Rules struct {
	// Lagging is the lag past which a region is in visible trouble:
	// min(3s, stale-after/2) (DESIGN §11).
	Lagging time.Duration
	// Window is how soon after its first visible trouble a touched region
	// must carry the right cause (2s).
	Window time.Duration
	// Grace is how long after a fault ended a cause it backs is still
	// accepted: 5s, the longest backoff the engine waits before trying a
	// region or store again (DESIGN §4), so a region waiting it out is not
	// counted wrong.
	Grace time.Duration
	// Slack is how late the truth may have learnt of a touch (it gathers
	// the regions a store leads when it is read).
	Slack time.Duration
}

// DefaultRules are the rules for an engine with the given --stale-after.
func DefaultRules(staleAfter time.Duration) Rules {
	return Rules{Lagging: min(3*time.Second, staleAfter/2), Window: 2 * time.Second, Grace: 5 * time.Second, Slack: time.Second}
}

// VerbResult is the verdict for one verb.
type VerbResult struct {
	Verb sim.Verb
	// Namings are causes named (region or store, per publish) that a fault
	// of this verb backs or, unbacked, on something it touched; Backed of
	// them were backed.
	Namings, Backed int
	// Pairs are (fault, touched region) with visible trouble; Hits were
	// named right within the window, Misses not. Masked ones carried the
	// cause of another fault touching them at the same time; Gone ones
	// left (merged away) before the window ended. Neither counts.
	//
	// Recovered ones were streaming again, healthy and under the lagging
	// threshold, before the window ended, named meanwhile only with causes
	// precision accepts on them (lagging, scan_pending …): a blip that was
	// over before a name was due (a drained region re-scanned on its new
	// leader in 300ms). Not counted either: a wrong name on the way is
	// caught by precision.
	Hits, Misses, Masked, Gone, Recovered int
	TimeToName                            []time.Duration // of the hits
	// Wrong counts the causes named in its place, on misses and wrong
	// namings ("lock": 3).
	Wrong map[string]int
}

// Precision is Backed/Namings (1 with no namings).
func (v *VerbResult) Precision() float64 { return ratio(v.Backed, v.Namings) }

// Recall is Hits/(Hits+Misses) (NaN-free: 0 with no pairs, see Pairs).
func (v *VerbResult) Recall() float64 {
	if v.Hits+v.Misses == 0 {
		return 0
	}
	return float64(v.Hits) / float64(v.Hits+v.Misses)
}

// Pairs is how many pairs recall judged.
func (v *VerbResult) Pairs() int { return v.Hits + v.Misses }

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// CauseResult is the verdict for one cause.
type CauseResult struct {
	Cause           string
	Namings, Backed int
	// Hits and Misses of the pairs whose verb expects this cause first.
	Hits, Misses int
	TimeToName   []time.Duration
}

// Report is the whole verdict.
type Report struct {
	Rules     Rules
	Publishes int
	Verbs     map[sim.Verb]*VerbResult
	Causes    map[string]*CauseResult
	// Unbacked are examples of causes named with no fault behind them.
	Unbacked []string
	// NoFault counts namings on something no fault touched.
	NoFault int
	// MissTrails are, per missed pair, what its region showed from its
	// onset to its deadline (cause, state, lag per publish): why recall
	// missed, for the one reading the run.
	MissTrails []string
}

// Judge keeps the snapshots to judge. Observe may be called from the
// engine's event loop: it only appends.
type Judge struct {
	rules     Rules
	mu        sync.Mutex
	publishes []*snapshots.State
}

// NewJudge makes a judge with rules.
func NewJudge(r Rules) *Judge { return &Judge{rules: r} }

// Observe keeps a published snapshot (not modified, never copied: a
// published State is immutable).
func (j *Judge) Observe(st *snapshots.State) {
	j.mu.Lock()
	j.publishes = append(j.publishes, st)
	j.mu.Unlock()
}

// Publishes is how many snapshots were observed.
func (j *Judge) Publishes() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.publishes)
}

// Judge judges every observed snapshot taken at or after from against the
// fault records.
func (j *Judge) Judge(records []sim.FaultRecord, from time.Time) *Report {
	rep := &Report{Rules: j.rules, Verbs: map[sim.Verb]*VerbResult{}, Causes: map[string]*CauseResult{}}
	for _, v := range Verbs() {
		rep.Verbs[v] = &VerbResult{Verb: v, Wrong: map[string]int{}}
	}
	var pubs []*snapshots.State
	j.mu.Lock()
	all := slices.Clone(j.publishes)
	j.mu.Unlock()
	for _, st := range all {
		if !st.TakenAt.Before(from) {
			pubs = append(pubs, st)
		}
	}
	sort.SliceStable(pubs, func(a, b int) bool { return pubs[a].TakenAt.Before(pubs[b].TakenAt) })
	rep.Publishes = len(pubs)
	var judged []sim.FaultRecord
	for _, r := range records {
		if _, ok := Expected[r.Verb]; ok {
			judged = append(judged, r)
		}
	}
	for _, st := range pubs {
		j.precision(rep, judged, st)
	}
	if len(pubs) > 0 {
		j.recall(rep, judged, pubs)
	}
	return rep
}

func (rep *Report) cause(c string) *CauseResult {
	cr := rep.Causes[c]
	if cr == nil {
		cr = &CauseResult{Cause: c}
		rep.Causes[c] = cr
	}
	return cr
}

// lasts reports whether r lasts at t, grace included.
func (j *Judge) lasts(r *sim.FaultRecord, t time.Time) bool {
	return !t.Before(r.Start) && (r.End.IsZero() || !t.After(r.End.Add(j.rules.Grace)))
}

// touchesRegion reports whether r touched the region (on storeID as the
// engine sees it) by t.
func (j *Judge) touchesRegion(r *sim.FaultRecord, region, storeID uint64, t time.Time) bool {
	if !j.lasts(r, t) {
		return false
	}
	if r.All {
		return true
	}
	if isStoreVerb(r.Verb) && storeID != 0 && storeID == r.Store {
		return true
	}
	tc, ok := r.Touches(region)
	return ok && !tc.At.After(t.Add(j.rules.Slack))
}

func (j *Judge) touchesStore(r *sim.FaultRecord, store uint64, t time.Time) bool {
	return j.lasts(r, t) && (r.All || r.Store == store)
}

func (j *Judge) precision(rep *Report, records []sim.FaultRecord, st *snapshots.State) {
	t := st.TakenAt
	judge := func(what, cause string, touches func(*sim.FaultRecord) bool) {
		if cause == "" || cause == snapshots.CauseHealthy {
			return
		}
		cr := rep.cause(cause)
		cr.Namings++
		var backer *sim.FaultRecord
		var near []sim.Verb
		for i := range records {
			r := &records[i]
			if !touches(r) {
				continue
			}
			if slices.Contains(Accepted(r.Verb), cause) {
				if backer == nil || (slices.Contains(Expected[r.Verb], cause) && !slices.Contains(Expected[backer.Verb], cause)) {
					backer = r
				}
			}
			if !slices.Contains(near, r.Verb) {
				near = append(near, r.Verb)
			}
		}
		if backer != nil {
			cr.Backed++
			v := rep.Verbs[backer.Verb]
			v.Namings++
			v.Backed++
			return
		}
		if len(near) == 0 {
			rep.NoFault++
		}
		for _, verb := range near {
			v := rep.Verbs[verb]
			v.Namings++
			v.Wrong[cause]++
		}
		if len(rep.Unbacked) < unbackedMax {
			rep.Unbacked = append(rep.Unbacked, fmt.Sprintf("%s %s: %s (faults touching it: %v)",
				t.Format("15:04:05.000"), what, cause, near))
		}
	}
	for i := range st.Regions {
		row := &st.Regions[i]
		judge(fmt.Sprintf("region %d (store %d, %s)", row.ID, row.StoreID, row.State), row.Cause, func(r *sim.FaultRecord) bool {
			return j.touchesRegion(r, row.ID, row.StoreID, t)
		})
	}
	for i := range st.Stores {
		s := &st.Stores[i]
		judge(fmt.Sprintf("store %d", s.ID), s.Condition, func(r *sim.FaultRecord) bool {
			return j.touchesStore(r, s.ID, t)
		})
	}
}

// trouble reports whether a region row shows trouble, and since when.
func (j *Judge) trouble(row *snapshots.Region, taken, touched time.Time) (time.Time, bool) {
	lag := time.Duration(row.ResolvedLagMs) * time.Millisecond
	visible := row.State != snapshots.StateInitialized || lag >= j.rules.Lagging ||
		(row.Cause != "" && row.Cause != snapshots.CauseHealthy)
	if !visible {
		return time.Time{}, false
	}
	onset := taken
	if !row.LastErrorAt.IsZero() && !row.LastErrorAt.Before(touched) && row.LastErrorAt.Before(onset) {
		onset = row.LastErrorAt
	}
	if lag >= j.rules.Lagging {
		if crossed := taken.Add(j.rules.Lagging - lag); crossed.Before(onset) {
			onset = crossed
		}
	}
	if onset.Before(touched) {
		onset = touched
	}
	return onset, true
}

func rowOf(st *snapshots.State, id uint64) *snapshots.Region {
	// Regions are in key order, not id order: a scan (48–1000 regions in
	// the oracle's runs).
	for i := range st.Regions {
		if st.Regions[i].ID == id {
			return &st.Regions[i]
		}
	}
	return nil
}

func (j *Judge) recall(rep *Report, records []sim.FaultRecord, pubs []*snapshots.State) {
	last := pubs[len(pubs)-1].TakenAt
	for i := range records {
		r := &records[i]
		v := rep.Verbs[r.Verb]
		touches := r.Touched
		if r.All {
			// Every region of the first publish after it began.
			touches = nil
			for _, st := range pubs {
				if !st.TakenAt.Before(r.Start) {
					for _, row := range st.Regions {
						touches = append(touches, sim.Touch{Region: row.ID, At: r.Start, How: sim.TouchTarget})
					}
					break
				}
			}
		}
		for _, tc := range touches {
			if tc.How == sim.TouchPart {
				continue // a new region is scanned: not the split's symptom to name
			}
			j.pair(rep, v, records, r, tc, pubs, last)
		}
		if namedOnStore(r.Verb) && r.Store != 0 {
			j.storePair(rep, v, records, r, pubs, last)
		}
	}
}

// namedOnStore are the verbs whose fault is named on the store row as
// well as on its regions, and judged there: a drain or a removal is the
// store's condition (PD lists it Offline or Tombstone, its leaders leave
// it) and its regions usually re-register on their new leaders in well
// under the window, leaving recall nothing to judge on them ("recovered").
func namedOnStore(v sim.Verb) bool {
	return v == sim.VerbDrainStore || v == sim.VerbRemoveStore
}

// storePair judges one (fault, store): the store row carries the verb's
// expected cause within the window of the fault's start, when PD lists
// the store Offline (a removal) or its leaders start to leave (a drain).
// A store row that carried another concurrent fault's expected cause
// (PD down: the engine reads PD's store states only while PD answers)
// is masked.
//
// PD's store states are not served while PD is down: a fault that began
// in a PD outage is due within the window of PD's answering again.
func (j *Judge) storePair(rep *Report, v *VerbResult, records []sim.FaultRecord, r *sim.FaultRecord, pubs []*snapshots.State, last time.Time) {
	onset := r.Start
	for i := range records {
		if o := &records[i]; o.Verb == sim.VerbPDDown && o.Active(onset) {
			onset = o.EndedBy(last)
		}
	}
	deadline := onset.Add(j.rules.Window)
	if deadline.After(last) {
		return // the run ended first
	}
	want := Expected[r.Verb]
	seen := map[string]bool{}
	var trail strings.Builder
	for _, st := range pubs {
		if st.TakenAt.Before(onset) {
			continue
		}
		if st.TakenAt.After(deadline) {
			break
		}
		for i := range st.Stores {
			s := &st.Stores[i]
			if s.ID != r.Store {
				continue
			}
			fmt.Fprintf(&trail, " %s %s;", st.TakenAt.Format("05.000"), s.Condition)
			if slices.Contains(want, s.Condition) {
				ttn := st.TakenAt.Sub(onset)
				v.Hits++
				v.TimeToName = append(v.TimeToName, ttn)
				cr := rep.cause(want[0])
				cr.Hits++
				cr.TimeToName = append(cr.TimeToName, ttn)
				return
			}
			seen[s.Condition] = true
		}
	}
	for i := range records {
		o := &records[i]
		if o == r || o.Verb == r.Verb || o.Start.After(deadline) || (!o.End.IsZero() && o.End.Before(onset)) {
			continue
		}
		if !o.All && o.Store != r.Store {
			continue
		}
		for c := range seen {
			if slices.Contains(Expected[o.Verb], c) {
				v.Masked++
				return
			}
		}
	}
	v.Misses++
	rep.cause(want[0]).Misses++
	for c := range seen {
		v.Wrong[c]++
	}
	rep.MissTrails = append(rep.MissTrails, fmt.Sprintf("%s store %d, onset %s:%s", r.Verb, r.Store,
		onset.Format("15:04:05.000"), trail.String()))
}

// pair judges one (fault, touched region).
func (j *Judge) pair(rep *Report, v *VerbResult, records []sim.FaultRecord, r *sim.FaultRecord, tc sim.Touch, pubs []*snapshots.State, last time.Time) {
	end := r.EndedBy(last).Add(j.rules.Grace)
	var onset time.Time
	found := false
	for _, st := range pubs {
		if st.TakenAt.Before(tc.At) {
			continue
		}
		if st.TakenAt.After(end) {
			break
		}
		if row := rowOf(st, tc.Region); row != nil {
			if onset, found = j.trouble(row, st.TakenAt, tc.At); found {
				break
			}
		}
	}
	if !found {
		return // no visible trouble: nothing to name
	}
	deadline := onset.Add(j.rules.Window)
	if deadline.After(last) {
		return // the run ended first
	}
	want := Expected[r.Verb]
	lastSeen := time.Time{}
	seen := map[string]bool{}
	for _, st := range pubs {
		if st.TakenAt.Before(tc.At) {
			continue
		}
		if st.TakenAt.After(deadline) {
			break
		}
		row := rowOf(st, tc.Region)
		if row == nil {
			continue
		}
		lastSeen = st.TakenAt
		if !st.TakenAt.Before(onset) && j.recovered(row) && !slices.ContainsFunc(slices.Collect(maps.Keys(seen)), func(c string) bool {
			return !slices.Contains(Accepted(r.Verb), c)
		}) {
			v.Recovered++
			return
		}
		if slices.Contains(want, row.Cause) {
			ttn := max(st.TakenAt.Sub(onset), 0)
			v.Hits++
			v.TimeToName = append(v.TimeToName, ttn)
			cr := rep.cause(want[0])
			cr.Hits++
			cr.TimeToName = append(cr.TimeToName, ttn)
			return
		}
		if !st.TakenAt.Before(onset) {
			seen[row.Cause] = true
		}
	}
	if lastSeen.Before(deadline.Add(-j.rules.Window / 2)) {
		v.Gone++
		return
	}
	for i := range records {
		o := &records[i]
		if o == r || o.Verb == r.Verb {
			continue
		}
		// Only a fault that lasts in the window masks (its grace does not:
		// a cause left over from an older fault is not an excuse).
		if o.Start.After(deadline) || (!o.End.IsZero() && o.End.Before(onset)) {
			continue
		}
		if !o.All {
			if otc, ok := o.Touches(tc.Region); !ok || otc.At.After(deadline) {
				continue
			}
		}
		for c := range seen {
			if slices.Contains(Expected[o.Verb], c) {
				v.Masked++
				return
			}
		}
	}
	v.Misses++
	rep.cause(want[0]).Misses++
	rep.MissTrails = append(rep.MissTrails, j.trail(r, tc, onset, deadline, pubs))
	for c := range seen {
		v.Wrong[c]++
	}
}

// trail is what tc's region showed from a little before its onset to its
// deadline, publish by publish.
func (j *Judge) trail(r *sim.FaultRecord, tc sim.Touch, onset, deadline time.Time, pubs []*snapshots.State) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (store %d) region %d touched %s, onset %s:", r.Verb, r.Store, tc.Region,
		tc.At.Format("15:04:05.000"), onset.Format("15:04:05.000"))
	for _, st := range pubs {
		if st.TakenAt.Before(onset.Add(-time.Second)) || st.TakenAt.Before(tc.At) {
			continue
		}
		if st.TakenAt.After(deadline) {
			break
		}
		if row := rowOf(st, tc.Region); row != nil {
			fmt.Fprintf(&b, " %s %s/%s s%d lag %dms;", st.TakenAt.Format("05.000"), row.Cause, row.State, row.StoreID, row.ResolvedLagMs)
		}
	}
	return b.String()
}

// recovered: the row streams, under the lagging threshold, with no cause.
func (j *Judge) recovered(row *snapshots.Region) bool {
	return row.State == snapshots.StateInitialized && (row.Cause == "" || row.Cause == snapshots.CauseHealthy) &&
		time.Duration(row.ResolvedLagMs)*time.Millisecond < j.rules.Lagging
}

// Percentile is the p-th percentile (0–100) of ds (0 when empty).
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

// unbackedMax is how many unbacked namings a report keeps as examples.
var unbackedMax = 20

// Budgets of issue 24.
const (
	PrecisionBudget = 0.99
	RecallBudget    = 0.95
)

// Meets reports whether a verb meets both budgets, and why not.
func (rep *Report) Meets(v sim.Verb) (bool, string) {
	r := rep.Verbs[v]
	switch {
	case r.Pairs() == 0:
		return false, "no region showed trouble from it: not measured"
	case r.Precision() < PrecisionBudget:
		return false, fmt.Sprintf("precision %.3f < %.2f (wrong: %v)", r.Precision(), PrecisionBudget, r.Wrong)
	case r.Recall() < RecallBudget:
		return false, fmt.Sprintf("recall %.3f < %.2f (named instead: %v)", r.Recall(), RecallBudget, r.Wrong)
	}
	return true, ""
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// Table is the report as Markdown: per verb, then per cause.
func (rep *Report) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d publishes judged; lagging threshold %s, window %s, grace %s\n\n",
		rep.Publishes, rep.Rules.Lagging, rep.Rules.Window, rep.Rules.Grace)
	b.WriteString("| verb | expected cause | namings | precision | pairs | recall ≤ window | masked | gone | recovered | time to name p50 / p99 | budgets | named instead |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, verb := range Verbs() {
		r := rep.Verbs[verb]
		ok, _ := rep.Meets(verb)
		verdict := "met"
		if !ok {
			verdict = "NOT met"
		}
		recall := "—"
		if r.Pairs() > 0 {
			recall = fmt.Sprintf("%.2f", r.Recall())
		}
		ttn := "—"
		if len(r.TimeToName) > 0 {
			ttn = ms(Percentile(r.TimeToName, 50)) + " / " + ms(Percentile(r.TimeToName, 99))
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %.3f | %d | %s | %d | %d | %d | %s | %s | %s |\n",
			verb, strings.Join(Expected[verb], " or "), r.Namings, r.Precision(), r.Pairs(), recall, r.Masked, r.Gone, r.Recovered, ttn, verdict, wrongText(r.Wrong))
	}
	b.WriteString("\n| cause | namings | precision | recall pairs | recall | time to name p50 / p99 |\n|---|---|---|---|---|---|\n")
	var causes []string
	for c := range rep.Causes {
		causes = append(causes, c)
	}
	for _, v := range Verbs() {
		if c := Expected[v][0]; !slices.Contains(causes, c) {
			causes = append(causes, c)
		}
	}
	slices.Sort(causes)
	for _, c := range causes {
		cr := rep.cause(c)
		recall := "—"
		if cr.Hits+cr.Misses > 0 {
			recall = fmt.Sprintf("%.2f", float64(cr.Hits)/float64(cr.Hits+cr.Misses))
		}
		ttn := "—"
		if len(cr.TimeToName) > 0 {
			ttn = ms(Percentile(cr.TimeToName, 50)) + " / " + ms(Percentile(cr.TimeToName, 99))
		}
		fmt.Fprintf(&b, "| %s | %d | %.3f | %d | %s | %s |\n", c, cr.Namings, ratio(cr.Backed, cr.Namings), cr.Hits+cr.Misses, recall, ttn)
	}
	if rep.NoFault > 0 || len(rep.Unbacked) > 0 {
		fmt.Fprintf(&b, "\n%d namings on something no fault touched; unbacked examples:\n", rep.NoFault)
		for _, u := range rep.Unbacked {
			b.WriteString("  " + u + "\n")
		}
	}
	return b.String()
}

func wrongText(w map[string]int) string {
	if len(w) == 0 {
		return ""
	}
	var parts []string
	for c, n := range w {
		parts = append(parts, fmt.Sprintf("%s ×%d", c, n))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}
