package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
)

// The Reloads and Retries views list what waits on top and what already
// happened below it, whatever the sort, newest first by default.
func TestWaitingAboveRecentInEverySort(t *testing.T) {
	for _, view := range []string{"3", "4"} {
		h := newHarness(t, fixtureState())
		h.press(view)
		l := h.m.a.lists[h.m.a.view]
		g := l.model.(groupedModel)
		for range len(l.tbl.cols) * 2 {
			groups := make([]int, len(l.idx))
			for p, i := range l.idx {
				groups[p] = g.group(i)
			}
			require.True(t, slices.IsSorted(groups), "view %s sorted by %s: groups %v", view, l.tbl.cols[l.tbl.sortCol].title, groups)
			require.Contains(t, groups, 0)
			require.Contains(t, groups, 1)
			h.press("s")
			if l.tbl.sortCol == 0 {
				h.press("S")
			}
		}
	}
}

func TestRecentRowsNewestFirst(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("4")
	lines := strings.Split(h.view(), "\n")
	var ages []string
	for _, line := range lines {
		if strings.Contains(line, " flushed ") {
			ages = append(ages, strings.Fields(strings.TrimPrefix(line, ">"))[0])
		}
	}
	require.Equal(t, []string{"40ms", "300ms", "1.2s", "2.5s"}, ages)

	h.press("3")
	var whens []string
	for _, line := range strings.Split(h.view(), "\n") {
		if strings.Contains(line, " ago ") {
			whens = append(whens, strings.Fields(strings.TrimPrefix(line, ">"))[0])
		}
	}
	require.Equal(t, []string{"100ms", "250ms", "900ms", "1.5s"}, whens)
}

// TestCursorFollowsAFlushAcrossRefreshes: new flushes arrive on top and the
// waiting spans come and go, and the cursor stays on the flush it was on.
func TestCursorFollowsAFlushAcrossRefreshes(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("4", "/")
	h.typeText("merged:4")
	h.press("enter", "esc") // clear the filter: the cursor stays on the row
	require.Contains(t, h.cursorLine(), "[t100_r1000, t100_r5000)")
	chosen := h.src.s.RecentReloads[2].At

	s := h.src.s
	waiting := s.Reloads
	for k := range 5 {
		s = next(s, func(s *snapshots.State) {
			s.Reloads = waiting[:k%2] // waiting spans flushed away, then back
			s.RecentReloads = append(slices.Clone(s.RecentReloads), snapshots.RecentReload{
				At: s.TakenAt.Add(-time.Duration(k+1) * time.Millisecond), Subscription: 1,
				Start: rowKeyHex(100, int64(k)), End: rowKeyHex(100, int64(k+1)), MergedFrom: 1, Regions: -1,
			})
			if k < 2 {
				s.RecentReloads = s.RecentReloads[1:] // the oldest drops out, as from the engine's ring
			}
		})
		h.refresh(s)
		i, ok := h.m.a.lists[viewReloads].selected()
		require.True(t, ok)
		r := h.m.a.lists[viewReloads].model.(*reloadsView).row(i)
		require.NotNil(t, r.flushed, "refresh %d", k)
		require.Equal(t, chosen, r.flushed.At, "refresh %d", k)
		require.Contains(t, h.cursorLine(), "[t100_r1000, t100_r5000)", "refresh %d", k)
	}
}

func TestCursorFollowsAFiredRetryAcrossRefreshes(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("3", "/")
	h.typeText("outcome:relock")
	h.press("enter", "esc")
	require.Contains(t, h.cursorLine(), "relock")
	s := h.src.s
	waiting := s.Retries
	for k := range 4 {
		s = next(s, func(s *snapshots.State) {
			s.Retries = waiting[:k%3]
			s.RecentRetries = append(slices.Clone(s.RecentRetries), snapshots.RecentRetry{
				At: s.TakenAt.Add(-time.Millisecond), Subscription: 1, RegionID: 6, StoreID: 2,
				Start: s.Regions[4].Start, End: s.Regions[4].End, Reason: snapshots.ReasonNotLeader,
				Attempt: 3 + k, Outcome: snapshots.OutcomeRelock, // same region, a later retry
			})
		})
		h.refresh(s)
		line := h.cursorLine()
		require.Contains(t, line, "relock", "refresh %d", k)
		require.Regexp(t, `not_leader +2 `, line, "refresh %d: still the attempt-2 retry", k)
	}
}

