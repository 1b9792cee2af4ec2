package sim

import (
	"bytes"
	"math"
	"math/rand"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/pingcap/kvproto/pkg/cdcpb"
)

// workload commits transactions at a target rate of rows per second: mostly
// 2PC (prewrite, then commit or, rarely, rollback) and some 1PC. It runs on
// one goroutine; the rate may be changed from any goroutine.
type workload struct {
	c    *Cluster
	rng  *rand.Rand
	rate atomic.Uint64 // math.Float64bits of rows/s
	seq  uint64
	// rows is how many distinct rows the workload writes, spread evenly over
	// the keyspace: like an OLTP workload it updates a bounded table, so
	// that (with MVCC GC) the sim's data stays bounded in a long run.
	rows int64
}

// workingSet is how many distinct rows the workload writes: at least 64Ki,
// and 4 per region so every region gets writes.
func workingSet(regions int) int64 { return max(1<<16, 4*int64(regions)) }

const workloadTick = 10 * time.Millisecond

func newWorkload(c *Cluster, seed int64, rate float64, rows int64) *workload {
	w := &workload{c: c, rng: rand.New(rand.NewSource(seed ^ 0x5eed)), rows: min(rows, maxPos)}
	w.setRate(rate)
	return w
}

// setRate changes the rate; a value outside [0, MaxWriteRate] (NaN, Inf)
// was refused at parse time and is clamped here all the same.
func (w *workload) setRate(rowsPerSec float64) {
	if math.IsNaN(rowsPerSec) {
		rowsPerSec = 0
	}
	w.rate.Store(math.Float64bits(min(max(0, rowsPerSec), MaxWriteRate)))
}

func (w *workload) currentRate() float64 { return math.Float64frombits(w.rate.Load()) }

func (w *workload) run(done <-chan struct{}) {
	t := time.NewTicker(workloadTick)
	defer t.Stop()
	last := time.Now()
	var owed float64
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			rate := w.currentRate()
			owed += rate * now.Sub(last).Seconds()
			last = now
			// Never try to catch up more than a tick's worth beyond a
			// tenth of a second: a loaded machine must not build a burst
			// that keeps this loop from seeing done.
			owed = min(owed, rate/10+1)
			if w.c.PDDown() {
				owed = 0 // TiDB cannot get a TSO: nothing commits
				continue
			}
			for n := 0; owed >= 1; n++ {
				if n%64 == 63 {
					select {
					case <-done:
						return
					default:
					}
				}
				owed -= float64(w.txn(int(min(owed, 4))))
			}
		}
	}
}

// txn commits one transaction of up to maxRows rows and returns how many
// rows it committed (at least 1 so the loop always progresses).
func (w *workload) txn(maxRows int) int {
	n := 1 + w.rng.Intn(maxRows)
	muts := make([]Mutation, n)
	for i := range muts {
		w.seq++
		op := cdcpb.Event_Row_PUT
		var value []byte
		if w.rng.Intn(10) == 0 {
			op = cdcpb.Event_Row_DELETE
		} else {
			value = strconv.AppendUint([]byte("v"), w.seq, 10)
		}
		muts[i] = Mutation{Key: posKey(w.rng.Int63n(w.rows) * (maxPos / w.rows)), Op: op, Value: value}
	}
	// A transaction writes a key once (TiDB merges its mutations).
	slices.SortFunc(muts, func(a, b Mutation) int { return bytes.Compare(a.Key, b.Key) })
	muts = slices.CompactFunc(muts, func(a, b Mutation) bool { return bytes.Equal(a.Key, b.Key) })
	if w.rng.Intn(4) == 0 {
		w.c.Commit1PC(muts)
		return n
	}
	startTs := w.c.CurrentTS()
	locked := w.c.Prewrite(startTs, muts)
	keys := make([][]byte, len(locked))
	for i, m := range locked {
		keys[i] = m.Key
	}
	if w.rng.Intn(50) == 0 {
		w.c.Rollback(startTs, keys)
		return n
	}
	w.c.Commit(startTs, w.c.CurrentTS(), keys)
	return n
}
