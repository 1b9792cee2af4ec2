package engine

import (
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"github.com/stretchr/testify/require"
	"github.com/tikv/client-go/v2/oracle"

	"github.com/pulltop/pulltop/engine/diagnose"
	"github.com/pulltop/pulltop/snapshots"
)

// A lock on a store of 8 regions or fewer: TiKV resolves the store's one
// batch at the lock's start ts. The round after the lock is taken, that
// start ts is newer than the store's last resolved ts, so the batch moves
// the store's newest resolved ts, and it arrives up to an interval after
// the lock began (later under load). That is the lock's age, not the
// store's speed: the store must not read slow (TestStoryLockInTmux saw
// store_slow on a loaded CI machine for ~60 captures in a row).
//
// PD's clock is moved forward through clockOffset instead of sleeping: the
// engine reads lateness as PD's now minus the batch's physical ts.
func TestLockBatchIsNotStoreSlowness(t *testing.T) {
	e := newPublishEngine(t, 24) // 8 regions on each of 3 stores
	workers := make([]*streamWorker, 3)
	batches := make([][]uint64, 3)
	byStore := make([][]*regionState, 3)
	for i := range workers {
		workers[i] = &streamWorker{e: e, storeID: uint64(i + 1), deregPending: map[dsKey]bool{}}
		workers[i].connected.Store(true)
		e.stores[uint64(i+1)].worker = workers[i]
	}
	for _, r := range e.regions {
		r.state, r.initialized = snapshots.StateInitialized, true
		w := workers[r.storeID-1]
		w.regions.set(r.sub.id, r.id, r)
		r.worker = w
		batches[r.storeID-1] = append(batches[r.storeID-1], r.id)
		byStore[r.storeID-1] = append(byStore[r.storeID-1], r)
	}
	round := func(store int, ts uint64) {
		e.handleEvent(workers[store], &cdcpb.ChangeDataEvent{ResolvedTs: &cdcpb.ResolvedTs{Regions: batches[store], Ts: ts, RequestId: 1}})
		workers[store].lastRecv.Store(time.Now().UnixNano())
	}
	pdNow := func() time.Time { return time.Now().Add(e.clockOffset) }

	// Timely rounds on every store, 50ms late.
	for s := range workers {
		round(s, oracle.GoTimeToTS(pdNow().Add(-50*time.Millisecond)))
	}
	// A transaction prewrites in a region of store 1 right after.
	lockTs := oracle.GoTimeToTS(pdNow())
	locked := byStore[0][3]
	locked.matcher.Prewrite(&cdcpb.Event_Row{StartTs: lockTs, Type: cdcpb.Event_PREWRITE, OpType: cdcpb.Event_Row_PUT, Key: []byte("k"), Value: []byte("v")})

	// 1.45s of PD's time later the next round comes: stores 2 and 3 at
	// their TSO, store 1's one batch at the lock's start ts.
	e.clockOffset += 1450 * time.Millisecond
	for s := 1; s < 3; s++ {
		round(s, oracle.GoTimeToTS(pdNow().Add(-50*time.Millisecond)))
	}
	round(0, lockTs)

	now := time.Now()
	e.diagBegin(now)
	ev := e.diag.stores[1].ev
	ev.Regions, ev.Advancing = 8, 8
	ev.Decide(&e.diag.pd, now.UnixNano())
	require.NotEqual(t, diagnose.StoreSlow, ev.Cause, "a lock's batch read as store 1's slowness: late %dms, others %dms", ev.LateMs, ev.OthersLateMs)
	require.False(t, ev.MaybeSlow(), "late %dms, others %dms", ev.LateMs, ev.OthersLateMs)
	require.NotZero(t, ev.ResolvedAt, "the lock's batch still shows the stream alive")

	// A store that really turns slow still does: store 2's next batch
	// arrives 1.5s late while the others keep time.
	e.clockOffset += 1500 * time.Millisecond
	round(2, oracle.GoTimeToTS(pdNow().Add(-50*time.Millisecond)))
	round(1, oracle.GoTimeToTS(pdNow().Add(-1500*time.Millisecond)))
	now = time.Now()
	e.diagBegin(now)
	slow := e.diag.stores[2].ev
	slow.Regions, slow.Advancing = 8, 8
	slow.Decide(&e.diag.pd, now.UnixNano())
	require.Equal(t, diagnose.StoreSlow, slow.Cause, "late %dms, others %dms", slow.LateMs, slow.OthersLateMs)
}
