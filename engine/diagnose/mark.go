package diagnose

import (
	"math"
	"time"
)

// Mark is a region's or a store's current cause and since when it holds.
// The zero value has never been updated.
//
// A condition that flickers (a churning region initialized for 300ms
// between two NotLeaders, a stalled store whose count dips for one
// snapshot) must not read as a new incident each time: when a cause comes
// back within the grace period after it ended, its old since is restored.
// Healthy is never restored: a region that recovered says since when.
type Mark struct {
	Cause Cause
	prev  Cause
	// Since is when the current cause began (unix ns); 0 until the first
	// Update.
	Since     int64
	prevSince int64
	prevEnd   int64
}

// Update moves the mark to cause c at now. evidenceSince is when the
// evidence says the condition began (a region's last advance for a stall,
// a store's first failure for store_down); 0 when it says nothing, then the
// condition begins now. A condition never begins before the previous one
// did, nor after now.
func (m *Mark) Update(c Cause, evidenceSince, now int64, grace time.Duration) {
	if m.Since != 0 && c == m.Cause {
		return
	}
	if m.Since != 0 && c != Healthy && c == m.prev && now-m.prevEnd <= int64(grace) {
		m.Cause, m.prev = m.prev, m.Cause
		m.Since, m.prevSince = m.prevSince, m.Since
		m.prevEnd = now
		return
	}
	since := evidenceSince
	if since == 0 || since > now {
		since = now
	}
	if m.Since != 0 {
		since = max(since, m.Since)
		m.prev, m.prevSince, m.prevEnd = m.Cause, m.Since, now
	}
	m.Cause, m.Since = c, since
}

// Window counts events over the last 30 to 60 seconds in two 30-second
// buckets: eight bytes per region, no allocation, and a count that fades a
// minute after the events stop.
type Window struct {
	bucket    int32
	cur, prev uint16
}

const windowBucket = int64(30 * time.Second)

// WindowSpan is how far back a Window's count reaches at most.
const WindowSpan = 2 * 30 * time.Second

// Add counts one event at now.
func (w *Window) Add(now int64) {
	b := int32(now / windowBucket)
	switch b {
	case w.bucket:
	case w.bucket + 1:
		w.prev, w.cur = w.cur, 0
	default:
		w.prev, w.cur = 0, 0
	}
	w.bucket = b
	if w.cur < math.MaxUint16 {
		w.cur++
	}
}

// Count is the number of events in the current and the previous bucket.
func (w Window) Count(now int64) int {
	switch int32(now / windowBucket) {
	case w.bucket:
		return int(w.cur) + int(w.prev)
	case w.bucket + 1:
		return int(w.cur)
	}
	return 0
}
