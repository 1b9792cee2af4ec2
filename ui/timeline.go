package ui

import (
	"strconv"
	"strings"
	"time"

	"github.com/pulltop/pulltop/snapshots"
)

// The incident timeline in the UI: the recorder (snapshots.Recorder) keeps
// what the UI pulled over the last --history (or what a replayed snapshot
// saved); `[` `]` step one refresh back and forward, `{` `}` a minute, and
// `]` past the newest returns to live. While the cursor is in the past
// every view shows that moment (the snapshot the cursor rebuilds), the
// header says AT 14:03:07 (−2m13s) instead of [live], and the engine goes
// on: new snapshots are still recorded.

// loadHistory starts the recorder from a snapshot that carries a timeline
// (a replayed file), once.
func (a *app) loadHistory(s *snapshots.State) {
	if s.History == nil || a.historyLoaded {
		return
	}
	a.historyLoaded = true
	rec, err := snapshots.NewRecorderFrom(s.History)
	if err != nil {
		// Load already checked it; a Source that did not is told here.
		a.setFlash("the snapshot's timeline is unusable: "+err.Error(), true)
		return
	}
	a.rec, a.track = rec, nil
}

// timelineKey handles [ ] { }; false when msg is none of them.
func (a *app) timelineKey(msg string) bool {
	switch msg {
	case "[":
		a.scrub(func(c *snapshots.Cursor) { c.Step(-1) }, -1)
	case "]":
		a.scrub(func(c *snapshots.Cursor) { c.Step(1) }, 1)
	case "{":
		a.scrub(func(c *snapshots.Cursor) { c.Seek(c.At().Add(-time.Minute)) }, -1)
	case "}":
		a.scrub(func(c *snapshots.Cursor) { c.Seek(c.At().Add(time.Minute)) }, 1)
	default:
		return false
	}
	return true
}

// scrub moves the timeline cursor with move (dir is its direction) and
// shows the moment it lands on; forward from the newest moment is live.
func (a *app) scrub(move func(*snapshots.Cursor), dir int) {
	if a.rec == nil || a.rec.Len() == 0 {
		switch {
		case a.opts.History <= 0 && a.readOnly && a.received <= 1:
			a.setFlash("this snapshot has no timeline (it was saved without --history)", true)
		case a.opts.History <= 0:
			a.setFlash("no timeline: --history is 0", true)
		default:
			a.setFlash("no timeline yet: nothing recorded", true)
		}
		return
	}
	if a.cursor == nil {
		if dir > 0 {
			at := "already live"
			if a.replay {
				at = "newest moment" // a replay has no live
			}
			a.setFlash(at+": [ steps back in time", false)
			return
		}
		a.cursor = a.rec.Cursor()
	}
	wasNewest := a.cursor.Newest()
	move(a.cursor)
	if dir > 0 && wasNewest {
		a.goLive()
		return
	}
	if a.cursor.Newest() && dir > 0 {
		// Landed on the newest moment: that is the live view.
		a.goLive()
		return
	}
	if a.cursor.Oldest() && dir < 0 {
		a.setFlash("the oldest moment kept ("+a.rec.Window().String()+" of history)", false)
	}
	a.accept(a.cursor.State(a.latest))
}

// goLive leaves the timeline for the newest snapshot.
func (a *app) goLive() {
	a.cursor = nil
	a.frozen, a.behind = false, 0
	if a.latest != nil {
		a.accept(a.latest)
	}
	if a.replay {
		a.setFlash("newest moment", false)
		return
	}
	a.setFlash("live", false)
}

// past reports whether the screen shows a moment of the timeline.
func (a *app) past() bool { return a.cursor != nil }

// atLabel is the header's "AT 14:03:07 (−2m13s)": the moment on screen and
// how far it is behind the newest snapshot.
func (a *app) atLabel() string {
	at := a.cursor.At()
	behind := time.Duration(0)
	if a.latest != nil {
		behind = a.latest.TakenAt.Sub(at)
	}
	return "AT " + at.In(a.opts.Now().Location()).Format("15:04:05") + " (−" + fmtDur(max(behind.Milliseconds(), 0)) + ")"
}

// timelineBanner explains the past moment on screen.
func (a *app) timelineBanner() string {
	if a.replay {
		return " TIMELINE " + a.atLabel()[3:] + " behind the newest: [ ] step, { } a minute, ] up to the newest moment"
	}
	return " TIMELINE " + a.atLabel()[3:] + " behind the newest: [ ] step, { } a minute, ] past the newest: live"
}

