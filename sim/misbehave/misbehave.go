// Package misbehave makes the simulated cluster (package sim) answer as a
// broken or hostile PD or TiKV would, from the wire: gRPC server
// interceptors for sim.Config.ServerOptions that rewrite the sim's own
// correct answers. It is a table of behaviours for tests (issue 25): a TSO
// that goes backwards or is negative, region answers that are degenerate,
// reversed, duplicated, overlapping or out of order, rows outside their
// region's range, and hostile text in PD's store addresses.
//
// A Cluster's switches may be flipped while the sim runs (a fault that
// starts mid-run); they are atomics, read by the servers' goroutines.
package misbehave

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc"
)

// RegionFault is how PD's region answers (BatchScanRegions, ScanRegions)
// are broken.
type RegionFault int32

const (
	RegionsOK RegionFault = iota
	// Degenerate: the second region of an answer ends where it starts.
	Degenerate
	// Reversed: the second region of an answer ends before it starts.
	Reversed
	// Duplicate: the first region of an answer is listed twice.
	Duplicate
	// Overlap: the second region of an answer starts inside the first.
	Overlap
	// Unordered: the first two regions of an answer are swapped.
	Unordered
	// Behind: the answer is one region wholly before any TiDB key (it
	// ends at "\x01").
	Behind
)

func (f RegionFault) String() string {
	return [...]string{"ok", "degenerate", "reversed", "duplicate", "overlap", "unordered", "behind"}[f]
}

// TSOFallback is how far back a falling-back TSO goes.
const TSOFallback = 3600 * 1000 // one hour, in ms of physical time

// OutsidePrefix is put before the raw key of every row RowsOutside moves
// out of its region: no region of the sim's keyspace (TiDB table data,
// keys starting with 't') holds a key starting with 'z'.
const OutsidePrefix = "z"

// Cluster is one set of misbehaviours; the zero value behaves.
type Cluster struct {
	// TSOBack: from now on every TSO answer is TSOFallback ms earlier than
	// PD's clock (set it mid-run for a TSO that goes backwards).
	TSOBack atomic.Bool
	// TSOBackAfter, when positive, makes every TSO answer after the first
	// TSOBackAfter fall back as TSOBack does (a fallback at startup).
	TSOBackAfter atomic.Int64
	// TSONegative: every TSO answer has a negative physical time.
	TSONegative atomic.Bool
	// Regions breaks PD's region answers (a RegionFault).
	Regions atomic.Int32
	// RowsOutside: every row of a key whose bytes add up to a multiple of
	// three is sent with OutsidePrefix before its key (prewrite, commit and
	// rollback alike, so the transaction still matches).
	RowsOutside atomic.Bool
	// StoreAddr, when set, is put before every store address PD reports.
	StoreAddr atomic.Pointer[string]

	tsoSent, tsoAnswers, regionAnswers, rowsMoved atomic.Int64
}

// TSOAnswers, RegionAnswers and RowsMoved count what was rewritten.
func (c *Cluster) TSOAnswers() int64    { return c.tsoAnswers.Load() }
func (c *Cluster) RegionAnswers() int64 { return c.regionAnswers.Load() }
func (c *Cluster) RowsMoved() int64     { return c.rowsMoved.Load() }

// ServerOptions are the interceptors for sim.Config.ServerOptions.
func (c *Cluster) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(c.unary), grpc.ChainStreamInterceptor(c.stream)}
}

func (c *Cluster) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if err != nil {
		return resp, err
	}
	switch r := resp.(type) {
	case *pdpb.BatchScanRegionsResponse:
		if f := RegionFault(c.Regions.Load()); f != RegionsOK && len(r.GetRegions()) > 0 {
			c.regionAnswers.Add(1)
			out := *r
			out.Regions = breakRegions(r.GetRegions(), f)
			return &out, nil
		}
	case *pdpb.ScanRegionsResponse:
		if f := RegionFault(c.Regions.Load()); f != RegionsOK && len(r.GetRegions()) > 0 {
			c.regionAnswers.Add(1)
			out := *r
			out.Regions = breakRegions(r.GetRegions(), f)
			out.RegionMetas, out.Leaders = nil, nil // the older form would contradict it
			return &out, nil
		}
	case *pdpb.GetAllStoresResponse:
		if prefix := c.StoreAddr.Load(); prefix != nil {
			out := *r
			out.Stores = nil
			for _, s := range r.GetStores() {
				s2 := *s
				s2.Address = *prefix + s.GetAddress()
				out.Stores = append(out.Stores, &s2)
			}
			return &out, nil
		}
	case *pdpb.GetStoreResponse:
		if prefix := c.StoreAddr.Load(); prefix != nil && r.GetStore() != nil {
			out, s2 := *r, *r.GetStore()
			s2.Address = *prefix + s2.Address
			out.Store = &s2
			return &out, nil
		}
	}
	return resp, nil
}

