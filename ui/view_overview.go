package ui

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pulltop/pulltop/snapshots"
)

// overviewView is the cluster summary (Overview, key 1): what an operator
// reads first in an incident. It is not a table; its numbers are counted
// once per snapshot and its lines drawn per frame.
type overviewView struct {
	ctx *renderCtx
	loc *time.Location
	s   *snapshots.State

	dirty        bool
	regionStates map[string]int
	storeStates  map[string]int
	subsInit     int
	// rates are errors per second by reason, between the previous snapshot
	// shown and this one.
	rates map[string]float64

	// targets are the lines enter opens, rebuilt with the lines; sel is
	// the selected one's key, selLine its line; hintLine is the line under
	// the causes board that says what enter opens (-1: none).
	targets  []ovTarget
	sel      string
	selLine  int
	hintLine int
	board    causeBoard
	// timeline is the line about the incident timeline (set per frame).
	timeline string
	// wrapAll: every cause's example may take a second line; otherwise
	// only the selected cause's. mustEnd is the line after the last one a
	// small terminal must show (lines decides with it).
	wrapAll bool
	mustEnd int
}

func (v *overviewView) setState(s *snapshots.State, prev *snapshots.State) {
	v.rates = errorRates(prev, s)
	v.s = s
	v.dirty = true
}

// count tallies states; deferred until the Overview is drawn, because at a
// million regions it is the only O(regions) work this view does.
func (v *overviewView) count() {
	if !v.dirty || v.s == nil {
		return
	}
	v.dirty = false
	// Counted by rank, not in the map: a map increment per region was
	// ~20 ms a frame at a million. A state the UI does not know is rare.
	v.regionStates = make(map[string]int)
	var byRank [regionStateRanks]int
	t := v.s.RegionTable()
	counted, ok := t.(interface{ StateCounts() map[string]int })
	if ok {
		// Kept by the view as regions change: no pass over them.
		for st, n := range counted.StateCounts() {
			v.regionStates[st] = n
		}
	}
	for i := range t.Len() {
		if ok {
			break
		}
		st := t.Static(i).State
		if r := regionStateRank(st); r < len(byRank) && regionStateNames[r] == st {
			byRank[r]++
		} else {
			v.regionStates[st]++
		}
	}
	for r, n := range byRank {
		if n > 0 {
			v.regionStates[regionStateNames[r]] += n
		}
	}
	v.storeStates = make(map[string]int)
	for i := range v.s.Stores {
		v.storeStates[v.s.Stores[i].State]++
	}
	v.subsInit = 0
	for _, sub := range v.s.Subscriptions {
		if sub.Initialized {
			v.subsInit++
		}
	}
}

// errorRates is the per-second increase of each error counter between two
// snapshots; nil when there is no earlier snapshot to compare with.
func errorRates(prev, cur *snapshots.State) map[string]float64 {
	if prev == nil || cur == nil {
		return nil
	}
	dt := cur.TakenAt.Sub(prev.TakenAt).Seconds()
	if dt <= 0 {
		return nil
	}
	rates := make(map[string]float64, len(cur.Totals.ErrorsByReason))
	for reason, n := range cur.Totals.ErrorsByReason {
		d := n - prev.Totals.ErrorsByReason[reason]
		if d > 0 {
			rates[reason] = float64(d) / dt
		}
	}
	return rates
}

// ovTarget is a line of the Overview that enter opens: the region with
// the worst lag, a store that is not up, the retries of an error reason.
type ovTarget struct {
	line   int    // index into the lines
	key    string // identity across refreshes ("lag", "store 3", "reason not_leader")
	region uint64 // with sub: a region's detail
	sub    uint64
	store  uint64 // a store's detail
	view   viewID // otherwise: this view with filter
	filter string
	hint   string // what enter opens, for the board's hint line
}

// lines renders the overview body for a body of width×height cells, one
// string per line, and records the lines enter can open (v.targets), the
// selected one marked. On a small terminal (80×24) the causes board wraps
// every example onto a second line when the lines that must show (the
// stores in trouble, the errors' summary) still fit; otherwise only the
// selected cause's. A large terminal wraps them all when everything
// still fits.
func (v *overviewView) lines(lag []lagSample, width, height int) []string {
	v.wrapAll = true
	out := v.build(lag, width)
	if width >= compactWidth {
		v.mustEnd = len(out) // a large terminal must show it all
	}
	if v.mustEnd > height {
		v.wrapAll = false
		out = v.build(lag, width)
	}
	return out
}

