package storebackoff

import (
	"sync"
	"testing"
	"time"
)

// The receive loop of every stream worker calls Success once per message,
// so these run in parallel: the point is that workers on different stores
// do not contend on anything when no store is cooling.

// BenchmarkSuccessNoCooling is the engine's steady state: nothing cooling,
// nothing paused. Must show 0 allocs/op and scale with -cpu.
func BenchmarkSuccessNoCooling(b *testing.B) {
	tr := New(time.Now)
	for id := uint64(1); id <= 8; id++ {
		tr.SetAddr(id, "127.0.0.1:20160")
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var store uint64
		for pb.Next() {
			store = store%8 + 1
			tr.Success(store)
		}
	})
}

// BenchmarkSuccessOtherStoreCooling is an incident: store 1 is cooling while
// the healthy stores keep streaming. Their Success still takes no lock.
func BenchmarkSuccessOtherStoreCooling(b *testing.B) {
	tr := New(time.Now)
	for id := uint64(1); id <= 8; id++ {
		tr.SetAddr(id, "127.0.0.1:20160")
	}
	tr.Failure(1)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var store uint64
		for pb.Next() {
			store = store%7 + 2
			tr.Success(store)
		}
	})
}

// BenchmarkAvailableNoCooling is the dispatcher's check before each send.
func BenchmarkAvailableNoCooling(b *testing.B) {
	tr := New(time.Now)
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var store uint64
		for pb.Next() {
			store = store%8 + 1
			tr.Available(store, now)
		}
	})
}

// lockedSuccess is the shape TiCDC PR #4700 shipped (review point 3): a
// mutex and a map delete per received message. Kept only as a baseline.
type lockedSuccess struct {
	mu        sync.Mutex
	cooldowns map[uint64]time.Time
}

func (l *lockedSuccess) success(store uint64) {
	l.mu.Lock()
	delete(l.cooldowns, store)
	l.mu.Unlock()
}

func BenchmarkSuccessMutexBaseline(b *testing.B) {
	l := &lockedSuccess{cooldowns: map[uint64]time.Time{}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var store uint64
		for pb.Next() {
			store = store%8 + 1
			l.success(store)
		}
	})
}
