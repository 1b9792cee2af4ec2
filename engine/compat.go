package engine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"

	"github.com/pulltop/pulltop/engine/diagnose"
	"github.com/pulltop/pulltop/snapshots"
)

// MinTiKVVersion is the oldest TiKV pulltop subscribes to: TiCDC's minimum
// (version.CheckStoreVersion). Older stores lack EventFeedV2 (before 7.3) or
// the per-region Deregister the engine relies on (7.3).
const MinTiKVVersion = "7.5.0"

// ErrIncompatibleStore marks a store pulltop cannot pull from; the engine
// stops with it rather than retry forever.
var ErrIncompatibleStore = errors.New("incompatible TiKV store")

// isTiFlash reports whether PD lists the store as TiFlash (label
// engine=tiflash): it serves no change data and is skipped, as TiCDC does.
func isTiFlash(s *metapb.Store) bool {
	for _, l := range s.GetLabels() {
		if l.GetKey() == "engine" && l.GetValue() == "tiflash" {
			return true
		}
	}
	return false
}

// parseRelease reads "v7.5.0", "7.5.0-alpha", "8.1.2+build" as
// (major, minor, patch); ok is false for anything else.
func parseRelease(v string) (r [3]int, ok bool) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return r, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return r, false
		}
		r[i] = n
	}
	return r, true
}

func releaseLess(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// checkTiKVVersion refuses a TiKV store older than MinTiKVVersion. A version
// PD does not report, or that does not parse, is let through: the stream
// itself will tell (EventFeedV2 Unimplemented).
func checkTiKVVersion(s *metapb.Store) error {
	got, ok := parseRelease(s.GetVersion())
	if !ok {
		return nil
	}
	min, _ := parseRelease(MinTiKVVersion)
	if releaseLess(got, min) {
		return fmt.Errorf("%w: store %d (%s) runs TiKV %s; pulltop needs TiKV %s or newer (as TiCDC does)",
			ErrIncompatibleStore, s.GetId(), s.GetAddress(), s.GetVersion(), MinTiKVVersion)
	}
	return nil
}

// noEventFeedV2 is the error for a store that answered EventFeedV2 with
// Unimplemented: a TiKV before 7.3, whatever PD says.
func noEventFeedV2(storeID uint64, addr, version string, cause error) error {
	if version == "" {
		version = "unknown"
	}
	return fmt.Errorf("%w: store %d (%s) does not serve EventFeedV2 (TiKV version %s; it exists from 7.3.0): pulltop needs TiKV %s or newer (as TiCDC does): %v",
		ErrIncompatibleStore, storeID, addr, version, MinTiKVVersion, cause)
}

// learnStoreMeta records what PD says of a store and refuses an
// incompatible one. TiFlash stores are skipped.
func (e *Engine) learnStoreMeta(s *metapb.Store) {
	if isTiFlash(s) {
		return
	}
	st := e.learnStore(s.GetId(), s.GetAddress())
	st.metaSeen = true
	st.listed, st.unlisted = true, false
	if state := pdStoreState(s); state != st.pdState {
		st.pdState, st.pdStateSince = state, time.Now().UnixNano()
	}
	st.version = snapshots.CleanString(s.GetVersion()) // PD's words: text from outside
	if err := checkTiKVVersion(s); err != nil {
		st.incompatible = err.Error() // its condition in the last snapshot
		e.fatal(err)
	}
}

// pdStoreState is a store's state in PD's words (diagnose.PDStore*), from
// either generation of PD's store state (the legacy StoreState or the
// newer NodeState, whose zero value is Preparing).
func pdStoreState(s *metapb.Store) string {
	switch {
	case s.GetState() == metapb.StoreState_Tombstone || s.GetNodeState() == metapb.NodeState_Removed:
		return diagnose.PDStoreTombstone
	case s.GetState() == metapb.StoreState_Offline || s.GetNodeState() == metapb.NodeState_Removing:
		return diagnose.PDStoreOffline
	}
	return diagnose.PDStoreUp
}

// noteUnlisted marks the stores PD listed before and no longer does: PD
// leaves tombstones out of the list pulltop asks for, so a store that
// vanishes from it was removed.
func (e *Engine) noteUnlisted(seen map[uint64]bool) {
	for id, st := range e.stores {
		if st.listed && !seen[id] && !st.unlisted {
			st.unlisted = true
			st.pdState, st.pdStateSince = diagnose.PDStoreTombstone, time.Now().UnixNano()
		}
	}
}
