package sim

import (
	"time"

	"github.com/pingcap/kvproto/pkg/cdcpb"
)

// MVCC garbage collection, as TiKV's GC worker does below the GC safe point:
// of the versions older than the safe point only the newest is kept, and
// only if it is a PUT (a key whose newest old version is a delete is gone).
// It is what keeps the sim's data bounded in a long run, and why a scan from
// a checkpoint below the safe point returns incomplete data (issue 12's
// --start-ts check).

// gcInterval is how often the sim collects: a tenth of the safe point's lag
// (a minute by default; TiKV runs GC every 10 minutes), at least a second,
// so that a pass over 100k regions stays a small cost.
func (c *Cluster) gcInterval() time.Duration {
	return min(max(c.gcSafePointLag/10, time.Second), time.Minute)
}

// gcChunk is how many regions one pass handles per hold of the model lock.
const gcChunk = 256

func (c *Cluster) runGC(done <-chan struct{}) {
	t := time.NewTicker(c.gcInterval())
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			c.collect(c.GCSafePoint(), done)
		}
	}
}

// collect runs one GC pass at safePoint over every region, a chunk at a
// time.
func (c *Cluster) collect(safePoint uint64, done <-chan struct{}) {
	if safePoint == 0 {
		return
	}
	c.mu.Lock()
	regions := append([]*region(nil), c.regions...)
	c.mu.Unlock()
	for i := 0; i < len(regions); i += gcChunk {
		select {
		case <-done:
			return
		default:
		}
		c.mu.Lock()
		for _, r := range regions[i:min(i+gcChunk, len(regions))] {
			if c.byID[r.id] != r {
				continue // merged away meanwhile
			}
			for raw, mk := range r.keys {
				if gcKey(mk, safePoint) {
					delete(r.keys, raw)
				}
			}
		}
		c.mu.Unlock()
	}
}

// gcKey drops mk's versions made obsolete by safePoint; true when nothing
// is left of the key.
func gcKey(mk *mvccKey, safePoint uint64) bool {
	i := 0
	for i < len(mk.writes) && mk.writes[i].commitTs < safePoint {
		i++
	}
	keep := i
	if i > 0 && mk.writes[i-1].op == cdcpb.Event_Row_PUT {
		keep = i - 1 // the value visible at the safe point
	}
	if keep > 0 {
		mk.writes = append([]mvccWrite(nil), mk.writes[keep:]...)
	}
	return len(mk.writes) == 0 && mk.lock == nil
}
