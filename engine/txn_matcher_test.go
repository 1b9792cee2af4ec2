package engine

import (
	"testing"
	"unsafe"

	"github.com/pingcap/kvproto/pkg/cdcpb"
	"github.com/stretchr/testify/require"
)

func prewriteRow(startTs uint64, key, value, oldValue string) *cdcpb.Event_Row {
	return &cdcpb.Event_Row{
		Type: cdcpb.Event_PREWRITE, OpType: cdcpb.Event_Row_PUT,
		StartTs: startTs, Key: []byte(key), Value: bytesOrNil(value), OldValue: bytesOrNil(oldValue),
	}
}

func commitRow(startTs, commitTs uint64, key string) *cdcpb.Event_Row {
	return &cdcpb.Event_Row{
		Type: cdcpb.Event_COMMIT, OpType: cdcpb.Event_Row_PUT,
		StartTs: startTs, CommitTs: commitTs, Key: []byte(key),
	}
}

func rollbackRow(startTs uint64, key string) *cdcpb.Event_Row {
	return &cdcpb.Event_Row{Type: cdcpb.Event_ROLLBACK, StartTs: startTs, Key: []byte(key)}
}

// bytesOrNil gives "" as nil, as a decoded protobuf does.
func bytesOrNil(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

func putRow(key, value, oldValue string, startTs, commitTs uint64) Row {
	return Row{OpType: OpPut, Key: []byte(key), Value: bytesOrNil(value), OldValue: bytesOrNil(oldValue), StartTs: startTs, CommitTs: commitTs}
}

func TestTxnMatcherPrewriteThenCommit(t *testing.T) {
	var m TxnMatcher
	m.Prewrite(prewriteRow(10, "k", "v", "old"))
	require.Equal(t, 1, m.Len())

	got, matched, err := m.Commit(commitRow(10, 20, "k"), true)
	require.NoError(t, err)
	require.True(t, matched)
	require.Equal(t, putRow("k", "v", "old", 10, 20), got)
	require.Equal(t, 0, m.Len())
}

// TestTxnMatcherCommitBeforeScannedPrewrite is the interleaving TiKV
// produces: a heartbeat's empty prewrite is live, the COMMIT is live and
// arrives before the scan's PREWRITE with the value.
func TestTxnMatcherCommitBeforeScannedPrewrite(t *testing.T) {
	var m TxnMatcher
	m.Prewrite(prewriteRow(10, "k", "", ""))

	_, matched, err := m.Commit(commitRow(10, 20, "k"), false)
	require.NoError(t, err)
	require.False(t, matched, "an empty prewrite is not matched before INITIALIZED")
	require.Equal(t, 1, m.Early())

	m.Prewrite(prewriteRow(10, "k", "v", "old"))
	rows, dropped := m.MarkInitialized()
	require.Equal(t, []Row{putRow("k", "v", "old", 10, 20)}, rows)
	require.Zero(t, dropped)
	require.Equal(t, 0, m.Len())
	require.Equal(t, 0, m.Early())
	require.Nil(t, m.early, "the held-back rows are released")
}

func TestTxnMatcherCommitBeforeInitializedMatchesRealPrewrite(t *testing.T) {
	var m TxnMatcher
	m.Prewrite(prewriteRow(10, "k", "v", ""))
	got, matched, err := m.Commit(commitRow(10, 20, "k"), false)
	require.NoError(t, err)
	require.True(t, matched)
	require.Equal(t, putRow("k", "v", "", 10, 20), got)
	rows, dropped := m.MarkInitialized()
	require.Empty(t, rows)
	require.Zero(t, dropped)
}

func TestTxnMatcherFakePrewriteDoesNotOverwrite(t *testing.T) {
	var m TxnMatcher
	m.Prewrite(prewriteRow(10, "k", "v", "old"))
	m.Prewrite(prewriteRow(10, "k", "", ""))
	got, matched, err := m.Commit(commitRow(10, 20, "k"), true)
	require.NoError(t, err)
	require.True(t, matched)
	require.Equal(t, putRow("k", "v", "old", 10, 20), got)

	// An empty row does replace another empty one: only values are protected.
	m.Prewrite(prewriteRow(11, "k", "", ""))
	m.Prewrite(prewriteRow(11, "k", "", "old"))
	got, _, err = m.Commit(commitRow(11, 21, "k"), true)
	require.NoError(t, err)
	require.Equal(t, []byte("old"), got.OldValue)

	// Prewrites of other transactions or keys are separate.
	m.Prewrite(prewriteRow(12, "k", "a", ""))
	m.Prewrite(prewriteRow(13, "k", "b", ""))
	m.Prewrite(prewriteRow(12, "j", "c", ""))
	require.Equal(t, 3, m.Len())
}

func TestTxnMatcherGenerationOrdering(t *testing.T) {
	gen := func(r *cdcpb.Event_Row, g uint64) *cdcpb.Event_Row { r.Generation = g; return r }

	var m TxnMatcher
	m.Prewrite(gen(prewriteRow(10, "k", "v2", ""), 2))
	m.Prewrite(gen(prewriteRow(10, "k", "v1", ""), 1))
	got, _, err := m.Commit(commitRow(10, 20, "k"), true)
	require.NoError(t, err)
	require.Equal(t, []byte("v2"), got.Value, "a lower generation never overwrites a higher one")

	m.Prewrite(gen(prewriteRow(11, "k", "v1", ""), 1))
	m.Prewrite(gen(prewriteRow(11, "k", "v3", ""), 3))
	got, _, err = m.Commit(commitRow(11, 21, "k"), true)
	require.NoError(t, err)
	require.Equal(t, []byte("v3"), got.Value, "a higher generation replaces a lower one")

	// Before INITIALIZED a pipelined prewrite is not matched: a later
	// generation may still come from the scan.
	m.Prewrite(gen(prewriteRow(12, "k", "v1", ""), 1))
	_, matched, err := m.Commit(commitRow(12, 22, "k"), false)
	require.NoError(t, err)
	require.False(t, matched)
	m.Prewrite(gen(prewriteRow(12, "k", "v2", ""), 2))
	rows, _ := m.MarkInitialized()
	require.Equal(t, []Row{putRow("k", "v2", "", 12, 22)}, rows)
}

func TestTxnMatcherDeleteMatchedAtInitialized(t *testing.T) {
	var m TxnMatcher
	del := prewriteRow(10, "k", "", "old")
	del.OpType = cdcpb.Event_Row_DELETE
	m.Prewrite(del)
	commit := commitRow(10, 20, "k")
	commit.OpType = cdcpb.Event_Row_DELETE
	_, matched, err := m.Commit(commit, false)
	require.NoError(t, err)
	require.False(t, matched, "an empty value could be a heartbeat; wait for the scan")

	rows, dropped := m.MarkInitialized()
	require.Zero(t, dropped)
	require.Equal(t, []Row{{OpType: OpDelete, Key: []byte("k"), OldValue: []byte("old"), StartTs: 10, CommitTs: 20}}, rows)
}

func TestTxnMatcherCommitWithoutPrewriteAfterInitializedIsError(t *testing.T) {
	var m TxnMatcher
	require.NotPanics(t, func() {
		_, matched, err := m.Commit(commitRow(10, 20, "\x01k"), true)
		require.False(t, matched)
		require.ErrorIs(t, err, ErrCommitWithoutPrewrite)
		require.Contains(t, err.Error(), "start ts 10, commit ts 20, key 016b")
	})
	require.Equal(t, 0, m.Early(), "nothing is held back once initialized")
}

func TestTxnMatcherUnmatchedCommitsDroppedAtInitialized(t *testing.T) {
	var m TxnMatcher
	m.Prewrite(prewriteRow(10, "a", "", ""))
	m.Prewrite(prewriteRow(11, "b", "", ""))
	for _, c := range []*cdcpb.Event_Row{commitRow(10, 20, "a"), commitRow(9, 19, "z"), commitRow(11, 21, "b"), commitRow(8, 18, "y")} {
		_, matched, err := m.Commit(c, false)
		require.NoError(t, err)
		require.False(t, matched)
	}
	rows, dropped := m.MarkInitialized()
	require.Equal(t, []Row{putRow("a", "", "", 10, 20), putRow("b", "", "", 11, 21)}, rows, "matched in arrival order")
	require.Equal(t, 2, dropped)
}

func TestTxnMatcherRollback(t *testing.T) {
	t.Run("before initialized", func(t *testing.T) {
		var m TxnMatcher
		// The live ROLLBACK arrives before the scanned PREWRITE it cancels.
		m.Rollback(rollbackRow(10, "k"), false)
		m.Prewrite(prewriteRow(10, "k", "v", ""))
		m.Prewrite(prewriteRow(11, "k", "w", ""))
		require.Equal(t, 2, m.Len())
		require.Equal(t, 1, m.Early())

		rows, dropped := m.MarkInitialized()
		require.Empty(t, rows)
		require.Zero(t, dropped)
		require.Equal(t, 1, m.Len(), "only the rolled-back transaction is forgotten")
		_, _, err := m.Commit(commitRow(10, 20, "k"), true)
		require.ErrorIs(t, err, ErrCommitWithoutPrewrite)
	})
	t.Run("after initialized", func(t *testing.T) {
		var m TxnMatcher
		m.Prewrite(prewriteRow(10, "k", "v", ""))
		m.Rollback(rollbackRow(10, "k"), true)
		require.Equal(t, 0, m.Len())
		require.Equal(t, 0, m.Early())
		m.Rollback(rollbackRow(99, "none"), true) // unknown: nothing to do
		require.Equal(t, 0, m.Len())
	})
}

func TestRowFromCommitted(t *testing.T) {
	r := &cdcpb.Event_Row{
		Type: cdcpb.Event_COMMITTED, OpType: cdcpb.Event_Row_DELETE,
		StartTs: 1, CommitTs: 2, Key: []byte("k"), OldValue: []byte("o"),
	}
	require.Equal(t, Row{OpType: OpDelete, Key: []byte("k"), OldValue: []byte("o"), StartTs: 1, CommitTs: 2}, RowFromCommitted(r))
	require.Equal(t, "put", OpPut.String())
	require.Equal(t, "delete", OpDelete.String())
	require.Equal(t, "unknown", OpUnknown.String())
	require.Equal(t, OpUnknown, opTypeOf(cdcpb.Event_Row_UNKNOWN))
}

// TestTxnMatcherIdleHoldsNothing guards the per-region memory budget: an idle
// matcher is a few words and allocates nothing.
func TestTxnMatcherIdleHoldsNothing(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(TxnMatcher{}), uintptr(40))

	var m TxnMatcher
	rollback := rollbackRow(1, "k")
	allocs := testing.AllocsPerRun(100, func() {
		_ = m.Len()
		m.Tidy()
		m.Rollback(rollback, true)
		rows, _ := m.MarkInitialized()
		_ = rows
	})
	require.Zero(t, allocs)
	require.Nil(t, m.prewrites)

	// A transaction allocates the cache; once the region is quiet for a full
	// Tidy interval the cache goes away again.
	m.Prewrite(prewriteRow(10, "k", "v", ""))
	_, _, err := m.Commit(commitRow(10, 20, "k"), true)
	require.NoError(t, err)
	m.Tidy()
	require.NotNil(t, m.prewrites, "kept: the region wrote during this interval")
	m.Tidy()
	require.Nil(t, m.prewrites)

	// A pending transaction keeps it however long it takes.
	m.Prewrite(prewriteRow(11, "k", "v", ""))
	m.Tidy()
	m.Tidy()
	require.Equal(t, 1, m.Len())

	m.Clear()
	require.Equal(t, TxnMatcher{}, m)
}