func (v *overviewView) build(lag []lagSample, width int) []string {
	v.count()
	s := v.s
	th := v.ctx.theme
	v.targets = v.targets[:0]
	var out []string
	add := func(label, text string) {
		out = append(out, " "+th.Section.render(fit(label, 14))+" "+text)
	}
	target := func(t ovTarget) {
		t.line = len(out) - 1
		v.targets = append(v.targets, t)
	}
	v.hintLine = -1
	if s == nil {
		return []string{" waiting for the first snapshot…"}
	}
	compact := width < compactWidth

	src := "PD " + strings.Join(s.Source.PD, ",")
	if len(s.Source.PD) == 0 {
		src = "PD -"
	}
	if s.Source.EmbeddedSim {
		src += " (embedded simulated cluster)"
	}
	add("Cluster", "id "+strconv.FormatUint(s.Source.ClusterID, 10)+"  "+src)
	add("PD", v.pdText())

	// The headline: how far behind the subscription is (what a
	// changefeed's checkpoint would lag), and who holds it back.
	add("Lag", v.lagText(lag, width))
	if s.Totals.WorstRegion != 0 {
		target(ovTarget{key: "lag", region: s.Totals.WorstRegion, sub: v.worstSub()})
	}
	if skew := s.Source.ClockSkewMs; skew > 1000 || skew < -1000 {
		// Only shown when it matters: lag is measured in PD's time, but an
		// operator comparing with this host's clock should know.
		dir := "ahead of"
		if skew < 0 {
			dir, skew = "behind", -skew
		}
		add("Clock", "PD's clock is "+fmtDur(skew)+" "+dir+" this host's; lag is measured in PD's time")
	}
	regions := func() {
		if p := s.Progress.Phase; p != "" && p != snapshots.PhaseStreaming && p != snapshots.PhaseStopped {
			// Until every region streams, how far it is: a million regions
			// take a while to locate and scan, and an operator must see
			// that it is moving.
			add("Progress", s.Progress.Detail)
		}
		add("Regions", strconv.Itoa(s.NumRegions())+" total, "+strconv.Itoa(s.Totals.Initialized)+" initialized, "+
			strconv.Itoa(s.Totals.Stale)+" stale")
		// Every state's count, on as many lines as the width needs.
		for _, line := range packParts(countParts(v.regionStates, snapshots.RegionStates(), regionStateWord), "  ", max(20, width-17)) {
			add("", line)
		}
	}
	if compact {
		// A small terminal must still show every state's count at once,
		// however long the board below gets.
		regions()
	}
	// Why before how much: the causes board comes first.
	out = append(out, v.boardLines(width, len(out), func(t ovTarget) { v.targets = append(v.targets, t) })...)
	stores := func() {
		add("Stores", strconv.Itoa(len(s.Stores))+" total: "+countWords(v.storeStates, snapshots.StoreStates(), storeStateWord))
		v.storeLines(&out, target, width)
	}
	if compact {
		// Then who (the stores in trouble) and the errors in one line:
		// the ERRORS BY REASON table is further down, off a 24-line
		// screen, and the summary says so.
		stores()
		add("Errors", v.errorsSummary(width-17))
	}
	v.mustEnd = len(out)
	if v.timeline != "" {
		add("Timeline", v.timeline)
	}
	out = append(out, "")
	add("Subscriptions", strconv.Itoa(len(s.Subscriptions))+" ("+strconv.Itoa(v.subsInit)+" initialized)")
	if !compact {
		stores()
		regions()
	}
	add("Events", strconv.FormatUint(s.Totals.Events, 10)+" delivered, "+fmtRate(s.Totals.EventsPerSec)+"/s")
	add("Retries", strconv.Itoa(len(s.Retries))+" waiting, "+strconv.FormatUint(s.Totals.RetriesFired, 10)+" fired")
	add("Reloads", strconv.Itoa(len(s.Reloads))+" spans waiting, "+strconv.FormatUint(s.Totals.ReloadsFlushed, 10)+
		" flushed, "+strconv.FormatUint(s.Totals.ReloadSpansMerged, 10)+" spans merged")
	add("Region reqs", strconv.FormatUint(s.Totals.RegionRequests, 10)+" sent")
	if s.Sim != nil {
		// The sim's committed rows are counted as they are checked: only
		// once every subscription's resolved ts has passed them, so a stuck
		// resolved ts shows few checked rows while rows are delivered.
		text := strconv.FormatUint(s.Sim.CommittedRows, 10) + " committed rows checked (at or below resolved ts), " +
			strconv.FormatUint(s.Sim.MissingRows, 10) + " missing"
		if s.Sim.MissingRows > 0 {
			text = th.FlashError.render("ROWS MISSING: " + text)
		}
		add("Sim truth", text)
	}

	out = append(out, "")
	out = append(out, " "+th.ColHeader.render(fit("ERRORS BY REASON", 24)+"     TOTAL   RATE/S   PER MIN  STORES (last minute)"))
	reasons := errorReasons(s.Totals.ErrorsByReason)
	if len(reasons) == 0 {
		out = append(out, "   no errors")
	}
	for _, reason := range reasons {
		var b []byte
		b = append(b, "   "...)
		b = appendCell(b, reason, 22, false)
		b = appendIntCell(b, s.Totals.ErrorsByReason[reason], 10)
		rate := "-" // one snapshot is not enough for a rate
		if v.rates != nil {
			rate = fmtRate(v.rates[reason])
		}
		b = appendCell(b, rate, 9, true)
		lastMin := "-" // a version 1 file has no window
		if s.Totals.ErrorsLastMinute != nil || s.Version >= 2 {
			lastMin = strconv.FormatInt(s.Totals.ErrorsLastMinute[reason], 10)
		}
		b = appendCell(b, lastMin, 10, true)
		b = append(b, "  "...)
		b = append(b, idList(s.Totals.ErrorStores[reason])...)
		out = append(out, string(b))
		target(ovTarget{key: "reason " + reason, view: viewRetries, filter: "reason:" + reason})
	}

	if len(s.Subscriptions) > 0 && !compact || len(s.Subscriptions) > 1 {
		out = append(out, "")
		out = append(out, " "+th.ColHeader.render("  SUB  RESOLVED LAG  INITIALIZED      EVENTS  SPAN"))
		for _, sub := range s.Subscriptions {
			var b []byte
			b = append(b, "   "...)
			b = appendUintCell(b, sub.ID, 4)
			b = append(b, ' ')
			b = appendDurCell(b, sub.ResolvedLagMs, 13)
			b = append(b, "  "...)
			init := "no"
			if sub.Initialized {
				init = "yes"
			}
			b = appendCell(b, init, 11, false)
			b = appendUintCell(b, sub.Events, 12)
			b = append(b, "  "...)
			b = append(b, v.ctx.names.spanName(sub.Start, sub.End)...)
			out = append(out, string(b))
		}
	}
	v.markSelected(out)
	return out
}

