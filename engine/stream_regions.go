package engine

// streamRegions is a stream's regions by (request id, region id): every
// event a store sends is looked up here, a million resolved ts a second at
// a million regions. Region ids are PD's, allocated one by one from 1, so
// a table indexed by id (in pages of 4096, allocated where regions are)
// finds a region with one memory access where a hash map probes. Ids past
// what the table covers go to a map. Owned by the event loop.
type streamRegions struct {
	subs map[uint64]*idTable // by request id (subscription)
	n    int
}

const (
	idPageBits = 12
	idPageSize = 1 << idPageBits
	// maxIDPages bounds the page index (8 MB of it at most): ids up to
	// 2^32, far more than a cluster allocates.
	maxIDPages = 1 << 20
)

type idTable struct {
	pages    []*[idPageSize]*regionState
	overflow map[uint64]*regionState
}

func (s *streamRegions) table(requestID uint64, create bool) *idTable {
	t := s.subs[requestID]
	if t == nil && create {
		if s.subs == nil {
			s.subs = map[uint64]*idTable{}
		}
		t = &idTable{}
		s.subs[requestID] = t
	}
	return t
}

func (s *streamRegions) get(requestID, regionID uint64) *regionState {
	if t := s.subs[requestID]; t != nil {
		return t.get(regionID)
	}
	return nil
}

func (s *streamRegions) set(requestID, regionID uint64, r *regionState) {
	t := s.table(requestID, true)
	if t.get(regionID) == nil {
		s.n++
	}
	t.set(regionID, r)
}

func (s *streamRegions) del(requestID, regionID uint64) {
	if t := s.subs[requestID]; t != nil && t.get(regionID) != nil {
		t.set(regionID, nil)
		s.n--
	}
}

func (s *streamRegions) len() int { return s.n }

// all lists every region on the stream.
func (s *streamRegions) all() []*regionState {
	out := make([]*regionState, 0, s.n)
	for _, t := range s.subs {
		for _, p := range t.pages {
			if p == nil {
				continue
			}
			for _, r := range p {
				if r != nil {
					out = append(out, r)
				}
			}
		}
		for _, r := range t.overflow {
			out = append(out, r)
		}
	}
	return out
}

func (t *idTable) get(id uint64) *regionState {
	p := id >> idPageBits
	if p < uint64(len(t.pages)) {
		if page := t.pages[p]; page != nil {
			return page[id&(idPageSize-1)]
		}
		return nil
	}
	if p >= maxIDPages {
		return t.overflow[id]
	}
	return nil
}

// set puts r (nil: removes) at id.
func (t *idTable) set(id uint64, r *regionState) {
	p := id >> idPageBits
	if p >= maxIDPages {
		if r == nil {
			delete(t.overflow, id)
			return
		}
		if t.overflow == nil {
			t.overflow = map[uint64]*regionState{}
		}
		t.overflow[id] = r
		return
	}
	if p >= uint64(len(t.pages)) {
		if r == nil {
			return
		}
		t.pages = append(t.pages, make([]*[idPageSize]*regionState, int(p)+1-len(t.pages))...)
	}
	page := t.pages[p]
	if page == nil {
		if r == nil {
			return
		}
		page = new([idPageSize]*regionState)
		t.pages[p] = page
	}
	page[id&(idPageSize-1)] = r
}
