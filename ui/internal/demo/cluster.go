package main

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/tikv/client-go/v2/util/codec"

	"github.com/pulltop/pulltop/snapshots"
)

// cluster is a synthetic change-data puller: no gRPC, no engine, just
// regions that move through the states the real engine shows, stores that
// cool down, retries and reloads. It implements ui.Source (a new State each
// step) and ui.Controller (pausing a store parks its regions; a force
// reload puts a region into the reload aggregator), so the UI can be driven
// in a real terminal without the rest of pulltop. Its fields are guarded
// by mu: the UI's event loop and its action commands call in concurrently.
type cluster struct {
	mu        sync.Mutex
	rng       *rand.Rand
	step      time.Duration
	now       func() time.Time
	lastStep  time.Time
	seq       uint64
	published *snapshots.State

	stores  []*store
	regions []*region
	events  []snapshots.Event
	actions []snapshots.Action
	totals  snapshots.Totals
}

type store struct {
	id            uint64
	addr          string
	paused        bool
	failures      int
	cooldownUntil time.Time
}

type region struct {
	id, sub, storeID uint64
	start, end       string
	state            string
	lagMs            int64
	events           uint64
	lastErr          string
	attempts         int
	due              time.Time // retry-wait: when the retry fires
	reloadSince      time.Time // reload-wait: when it joined the aggregator
	reloadReason     string
	epoch            uint64
}

func rowKeyHex(table, handle int64) string {
	raw := codec.EncodeInt([]byte{'t'}, table)
	raw = append(raw, '_', 'r')
	raw = codec.EncodeInt(raw, handle)
	return hex.EncodeToString(codec.EncodeBytes(nil, raw))
}

func newCluster(stores, regions int, seed uint64, step time.Duration) *cluster {
	c := &cluster{
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		step:   step,
		now:    time.Now,
		totals: snapshots.Totals{ErrorsByReason: map[string]int64{}},
	}
	for i := range stores {
		c.stores = append(c.stores, &store{id: uint64(i + 1), addr: fmt.Sprintf("127.0.0.1:%d", 20160+i)})
	}
	for i := range regions {
		table, handle := int64(100+i/1000), int64(i%1000)*1000
		c.regions = append(c.regions, &region{
			id: uint64(i + 2), sub: 1, storeID: uint64(i%stores + 1),
			start: rowKeyHex(table, handle), end: rowKeyHex(table, handle+1000),
			state: snapshots.StateInitialized, lagMs: 200, epoch: 1,
		})
	}
	c.lastStep = c.now()
	c.publish(c.lastStep)
	return c
}

// Snapshot advances the cluster when a step has passed, so every refresh
// of the UI sees something move.
func (c *cluster) Snapshot() *snapshots.State {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if now.Sub(c.lastStep) >= c.step {
		c.advance(now)
		c.lastStep = now
		c.publish(now)
	}
	return c.published
}

func (c *cluster) storeByID(id uint64) *store {
	for _, st := range c.stores {
		if st.id == id {
			return st
		}
	}
	return nil
}

func (c *cluster) fail(r *region, reason, text string, now time.Time) {
	r.state, r.lastErr = snapshots.StateRetryWait, reason+": "+text
	r.attempts++
	r.due = now.Add(time.Duration(100<<min(r.attempts, 5)) * time.Millisecond)
	c.totals.ErrorsByReason[reason]++
}

// advance moves every region one step through the state machine.
func (c *cluster) advance(now time.Time) {
	p := func(percent float64) bool { return c.rng.Float64()*100 < percent }
	// The last store flaps: a failure now and then puts it in cooldown.
	if last := c.stores[len(c.stores)-1]; len(c.stores) > 1 && !last.paused && p(15) {
		last.failures++
		last.cooldownUntil = now.Add(1600 * time.Millisecond)
		c.totals.ErrorsByReason[snapshots.ReasonStoreFailure]++
	}
	for _, r := range c.regions {
		st := c.storeByID(r.storeID)
		cooling := st.paused || now.Before(st.cooldownUntil)
		switch {
		case cooling && r.state != snapshots.StateParked:
			if r.state == snapshots.StateInitialized || r.state == snapshots.StateStale || r.state == snapshots.StateRequested {
				r.state = snapshots.StateParked
			}
		case r.state == snapshots.StateParked && !cooling:
			r.state = snapshots.StateQueued
		case r.state == snapshots.StateInitialized:
			r.lagMs = 50 + c.rng.Int64N(900)
			n := uint64(c.rng.IntN(20))
			r.events += n
			c.totals.Events += n
			if n > 0 {
				c.addEvent(r, now)
			}
			switch {
			case p(1):
				r.state = snapshots.StateStale
			case p(2):
				c.fail(r, snapshots.ReasonNotLeader, fmt.Sprintf("leader is on store %d", 1+c.rng.IntN(len(c.stores))), now)
			case p(1):
				c.fail(r, snapshots.ReasonEpochNotMatch, "region split", now)
				r.epoch++
			}
		case r.state == snapshots.StateStale:
			r.lagMs += c.step.Milliseconds()
			if p(15) {
				c.reload(r, snapshots.ReasonStale, now)
			}
		case r.state == snapshots.StateRetryWait:
			if !now.Before(r.due) {
				r.state = snapshots.StateLocating
				c.totals.RetriesFired++
			}
		case r.state == snapshots.StateReloadWait:
			if now.Sub(r.reloadSince) > 2*c.step {
				r.state = snapshots.StateLocating
			}
		case r.state == snapshots.StateQueued:
			r.state = snapshots.StateLocating
		case r.state == snapshots.StateLocating:
			r.state = snapshots.StateRequested
			c.totals.RegionRequests++
		case r.state == snapshots.StateRequested:
			if p(60) {
				r.state, r.lastErr, r.attempts = snapshots.StateInitialized, "", 0
			}
		}
	}
}

