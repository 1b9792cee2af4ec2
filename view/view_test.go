package view

import (
	"fmt"
	"testing"
	"time"

	"github.com/pulltop/pulltop/snapshots"
)

func region(id uint64, state string) snapshots.Region {
	return snapshots.Region{ID: id, Subscription: 1, Start: fmt.Sprintf("%08x", id), End: fmt.Sprintf("%08x", id+1),
		StoreID: 1 + id%3, State: state, Cause: "healthy"}
}

// A version does not see what was put after it, and shares the chunks
// nothing was written to.
func TestVersionsAreImmutableAndShareChunks(t *testing.T) {
	b := NewBuilder()
	handles := make([]int32, 1000)
	for i := range handles {
		r := region(uint64(i+1), snapshots.StateInitialized)
		b.Put(&handles[i], &r)
		b.SetMoving(handles[i], uint64(1000+i)<<18, 5, 7)
	}
	now := time.UnixMilli(2000)
	v1 := b.Publish(now)
	r := region(500, snapshots.StateStale)
	b.Put(&handles[499], &r)
	b.SetMoving(handles[499], 1<<18, 9, 8)
	v2 := b.Publish(now)

	if got := v1.Static(int(handles[499] - 1)).State; got != snapshots.StateInitialized {
		t.Fatalf("v1 sees %q after v2's put", got)
	}
	if got := v2.Static(int(handles[499] - 1)).State; got != snapshots.StateStale {
		t.Fatalf("v2: %q", got)
	}
	if v1.Events(499) != 7 || v2.Events(499) != 8 || v2.LagMs(499) != 1999 || v1.LagMs(0) != 1000 {
		t.Fatalf("moving parts: %d %d %d %d", v1.Events(499), v2.Events(499), v2.LagMs(499), v1.LagMs(0))
	}
	shared := 0
	for c := range v1.static {
		if v1.static[c] == v2.static[c] {
			shared++
		}
	}
	if want := len(v1.static) - 1; shared != want {
		t.Fatalf("%d of %d chunks shared, want %d", shared, len(v1.static), want)
	}
	if v2.StateCounts()[snapshots.StateStale] != 1 || v2.StateCounts()[snapshots.StateInitialized] != 999 || v1.StateCounts()[snapshots.StateStale] != 0 {
		t.Fatalf("counts v1 %v v2 %v", v1.StateCounts(), v2.StateCounts())
	}
	ch, ok := v2.ChangesSince(v1.Seq())
	if !ok || len(ch) != 1 || ch[0].Slot != handles[499]-1 || ch[0].Gone {
		t.Fatalf("changes since v1: %v %v", ch, ok)
	}
}

// Removing a region moves the last row into its place and updates that
// region's handle; readers learn of both from the change log.
func TestRemoveKeepsRowsDense(t *testing.T) {
	b := NewBuilder()
	handles := make([]int32, 100)
	for i := range handles {
		r := region(uint64(i+1), snapshots.StateInitialized)
		b.Put(&handles[i], &r)
		b.SetMoving(handles[i], uint64(i), 0, uint64(i))
	}
	v1 := b.Publish(time.Now())
	b.Remove(&handles[10])
	v2 := b.Publish(time.Now())
	if handles[10] != 0 || v2.Len() != 99 || handles[99] != 11 {
		t.Fatalf("handle %d len %d last's handle %d", handles[10], v2.Len(), handles[99])
	}
	if got := v2.Static(10).ID; got != 100 || v2.Events(10) != 99 {
		t.Fatalf("row 10 holds %d (events %d), want region 100", got, v2.Events(10))
	}
	ch, ok := v2.ChangesSince(v1.Seq())
	if !ok || len(ch) != 2 || !ch[0].Gone || ch[0].Key.ID != 11 || ch[1].Slot != 10 {
		t.Fatalf("changes: %+v", ch)
	}
	rows := (&snapshots.State{Table: v2}).Rows()
	if len(rows) != 99 || rows[10].ID != 12 || rows[98].ID != 100 {
		t.Fatalf("rows not in key order: %d, [10]=%d", len(rows), rows[10].ID)
	}
}

// Strings reach readers cleaned.
func TestPutCleans(t *testing.T) {
	b := NewBuilder()
	var h int32
	r := region(1, snapshots.StateRetryWait)
	r.LastError = "bad\x1b[2Jerror"
	b.Put(&h, &r)
	v := b.Publish(time.Now())
	if got := v.Static(0).LastError; snapshots.NeedsCleaning(got) {
		t.Fatalf("uncleaned %q", got)
	}
}

// A reader further behind than the log is told to read everything.
func TestChangesSinceTooOld(t *testing.T) {
	b := NewBuilder()
	b.logKeep = 4
	handles := make([]int32, 10)
	v0 := b.Publish(time.Now())
	for i := range handles {
		r := region(uint64(i+1), snapshots.StateQueued)
		b.Put(&handles[i], &r)
	}
	b.Publish(time.Now())
	v2 := b.Publish(time.Now())
	if _, ok := v2.ChangesSince(v0.Seq()); ok {
		t.Fatal("a trimmed log answered")
	}
	if ch, ok := v2.ChangesSince(v2.Seq()); !ok || len(ch) != 0 {
		t.Fatalf("since itself: %v %v", ch, ok)
	}
}
