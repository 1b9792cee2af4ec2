package engine

import (
	"strconv"

	"github.com/pulltop/pulltop/snapshots"
)

// progressState is how far the engine is from pulling everything: the
// first thing an operator needs at a million regions, where locating and
// scanning take a while. Owned by the event loop.
type progressState struct {
	locatingSpans int             // initial lookups still paging through PD
	retryingSpans int             // initial lookups waiting to retry after a PD error
	located       int             // regions the initial lookups found so far
	scanned       int             // records whose initial scan finished once
	streaming     bool            // every region was scanned once: the phase stays streaming
	started       bool            // the first lookups began (before: connecting)
	stores        map[uint64]bool // leader stores of the regions located at first
	announced     bool            // Config.AfterLocate was called
}

// located notes a page of the subscriptions' first lookups.
func (p *progressState) noteLocated(page []RegionLoc) {
	p.located += len(page)
	if p.stores == nil {
		p.stores = map[uint64]bool{}
	}
	for _, loc := range page {
		if loc.Leader != nil {
			p.stores[loc.Leader.GetStoreId()] = true
		}
	}
}

// locateDone tells whether the first lookups are all done.
func (p *progressState) locateDone() bool { return p.locatingSpans == 0 && p.retryingSpans == 0 }

// announce calls Config.AfterLocate once, when the first lookups are done.
func (e *Engine) announce() {
	p := &e.progress
	if p.announced || !p.locateDone() || e.cfg.AfterLocate == nil {
		return
	}
	p.announced = true
	e.cfg.AfterLocate(Preview{Regions: p.located, Stores: len(p.stores), ClusterID: e.locator.clusterID, PD: e.cfg.PD,
		ScansPerStore: e.cfg.ScansPerStore, OldValue: e.cfg.OldValue})
}

// fill sets the snapshot's progress for regions records (the phase only
// moves forward: a split after start-up does not send it back to scanning).
func (p *progressState) fill(out *snapshots.Progress, regions int, stopped bool) {
	out.Located, out.Scanned = p.located, p.scanned
	switch {
	case stopped:
		out.Phase = snapshots.PhaseStopped
		out.Detail = "stopped"
	case !p.started:
		// Nothing located yet: "every region scanned" would be vacuously
		// true, and the phase must not jump to streaming for good.
		out.Phase = snapshots.PhaseConnecting
		out.Detail = "connecting"
	case p.locatingSpans > 0 || p.retryingSpans > 0:
		out.Phase = snapshots.PhaseLocating
		out.Detail = "locating regions in PD: " + countText(p.located) + " so far"
		if p.retryingSpans > 0 && p.locatingSpans == 0 {
			out.Detail += ", waiting to retry"
		}
		if p.scanned > 0 {
			out.Detail += "; initial scans " + countText(p.scanned) + "/" + countText(regions)
		}
	case !p.streaming && p.scanned < regions:
		out.Phase = snapshots.PhaseScanning
		out.Detail = "initial scans " + countText(p.scanned) + "/" + countText(regions)
	default:
		p.streaming = true
		out.Phase = snapshots.PhaseStreaming
		out.Detail = "streaming " + countText(regions) + " regions"
	}
}

// countText renders a region count for a progress line: 950, 12.3k, 340k,
// 1.2M, 1M.
func countText(n int) string {
	switch {
	case n < 1000:
		return strconv.Itoa(n)
	case n < 100_000:
		return trimZero(strconv.FormatFloat(float64(n)/1000, 'f', 1, 64)) + "k"
	case n < 1_000_000:
		return strconv.Itoa(n/1000) + "k"
	default:
		return trimZero(strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64)) + "M"
	}
}

func trimZero(s string) string {
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		return s[:len(s)-2]
	}
	return s
}