// errorsSummary is the compact form of ERRORS BY REASON: each reason's
// total, as many as fit in w cells, then how many more and where they are.
func (v *overviewView) errorsSummary(w int) string {
	s := v.s
	reasons := errorReasons(s.Totals.ErrorsByReason)
	if len(reasons) == 0 {
		return "none"
	}
	text := ""
	for i, reason := range reasons {
		part := reason + " " + strconv.FormatInt(s.Totals.ErrorsByReason[reason], 10)
		if i > 0 {
			part = " · " + part
		}
		more := ""
		if left := len(reasons) - i - 1; left > 0 {
			more = " · +" + strconv.Itoa(left) + " more (table below)"
		}
		if textWidth(text+part+more) > w {
			left := len(reasons) - i
			if i == 0 {
				return strconv.Itoa(left) + " reasons (ERRORS BY REASON below)"
			}
			return text + " · +" + strconv.Itoa(left) + " more (table below)"
		}
		text += part
	}
	return text
}

// pdText is PD's health: when it last answered, or since when it does not
// and how often the engine's requests fail.
func (v *overviewView) pdText() string {
	src, th := &v.s.Source, v.ctx.theme
	if src.PDError == "" {
		text := "ok"
		if !src.PDLastOK.IsZero() {
			text += ", last answer " + v.agoText(src.PDLastOK) + " ago"
		}
		return text
	}
	// PD away: streams keep flowing, but nothing new can be located and
	// the lag of every waiting region grows; say so before the numbers.
	head := "NOT ANSWERING"
	if since := src.PDErrorSince; !since.IsZero() {
		head += " for " + fmtDur(v.ageMs(since)) + " (since " + since.In(v.loc).Format("15:04:05") + ")"
	}
	text := th.FlashError.render(head)
	if !src.PDLastOK.IsZero() {
		text += "; last success " + src.PDLastOK.In(v.loc).Format("15:04:05")
	}
	if src.PDFailuresPerSec > 0 {
		text += "; " + fmtRate(src.PDFailuresPerSec) + " failed requests/s"
	}
	return text + ": " + src.PDError + " (streams go on; region lookups wait)"
}