// TestFlushPictureFitsManySpans: more absorbed spans than cells still give
// every span at least one cell, every bar the same width, and a note for
// spans the engine did not keep.
func TestFlushPictureFitsManySpans(t *testing.T) {
	s := fixtureState()
	f := snapshots.RecentReload{
		At: fixtureTaken.Add(-time.Second), Subscription: 1, Start: rowKeyHex(100, 0), End: rowKeyHex(100, 64),
		Reasons: []string{snapshots.ReasonEpochNotMatch}, MergedFrom: 70, Regions: 64,
	}
	for k := range 64 {
		f.Absorbed = append(f.Absorbed, snapshots.SpanReason{Start: rowKeyHex(100, int64(k)), End: rowKeyHex(100, int64(k+1)), Reason: snapshots.ReasonEpochNotMatch})
	}
	s.RecentReloads = []snapshots.RecentReload{f}
	for _, width := range []int{60, 120, 200} {
		h := newHarness(t, s)
		h.resize(width, 40)
		h.press("4", "/")
		h.typeText("merged:70")
		h.press("enter", "enter")
		lines := h.m.a.flushPicture(&h.m.a.shown.RecentReloads[0])
		var bars []string
		for _, line := range lines {
			fields := strings.Fields(line)
			if len(fields) >= 2 && strings.ContainsAny(fields[1], "█·") {
				bars = append(bars, fields[1])
				require.Contains(t, fields[1], "█", "width %d: %q has a cell", width, line)
			}
		}
		require.Len(t, bars, 65, "width %d: 64 spans and the merged one", width)
		for _, b := range bars {
			require.Equal(t, len([]rune(bars[0])), len([]rune(b)), "width %d: bars the same width", width)
		}
		require.NotContains(t, bars[64], "·", "the merged span covers everything")
		require.Contains(t, strings.Join(lines, "\n"), "… and 6 more requests (the engine keeps the first 64 of a flush)")
		for _, line := range strings.Split(h.view(), "\n") {
			require.LessOrEqual(t, textWidth(line), width)
		}
	}
}

// TestFlushDetailFollowsPDsAnswer: the detail is of the flush, not of the
// snapshot it was opened on, so PD's answer shows when it arrives, and a
// flush the engine no longer keeps still shows as last seen.
func TestFlushDetailFollowsPDsAnswer(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("4", "/")
	h.typeText("store_failure")
	h.press("enter", "enter")
	h.requireContains("Reload flush", "not answered yet")
	s := next(h.src.s, func(s *snapshots.State) {
		s.RecentReloads = slices.Clone(s.RecentReloads)
		s.RecentReloads[3].Regions = 2
	})
	h.refresh(s)
	h.requireContains("PD answered    2 regions in the merged span")
	h.refresh(next(s, func(s *snapshots.State) { s.RecentReloads = nil }))
	h.requireContains("no longer in the engine's recent flushes", "PD answered    2 regions", "[t100_r14000, u)")
}

// Replay shows the history a saved snapshot carries.
func TestReplayShowsRecentFlushesAndRetries(t *testing.T) {
	h := newHarness(t, fixtureState(), readOnly("replay of snap.json: actions are disabled"))
	h.press("4")
	h.requireContains("flushed    1 epoch_not_match,stale              4        3 [t100_r1000, t100_r5000)")
	h.press("3")
	h.requireContains("superseded")
	h.requireContains("[3 Retries 7]") // the tab counts both kinds of row
}

func TestEnterOnARetry(t *testing.T) {
	h := newHarness(t, fixtureState())
	h.press("3", "/")
	h.typeText("outcome:relock")
	h.press("enter", "enter")
	h.requireContains("Region 6", "subscription 1")
	h.press("esc", "/", "ctrl+u")
	h.typeText("outcome:relocate")
	h.press("enter", "enter")
	require.Nil(t, h.m.a.detail)
	h.requireContains("a range retry (a failed PD lookup) has no region to show")
}
