package snapshots

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A --snapshot that is a symbolic link keeps the link and replaces what it
// points to (it used to rename over the link).
func TestSaveWritesThroughSymlinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.json")
	require.NoError(t, os.WriteFile(target, []byte("old"), 0o600))
	link := filepath.Join(dir, "link.json")
	require.NoError(t, os.Symlink("real.json", link))
	chain := filepath.Join(dir, "chain.json")
	require.NoError(t, os.Symlink(link, chain))

	require.NoError(t, Save(chain, fullState()))
	for _, l := range []string{link, chain} {
		fi, err := os.Lstat(l)
		require.NoError(t, err)
		assert.NotZero(t, fi.Mode()&fs.ModeSymlink, "%s is still a symlink", l)
	}
	got, err := Load(target)
	require.NoError(t, err)
	assert.Equal(t, fullState().Seq, got.Seq)

	// A dangling link: its target is created, the link stays; a missing
	// directory on the way is named, not created (issue 25 item 8).
	dangling := filepath.Join(dir, "dangling.json")
	require.NoError(t, os.Symlink(filepath.Join(dir, "sub", "new.json"), dangling))
	require.ErrorContains(t, Save(dangling, fullState()), "directory "+filepath.Join(dir, "sub")+" does not exist")
	assert.NoDirExists(t, filepath.Join(dir, "sub"))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o700))
	require.NoError(t, Save(dangling, fullState()))
	fi, err := os.Lstat(dangling)
	require.NoError(t, err)
	assert.NotZero(t, fi.Mode()&fs.ModeSymlink)
	_, err = Load(filepath.Join(dir, "sub", "new.json"))
	require.NoError(t, err)
}

// A path that is not a regular file is written into, never replaced: as
// root, --snapshot /dev/stdout used to turn the /dev/stdout symlink into a
// regular file.
func TestSaveNeverReplacesANonRegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	link := filepath.Join(dir, "stdout")
	require.NoError(t, os.Symlink(fifo, link))

	// No reader: an error at once, not a hang.
	err := Save(link, fullState())
	require.ErrorContains(t, err, "named pipe or socket with no reader")

	// With a reader, the snapshot goes through the pipe.
	read := make(chan []byte, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			read <- nil
			return
		}
		defer f.Close()
		var buf strings.Builder
		b := make([]byte, 64<<10)
		for {
			n, err := f.Read(b)
			buf.Write(b[:n])
			if err != nil {
				read <- []byte(buf.String())
				return
			}
		}
	}()
	require.Eventually(t, func() bool { return Save(link, fullState()) == nil }, 10*time.Second, 10*time.Millisecond)
	data := <-read
	_, err = Unmarshal(data, "pipe")
	require.NoError(t, err)
	for _, p := range []string{fifo, link} {
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		assert.False(t, fi.Mode().IsRegular(), "%s was replaced by a regular file", p)
	}

	// A directory, directly or through a link, is refused with a reason.
	sub := filepath.Join(dir, "d")
	require.NoError(t, os.Mkdir(sub, 0o700))
	require.NoError(t, os.Symlink(sub, filepath.Join(dir, "dlink")))
	for _, p := range []string{sub, filepath.Join(dir, "dlink")} {
		err := Save(p, fullState())
		require.ErrorContains(t, err, "is a directory; name a file")
		require.ErrorContains(t, CheckSavePath(p), "is a directory")
	}
}

// A bad --snapshot path is found before the run, not after it.
func TestCheckSavePath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	for _, ok := range []string{
		filepath.Join(dir, "new.json"),
		file, // replaced by Save
	} {
		require.NoError(t, CheckSavePath(ok), ok)
	}
	require.ErrorContains(t, CheckSavePath(filepath.Join(dir, "a", "b", "new.json")), "directory "+filepath.Join(dir, "a", "b")+" does not exist")
	assert.NoDirExists(t, filepath.Join(dir, "a"))
	require.ErrorContains(t, CheckSavePath(dir), "is a directory")
	require.ErrorContains(t, CheckSavePath(filepath.Join(file, "x.json")), "not a directory")
	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "ro")
		require.NoError(t, os.Mkdir(ro, 0o500))
		require.Error(t, CheckSavePath(filepath.Join(ro, "x.json")))
		require.Error(t, CheckSavePath(filepath.Join(ro, "sub", "x.json")))
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), "."), "left %s behind", e.Name())
	}
}

