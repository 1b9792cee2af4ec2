package engine_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/engine"
	"github.com/pulltop/pulltop/internal/oracle"
	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
)

// verified are the verbs whose budgets (precision ≥ 0.99 over every
// publish, recall ≥ 0.95 within 2 s) the default run asserts: those the
// diagnosis meets today. The table printed by TestDiagnosisOracle (and
// the README's "Diagnosis accuracy") shows every verb; a verb joins this
// list, one line, once its cause is right.
//
// Runs on 2026-12-05 after issue 24's second diagnosis pass (-race, two
// at a time on a loaded 2-core machine, seeds 1796473110823443924, 42, 7
// and 1234, then a fifth, random seed: README "Diagnosis accuracy"):
// silence-region met both budgets on every seed that gave it a pair to
// judge (seed 1234's silenced region never showed trouble);
// congest-region met them on the four but not the fifth (store_down ×6
// named on its region's store while a drained store stopped); stop-store
// on three of four (0.987 precision on seed 7: silent ×4); the others on
// some seeds only (a lock is sometimes still lagging at 2 s; storms and PD
// outages beside store faults leave regions silent or store_down), so
// they are printed, not asserted.
//
// A sixth, random seed (1796481113197167280) then failed silence-region
// too: its silenced region was on a store a kill-stream storm had made
// flapping, and store_flapping was named (×15). So no verb is asserted.
//
// After the recall pass (branch oracle-r: late batch-mates of a lock,
// requests on a hung or busy store, drain/remove judged on the store
// row), six seeds (the four above, random 1796495853369623792 and
// 1796495856822983468): lock's recall was 1.00 on all six but its
// precision 0.974 on the first random one (store_busy ×2); remove-store
// met on five, not on the second random one (a region moved onto a
// store just back from a restart read store_down); hang-store and
// busy-store reached recall 1.00 with precision under 0.99 on some. Still
// none asserted then.
//
// After issue 24's precision pass (branch oracle-p, 2026-12-05: lock
// batches are not lateness, nothing is silent before its first resolved
// ts, flapping within its rhythm), six seeds (the four above, 1796481113197167280
// and a random 1796496374259122322): silent's precision is 1.000 on every
// one. Then, with a merge's RegionNotFound no longer making its store
// busy, six more runs (1234, 1796481113197167280, 7, a random
// 1796496631841854124, 42, 1796473110823443924): silence-region and
// stop-store met both budgets on every one (silence-region's region
// showed no trouble on seed 1234: precision 1.000, checked only), so they
// were asserted; the others missed on some seed (README). On main with
// both passes merged (19:10 UTC, -race, two runs at a time), stop-store
// read 0.986 on seed 42 in one run (store_stalled ×2 as its store went
// down) and 0.994 in the next: too close to the budget for a default run
// that draws a new seed each time, so only silence-region is asserted.
//
// 2026-12-06, after a store's stream end asks PD for the store list at
// once and a drain may leave a few leaders behind (-race, two at a time,
// seeds 42, 7, 1234 and random 1796525618262142355): remove-store and
// merge met both budgets on all four, as on all four runs of 12-05, so
// they join silence-region. The default run replays seed 42.
var verified = []sim.Verb{sim.VerbSilenceRegion, sim.VerbRemoveStore, sim.VerbMerge}

// episode is one fault of the oracle's mix: script lines relative to its
// start, and how long it keeps its lane busy.
type episode struct {
	lines []string // "%s" is the start time
	lasts time.Duration
}

func at(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + "ms" }