// TestTxnMatcherMatchDoesNotAllocate: matching is on the hot path; only
// caching a new key copies it. The key is longer than the 32 bytes the
// compiler can convert to a string on the stack, like most index keys.
func TestTxnMatcherMatchDoesNotAllocate(t *testing.T) {
	var m TxnMatcher
	key := "t\x80\x00\x00\x00\x00\x00\x00\x2a_i\x80\x00\x00\x00\x00\x00\x00\x01\x01some-index-value"
	require.Greater(t, len(key), 32)
	pw := prewriteRow(10, key, "v", "")
	commit := commitRow(10, 20, key)
	m.Prewrite(pw) // allocate the map outside the measurement
	_, _, err := m.Commit(commit, true)
	require.NoError(t, err)

	allocs := testing.AllocsPerRun(100, func() {
		m.Prewrite(pw)
		if _, matched, _ := m.Commit(commit, true); !matched {
			t.Fatal("not matched")
		}
	})
	require.LessOrEqual(t, allocs, 1.0, "one copy of the key per cached prewrite")
}

func BenchmarkTxnMatcherPrewriteCommit(b *testing.B) {
	var m TxnMatcher
	const txns = 1024
	pws := make([]*cdcpb.Event_Row, txns)
	commits := make([]*cdcpb.Event_Row, txns)
	keys := benchKeys(txns)
	for i := range txns {
		key := keys[i]
		pws[i] = prewriteRow(uint64(10+i), key, "value", "old")
		commits[i] = commitRow(uint64(10+i), uint64(20+i), key)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		j := i % txns
		m.Prewrite(pws[j])
		if _, matched, _ := m.Commit(commits[j], true); !matched {
			b.Fatal("not matched")
		}
	}
}

