package engine

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/pulltop/pulltop/engine/reload"
	"github.com/pulltop/pulltop/engine/retry"
	"github.com/pulltop/pulltop/engine/storebackoff"
	"github.com/pulltop/pulltop/snapshots"
)

// newLoopless builds an engine without an event loop or a cluster, whose
// one store is paused: regions that lock their range park there, so a test
// can drive handleLocated page by page and look at the books.
func newLoopless(t *testing.T) (*Engine, *subscription) {
	t.Helper()
	e := &Engine{
		cfg:           Config{PD: []string{"127.0.0.1:2379"}, StaleAfter: time.Hour, ScansPerStore: 4},
		logger:        zap.NewNop(),
		locator:       &regionLocator{},
		sched:         retry.NewScheduler(retry.SystemClock(), retry.SchedulerOptions{}),
		storeCooldown: storebackoff.New(time.Now),
		agg:           reload.New(reload.Config{}),
		policy:        retry.NewPolicy(rand.NewPCG(1, 2)),
		regions:       map[regionKey]*regionState{},
		index:         newRegionIndex(),
		stores:        map[uint64]*storeInfo{},
		stats:         engineStats{errorsByReason: map[string]int64{}},
		log:           newEventLog(),
		tallies:       map[uint64]*storeTally{},
	}
	t.Cleanup(e.sched.Stop)
	e.learnStore(1, "127.0.0.1:20160")
	e.storeCooldown.Pause(1)
	sub := newSubscription(1, Span{Start: []byte("a"), End: []byte("z")}, 100)
	e.subs = []*subscription{sub}
	return e, sub
}

func loc(id uint64, start, end string) RegionLoc {
	return RegionLoc{ID: id, Start: []byte(start), End: []byte(end), Version: 2, ConfVer: 1,
		Leader: &metapb.Peer{Id: id + 1000, StoreId: 1}}
}

// TestLocatePagesDecideOldRecordsAcrossPages: a record waiting to reload
// [b, y) is split by PD into regions that come in two pages. The first page
// cannot tell whether the old record is gone (it reaches past the page):
// it must stay until the page that covers its end, and the new regions
// must all say they split from it.
func TestLocatePagesDecideOldRecordsAcrossPages(t *testing.T) {
	e, sub := newLoopless(t)
	old := newRegionState(sub, loc(7, "b", "y"))
	old.state = snapshots.StateReloadWait
	e.addRecord(old)

	span := Span{Start: []byte("b"), End: []byte("y")}
	task := rangeTask{sub: sub, span: span, reason: "reload"}
	prog := &locateProgress{gen: 1, span: span}
	e.handleLocated(task, []RegionLoc{loc(8, "b", "f"), loc(9, "f", "m")},
		&locatedPage{prog: prog, covered: Span{Start: []byte("b"), End: []byte("m")}}, nil)
	require.Same(t, old, e.regions[old.key()], "the old record reaches past the first page: not decided yet")
	require.Len(t, prog.carry, 1)

	e.handleLocated(task, []RegionLoc{loc(10, "m", "y")},
		&locatedPage{prog: prog, covered: Span{Start: []byte("m"), End: []byte("y")}, last: true}, nil)
	require.Nil(t, e.regions[old.key()], "superseded once its whole range is answered for")
	require.Equal(t, 3, e.index.len())
	for _, id := range []uint64{8, 9, 10} {
		r := e.regions[regionKey{1, id}]
		require.NotNil(t, r, "region %d", id)
		require.NotEmpty(t, r.lineage, "region %d", id)
		require.Equal(t, snapshots.Origin{Kind: "split", From: 7, At: r.lineage[0].At}, r.lineage[0], "region %d", id)
		require.Equal(t, snapshots.StateParked, r.state, "region %d locked its range and parked on the paused store", id)
	}
	require.Equal(t, 3, prog.found)
}

// TestLocatePagesErrorRetriesFromUndecided: PD fails after the first page.
// The retry must locate again from the old record's start, not from where
// PD failed, or a record reaching past the failure would never be decided.
func TestLocatePagesErrorRetriesFromUndecided(t *testing.T) {
	e, sub := newLoopless(t)
	old := newRegionState(sub, loc(7, "b", "y"))
	old.state = snapshots.StateReloadWait
	e.addRecord(old)

	span := Span{Start: []byte("b"), End: []byte("y")}
	task := rangeTask{sub: sub, span: span, reason: "reload"}
	prog := &locateProgress{gen: 1, span: span}
	e.handleLocated(task, []RegionLoc{loc(8, "b", "f")},
		&locatedPage{prog: prog, covered: Span{Start: []byte("b"), End: []byte("f")}}, nil)
	e.handleLocated(task, nil, &locatedPage{prog: prog, covered: Span{Start: []byte("f"), End: []byte("y")}, last: true},
		errPDRequest)
	pending := e.sched.Pending()
	require.Len(t, pending, 1)
	require.Equal(t, retry.Key{Subscription: 1, Start: "b", End: "y"}, pending[0].Key)
	require.Same(t, old, e.regions[old.key()])
	require.Equal(t, snapshots.StateRetryWait, old.state)
}

// TestRegionsInFindsOverlaps checks the index against a walk over every
// record, on tiled records with an old one left next to its successors.
func TestRegionsInFindsOverlaps(t *testing.T) {
	e, sub := newLoopless(t)
	for i, b := range [][2]string{{"a", "c"}, {"c", "e"}, {"e", "g"}, {"g", "k"}, {"k", "z"}} {
		e.addRecord(newRegionState(sub, loc(uint64(i+1), b[0], b[1])))
	}
	e.addRecord(newRegionState(sub, loc(20, "d", "h"))) // an old record overlapping three
	e.addRecord(newRegionState(sub, loc(21, "f", "g"))) // and a newer one inside it
	for _, q := range [][2]string{{"a", "z"}, {"b", "d"}, {"d", "e"}, {"f", "g"}, {"h", "i"}, {"x", "z"}, {"c", "c1"}, {"g", "k"}, {"g", "h"}, {"ga", "gb"}} {
		span := Span{Start: []byte(q[0]), End: []byte(q[1])}
		want := map[uint64]bool{}
		for _, r := range e.regions {
			if overlapsRange(r.start, r.end, q[0], q[1]) {
				want[r.id] = true
			}
		}
		got := map[uint64]bool{}
		for _, r := range e.regionsIn(sub, span) {
			got[r.id] = true
		}
		require.Equal(t, want, got, "span %v", q)
	}
}

// TestRegionIndexForgetsOverlapsThatEnded: once a split's old record is
// gone, its successors overlap nothing and must leave the wide set (or it
// grows with every split of a long run).
func TestRegionIndexForgetsOverlapsThatEnded(t *testing.T) {
	e, sub := newLoopless(t)
	old := newRegionState(sub, loc(1, "b", "y"))
	e.addRecord(old)
	children := []*regionState{newRegionState(sub, loc(2, "b", "f")), newRegionState(sub, loc(3, "f", "y"))}
	for _, c := range children {
		e.addRecord(c)
	}
	require.Len(t, e.index.wide, 3)
	e.forget(old)
	require.Empty(t, e.index.wide)
	require.Equal(t, []*regionState{children[1]}, e.regionsIn(sub, Span{Start: []byte("g"), End: []byte("h")}))
}