// ageMs is how long ago t was on the view clock.
func (v *overviewView) ageMs(t time.Time) int64 {
	return max(0, v.s.TakenAt.Sub(t).Milliseconds()+v.ctx.elapsed)
}

// agoText is the age of t, "0.4s".
func (v *overviewView) agoText(t time.Time) string { return fmtDur(v.ageMs(t)) }

// lagText is the headline "8.0s !! (sub 1) · worst region 60 on store 2"
// and the lag's recent shape, labelled in seconds.
func (v *overviewView) lagText(lag []lagSample, width int) string {
	s, th := v.s, v.ctx.theme
	tot := &s.Totals
	head := tot.SubLagMs
	text := ""
	if tot.SubLagID != 0 {
		text = th.lagText(head, s.Source.StaleAfterMs) + " (sub " + strconv.FormatUint(tot.SubLagID, 10) + ")"
	} else {
		// A version 1 file: the worst region's lag is all there is.
		head = tot.ResolvedLagMaxMs
		text = "max " + th.lagText(head, s.Source.StaleAfterMs)
	}
	if tot.WorstRegion != 0 {
		text += " · worst region " + strconv.FormatUint(tot.WorstRegion, 10) + " on store " + strconv.FormatUint(tot.WorstStore, 10)
		if tot.ResolvedLagMaxMs != head {
			text += " (" + fmtDur(tot.ResolvedLagMaxMs) + ")"
		}
	}
	if len(lag) > 1 && width >= compactWidth {
		n := min(len(lag), max(8, width-90))
		lag = lag[len(lag)-n:]
		peak := int64(0)
		for _, l := range lag {
			peak = max(peak, l.lagMs)
		}
		span := lag[len(lag)-1].at.Sub(lag[0].at).Milliseconds()
		text += "   " + sparkline(lag) + "  last " + fmtDur(max(span, 0)) + ", peak " + fmtDur(peak)
	}
	return text
}

// worstSub is the subscription of the worst region (the first that has it).
func (v *overviewView) worstSub() uint64 {
	t := v.s.RegionTable()
	if w, ok := t.(interface{ Worst() (int, bool) }); ok {
		if i, ok := w.Worst(); ok {
			return t.Static(i).Subscription
		}
		return 0
	}
	for i := range t.Len() {
		if r := t.Static(i); r.ID == v.s.Totals.WorstRegion {
			return r.Subscription
		}
	}
	return 0
}

// maxStoreLines bounds the stores named under the Stores line.
const maxStoreLines = 5

// storeLines names the stores that are not plainly up: cooling down (with
// the time left), paused, down, unroutable or quiet; each opens with enter.
func (v *overviewView) storeLines(out *[]string, target func(ovTarget), width int) {
	s := v.s
	shown, more := 0, 0
	for i := range s.Stores {
		st := &s.Stores[i]
		label := storeLabel(st, s)
		if label == "UP" {
			continue
		}
		if shown == maxStoreLines {
			more++
			continue
		}
		shown++
		var b []byte
		b = append(b, "store "...)
		b = strconv.AppendUint(b, st.ID, 10)
		b = append(b, "  "...)
		b = append(b, label...)
		switch {
		case st.State == snapshots.StoreCooldown:
			b = append(b, ' ')
			left := cooldownText(st, v.ctx.elapsed)
			b = append(b, left...)
			if left != "ending" {
				b = append(b, " left"...)
			}
		case st.State == snapshots.StorePaused:
			b = append(b, " by the operator"...)
		}
		if st.Waiting > 0 {
			b = append(b, " · "...)
			b = append(b, regionsWord(st.Waiting)...)
			b = append(b, " waiting"...)
		}
		if st.LastError != "" {
			b = append(b, " · "...)
			b = append(b, errorAge(st.LastError, st.LastErrorAt, storeErrorOld(st), s, v.ctx)...)
		}
		*out = append(*out, " "+fit("", 14)+" "+fitANSI(string(b), max(10, width-17)))
		target(ovTarget{key: "store " + strconv.FormatUint(st.ID, 10), store: st.ID})
	}
	if more > 0 {
		*out = append(*out, " "+fit("", 14)+" … "+strconv.Itoa(more)+" more (Stores, 5)")
	}
}