// timelineLine is the Overview's line about the timeline.
func (a *app) timelineLine() string {
	if a.rec == nil || a.rec.Len() == 0 {
		if a.opts.History <= 0 {
			return "off (--history 0)"
		}
		return "nothing recorded yet"
	}
	times := a.rec.Times()
	loc := a.opts.Now().Location()
	text := times[0].In(loc).Format("15:04:05") + "–" + times[len(times)-1].In(loc).Format("15:04:05") +
		" (" + strconv.Itoa(len(times)) + " moments)"
	return text + "   [ ] step, { } a minute"
}

// Region timeline strip: one letter per time bucket over the timeline, the
// region's state at its worst in the bucket, so a stall of one refresh
// shows. Letters carry the meaning; colour would only repeat it.

// stateLetter is the strip's letter for a region state ('.' when the
// region was not there), and its severity: the worst state in a bucket
// wins.
func stateLetter(state string, present bool) (byte, int) {
	if !present {
		return '.', 0
	}
	switch state {
	case snapshots.StateInitialized:
		return 'I', 1
	case snapshots.StateRequested:
		return 'R', 2
	case snapshots.StateQueued:
		return 'Q', 3
	case snapshots.StateLocating:
		return 'L', 4
	case snapshots.StateReloadWait:
		return 'D', 5
	case snapshots.StateRetryWait:
		return 'W', 6
	case snapshots.StateParked:
		return 'P', 7
	case snapshots.StateStale:
		return 'S', 8
	}
	return '?', 9
}

const stripLegend = "I initialized  R requested  Q queued  L locating  D reload-wait  W retry-wait  P parked  S stale  . absent"

// regionStrip renders a region's timeline: the strip, a marker under the
// moment on screen, and the causes it had with when each began.
func (a *app) regionStrip(sub, id uint64, width int) []string {
	if a.rec == nil || a.rec.Len() < 2 {
		return nil
	}
	// The detail redraws on every refresh: follow the region's timeline
	// incrementally instead of walking every frame each time.
	if a.track == nil || a.trackSub != sub || a.trackID != id {
		a.track, a.trackSub, a.trackID = a.rec.Track(sub, id), sub, id
	}
	points := a.track.Points()
	if len(points) == 0 {
		return nil
	}
	times := a.rec.Times()
	from, to := times[0], times[len(times)-1]
	span := to.Sub(from)
	n := max(10, min(width-22, 90))
	if span <= 0 {
		return nil
	}
	bucketOf := func(t time.Time) int { return min(int(int64(n)*int64(t.Sub(from))/int64(span)), n-1) }
	strip := make([]byte, n)
	rank := make([]int, n)
	// The state at each point holds until the next one.
	for k, p := range points {
		end := n - 1
		if k+1 < len(points) {
			end = bucketOf(points[k+1].At)
		}
		letter, sev := stateLetter(p.State, p.Present)
		for b := bucketOf(p.At); b <= end; b++ {
			if strip[b] == 0 || sev > rank[b] {
				strip[b], rank[b] = letter, sev
			}
		}
	}
	for b := range strip {
		if strip[b] == 0 {
			strip[b] = ' '
		}
	}
	loc := a.opts.Now().Location()
	per := span / time.Duration(n)
	out := []string{
		"   " + from.In(loc).Format("15:04:05") + " " + strings.Repeat(" ", max(0, n-17)) + to.In(loc).Format("15:04:05"),
		"   |" + string(strip) + "|",
	}
	if a.cursor != nil {
		out = append(out, "    "+strings.Repeat(" ", bucketOf(a.cursor.At()))+"^ "+a.cursor.At().In(loc).Format("15:04:05")+" (on screen)")
	}
	out = append(out, "   one letter per "+fmtDur(per.Milliseconds())+", the worst state in it:", "   "+stripLegend)
	var causes []string
	last := ""
	for _, p := range points {
		c := p.Cause
		if !p.Present {
			c = "absent"
		}
		if c == "" || c == last {
			continue
		}
		last = c
		causes = append(causes, p.At.In(loc).Format("15:04:05")+" "+c)
	}
	if len(causes) > 0 {
		out = append(out, "   causes: "+strings.Join(causes, " → "))
	}
	return out
}
