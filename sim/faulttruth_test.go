package sim

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// firedLines runs a script on a fresh sim and returns, per line, what each
// firing did (with the targets "random" picked), in firing order.
func firedLines(t *testing.T, seed int64, text string) map[int][]string {
	t.Helper()
	script, err := ParseScript("replay.txt", strings.NewReader(text))
	require.NoError(t, err)
	heard := make(chan FaultEvent, 1000)
	s := startSim(t, Config{Stores: 3, Regions: 16, Seed: seed, Script: script, OnFault: func(ev FaultEvent) { heard <- ev }})
	defer s.Close()
	got := map[int][]string{}
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev := <-heard:
			require.NoError(t, ev.Err, "line %d", ev.Line)
			if ev.Did == string(VerbStopFaults) {
				return got
			}
			got[ev.Line] = append(got[ev.Line], ev.Did)
		case <-deadline:
			t.Fatalf("stop-faults never fired; heard %v", got)
		}
	}
}

// Item 10 of issue 24: the same script and seed pick the same targets
// ("lock region random" used to pick other regions on every run: one
// random source shared by every line, drawn in whatever order the lines'
// goroutines ran), and every fired line says what it picked.
func TestRandomTargetsReplayWithTheSeed(t *testing.T) {
	const script = `at 0s lock region random for 300ms
at 0s busy-store random for 100ms
at 50ms split random
every 100ms transfer-leader random
at 120ms silence-region random for 100ms
at 150ms kill-stream random
at 250ms congest-region random for 50ms
at 350ms lock region random for 100ms
at 380ms hang-store random for 50ms
at 650ms stop-faults
`
	first := firedLines(t, 7, script)
	second := firedLines(t, 7, script)
	// How many times an "every" line fires before stop-faults is up to the
	// timers; the n-th firing picks the same target.
	n := min(len(first[4]), len(second[4]))
	require.GreaterOrEqual(t, n, 3, "the recurring line fired")
	first[4], second[4] = first[4][:n], second[4][:n]
	require.Equal(t, first, second, "the same script and seed replay the same targets")
	for line := 1; line <= 9; line++ {
		require.NotEmpty(t, first[line], "line %d fired", line)
		for _, did := range first[line] {
			require.NotContains(t, did, "random", "line %d names what it picked", line)
		}
	}
	require.Regexp(t, `^lock region \d+ for 300ms \(key t\d+_r\d+\)$`, first[1][0])
	require.Regexp(t, `^busy-store [1-3] for 100ms$`, first[2][0])
	require.Regexp(t, `^split region \d+ into 2$`, first[3][0])
	require.Regexp(t, `^transfer-leader region \d+ from store [1-3] to [1-3]$`, first[4][0])
	other := firedLines(t, 8, script)
	require.NotEqual(t, first, other, "another seed picks other targets")
}

func touchedIDs(rec FaultRecord, how string) []uint64 {
	var ids []uint64
	for _, tc := range rec.Touched {
		if tc.How == how {
			ids = append(ids, tc.Region)
		}
	}
	slices.Sort(ids)
	return ids
}

// recordOf is the first record of a verb (zero when there is none yet).
func recordOf(s *Sim, verb Verb) FaultRecord {
	for _, r := range s.FaultTruth(time.Time{}) {
		if r.Verb == verb {
			return r
		}
	}
	return FaultRecord{}
}

// The fault truth names what each fault touched, the indirect effects
// included: a lock holds its batch-mates (one resolved ts per batch of 8
// regions, at the batch's minimum), a stopped store every region it led,
// pd-down everything; start-store and the end of a window close them.
func TestFaultTruthRecordsWhatEachFaultTouched(t *testing.T) {
	script, err := ParseScript("truth.txt", strings.NewReader(`at 0s lock region 4 for 1500ms
at 100ms stop-store 3
at 600ms start-store 3
at 200ms pd-down for 200ms
at 300ms hang-store 2 for 100ms
`))
	require.NoError(t, err)
	s := startSim(t, Config{Stores: 3, Regions: 12, KeepFaultTruth: true})
	subscribeAll(t, s)
	c := s.Cluster()
	lockStore := c.leaderOf(4)
	var mates []uint64
	for _, id := range c.ledBy(lockStore) {
		if id != 4 {
			mates = append(mates, id)
		}
	}
	ledBy3 := c.ledBy(3)
	ledBy2 := c.ledBy(2)
	began := time.Now()
	s.RunScript(script)

	// The lock's store batches its regions (fewer than 8) into one
	// resolved ts held at the lock: every other region it leads is a mate.
	require.Eventually(t, func() bool {
		return slices.Equal(touchedIDs(recordOf(s, VerbLock), TouchMate), mates)
	}, 10*time.Second, 20*time.Millisecond, "batch-mates of the lock in region 4 (store %d): want %v", lockStore, mates)
	lock := recordOf(s, VerbLock)
	require.Equal(t, []uint64{4}, touchedIDs(lock, TouchTarget))
	require.Equal(t, lockStore, lock.Store)
	for _, tc := range lock.Touched {
		if tc.How == TouchMate {
			require.Equal(t, uint64(4), tc.By)
		}
	}

	require.Eventually(t, func() bool {
		stop := recordOf(s, VerbStopStore)
		return !stop.End.IsZero()
	}, 10*time.Second, 20*time.Millisecond, "start-store closes the stop-store record")
	stop := recordOf(s, VerbStopStore)
	require.Equal(t, uint64(3), stop.Store)
	require.Subset(t, touchedIDs(stop, TouchLed), ledBy3, "a stopped store touches every region it led")
	require.Greater(t, stop.End.Sub(stop.Start), 400*time.Millisecond)

	pd := recordOf(s, VerbPDDown)
	require.True(t, pd.All)
	hang := recordOf(s, VerbHangStore)
	require.Equal(t, ledBy2, touchedIDs(hang, TouchLed))
	require.Equal(t, 100*time.Millisecond, hang.End.Sub(hang.Start))

	require.Eventually(t, func() bool {
		return !recordOf(s, VerbLock).End.IsZero() && !recordOf(s, VerbPDDown).End.IsZero()
	}, 10*time.Second, 20*time.Millisecond, "the lock and pd-down end with their windows")
	lock = recordOf(s, VerbLock)
	require.InDelta(t, 1500, lock.End.Sub(lock.Start).Milliseconds(), 500)
	require.Empty(t, s.FaultTruth(time.Now().Add(time.Minute)), "nothing lasts into the future")
	require.Len(t, s.FaultTruth(began), 4)
}

// Without KeepFaultTruth nothing is recorded; with it, records are
// bounded.
func TestFaultTruthIsBounded(t *testing.T) {
	s := startSim(t, Config{Regions: 4})
	require.Nil(t, s.FaultTruth(time.Time{}))

	f := newFaultTruth()
	t0 := time.Now()
	for i := range maxFaultRecords + 100 {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		f.begin(FaultRecord{Verb: VerbLock, Start: at})
	}
	require.Len(t, f.records, maxFaultRecords)
	require.Equal(t, int32(maxFaultRecords), f.locks.Load(), "dropped locks do not count as lasting")
	// Old ended records go after faultRetention.
	for _, r := range f.records {
		f.end(r, t0)
	}
	f.begin(FaultRecord{Verb: VerbSplit, Start: t0.Add(faultRetention + time.Second)})
	require.Len(t, f.records, 1)

	rec := &FaultRecord{}
	for i := range maxTouches + 10 {
		rec.touch(Touch{Region: uint64(i + 1)})
	}
	require.Len(t, rec.Touched, maxTouches)
	require.True(t, rec.Truncated)
}