// selected is the index of the selected target, following it by key;
// before the operator chose, the first cause (why before how much), or the
// first line; -1 when there is none.
func (v *overviewView) selected() int {
	for i := range v.targets {
		if v.targets[i].key == v.sel {
			return i
		}
	}
	for i := range v.targets {
		if strings.HasPrefix(v.targets[i].key, "cause ") {
			return i
		}
	}
	if len(v.targets) > 0 {
		return 0
	}
	return -1
}

// move moves the selection by d targets.
func (v *overviewView) move(d int) {
	if len(v.targets) == 0 {
		return
	}
	i := max(0, min(v.selected()+d, len(v.targets)-1))
	v.sel = v.targets[i].key
}

// markSelected puts the cursor on the selected target's line.
func (v *overviewView) markSelected(out []string) {
	i := v.selected()
	v.selLine = -1
	if i < 0 {
		return
	}
	t := &v.targets[i]
	out[t.line] = ">" + v.ctx.theme.Cursor.render(strings.TrimPrefix(out[t.line], " "))
	v.selLine = t.line
	if v.hintLine >= 0 && v.hintLine < len(out) {
		if t.hint != "" {
			out[v.hintLine] = "   ↑/↓ select, enter: " + t.hint
		} else {
			out[v.hintLine] = "   ↑/↓ select, enter opens the selected line"
		}
	}
}

// regionsWord is "1 region", "3 regions".
func regionsWord(n int) string {
	if n == 1 {
		return "1 region"
	}
	return strconv.Itoa(n) + " regions"
}

// idList renders ids as "1, 2"; "-" for none.
func idList(ids []uint64) string {
	if len(ids) == 0 {
		return "-"
	}
	var b []byte
	for i, id := range ids {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendUint(b, id, 10)
	}
	return string(b)
}

// countWords renders "UP 2  COOLDOWN 1 …" in the canonical state order,
// then any state this build does not know.
func countWords(counts map[string]int, order []string, word func(string) string) string {
	return strings.Join(countParts(counts, order, word), "  ")
}

// countParts is countWords' parts, "UP 2", one per state.
func countParts(counts map[string]int, order []string, word func(string) string) []string {
	var parts []string
	for _, st := range order {
		parts = append(parts, word(st)+" "+strconv.Itoa(counts[st]))
	}
	for _, st := range slices.Sorted(maps.Keys(counts)) {
		if !slices.Contains(order, st) {
			parts = append(parts, word(st)+" "+strconv.Itoa(counts[st]))
		}
	}
	return parts
}

// packParts joins parts with sep into lines of at most width cells, never
// breaking a part.
func packParts(parts []string, sep string, width int) []string {
	var lines []string
	line := ""
	for _, p := range parts {
		switch {
		case line == "":
			line = p
		case textWidth(line)+len(sep)+textWidth(p) <= width:
			line += sep + p
		default:
			lines = append(lines, line)
			line = p
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// errorReasons lists the reasons with a count, known reasons first in the
// order of reference/logpuller.md §4.1, then the rest by name.
func errorReasons(byReason map[string]int64) []string {
	known := []string{
		snapshots.ReasonNotLeader, snapshots.ReasonEpochNotMatch, snapshots.ReasonRegionNotFound,
		snapshots.ReasonServerIsBusy, snapshots.ReasonCongested, snapshots.ReasonStoreFailure,
		snapshots.ReasonRPCCtxUnavailable, snapshots.ReasonDuplicateRequest, snapshots.ReasonStale,
		snapshots.ReasonForceReload, snapshots.ReasonUnknown,
	}
	var out []string
	for _, r := range known {
		if byReason[r] > 0 {
			out = append(out, r)
		}
	}
	for _, r := range slices.Sorted(maps.Keys(byReason)) {
		if byReason[r] > 0 && !slices.Contains(known, r) {
			out = append(out, r)
		}
	}
	return out
}

// sparkline draws the lag history with eighth-block glyphs, scaled to its
// own peak: the shape (rising, flat, spiking) is what matters at a glance.
func sparkline(samples []lagSample) string {
	const levels = "▁▂▃▄▅▆▇█"
	glyphs := []rune(levels)
	peak := int64(0)
	for _, s := range samples {
		peak = max(peak, s.lagMs)
	}
	var b strings.Builder
	for _, s := range samples {
		k := 0
		if peak > 0 {
			k = int(s.lagMs * int64(len(glyphs)-1) / peak)
		}
		b.WriteRune(glyphs[max(0, min(k, len(glyphs)-1))])
	}
	return b.String()
}