// Two ctrl+s in one second get two files; neither overwrites the other.
func TestSaveNewNeverOverwrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	at := time.Date(2026, 11, 25, 20, 30, 0, 0, time.UTC)
	var paths []string
	for seq := uint64(1); seq <= 3; seq++ {
		s := fullState()
		s.Seq = seq
		p, err := SaveNew(dir, at, s)
		require.NoError(t, err)
		paths = append(paths, p)
	}
	assert.Equal(t, []string{
		filepath.Join(dir, "pulltop-20261125-203000.json"),
		filepath.Join(dir, "pulltop-20261125-203000_2.json"),
		filepath.Join(dir, "pulltop-20261125-203000_3.json"),
	}, paths)
	for i, p := range paths {
		got, err := Load(p)
		require.NoError(t, err)
		assert.Equal(t, uint64(i+1), got.Seq)
		fi, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())
	}
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o700), fi.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 3, "no temp files left")
}

// replay /dev/zero used to read forever; a huge string used to make every
// frame measure it.
func TestLoadRefusesNonSnapshotsAtOnceAndCutsHugeStrings(t *testing.T) {
	_, err := Load("/dev/zero")
	require.EqualError(t, err, "/dev/zero: not a pulltop snapshot: it starts with byte 0x00, not a JSON object")
	_, err = Load(t.TempDir())
	require.ErrorContains(t, err, "is a directory")

	s := fullState()
	s.Regions[0].LastError = strings.Repeat("x", 10<<20) + "\x1b]52;c;cm0gLXJmIH4v\x07"
	data, err := Marshal(s)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "big.json")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	got, err := Load(path)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(got.Regions[0].LastError), MaxStringLen+len("…"))
	assert.False(t, NeedsCleaning(got.Regions[0].LastError))
}

// A hostile snapshot file loads clean, and pulltop never writes one.
func TestLoadAndMarshalClean(t *testing.T) {
	s := fullState()
	s.Stores[0].Addr = hostile
	s.EngineError = hostile
	data, err := Marshal(s)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "\u009b", "C1 controls written raw")
	assert.NotContains(t, string(data), `\u001b`, "ESC written (escaped) into the file")

	raw := strings.Replace(string(data), `"engine_error": "`, `"engine_error": "\u001b]0;t\u0007`, 1)
	got, err := Unmarshal([]byte(raw), "h.json")
	require.NoError(t, err)
	assert.Empty(t, escapeFree(got.EngineError))
	assert.True(t, strings.HasPrefix(got.EngineError, `\x1b]0;t\a`), got.EngineError)
}

func TestValidateRefusesNegativeLagAndDue(t *testing.T) {
	s := fullState()
	s.Regions[0].ResolvedLagMs = -1
	_, err := Unmarshal(mustMarshalUnchecked(t, s), "n.json")
	require.EqualError(t, err, "n.json: bad snapshot: regions[0] (region 12): resolved_lag_ms is negative (-1)")
	s = fullState()
	s.Retries = []Retry{{Subscription: 1, RegionID: 3, DueInMs: -5}}
	_, err = Unmarshal(mustMarshalUnchecked(t, s), "n.json")
	require.EqualError(t, err, "n.json: bad snapshot: retries[0] (region 3): due_in_ms is negative (-5)")
}

// mustMarshalUnchecked encodes s without Marshal's Validate, as a file
// written by something else would be.
func mustMarshalUnchecked(t *testing.T, s *State) []byte {
	t.Helper()
	data, err := json.Marshal(s)
	require.NoError(t, err)
	return data
}
