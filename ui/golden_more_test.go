package ui

import (
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/pulltop/pulltop/snapshots"
)

// TestGoldenScreens pins the screens that are not a plain view: overlays,
// banners, detail panes, the filter and the too-small notice.
func TestGoldenScreens(t *testing.T) {
	cases := []struct {
		name  string
		opts  []harnessOpt
		size  [2]int
		setup func(h *harness)
	}{
		{name: "help", setup: func(h *harness) { h.press("?") }},
		{name: "help_read_only", opts: []harnessOpt{readOnly("replay of snap.json: actions are disabled")},
			setup: func(h *harness) { h.press("?") }},
		{name: "help_narrow", size: [2]int{60, 40}, setup: func(h *harness) { h.press("?") }},
		{name: "confirm_pause", setup: func(h *harness) { h.press("5", "j", "P") }},
		{name: "confirm_reload_region", setup: func(h *harness) { h.press("2", "R") }},
		{name: "confirm_reload_filtered", setup: func(h *harness) {
			h.press("2", "/")
			h.typeText("store:3")
			h.press("enter", "R")
		}},
		{name: "region_detail", setup: func(h *harness) {
			s := next(h.src.s, func(s *snapshots.State) {
				s.Regions[2].State, s.Regions[2].LastError, s.Regions[2].RetryAttempts = snapshots.StateRetryWait, "not_leader", 1
				s.Retries = append(s.Retries, snapshots.Retry{Subscription: 1, RegionID: 4, Start: s.Regions[2].Start,
					End: s.Regions[2].End, Reason: snapshots.ReasonNotLeader, Attempt: 1, DueInMs: 50})
			})
			h.refresh(s)
			h.now = s.TakenAt.Add(10 * time.Millisecond)
			h.refresh(next(s, func(s *snapshots.State) { s.Regions[2].State = snapshots.StateRequested }))
			h.press("2", "/")
			h.typeText("region:4")
			h.press("enter", "enter")
		}},
		{name: "store_detail", setup: func(h *harness) { h.press("5", "j", "enter") }},
		{name: "timeline_regions", opts: []harnessOpt{withHistory(15 * time.Minute)}, setup: func(h *harness) {
			incident(h)
			h.press("2", "[", "[", "[")
		}},
		{name: "timeline_region_detail", opts: []harnessOpt{withHistory(15 * time.Minute)}, setup: func(h *harness) {
			incident(h)
			h.press("2", "/")
			h.typeText("region:4")
			h.press("enter", "enter", "[", "[", "[", "[")
		}},
		{name: "timeline_overview_live", opts: []harnessOpt{withHistory(15 * time.Minute)}, setup: func(h *harness) {
			incident(h)
		}},
		{name: "reload_flush_detail", setup: func(h *harness) {
			h.press("4", "/")
			h.typeText("merged:4")
			h.press("enter", "enter")
		}},
		{name: "reload_flush_detail_narrow", size: [2]int{72, 24}, setup: func(h *harness) {
			h.press("4", "/")
			h.typeText("merged:4")
			h.press("enter", "enter")
		}},
		{name: "reload_flush_unanswered_to_inf", setup: func(h *harness) {
			h.press("4", "/")
			h.typeText("store_failure")
			h.press("enter", "enter")
		}},
		{name: "minimum_size_retries", size: [2]int{60, 15}, setup: func(h *harness) { h.press("3") }},
		{name: "minimum_size_reloads", size: [2]int{60, 15}, setup: func(h *harness) { h.press("4") }},
		{name: "frozen", setup: func(h *harness) {
			h.press("2", "space")
			h.refresh(next(h.src.s, nil))
			h.refresh(next(h.src.s, nil))
			h.refresh(next(h.src.s, nil))
		}},
		{name: "engine_error", setup: func(h *harness) {
			h.refresh(next(h.src.s, func(s *snapshots.State) {
				s.EngineError = "pd 127.0.0.1:2379 unreachable for 30s: context deadline exceeded"
			}))
			h.press("2")
		}},
		{name: "overview_pd_error", setup: func(h *harness) {
			h.refresh(next(h.src.s, func(s *snapshots.State) {
				s.Source.PDError = "GetRegion: rpc error: code = Unavailable desc = connection refused"
				s.Source.PDErrorSince = s.TakenAt.Add(-22 * time.Second)
			}))
			h.press("1")
		}},
		{name: "overview_clock_skew", setup: func(h *harness) {
			h.refresh(next(h.src.s, func(s *snapshots.State) {
				s.Source.ClockSkewMs = -30200
			}))
			h.press("1")
		}},
		{name: "filter_typing", setup: func(h *harness) {
			h.press("2", "/")
			h.typeText("store:2 !state:parked")
		}},
		{name: "filter_applied", setup: func(h *harness) {
			h.press("2", "/")
			h.typeText("state:wait")
			h.press("enter")
		}},
		{name: "too_small", size: [2]int{20, 5}},
		{name: "minimum_size_regions", size: [2]int{60, 15}, setup: func(h *harness) { h.press("2") }},
		{name: "wide_regions", size: [2]int{200, 60}, setup: func(h *harness) { h.press("2") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, fixtureState(), c.opts...)
			if c.size != [2]int{} {
				h.resize(c.size[0], c.size[1])
			}
			if c.setup != nil {
				c.setup(h)
			}
			golden.RequireEqual(t, []byte(h.view()))
		})
	}
}
