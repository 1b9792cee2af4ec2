package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/engine/reload"
	"github.com/pulltop/pulltop/snapshots"
)

func TestHistoryKeepsTheNewestOldestFirst(t *testing.T) {
	h := newHistory[int](3)
	require.Nil(t, h.snapshot(), "empty")
	var seqs []uint64
	for v := 1; v <= 5; v++ {
		seqs = append(seqs, h.add(v))
	}
	require.Equal(t, []uint64{1, 2, 3, 4, 5}, seqs)
	require.Equal(t, 3, h.len())
	require.Equal(t, []int{3, 4, 5}, h.snapshot())

	// An update reaches a row still kept, and only that one.
	h.update(seqs[3], func(v *int) { *v = 40 })
	h.update(seqs[0], func(v *int) { *v = 10 }) // dropped: its slot holds row 4
	h.update(0, func(v *int) { *v = -1 })       // "no row"
	require.Equal(t, []int{3, 40, 5}, h.snapshot())
}

func TestHistorySnapshotsAreSharedUntilAChange(t *testing.T) {
	h := newHistory[int](4)
	h.add(1)
	h.add(2)
	a := h.snapshot()
	b := h.snapshot()
	require.Same(t, &a[0], &b[0], "an unchanged history is not copied again")

	h.add(3)
	c := h.snapshot()
	require.Equal(t, []int{1, 2}, a, "a published copy never changes")
	require.Equal(t, []int{1, 2, 3}, c)

	h.update(2, func(v *int) { *v = 20 })
	d := h.snapshot()
	require.Equal(t, []int{1, 2, 3}, c)
	require.Equal(t, []int{1, 20, 3}, d)
}

func TestRecordFlushKeepsAbsorbedSpansAndPDsAnswer(t *testing.T) {
	e := &Engine{flushes: newHistory[snapshots.RecentReload](8)}
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	var absorbed []reload.Request
	for i := range absorbedKept + 6 {
		k := string(rune('a' + i%26))
		absorbed = append(absorbed, reload.Request{Span: reload.Span{Start: k, End: k + "z"}, Reason: "epoch_not_match"})
	}
	seq := e.recordFlush(reload.RangeTask{
		Sub: 2, Span: reload.Span{Start: "a", End: ""}, Reasons: []string{"epoch_not_match"},
		MergedFrom: len(absorbed), Absorbed: absorbed,
	}, at)
	got := e.flushes.snapshot()
	require.Len(t, got, 1)
	r := got[0]
	require.Equal(t, at, r.At)
	require.Equal(t, uint64(2), r.Subscription)
	require.Equal(t, "61", r.Start, "hex of the memcomparable key")
	require.Equal(t, "", r.End, "+inf stays empty")
	require.Equal(t, absorbedKept+6, r.MergedFrom, "the true count")
	require.Len(t, r.Absorbed, absorbedKept, "the kept spans are capped")
	require.Equal(t, snapshots.SpanReason{Start: "62", End: "627a", Reason: "epoch_not_match"}, r.Absorbed[1])
	require.Equal(t, -1, r.Regions, "unanswered")

	e.flushAnswered(seq, 3)
	require.Equal(t, -1, got[0].Regions, "a published snapshot does not change")
	require.Equal(t, 3, e.flushes.snapshot()[0].Regions)
}
