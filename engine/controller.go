package engine

import (
	"encoding/hex"
	"fmt"
	"time"

	"go.uber.org/zap"

	"pulltop/engine/reload"
	"pulltop/engine/storebackoff"
	"pulltop/snapshots"
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
		regions := e.regionsIn(s, span)
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
	r.state = snapshots.StateReloadWait
	r.lastError = "force reload by operator"
}

func storeTarget(st *storeInfo) string {
	return fmt.Sprintf("store %d (%s)", st.id, st.addr)
}

func (e *Engine) recordAction(action, target, result string) {
	e.logger.Info("operator action", zap.String("action", action), zap.String("target", target), zap.String("result", result))
	e.actions = append(e.actions, snapshots.Action{At: time.Now().UTC(), Action: action, Target: target, Result: result})
	if len(e.actions) > maxActions {
		e.actions = e.actions[len(e.actions)-maxActions:]
	}
	e.publish(time.Now())
}
