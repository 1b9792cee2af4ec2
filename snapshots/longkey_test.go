package snapshots

import (
	"bytes"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// longKey is the hex of an n-byte key: what the engine makes of a region
// boundary PD sends.
func longKey(n int, fill byte) string {
	return "74" + hex.EncodeToString(bytes.Repeat([]byte{fill}, n-1))
}

// Issue 25 item 4: a region key over ~3.6 KB used to be cut by cleaning
// (at MaxStringLen, with "…") and then refused by validation, so every save
// failed, /snapshot answered 500, and a replayed file that passed --check
// could not be saved with ctrl+s. Keys are data: up to MaxKeyLen they
// survive whole; past it they are cut and marked, and what cleaning makes
// is always valid.
func TestLongKeysSurviveSaveAndLoad(t *testing.T) {
	whole := longKey(4<<10, 0xab)    // 8 KiB of hex: past MaxStringLen
	big := longKey(20<<10, 0xcd)     // 40 KiB: above anything TiKV takes, kept
	huge := longKey(MaxKeyLen, 0xef) // 128 KiB of hex: cut
	s := fullState()
	s.Regions = append(s.Regions, Region{ID: 13, Subscription: 1, Start: "7481", End: whole, State: StateInitialized},
		Region{ID: 14, Subscription: 1, Start: whole, End: big, State: StateInitialized},
		Region{ID: 15, Subscription: 1, Start: big, End: huge, State: StateInitialized})
	s.Events[0].Key = whole
	s.Retries[0].End = whole

	dir := t.TempDir()
	path := filepath.Join(dir, "long.json")
	require.NoError(t, Save(path, s), "a snapshot with long keys saves")
	var buf bytes.Buffer
	require.NoError(t, Encode(&buf, s), "and streams (what /snapshot serves)")

	got, err := Load(path)
	require.NoError(t, err, "and loads (replay --check)")
	assert.Equal(t, whole, got.Regions[1].End, "an 8 KiB key survives whole")
	assert.Equal(t, whole, got.Regions[2].Start)
	assert.Equal(t, big, got.Regions[2].End, "a 40 KiB key survives whole")
	assert.Equal(t, whole, got.Events[0].Key)
	assert.Equal(t, whole, got.Retries[0].End)
	cut := got.Regions[3].End
	assert.Equal(t, huge[:MaxKeyLen]+KeyCutMark, cut, "a key past MaxKeyLen is cut and marked")
	require.NoError(t, got.Validate(), "what cleaning made is valid")

	// ctrl+s on the replayed file, and the copy loads to the same keys.
	saved, err := SaveNew(dir, time.Now(), got)
	require.NoError(t, err, "a replayed file that loads saves again")
	again, err := Load(saved)
	require.NoError(t, err)
	assert.Equal(t, got.Regions, again.Regions)

	// A key that is not hex is still refused, and the reason is not cut off
	// behind the key.
	bad := fullState()
	bad.Regions[0].End = strings.Repeat("zz", 5000)
	err = Save(filepath.Join(dir, "bad.json"), bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), " bytes) is not hex")
	assert.Less(t, len(err.Error()), 400)
}

// Cleaning a key is idempotent and always valid: the property behind
// "validation never rejects what cleaning produced".
func TestCleanKeyIsValidAndStable(t *testing.T) {
	for _, n := range []int{0, 1, 100, MaxStringLen / 2, MaxStringLen/2 + 1, MaxKeyLen / 2, MaxKeyLen/2 + 1, MaxKeyLen} {
		k := ""
		if n > 0 {
			k = longKey(n, 0x11)
		}
		c := CleanKey(k)
		assert.True(t, isKey(c), "CleanKey of %d bytes is a valid key", n)
		assert.Equal(t, c, CleanKey(c), "CleanKey of %d bytes is stable", n)
		assert.False(t, keyNeedsCleaning(c))
		assert.False(t, NeedsCleaning(c) && len(c) <= MaxStringLen)
	}
}
