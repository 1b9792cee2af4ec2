package sim

import (
	"sync"
	"time"
)

// logicalBits is how TiDB timestamps split: physical milliseconds << 18 |
// logical counter.
const logicalBits = 18

// tsoOracle hands out strictly increasing timestamps. It keeps a high-water
// mark so that a wall clock that steps back never makes a timestamp fall back
// (the real pd client panics on a fallback). Safe for concurrent use.
type tsoOracle struct {
	mu       sync.Mutex
	now      func() time.Time
	physical int64 // ms
	logical  int64
}

func newTSOOracle(now func() time.Time) *tsoOracle {
	return &tsoOracle{now: now}
}

// alloc reserves count timestamps and returns the last one, as PD's Tso RPC
// does.
func (o *tsoOracle) alloc(count uint32) (physical, logical int64) {
	if count == 0 {
		count = 1
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	wall := o.now().UnixMilli()
	if wall > o.physical {
		o.physical, o.logical = wall, 0
	}
	if o.logical+int64(count) >= 1<<logicalBits {
		// Logical overflow: borrow the next millisecond, like PD does.
		o.physical++
		o.logical = 0
	}
	o.logical += int64(count)
	return o.physical, o.logical
}

// peek returns the physical time the next timestamp would carry, without
// allocating one.
func (o *tsoOracle) peek() (physical int64, logical int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return max(o.now().UnixMilli(), o.physical), o.logical
}

// next returns one fresh timestamp in composed form.
func (o *tsoOracle) next() uint64 {
	p, l := o.alloc(1)
	return composeTS(p, l)
}

func composeTS(physical, logical int64) uint64 {
	return uint64(physical)<<logicalBits | uint64(logical)
}

// TSPhysical returns the wall-clock time of a composed timestamp.
func TSPhysical(ts uint64) time.Time {
	return time.UnixMilli(int64(ts >> logicalBits))
}