func (c *cluster) reload(r *region, reason string, now time.Time) {
	r.state, r.reloadSince, r.reloadReason = snapshots.StateReloadWait, now, reason
}

func (c *cluster) addEvent(r *region, now time.Time) {
	ts := uint64(now.UnixMilli()) << 18
	c.events = append(c.events, snapshots.Event{
		Subscription: r.sub, RegionID: r.id, Op: []string{"put", "put", "delete"}[c.rng.IntN(3)],
		Key: rowKeyHex(100, c.rng.Int64N(1000*int64(len(c.regions)))), StartTs: ts - 10, CommitTs: ts, ValueLen: 16 + c.rng.IntN(200),
	})
	if len(c.events) > 200 {
		c.events = c.events[len(c.events)-200:]
	}
}

// publish builds a fresh, immutable State.
func (c *cluster) publish(now time.Time) {
	c.seq++
	s := &snapshots.State{
		Version: snapshots.Version, TakenAt: now, Seq: c.seq,
		Source: snapshots.Source{PD: []string{"127.0.0.1:2379"}, ClusterID: 6800000000000000001, EmbeddedSim: true},
		Subscriptions: []snapshots.Subscription{{ID: 1, Start: hex.EncodeToString(codec.EncodeBytes(nil, []byte("t"))),
			End: hex.EncodeToString(codec.EncodeBytes(nil, []byte("u")))}},
		Events:  append([]snapshots.Event(nil), c.events...),
		Actions: append([]snapshots.Action(nil), c.actions...),
	}
	perStore := map[uint64]int{}
	totals := c.totals
	totals.ErrorsByReason = map[string]int64{}
	for k, v := range c.totals.ErrorsByReason {
		totals.ErrorsByReason[k] = v
	}
	initialized := true
	for _, r := range c.regions {
		perStore[r.storeID]++
		s.Regions = append(s.Regions, snapshots.Region{
			ID: r.id, Subscription: r.sub, Start: r.start, End: r.end, StoreID: r.storeID, LeaderPeer: r.id*10 + r.storeID,
			EpochVersion: r.epoch, EpochConfVer: 1, State: r.state,
			Initialized:   r.state == snapshots.StateInitialized || r.state == snapshots.StateStale,
			ResolvedTs:    uint64(now.Add(-time.Duration(r.lagMs)*time.Millisecond).UnixMilli()) << 18,
			ResolvedLagMs: r.lagMs, Events: r.events, LastError: r.lastErr, RetryAttempts: r.attempts,
		})
		switch r.state {
		case snapshots.StateInitialized:
			totals.Initialized++
		case snapshots.StateStale:
			totals.Initialized++
			totals.Stale++
		default:
			initialized = false
		}
		totals.ResolvedLagMaxMs = max(totals.ResolvedLagMaxMs, r.lagMs)
		if r.state == snapshots.StateRetryWait {
			s.Retries = append(s.Retries, snapshots.Retry{Subscription: r.sub, RegionID: r.id, Start: r.start, End: r.end,
				Reason: reasonOf(r.lastErr), Attempt: r.attempts, DueInMs: r.due.Sub(now).Milliseconds()})
		}
	}
	sort.Slice(s.Retries, func(i, j int) bool { return s.Retries[i].DueInMs < s.Retries[j].DueInMs })
	s.Reloads = c.mergedReloads(now)
	s.Subscriptions[0].Initialized = initialized
	s.Subscriptions[0].ResolvedLagMs = totals.ResolvedLagMaxMs
	s.Subscriptions[0].Events = totals.Events
	totals.Regions = len(c.regions)
	totals.EventsPerSec = float64(len(c.regions)) * 9.5 / c.step.Seconds() * (0.8 + 0.4*c.rng.Float64())
	for _, st := range c.stores {
		state, left := snapshots.StoreUp, int64(0)
		switch {
		case st.paused:
			state = snapshots.StorePaused
		case now.Before(st.cooldownUntil):
			state, left = snapshots.StoreCooldown, st.cooldownUntil.Sub(now).Milliseconds()
		}
		streams := 1
		if state != snapshots.StoreUp {
			streams = 0
		}
		s.Stores = append(s.Stores, snapshots.Store{ID: st.id, Addr: st.addr, State: state, CooldownMsLeft: left,
			Failures: st.failures, Streams: streams, Regions: perStore[st.id]})
	}
	s.Totals = totals
	c.published = s
}

