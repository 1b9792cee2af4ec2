package engine

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/pulltop/pulltop/engine/reload"
	"github.com/pulltop/pulltop/engine/storebackoff"
	"github.com/pulltop/pulltop/snapshots"
)

// PauseStore deregisters every region on the store and parks every task for
// it until ResumeStore: a cooldown with no end.
func (e *Engine) PauseStore(storeID uint64) error {
	var result error
	err := e.do(func() {
		st := e.stores[storeID]
		if st == nil {
			result = fmt.Errorf("unknown store %d", storeID)
			e.recordAction("pause-store", fmt.Sprintf("store %d", storeID), result.Error())
			return
		}
		e.storeCooldown.Pause(storeID)
		parked := 0
		for _, r := range e.regions {
			if r.storeID != storeID || r.lock == nil {
				continue
			}
			switch {
			case r.worker != nil:
				e.deregister(r)
			case r.state == snapshots.StateQueued:
				// waiting for a scan slot on this store: park it instead
			case r.state == snapshots.StateParked:
			default:
				continue
			}
			e.park(r, st, storebackoff.NoEnd, time.Now())
			parked++
		}
		st.admission = nil
		e.recordAction("pause-store", storeTarget(st), fmt.Sprintf("ok: %d regions parked", parked))
	})
	if err != nil {
		return err
	}
	return result
}

// ResumeStore ends a pause; parked regions go through the normal path again.
func (e *Engine) ResumeStore(storeID uint64) error {
	var result error
	err := e.do(func() {
		st := e.stores[storeID]
		if st == nil {
			result = fmt.Errorf("unknown store %d", storeID)
			e.recordAction("resume-store", fmt.Sprintf("store %d", storeID), result.Error())
			return
		}
		e.storeCooldown.Resume(storeID)
		n := len(st.parked)
		e.unpark(st)
		e.recordAction("resume-store", storeTarget(st), fmt.Sprintf("ok: %d regions dispatched", n))
	})
	if err != nil {
		return err
	}
	return result
}

// ForceReloadRegion drops a region from its store (per-region Deregister)
// and reloads its range through the aggregator, so the operator watches it
// merge, re-locate and initialize again.
func (e *Engine) ForceReloadRegion(sub, regionID uint64) error {
	var result error
	err := e.do(func() {
		target := fmt.Sprintf("region %d (subscription %d)", regionID, sub)
		r := e.regions[regionKey{sub, regionID}]
		if r == nil {
			result = fmt.Errorf("unknown region %d in subscription %d", regionID, sub)
			e.recordAction("force-reload", target, result.Error())
			return
		}
		e.forceReload(r)
		e.addReload(r.sub, r.span(), reload.High, snapshots.ReasonForceReload)
		e.recordAction("force-reload", target, "ok: reload queued")
	})
	if err != nil {
		return err
	}
	return result
}

// ForceReloadSpan force-reloads every region of the subscription that
// overlaps [start, end) (hex of memcomparable keys; empty end = +inf).
func (e *Engine) ForceReloadSpan(sub uint64, startHex, endHex string) error {
	start, err1 := hex.DecodeString(startHex)
	end, err2 := hex.DecodeString(endHex)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("force reload: span keys must be hex, got %q..%q", startHex, endHex)
	}
	var result error
	err := e.do(func() {
		target := fmt.Sprintf("span %s (subscription %d)", Span{Start: start, End: end}, sub)
		s := e.subByID(sub)
		if s == nil {
			result = fmt.Errorf("unknown subscription %d", sub)
			e.recordAction("force-reload", target, result.Error())
			return
		}
		span := Span{Start: start, End: end}
		// Exact, whatever overlaps: an operator's reload is rare enough
		// for a walk over every record.
		var regions []*regionState
		for _, r := range e.regions {
			if r.sub == s && overlapsRange(r.start, r.end, string(span.Start), string(span.End)) {
				regions = append(regions, r)
			}
		}
		for _, r := range regions {
			e.forceReload(r)
		}
		e.addReload(s, span, reload.High, snapshots.ReasonForceReload)
		e.recordAction("force-reload", target, fmt.Sprintf("ok: %d regions reloading", len(regions)))
	})
	if err != nil {
		return err
	}
	return result
}

// ForceReloadRegions force-reloads exactly the given regions of a
// subscription (the ones the operator's filter matched): each is
// deregistered and its own range reloaded, and the aggregator merges only
// ranges that touch, so no region between them is disturbed. A region that
// split or merged away since the operator's snapshot is reported, not
// guessed at.
func (e *Engine) ForceReloadRegions(sub uint64, regionIDs []uint64) error {
	var result error
	err := e.do(func() {
		target := fmt.Sprintf("%s (subscription %d)", regionList(regionIDs), sub)
		s := e.subByID(sub)
		if s == nil {
			result = fmt.Errorf("unknown subscription %d", sub)
			e.recordAction("force-reload", target, result.Error())
			return
		}
		reloading, gone := 0, 0
		for _, id := range regionIDs {
			r := e.regions[regionKey{sub, id}]
			if r == nil {
				gone++
				continue
			}
			e.forceReload(r)
			e.addReload(s, r.span(), reload.High, snapshots.ReasonForceReload)
			reloading++
		}
		text := fmt.Sprintf("ok: %d regions reloading", reloading)
		if gone > 0 {
			text += fmt.Sprintf("; %d no longer exist (split or merged since): not reloaded", gone)
		}
		if reloading == 0 && gone > 0 {
			result = fmt.Errorf("none of the %d regions exists any more (split or merged since); look again", gone)
			text = result.Error()
		}
		e.recordAction("force-reload", target, text)
	})
	if err != nil {
		return err
	}
	return result
}

// regionList names up to five regions and says how many there are.
func regionList(ids []uint64) string {
	if len(ids) == 1 {
		return fmt.Sprintf("region %d", ids[0])
	}
	var b []byte
	for i, id := range ids[:min(len(ids), 5)] {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendUint(b, id, 10)
	}
	if len(ids) > 5 {
		b = append(b, ", …"...)
	}
	return fmt.Sprintf("%d regions (%s)", len(ids), b)
}

func (e *Engine) forceReload(r *regionState) {
	if r.retryKey != retryKeyZero {
		e.sched.Cancel(r.retryKey)
		r.retryKey = retryKeyZero
	}
	e.deregister(r) // detaches; tells the store only if r was on a stream
	e.unlock(r)
	if st := e.stores[r.storeID]; st != nil {
		delete(st.parked, r)
	}
	r.waitingLock = false
	// Its last error stays the last error it had (y e copies it, issue
	// 27): the reload is an action, in the Actions view and the log.
	r.state = snapshots.StateReloadWait
	e.markDirty(r)
}

func storeTarget(st *storeInfo) string {
	return fmt.Sprintf("store %d (%s)", st.id, st.addr)
}

func (e *Engine) recordAction(action, target, result string) {
	e.logger.Info("operator action", zap.String("action", action), zap.String("target", target), zap.String("result", result))
	e.actions = append(e.actions, snapshots.Action{At: time.Now().UTC(), Action: action, Target: target, Result: result})
	e.log.add(time.Now(), snapshots.LogAction, target, action+": "+result, "")
	if len(e.actions) > maxActions {
		e.actions = e.actions[len(e.actions)-maxActions:]
	}
	e.publish(time.Now())
}
