package ui

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"pulltop/snapshots"
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
	board causeBoard
	// timeline is the line about the incident timeline (set per frame).
	timeline string
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
	v.regionStates = make(map[string]int)
	for i := range v.s.Regions {
		v.regionStates[v.s.Regions[i].State]++
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

// lines renders the overview body, one string per line.
func (v *overviewView) lines(lag []lagSample, width int) []string {
	v.count()
	s := v.s
	th := v.ctx.theme
	var out []string
	add := func(label, text string) {
		out = append(out, " "+th.Section.render(fit(label, 14))+" "+text)
	}
	if s == nil {
		return []string{" waiting for the first snapshot…"}
	}

	src := "PD " + strings.Join(s.Source.PD, ",")
	if len(s.Source.PD) == 0 {
		src = "PD -"
	}
	if s.Source.EmbeddedSim {
		src += " (embedded simulated cluster)"
	}
	add("Cluster", "id "+strconv.FormatUint(s.Source.ClusterID, 10)+"  "+src)
	if s.Source.PDError != "" {
		// PD away: streams keep flowing, but nothing new can be located and
		// the lag of every waiting region grows; say so before the numbers.
		text := "NOT ANSWERING"
		if !s.Source.PDErrorSince.IsZero() {
			text += " since " + s.Source.PDErrorSince.In(v.loc).Format("15:04:05")
		}
		add("PD", th.FlashError.render(text)+": "+s.Source.PDError+" (streams go on; region lookups wait)")
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
	// Why before how much: the causes board comes first.
	out = append(out, v.boardLines(width)...)
	if v.timeline != "" {
		add("Timeline", v.timeline)
	}
	out = append(out, "")
	add("Subscriptions", strconv.Itoa(len(s.Subscriptions))+" ("+strconv.Itoa(v.subsInit)+" initialized)")
	add("Stores", strconv.Itoa(len(s.Stores))+" total: "+countWords(v.storeStates, snapshots.StoreStates(), storeStateWord))
	add("Regions", strconv.Itoa(len(s.Regions))+" total, "+strconv.Itoa(s.Totals.Initialized)+" initialized, "+
		strconv.Itoa(s.Totals.Stale)+" stale")
	add("", countWords(v.regionStates, snapshots.RegionStates(), regionStateWord))
	add("Events", strconv.FormatUint(s.Totals.Events, 10)+" delivered, "+fmtRate(s.Totals.EventsPerSec)+"/s")

	lagText := "max " + fmtDur(s.Totals.ResolvedLagMaxMs)
	if len(lag) > 1 {
		n := min(len(lag), max(8, width-60))
		lag = lag[len(lag)-n:]
		peak := int64(0)
		for _, l := range lag {
			peak = max(peak, l.lagMaxMs)
		}
		lagText += "   " + sparkline(lag) + "   last " + strconv.Itoa(len(lag)) + " snapshots, peak " + fmtDur(peak)
	}
	add("Resolved lag", lagText)
	add("Retries", strconv.Itoa(len(s.Retries))+" waiting, "+strconv.FormatUint(s.Totals.RetriesFired, 10)+" fired")
	add("Reloads", strconv.Itoa(len(s.Reloads))+" spans waiting, "+strconv.FormatUint(s.Totals.ReloadsFlushed, 10)+
		" flushed, "+strconv.FormatUint(s.Totals.ReloadSpansMerged, 10)+" spans merged")
	add("Region reqs", strconv.FormatUint(s.Totals.RegionRequests, 10)+" sent")
	if s.Sim != nil {
		text := strconv.FormatUint(s.Sim.CommittedRows, 10) + " rows committed, " +
			strconv.FormatUint(s.Sim.MissingRows, 10) + " missing"
		if s.Sim.MissingRows > 0 {
			text = th.FlashError.render("ROWS MISSING: " + text)
		}
		add("Sim truth", text)
	}

	out = append(out, "")
	out = append(out, " "+th.ColHeader.render(fit("ERRORS BY REASON", 24)+"     TOTAL   RATE/S"))
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
		out = append(out, string(b))
	}

	if len(s.Subscriptions) > 0 {
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
	return out
}

// countWords renders "UP 2  COOLDOWN 1 …" in the canonical state order,
// then any state this build does not know.
func countWords(counts map[string]int, order []string, word func(string) string) string {
	var parts []string
	for _, st := range order {
		parts = append(parts, word(st)+" "+strconv.Itoa(counts[st]))
	}
	for _, st := range slices.Sorted(maps.Keys(counts)) {
		if !slices.Contains(order, st) {
			parts = append(parts, word(st)+" "+strconv.Itoa(counts[st]))
		}
	}
	return strings.Join(parts, "  ")
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
		peak = max(peak, s.lagMaxMs)
	}
	var b strings.Builder
	for _, s := range samples {
		k := 0
		if peak > 0 {
			k = int(s.lagMaxMs * int64(len(glyphs)-1) / peak)
		}
		b.WriteRune(glyphs[max(0, min(k, len(glyphs)-1))])
	}
	return b.String()
}