// TestTxnMatcherOldest names the transaction that pins a stuck region: the
// lowest start ts still open, and whether the scan or the live stream sent
// it.
func TestTxnMatcherOldest(t *testing.T) {
	var m TxnMatcher
	ts, _, _, open := m.Oldest()
	require.Zero(t, ts)
	require.Zero(t, open)

	m.Prewrite(prewriteRow(30, "b", "v", ""))
	m.Prewrite(prewriteRow(20, "c", "v", "")) // scanned: before INITIALIZED
	m.MarkInitialized()
	m.Prewrite(prewriteRow(10, "a", "v", "")) // live
	ts, key, inScan, open := m.Oldest()
	require.Equal(t, uint64(10), ts)
	require.Equal(t, "a", key)
	require.False(t, inScan)
	require.Equal(t, 3, open)

	m.Rollback(rollbackRow(10, "a"), true)
	ts, key, inScan, _ = m.Oldest()
	require.Equal(t, uint64(20), ts)
	require.Equal(t, "c", key)
	require.True(t, inScan)

	m.Clear()
	m.Prewrite(prewriteRow(5, "d", "v", ""))
	_, _, inScan, _ = m.Oldest()
	require.True(t, inScan, "a cleared matcher is scanning again")
}

// The prewrite cache keeps its own copy of the row's bytes: decoded rows
// alias their whole message, and the message's buffer must be free to go
// (or, in a test, be overwritten) once the event is handled.
func TestTxnMatcherPrewriteCopiesBytes(t *testing.T) {
	var m TxnMatcher
	pw := prewriteRow(10, "key", "value", "old")
	m.Prewrite(pw)
	for _, b := range [][]byte{pw.Key, pw.Value, pw.OldValue} {
		for i := range b {
			b[i] = 'X'
		}
	}
	row, matched, err := m.Commit(commitRow(10, 20, "key"), true)
	require.NoError(t, err)
	require.True(t, matched)
	require.Equal(t, putRow("key", "value", "old", 10, 20), row)

	// An absent value stays absent (nil), not an empty one.
	m.Prewrite(prewriteRow(30, "k2", "", ""))
	row, matched, err = m.Commit(commitRow(30, 40, "k2"), true)
	require.NoError(t, err)
	require.True(t, matched)
	require.Nil(t, row.Value)
	require.Nil(t, row.OldValue)
}

// A COMMIT held back until INITIALIZED is kept by value: the decoded row
// it came in is reused for the next message once the event is handled.
func TestTxnMatcherEarlyRowsOutliveTheirMessage(t *testing.T) {
	var m TxnMatcher
	commit := commitRow(10, 20, "key")
	_, matched, err := m.Commit(commit, false)
	require.NoError(t, err)
	require.False(t, matched)
	rollback := rollbackRow(30, "other")
	m.Rollback(rollback, false)
	*commit = cdcpb.Event_Row{StartTs: 99, Type: cdcpb.Event_PREWRITE} // the slab reused
	*rollback = cdcpb.Event_Row{}
	m.Prewrite(prewriteRow(10, "key", "value", ""))
	m.Prewrite(prewriteRow(30, "other", "v", ""))
	rows, dropped := m.MarkInitialized()
	require.Zero(t, dropped)
	require.Equal(t, []Row{putRow("key", "value", "", 10, 20)}, rows)
	require.Zero(t, m.Len(), "the held-back rollback removed its prewrite")
}
