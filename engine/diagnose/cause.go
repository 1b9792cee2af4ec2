// Package diagnose decides why a region or a store is not healthy, from the
// evidence the engine keeps: a region's state, its oldest open transaction,
// its recent errors, its store's condition and PD's health (DESIGN §3,
// round 2). The engine calls it for every region when it builds a snapshot.
//
// It must never do I/O, start goroutines or read the clock: every function
// takes the time as an argument, so the whole decision table is tested
// without a cluster. It runs every publish over every region (100k today,
// 1M later), so deciding allocates nothing; only describing an unhealthy
// region or store builds a string.
//
// Times are unix nanoseconds (int64, 0 = never) rather than time.Time: the
// engine keeps several per region, and 24-byte time.Times add up at a
// million regions.
package diagnose

import "github.com/pulltop/pulltop/snapshots"

// Cause is why a region or a store is not healthy; the snapshot names
// (snapshots.Cause*) are its String.
type Cause uint8

// The causes, in snapshots.Causes() order.
const (
	Healthy Cause = iota
	Lock
	StoreDown
	StoreStalled
	StorePaused
	StoreCooling
	StoreBusy
	PDUnreachable
	RegionChurn
	ScanPending
	Silent
	Incompatible
	StoreSlow
	StoreFlapping
	StoreDraining
	StoreRemoved
	Lagging
	// NumCauses sizes arrays indexed by Cause.
	NumCauses
)

var causeNames = [NumCauses]string{
	Healthy:       snapshots.CauseHealthy,
	Lock:          snapshots.CauseLock,
	StoreDown:     snapshots.CauseStoreDown,
	StoreStalled:  snapshots.CauseStoreStalled,
	StorePaused:   snapshots.CauseStorePaused,
	StoreCooling:  snapshots.CauseStoreCooling,
	StoreBusy:     snapshots.CauseStoreBusy,
	PDUnreachable: snapshots.CausePDUnreachable,
	RegionChurn:   snapshots.CauseRegionChurn,
	ScanPending:   snapshots.CauseScanPending,
	Silent:        snapshots.CauseSilent,
	Incompatible:  snapshots.CauseIncompatible,
	StoreSlow:     snapshots.CauseStoreSlow,
	StoreFlapping: snapshots.CauseStoreFlapping,
	StoreDraining: snapshots.CauseStoreDraining,
	StoreRemoved:  snapshots.CauseStoreRemoved,
	Lagging:       snapshots.CauseLagging,
}

// String is the snapshot's name of the cause.
func (c Cause) String() string {
	if c < NumCauses {
		return causeNames[c]
	}
	return "unknown"
}

// ParseCause is the inverse of String.
func ParseCause(name string) (Cause, bool) {
	for c, n := range causeNames {
		if n == name {
			return Cause(c), true
		}
	}
	return Healthy, false
}