// breakRegions returns a copy of regions broken as f says (the sim's own
// records are never modified).
func breakRegions(regions []*pdpb.Region, f RegionFault) []*pdpb.Region {
	out := append([]*pdpb.Region(nil), regions...)
	withRange := func(i int, start, end []byte) {
		r := *out[i]
		meta := *r.GetRegion()
		meta.StartKey, meta.EndKey = start, end
		r.Region = &meta
		out[i] = &r
	}
	first := out[0].GetRegion()
	switch f {
	case Degenerate, Reversed:
		i := min(1, len(out)-1)
		start := bytes.Clone(out[i].GetRegion().GetStartKey())
		if len(start) == 0 || start[len(start)-1] == 0 {
			start = []byte("m")
		}
		end := bytes.Clone(start)
		if f == Reversed {
			end[len(end)-1]-- // just before start
		}
		withRange(i, start, end)
	case Duplicate:
		out = append([]*pdpb.Region{out[0]}, out...)
	case Overlap:
		if len(out) > 1 {
			// The second region starts where the first does.
			withRange(1, first.GetStartKey(), out[1].GetRegion().GetEndKey())
		} else {
			out = append(out, out[0])
		}
	case Unordered:
		if len(out) > 1 {
			out[0], out[1] = out[1], out[0]
		}
	case Behind:
		// A region ending at "\x01": before any TiDB key asked for.
		withRange(0, nil, []byte{1})
		out = out[:1]
	}
	return out
}

func (c *Cluster) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	switch {
	case strings.HasSuffix(info.FullMethod, "/Tso"):
		return handler(srv, &tsoStream{ServerStream: ss, c: c})
	case strings.Contains(info.FullMethod, "EventFeed"):
		return handler(srv, &feedStream{ServerStream: ss, c: c})
	}
	return handler(srv, ss)
}

type tsoStream struct {
	grpc.ServerStream
	c *Cluster
}

func (s *tsoStream) SendMsg(m any) error {
	r, ok := m.(*pdpb.TsoResponse)
	if !ok {
		return s.ServerStream.SendMsg(m)
	}
	n := s.c.tsoSent.Add(1)
	after := s.c.TSOBackAfter.Load()
	back := s.c.TSOBack.Load() || (after > 0 && n > after)
	negative := s.c.TSONegative.Load()
	if !back && !negative {
		return s.ServerStream.SendMsg(m)
	}
	s.c.tsoAnswers.Add(1)
	out := *r
	ts := *r.GetTimestamp()
	if back {
		ts.Physical -= TSOFallback
	}
	if negative {
		ts.Physical = -ts.Physical
	}
	out.Timestamp = &ts
	return s.ServerStream.SendMsg(&out)
}

type feedStream struct {
	grpc.ServerStream
	c *Cluster
}

func (s *feedStream) SendMsg(m any) error {
	ev, ok := m.(*cdcpb.ChangeDataEvent)
	if !ok || !s.c.RowsOutside.Load() {
		return s.ServerStream.SendMsg(m)
	}
	out := *ev
	out.Events = make([]*cdcpb.Event, len(ev.Events))
	for i, e := range ev.Events {
		out.Events[i] = e
		entries, ok := e.Event.(*cdcpb.Event_Entries_)
		if !ok {
			continue
		}
		var rows []*cdcpb.Event_Row
		moved := false
		for _, row := range entries.Entries.GetEntries() {
			if k := row.GetKey(); len(k) > 0 && byteSum(k)%3 == 0 && row.Type != cdcpb.Event_INITIALIZED {
				r2 := *row
				r2.Key = append([]byte(OutsidePrefix), k...)
				row, moved = &r2, true
				s.c.rowsMoved.Add(1)
			}
			rows = append(rows, row)
		}
		if moved {
			e2 := *e
			e2.Event = &cdcpb.Event_Entries_{Entries: &cdcpb.Event_Entries{Entries: rows}}
			out.Events[i] = &e2
		}
	}
	return s.ServerStream.SendMsg(&out)
}

func byteSum(k []byte) int {
	n := 0
	for _, b := range k {
		n += int(b)
	}
	return n
}
