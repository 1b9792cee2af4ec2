package snapshots_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
	"github.com/pulltop/pulltop/snapshots/snapshotstest"
)

// TestCleanCoversEveryStringField is the guard for fields added later: it
// fills every string of a State by reflection, so a new field that the
// cleaner does not visit fails here with its path.
func TestCleanCoversEveryStringField(t *testing.T) {
	s := snapshotstest.HostileState(snapshotstest.Hostile)
	var before []string
	snapshotstest.UnsafeStrings(reflect.ValueOf(s), "State", &before)
	require.NotEmpty(t, before, "the hostile text must be found unsafe")

	c := snapshots.Clean(s)
	var left []string
	snapshotstest.UnsafeStrings(reflect.ValueOf(c), "State", &left)
	require.Empty(t, left, "strings Clean missed (add them to cleaner.state in clean.go)")

	var after []string
	snapshotstest.UnsafeStrings(reflect.ValueOf(s), "State", &after)
	slices.Sort(before) // map order
	slices.Sort(after)
	require.Equal(t, before, after, "Clean must not modify the State it was given")

	// CleanSince with the cleaned State as the previous one: a new
	// snapshot carrying the same hostile strings is cleaned again.
	again := snapshots.CleanSince(snapshotstest.HostileState(snapshotstest.Hostile), c)
	left = nil
	snapshotstest.UnsafeStrings(reflect.ValueOf(again), "State", &left)
	require.Empty(t, left)
}

// cleanInParts is CleanSince done the way the UI does it in its one pass
// over the regions (ui app.take): a CleanPass, every region in order.
func cleanInParts(s, prev *snapshots.State) *snapshots.State {
	pass := snapshots.BeginClean(s, prev)
	for i := range pass.State().Regions {
		pass.Region(i)
	}
	return pass.State()
}

// TestCleanInPartsIsCleanSince: the parts give what CleanSince gives, s
// itself when nothing needs cleaning, and never modify s.
func TestCleanInPartsIsCleanSince(t *testing.T) {
	hostile := func() *snapshots.State { return snapshotstest.HostileState(snapshotstest.Hostile) }
	// Plain rows with one hostile region in the middle (and its lineage).
	mixed := func() *snapshots.State {
		h := hostile()
		require.NotEmpty(t, h.Regions)
		s := &snapshots.State{Seq: 7}
		for i := range 5 {
			s.Regions = append(s.Regions, snapshots.Region{ID: uint64(i + 1), Start: "a", End: "b", State: snapshots.StateInitialized})
		}
		s.Regions[2] = h.Regions[0]
		return s
	}
	unsafe := func(s *snapshots.State) []string {
		var out []string
		snapshotstest.UnsafeStrings(reflect.ValueOf(s), "State", &out)
		slices.Sort(out)
		return out
	}
	cleanOnce := snapshots.Clean(hostile())
	for _, c := range []struct {
		name    string
		s, prev func() *snapshots.State
	}{
		{"hostile", hostile, func() *snapshots.State { return nil }},
		{"hostile/after-cleaned", hostile, func() *snapshots.State { return cleanOnce }},
		{"one-region", mixed, func() *snapshots.State { return nil }},
		{"one-region/after-mixed", mixed, func() *snapshots.State { return snapshots.Clean(mixed()) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, prev := c.s(), c.prev()
			before := unsafe(s)
			require.NotEmpty(t, before)
			want := snapshots.CleanSince(c.s(), prev)
			got := cleanInParts(s, prev)
			require.Equal(t, want, got)
			require.Empty(t, unsafe(got))
			require.Equal(t, before, unsafe(s), "the parts must not modify the State they were given")
			require.NotSame(t, s, got)
		})
	}
	t.Run("clean", func(t *testing.T) {
		s := snapshots.Clean(mixed())
		require.Same(t, s, cleanInParts(s, nil))
		require.Same(t, s, cleanInParts(s, s))
	})
}