// oracleScript is a seeded mix of every verb in two lanes that run at
// once: store faults one after another (each on a store the seed picks,
// outages on distinct stores, remove-store last), and region faults, PD
// and churn storms beside them. rounds > 1 repeats the lanes (the long
// run); remove-store comes only in the last round.
func oracleScript(t *testing.T, seed uint64, stores, rounds int) (*sim.Script, time.Duration) {
	rng := rand.New(rand.NewPCG(seed, seed^0x0ac1e))
	store := func() int { return 1 + rng.IntN(stores) }
	var lines []string
	lane := func(start time.Duration, eps []episode) time.Duration {
		for _, e := range eps {
			for _, l := range e.lines {
				lines = append(lines, fmt.Sprintf(l, at(start)))
			}
			start += e.lasts + 500*time.Millisecond
		}
		return start
	}
	storm := func(verb string, n int, every time.Duration) episode {
		var e episode
		for k := range n {
			e.lines = append(e.lines, "at %s+"+at(time.Duration(k)*every)+" "+verb+" random")
		}
		e.lasts = time.Duration(n) * every
		return e
	}
	start, end := time.Second, time.Duration(0)
	for round := range rounds {
		outages := rng.Perm(stores)[:4]
		s := func(i int) int { return outages[i] + 1 }
		kill := store()
		storeLane := []episode{
			{[]string{"at %s kill-stream " + strconv.Itoa(kill), "at %s+1500ms kill-stream " + strconv.Itoa(kill),
				"at %s+3000ms kill-stream " + strconv.Itoa(kill) + " unknown"}, 3500 * time.Millisecond},
			{[]string{"at %s hang-store " + strconv.Itoa(store()) + " for 5s"}, 5 * time.Second},
			{[]string{"at %s slow-store " + strconv.Itoa(store()) + " 2s for 5s"}, 5 * time.Second},
			{[]string{"at %s busy-store " + strconv.Itoa(store()) + " for 3s"}, 3 * time.Second},
			{[]string{"at %s restart-store " + strconv.Itoa(s(0)) + " after 4s"}, 5 * time.Second},
			{[]string{"at %s stop-store " + strconv.Itoa(s(1)), "at %s+5s start-store " + strconv.Itoa(s(1))}, 6 * time.Second},
			{[]string{"at %s drain-store " + strconv.Itoa(s(2)), "at %s+5s start-store " + strconv.Itoa(s(2))}, 6 * time.Second},
		}
		rng.Shuffle(len(storeLane), func(i, j int) { storeLane[i], storeLane[j] = storeLane[j], storeLane[i] })
		if round == rounds-1 {
			storeLane = append(storeLane, episode{[]string{"at %s remove-store " + strconv.Itoa(s(3))}, 5 * time.Second})
		}
		regionLane := []episode{
			{[]string{"at %s lock region random for 6s"}, 6 * time.Second},
			{[]string{"at %s lock region random for 6s"}, 6 * time.Second},
			{[]string{"at %s silence-region random for 6s"}, 6 * time.Second},
			{[]string{"at %s congest-region random for 3s"}, 3 * time.Second},
			{[]string{"at %s pd-down for 5s"}, 5 * time.Second},
			storm("split", 8, 400*time.Millisecond),
			storm("merge", 5, 600*time.Millisecond),
			storm("transfer-leader", 10, 300*time.Millisecond),
		}
		rng.Shuffle(len(regionLane), func(i, j int) { regionLane[i], regionLane[j] = regionLane[j], regionLane[i] })
		a := lane(start, storeLane)
		b := lane(start+time.Duration(rng.IntN(2000))*time.Millisecond, regionLane)
		start = max(a, b) + time.Second
		end = start
	}
	// "at 1000ms+400ms": the parser takes one duration; add them up here.
	for i, l := range lines {
		if when, rest, ok := strings.Cut(strings.TrimPrefix(l, "at "), " "); ok && strings.Contains(when, "+") {
			a, b, _ := strings.Cut(when, "+")
			da, err1 := time.ParseDuration(a)
			db, err2 := time.ParseDuration(b)
			require.NoError(t, err1)
			require.NoError(t, err2)
			lines[i] = "at " + at(da+db) + " " + rest
		}
	}
	lines = append(lines, "at "+at(end)+" stop-faults")
	script, err := sim.ParseScript("oracle.txt", strings.NewReader(strings.Join(lines, "\n")))
	require.NoError(t, err, strings.Join(lines, "\n"))
	return script, end
}

// oracleDefaultSeed is the seed the default run replays.
const oracleDefaultSeed = 42

