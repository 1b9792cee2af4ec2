package sim

import (
	"fmt"
	"time"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Store and PD outages as a cluster lives them (reference real-clusters.md
// "Store and PD outages"): a crashed store's leaders are re-elected on
// other stores only after the election timeout, and meanwhile its regions
// have no leader anyone knows of; PD hears of the new leaders a heartbeat
// (pd lag) later; a restarted store comes back with no leaders and its peers
// catching up; a graceful shutdown evicts leaders first; with PD down,
// resolved ts stops everywhere and nothing commits.

// catchUpTime is how long a restarted store's peers are pending (catching
// up on the raft log) in PD's region answers.
const catchUpTime = time.Second

// storeCrashed is called after a store's server stopped without warning.
// Its regions lose their leader (NotLeader without a hint from the
// followers) until an election on the other stores, electionTimeout later.
func (c *Cluster) storeCrashed(id uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.store(id)
	if s == nil {
		return
	}
	s.downSince = c.now()
	for _, r := range c.regions {
		if r.leader != nil && r.leader.StoreId == id {
			r.lostLeader, r.leader = r.leader, nil
		}
	}
	// Even with no leader lost, the election round is when the surviving
	// leaders report the store's peers as down.
	c.after(c.electionTimeout, c.elect)
}

// elect gives every leaderless region a leader on a store that is up (the
// first such peer), and lets PD hear of every region with a down peer. A
// region with no live peer stays leaderless until the next round. Caller
// holds mu (it runs as a timer).
func (c *Cluster) elect() {
	leaderless := false
	for _, r := range c.regions {
		changed := false
		if r.leader == nil {
			// The followers campaign: the first live peer after the one
			// that was lost (a restarted store does not win it back).
			k0 := 0
			for k, p := range r.peers {
				if r.lostLeader != nil && p.Id == r.lostLeader.Id {
					k0 = k + 1
				}
			}
			for i := range r.peers {
				p := r.peers[(k0+i)%len(r.peers)]
				if s := c.store(p.StoreId); s != nil && s.up && s.state == metapb.StoreState_Up {
					r.leader, r.lostLeader = p, nil
					changed = true
					break
				}
			}
			if r.leader == nil {
				leaderless = true
			}
		}
		if !changed {
			for _, p := range r.peers {
				if s := c.store(p.StoreId); s != nil && !s.up {
					changed = true // a heartbeat with the down peer
					break
				}
			}
		}
		if changed {
			c.reportToPD(r)
		}
	}
	if leaderless {
		c.after(c.electionTimeout, c.elect)
	}
}

// ElectNow holds the elections due now (stop-faults: the cluster heals at
// once rather than an election timeout later).
func (c *Cluster) ElectNow() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.elect()
}

// storeStarted is called after a store's server started again: it has no
// leaders (they moved, or are being elected elsewhere) and its peers are
// pending in PD for a moment.
func (c *Cluster) storeStarted(id uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.store(id)
	if s == nil || s.downSince.IsZero() {
		return
	}
	s.downSince = time.Time{}
	s.pendingTo = c.now().Add(catchUpTime)
	var touched []*region
	for _, r := range c.regions {
		if r.peerOn(id) != nil {
			c.reportToPD(r)
			touched = append(touched, r)
		}
	}
	c.after(catchUpTime, func() {
		for _, r := range touched {
			if c.byID[r.id] == r {
				c.reportToPD(r)
			}
		}
	})
}

// Drain evicts every leader from a store, as TiKV's graceful shutdown does
// first: downstreams get NotLeader with the new leader. Regions with no
// other live peer keep their leader (and die with the store). It returns
// how many leaders moved.
func (c *Cluster) Drain(store uint64) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.store(store) == nil {
		return 0, fmt.Errorf("drain-store: unknown store %d (stores are 1..%d)", store, len(c.stores))
	}
	moved := 0
	for _, r := range c.regions {
		if r.leader == nil || r.leader.StoreId != store {
			continue
		}
		if to := c.liveFollower(r, store); to != nil {
			c.moveLeader(r, to)
			moved++
		}
	}
	return moved, nil
}

// liveFollower is a peer of r on a serving store other than `not`.
func (c *Cluster) liveFollower(r *region, not uint64) *metapb.Peer {
	for _, p := range r.peers {
		if p.StoreId == not {
			continue
		}
		if s := c.store(p.StoreId); s != nil && s.up && s.state == metapb.StoreState_Up {
			return p
		}
	}
	return nil
}

