package snapshots_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"pulltop/snapshots"
	"pulltop/snapshots/snapshotstest"
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