// TestDiagnosisOracle runs the seeded fault mix on the embedded sim with
// the engine on its defaults (--stale-after 10s, a publish every 500ms),
// judges every publish against the sim's fault truth, prints the table
// and asserts the budgets for the verbs in verified. PULLTOP_ORACLE_SEED
// replays a run; PULLTOP_ORACLE_ROUNDS=N runs the mix N times over (the
// long run: README "Diagnosis accuracy").
func TestDiagnosisOracle(t *testing.T) {
	// The default run replays one seed: a verb asserted here must meet
	// its budgets on it every time, whatever the machine's load; a new
	// seed each run made the default suite fail on the seeds where a
	// verb's known misses land (README "Diagnosis accuracy").
	// PULLTOP_ORACLE_SEED=random draws one, =N replays N.
	seed := uint64(oracleDefaultSeed)
	switch v := os.Getenv("PULLTOP_ORACLE_SEED"); v {
	case "":
	case "random":
		seed = uint64(time.Now().UnixNano())
	default:
		var err error
		seed, err = strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "PULLTOP_ORACLE_SEED: a number, or random")
	}
	rounds := 1
	if v := os.Getenv("PULLTOP_ORACLE_ROUNDS"); v != "" {
		var err error
		rounds, err = strconv.Atoi(v)
		require.NoError(t, err, "PULLTOP_ORACLE_ROUNDS")
	}
	const stores, regions = 4, 48
	script, length := oracleScript(t, seed, stores, rounds)
	t.Logf("oracle: %d round(s), %s of faults, seed %d (PULLTOP_ORACLE_SEED=%d replays it)", rounds, length, seed, seed)

	judge := oracle.NewJudge(oracle.DefaultRules(10 * time.Second))
	h := startHarness(t, sim.Config{Stores: stores, Regions: regions, WriteRate: 800, PDLag: 200 * time.Millisecond,
		Seed: int64(seed), MinTsInterval: time.Second, InterleaveScan: true, ScanDelay: 30 * time.Millisecond,
		ElectionTimeout: 3 * time.Second, KeepFaultTruth: true},
		func(c *engine.Config) {
			// The defaults a user runs.
			c.PublishInterval, c.StaleAfter = 0, 0
			c.OnPublish = judge.Observe
		})
	h.waitFor("initialized", 30*time.Second, allInitialized(regions))
	began := time.Now()
	stopped := h.sim.RunScript(script)
	// The truth gathers the regions a store leads when it is read: read it
	// as often as the engine publishes.
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-stopped:
			running = false
		case <-tick.C:
			h.sim.FaultTruth(began)
			h.mu.Lock()
			problems := slices.Clone(h.problems)
			h.mu.Unlock()
			require.Empty(t, problems, "invariant broken during the faults")
		}
	}
	// Judge the recovery too: causes must not outlive their faults.
	h.waitFor("every region initialized after the faults stopped", 30*time.Second, func(st *snapshots.State) bool {
		return allInitialized(h.sim.Cluster().RegionCount())(st)
	})
	settled := time.Now().Add(3 * time.Second)
	for time.Now().Before(settled) {
		<-tick.C
	}
	records := h.sim.FaultTruth(began)
	h.checkInvariants()
	rep := judge.Judge(records, began)
	table := rep.Table()
	t.Logf("diagnosis oracle, seed %d, %d fault records:\n%s", seed, len(records), table)
	for _, m := range rep.MissTrails {
		t.Logf("missed: %s", m)
	}
	if len(rep.MissTrails) > 0 {
		for _, r := range records {
			end := "—"
			if !r.End.IsZero() {
				end = r.End.Format("15:04:05.000")
			}
			t.Logf("fault: %s–%s %s (store %d)", r.Start.Format("15:04:05.000"), end, r.Did, r.Store)
		}
	}
	if p := os.Getenv("PULLTOP_ORACLE_TABLE"); p != "" {
		require.NoError(t, os.WriteFile(p, []byte(table), 0o644))
	}
	require.Positive(t, rep.Publishes)
	// The mix ran every verb (a failed line would leave a verb unjudged).
	for _, v := range oracle.Verbs() {
		require.True(t, slices.ContainsFunc(records, func(r sim.FaultRecord) bool { return r.Verb == v }),
			"no %s fault ran; the sim's errors: %v", v, h.sim.FaultErrors())
	}
	for _, v := range verified {
		if r := rep.Verbs[v]; r.Pairs() == 0 {
			// Its region never showed trouble on this seed: recall has
			// nothing to judge, precision still must hold.
			require.GreaterOrEqual(t, r.Precision(), oracle.PrecisionBudget, "%s: precision (wrong: %v, seed %d)", v, r.Wrong, seed)
			t.Logf("%s: no pair to judge recall on with seed %d", v, seed)
			continue
		}
		ok, why := rep.Meets(v)
		require.True(t, ok, "%s: %s (seed %d)", v, why, seed)
	}
}
