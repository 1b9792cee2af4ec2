package sim

import (
	"bytes"
	"context"
	"sort"
	"sync"

	"github.com/pingcap/kvproto/pkg/meta_storagepb"
)

// metaStorage is PD's MetaStorage service (pkg/mcs/metastorage/server,
// registered by every PD release the sim models): a small etcd-like key
// space the pd client's discovery and resource-group watchers read. A real
// PD answers Get with its header (cluster id, revision) and the keys found,
// Put with the new revision, and keeps a Watch open, sending events as keys
// change. The sim holds the keys in memory for the life of the PD server
// (across pd-down) and, like a fresh cluster, starts with none.
type metaStorage struct {
	meta_storagepb.UnimplementedMetaStorageServer
	clusterID func() uint64

	mu       sync.Mutex
	revision int64
	kvs      map[string][]byte
	watchers map[*msWatcher]struct{}
}

type msWatcher struct {
	key, rangeEnd []byte
	events        chan *meta_storagepb.Event
}

func newMetaStorage(clusterID func() uint64) *metaStorage {
	return &metaStorage{clusterID: clusterID, revision: 1, kvs: map[string][]byte{}, watchers: map[*msWatcher]struct{}{}}
}

func (m *metaStorage) header() *meta_storagepb.ResponseHeader {
	return &meta_storagepb.ResponseHeader{ClusterId: m.clusterID(), Revision: m.revision}
}

// inRange is etcd's range rule: no end means the key alone; an end of
// "\x00" means every key from key on.
func inRange(k, key, rangeEnd []byte) bool {
	switch {
	case len(rangeEnd) == 0:
		return bytes.Equal(k, key)
	case bytes.Equal(rangeEnd, []byte{0}):
		return bytes.Compare(k, key) >= 0
	}
	return bytes.Compare(k, key) >= 0 && bytes.Compare(k, rangeEnd) < 0
}

// Get implements meta_storagepb.MetaStorageServer.
func (m *metaStorage) Get(_ context.Context, req *meta_storagepb.GetRequest) (*meta_storagepb.GetResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k := range m.kvs {
		if inRange([]byte(k), req.GetKey(), req.GetRangeEnd()) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	resp := &meta_storagepb.GetResponse{Header: m.header(), Count: int64(len(keys))}
	if l := req.GetLimit(); l > 0 && int64(len(keys)) > l {
		keys, resp.More = keys[:l], true
	}
	for _, k := range keys {
		resp.Kvs = append(resp.Kvs, &meta_storagepb.KeyValue{Key: []byte(k), Value: m.kvs[k]})
	}
	return resp, nil
}

// Put implements meta_storagepb.MetaStorageServer.
func (m *metaStorage) Put(_ context.Context, req *meta_storagepb.PutRequest) (*meta_storagepb.PutResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.revision++
	prev, had := m.kvs[string(req.GetKey())]
	m.kvs[string(req.GetKey())] = append([]byte(nil), req.GetValue()...)
	kv := &meta_storagepb.KeyValue{Key: req.GetKey(), Value: req.GetValue(), ModRevision: m.revision}
	m.notify(&meta_storagepb.Event{Type: meta_storagepb.Event_PUT, Kv: kv})
	resp := &meta_storagepb.PutResponse{Header: m.header()}
	if req.GetPrevKv() && had {
		resp.PrevKv = &meta_storagepb.KeyValue{Key: req.GetKey(), Value: prev}
	}
	return resp, nil
}

// Delete implements meta_storagepb.MetaStorageServer.
func (m *metaStorage) Delete(_ context.Context, req *meta_storagepb.DeleteRequest) (*meta_storagepb.DeleteResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.revision++
	for k := range m.kvs {
		if inRange([]byte(k), req.GetKey(), req.GetRangeEnd()) {
			delete(m.kvs, k)
			m.notify(&meta_storagepb.Event{Type: meta_storagepb.Event_DELETE, Kv: &meta_storagepb.KeyValue{Key: []byte(k), ModRevision: m.revision}})
		}
	}
	return &meta_storagepb.DeleteResponse{Header: m.header()}, nil
}

// notify hands an event to every watcher of its key; a watcher too slow to
// take it misses it (the channel is generous). Caller holds mu.
func (m *metaStorage) notify(ev *meta_storagepb.Event) {
	for w := range m.watchers {
		if inRange(ev.Kv.Key, w.key, w.rangeEnd) {
			select {
			case w.events <- ev:
			default:
			}
		}
	}
}

// Watch implements meta_storagepb.MetaStorageServer: it stays open, sending
// the changes of the watched keys, until the client or the server ends it.
func (m *metaStorage) Watch(req *meta_storagepb.WatchRequest, stream meta_storagepb.MetaStorage_WatchServer) error {
	w := &msWatcher{key: req.GetKey(), rangeEnd: req.GetRangeEnd(), events: make(chan *meta_storagepb.Event, 64)}
	m.mu.Lock()
	m.watchers[w] = struct{}{}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.watchers, w)
		m.mu.Unlock()
	}()
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case ev := <-w.events:
			m.mu.Lock()
			h := m.header()
			m.mu.Unlock()
			if err := stream.Send(&meta_storagepb.WatchResponse{Header: h, Events: []*meta_storagepb.Event{ev}}); err != nil {
				return err
			}
		}
	}
}