// moveLeader makes `to` the leader: downstreams get NotLeader naming it.
// Caller holds mu.
func (c *Cluster) moveLeader(r *region, to *metapb.Peer) {
	r.leader = to
	hint := *to
	c.failRegion(r, func(*downstream) *cdcpb.Error {
		return &cdcpb.Error{NotLeader: notLeader(r.id, &hint)}
	})
	c.reportToPD(r)
}

// RemoveStore takes a store out of the cluster as `pd-ctl store delete`
// does: PD lists it Offline while its leaders are evicted and its peers
// removed (downstreams there get RegionNotFound: their peer is gone; the
// conf change bumps conf_ver, which CDC ignores), then Tombstone once PD
// has heard of it (pd lag). The caller stops its server.
func (c *Cluster) RemoveStore(store uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.store(store)
	if s == nil {
		return fmt.Errorf("remove-store: unknown store %d (stores are 1..%d)", store, len(c.stores))
	}
	if s.state != metapb.StoreState_Up {
		return fmt.Errorf("remove-store: store %d is already %s", store, s.state)
	}
	s.state = metapb.StoreState_Offline
	for _, r := range c.regions {
		p := r.peerOn(store)
		if p == nil {
			continue
		}
		if r.leader != nil && r.leader.StoreId == store {
			if to := c.liveFollower(r, store); to != nil {
				c.moveLeader(r, to)
			} else {
				continue // its only live replica: it stays
			}
		}
		for _, ds := range append([]*downstream(nil), r.downstreams...) {
			if ds.conn.store == s {
				c.failDownstream(ds, regionNotFound(r.id))
			}
		}
		for i, q := range r.peers {
			if q == p {
				r.peers = append(r.peers[:i:i], r.peers[i+1:]...)
				break
			}
		}
		r.epoch.ConfVer++
		c.reportToPD(r)
	}
	c.after(c.pdLag, func() { s.state = metapb.StoreState_Tombstone })
	return nil
}

// SetPDDown tells the stores and the workload whether PD answers: without
// TSO, TiKV's min-ts falls back to 0 so every resolved ts stops (the last
// values are re-sent), and TiDB cannot start or commit a transaction.
func (c *Cluster) SetPDDown(down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pdDown = down
}

// PDDown reports whether PD is down.
func (c *Cluster) PDDown() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pdDown
}

// GCSafePoint is the cluster's GC safe point: --gc-safepoint-lag behind the
// TSO clock, never moving back.
func (c *Cluster) GCSafePoint() uint64 {
	p, _ := c.tso.peek()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gcSafePointLag > 0 {
		sp := composeTS(p-c.gcSafePointLag.Milliseconds(), 0)
		c.gcSafePoint = max(c.gcSafePoint, sp)
	}
	return c.gcSafePoint
}

// storeRemoved reports whether a store was taken out with remove-store.
func (c *Cluster) storeRemoved(id uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.store(id)
	return s != nil && s.state != metapb.StoreState_Up
}

// waitSent waits until every connection of a store has sent what was queued
// to it (at most timeout, or until done).
func (c *Cluster) waitSent(id uint64, timeout time.Duration, done <-chan struct{}) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		s := c.store(id)
		pending := false
		for conn := range s.conns {
			conn.qmu.Lock()
			pending = pending || len(conn.queue) > 0 || conn.inFlight
			conn.qmu.Unlock()
		}
		c.mu.Unlock()
		if !pending {
			return
		}
		if !sleepOrDone(5*time.Millisecond, done) {
			return
		}
	}
}

// endStreams ends every stream of a store with Unavailable, after what was
// already sent (a server stop could cut the last messages off), and waits
// for them to be gone (at most timeout, or until done).
func (c *Cluster) endStreams(id uint64, timeout time.Duration, done <-chan struct{}) {
	c.mu.Lock()
	s := c.store(id)
	for conn := range s.conns {
		select {
		case conn.kill <- status.Errorf(codes.Unavailable, "store %d is shutting down", id):
		default:
		}
	}
	c.mu.Unlock()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		n := len(s.conns)
		c.mu.Unlock()
		if n == 0 || !sleepOrDone(5*time.Millisecond, done) {
			return
		}
	}
}
