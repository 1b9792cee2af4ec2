package retry

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// TestRetryStory runs the scripts in testdata/: region failures go through
// the Policy into a Scheduler on a FakeClock, the way the engine wires them,
// and the script shows the delays chosen, what is pending and what fires.
//
//	fail range=<sub>:<start>-<end> reason=<reason> [region=<id>] [busy-ms=<n>]
//	initialized range=...   (the region covering the range is INITIALIZED)
//	advance <duration>
//	pending
//	attempts range=...
//	gc
func TestRetryStory(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		clock := NewFakeClock(t0)
		policy := NewPolicy(rand.NewPCG(5857, 4700))
		// One worker: actions run in hand-off order, so output is stable.
		scheduler := NewScheduler(clock, SchedulerOptions{Workers: 1})
		defer scheduler.Stop()
		fired := make(chan string, 1024)

		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			now := clock.Now()
			switch d.Cmd {
			case "fail":
				key := scanRange(t, d)
				var reason string
				var regionID, busyMs uint64
				d.ScanArgs(t, "reason", &reason)
				d.MaybeScanArgs(t, "region", &regionID)
				d.MaybeScanArgs(t, "busy-ms", &busyMs)
				delay, attempt := policy.Next(now, key, Reason(reason), ServerBusyBackoff(busyMs))
				r := Retry{Key: key, RegionID: regionID, Reason: Reason(reason), Attempt: attempt}
				scheduler.Schedule(r, delay, func() { fired <- describeRetry(r) })
				return fmt.Sprintf("attempt %d: retry in %v (curve %v)\n",
					attempt, delay, RuleFor(Reason(reason)).delay(attempt))
			case "initialized":
				policy.Reset(scanRange(t, d))
				return "backoff reset\n"
			case "attempts":
				return fmt.Sprintf("%d\n", policy.Attempts(scanRange(t, d)))
			case "gc":
				return fmt.Sprintf("forgot %d\n", policy.GC(now))
			case "pending":
				var out strings.Builder
				for _, p := range scheduler.Pending() {
					fmt.Fprintf(&out, "%s in %v\n", describeRetry(p.Retry), p.Due.Sub(now))
				}
				return out.String()
			case "advance":
				d2, err := time.ParseDuration(d.CmdArgs[0].Key)
				if err != nil {
					d.Fatalf(t, "%v", err)
				}
				// Pending sees every Schedule so far; what is due by then
				// must fire, and nothing else may.
				due := 0
				for _, p := range scheduler.Pending() {
					if !p.Due.After(now.Add(d2)) {
						due++
					}
				}
				firedBefore := scheduler.Stats().Fired
				clock.Advance(d2)
				var out strings.Builder
				fmt.Fprintf(&out, "now +%v\n", clock.Now().Sub(t0))
				for range due {
					select {
					case name := <-fired:
						fmt.Fprintf(&out, "fired %s\n", name)
					case <-time.After(waitLimit):
						d.Fatalf(t, "retry due by +%v did not fire", clock.Now().Sub(t0))
					}
				}
				if got := scheduler.Stats().Fired - firedBefore; got != uint64(due) {
					d.Fatalf(t, "%d retries fired, want %d", got, due)
				}
				return out.String()
			default:
				d.Fatalf(t, "unknown command %q", d.Cmd)
				return ""
			}
		})
	})
}

// scanRange parses range=<sub>:<start>-<end>; an empty end is +inf.
func scanRange(t *testing.T, d *datadriven.TestData) Key {
	var spec string
	d.ScanArgs(t, "range", &spec)
	var key Key
	sub, span, ok := strings.Cut(spec, ":")
	start, end, ok2 := strings.Cut(span, "-")
	if _, err := fmt.Sscan(sub, &key.Subscription); err != nil || !ok || !ok2 {
		d.Fatalf(t, "bad range %q, want <sub>:<start>-<end>", spec)
	}
	key.Start, key.End = start, end
	return key
}

func describeRetry(r Retry) string {
	end := r.Key.End
	if end == "" {
		end = "+inf"
	}
	return fmt.Sprintf("%d:[%s,%s) region %d %s attempt %d", r.Key.Subscription, r.Key.Start, end, r.RegionID, r.Reason, r.Attempt)
}
