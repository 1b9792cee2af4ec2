package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/pulltop/pulltop/snapshots"
)

// A failing region lookup stays shown after a good store refresh (they are
// kept apart); it clears when a lookup works again. The outage's start,
// PD's last good answer and the failure rate are filled in.
func TestPDLookupFailureNotWipedByStoreRefresh(t *testing.T) {
	e := &Engine{logger: zap.NewNop()}
	lookupErr := errors.New("PD request failed: BatchScanRegions from t100_r0: deadline exceeded")
	before := time.Now()
	e.notePD(pdRefresh, nil)
	e.notePD(pdLookup, lookupErr)
	e.notePD(pdLookup, lookupErr)
	e.notePD(pdRefresh, nil)
	var src snapshots.Source
	e.pdSource(&src, time.Now())
	require.Equal(t, lookupErr.Error(), src.PDError, "a good GetAllStores does not hide the failing lookup")
	require.False(t, src.PDErrorSince.Before(before))
	require.False(t, src.PDLastOK.Before(before))
	require.InDelta(t, 2.0/10, src.PDFailuresPerSec, 1e-9, "the rate over the last 10s: an outage shows its own rate, not a minute's average")

	e.notePD(pdLookup, nil)
	src = snapshots.Source{}
	e.pdSource(&src, time.Now())
	require.Empty(t, src.PDError)
	require.True(t, src.PDErrorSince.IsZero())
	src = snapshots.Source{}
	e.pdSource(&src, time.Now().Add(11*time.Second))
	require.Zero(t, src.PDFailuresPerSec, "failures older than 10s no longer count")
}