// mergedReloads merges adjacent reload-wait regions into spans, as the
// engine's aggregator does.
func (c *cluster) mergedReloads(now time.Time) []snapshots.Reload {
	var out []snapshots.Reload
	for _, r := range c.regions { // regions are in key order
		if r.state != snapshots.StateReloadWait {
			continue
		}
		if n := len(out); n > 0 && out[n-1].End == r.start && out[n-1].Subscription == r.sub {
			out[n-1].End = r.end
			out[n-1].MergedFrom++
			out[n-1].QueuedMsAgo = max(out[n-1].QueuedMsAgo, now.Sub(r.reloadSince).Milliseconds())
			continue
		}
		out = append(out, snapshots.Reload{Subscription: r.sub, Start: r.start, End: r.end, Reason: r.reloadReason,
			MergedFrom: 1, QueuedMsAgo: now.Sub(r.reloadSince).Milliseconds()})
	}
	return out
}

func reasonOf(lastErr string) string {
	for i := range len(lastErr) {
		if lastErr[i] == ':' {
			return lastErr[:i]
		}
	}
	return lastErr
}

// The Controller side: each action changes the model, is logged as the
// engine would log it, and is published at once so the operator sees it.

func (c *cluster) act(action, target string, f func() (string, error)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	result, err := f()
	if err != nil {
		result = err.Error()
	}
	c.actions = append(c.actions, snapshots.Action{At: c.now(), Action: action, Target: target, Result: result})
	c.publish(c.now())
	return err
}

func (c *cluster) PauseStore(id uint64) error {
	return c.act("pause-store", fmt.Sprintf("store %d", id), func() (string, error) {
		st := c.storeByID(id)
		if st == nil {
			return "", fmt.Errorf("unknown store %d", id)
		}
		st.paused = true
		parked := 0
		for _, r := range c.regions {
			if r.storeID == id {
				r.state = snapshots.StateParked
				parked++
			}
		}
		return fmt.Sprintf("ok: %d regions parked", parked), nil
	})
}

func (c *cluster) ResumeStore(id uint64) error {
	return c.act("resume-store", fmt.Sprintf("store %d", id), func() (string, error) {
		st := c.storeByID(id)
		if st == nil {
			return "", fmt.Errorf("unknown store %d", id)
		}
		st.paused = false
		n := 0
		for _, r := range c.regions {
			if r.storeID == id && r.state == snapshots.StateParked {
				r.state = snapshots.StateQueued
				n++
			}
		}
		return fmt.Sprintf("ok: %d regions dispatched", n), nil
	})
}

func (c *cluster) ForceReloadRegion(sub, id uint64) error {
	return c.act("force-reload", fmt.Sprintf("region %d (subscription %d)", id, sub), func() (string, error) {
		for _, r := range c.regions {
			if r.id == id && r.sub == sub {
				c.reload(r, snapshots.ReasonForceReload, c.now())
				return "ok", nil
			}
		}
		return "", fmt.Errorf("unknown region %d in subscription %d", id, sub)
	})
}

func (c *cluster) ForceReloadRegions(sub uint64, ids []uint64) error {
	return c.act("force-reload", fmt.Sprintf("%d regions (subscription %d)", len(ids), sub), func() (string, error) {
		n := 0
		for _, r := range c.regions {
			if r.sub == sub && slices.Contains(ids, r.id) {
				c.reload(r, snapshots.ReasonForceReload, c.now())
				n++
			}
		}
		return fmt.Sprintf("ok: %d regions", n), nil
	})
}

func (c *cluster) ForceReloadSpan(sub uint64, startHex, endHex string) error {
	return c.act("force-reload", fmt.Sprintf("span %s-%s (subscription %d)", startHex, endHex, sub), func() (string, error) {
		n := 0
		for _, r := range c.regions {
			if r.sub == sub && r.start >= startHex && (endHex == "" || r.end <= endHex) {
				c.reload(r, snapshots.ReasonForceReload, c.now())
				n++
			}
		}
		return fmt.Sprintf("ok: %d regions", n), nil
	})
}
