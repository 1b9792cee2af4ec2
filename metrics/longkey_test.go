package metrics

import (
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
)

// Issue 25 item 4: a region key over ~3.6 KB made /snapshot answer 500
// (cleaning cut the key, validation refused the cut). It is served whole.
func TestSnapshotServesLongKeysWhole(t *testing.T) {
	st := testState()
	key := "74" + hex.EncodeToString([]byte(strings.Repeat("\xab", 4<<10)))
	st.Regions[0].End = key
	s, err := Listen("127.0.0.1:0", newSource(st), nil)
	require.NoError(t, err)
	defer s.Close()
	resp, err := http.Get("http://" + s.Addr() + "/snapshot")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%.300s", body)
	got, err := snapshots.Unmarshal(body, "/snapshot")
	require.NoError(t, err)
	require.Equal(t, key, got.Regions[0].End)
}
