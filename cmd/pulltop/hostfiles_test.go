package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/snapshots"
)

// Issue 25 item 7: inputs with no size or wait limit. Each is refused at
// once, exit 2 (1 for replay --check, a load error), naming the flag and
// what to do; none grows memory or blocks.
func TestUnboundedInputsAreRefusedAtOnce(t *testing.T) {
	t.Parallel()
	fifo := mkfifo(t)
	big := filepath.Join(t.TempDir(), "big.script")
	require.NoError(t, os.WriteFile(big, []byte(strings.Repeat("# a comment line\n", 70000)), 0o600))
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"headless", "--duration", "2s", "--script", "/dev/zero"}, 2, "--script: fault script /dev/zero: not a regular file"},
		{[]string{"headless", "--duration", "2s", "--script", fifo}, 2, "--script: fault script " + fifo + ": not a regular file"},
		{[]string{"headless", "--duration", "2s", "--script", big}, 2, "more than the 1048576 a script may have"},
		{[]string{"headless", "--duration", "2s", "--pd", "127.0.0.1:1", "--ca", "/dev/zero"}, 2, "--ca /dev/zero: not a regular file"},
		{[]string{"headless", "--duration", "2s", "--pd", "127.0.0.1:1", "--ca", fifo}, 2, "--ca " + fifo + ": not a regular file"},
		{[]string{"headless", "--duration", "2s", "--interval", "1ns"}, 2, "--interval 1ns: must be at least 100ms"},
		{[]string{"replay", "--check", fifo}, 1, fifo},
	} {
		start := time.Now()
		_, stderr, code := runPulltop(t, c.args...)
		assert.Equal(t, c.code, code, "%v: %s", c.args, stderr)
		assert.Contains(t, stderr, c.want, "%v", c.args)
		assert.Less(t, time.Since(start), 10*time.Second, "%v answers at once", c.args)
	}
}

// Issue 25 item 8: paths. A missing directory is named, not created; the
// same file given twice is refused; /dev/stdout reports what was written
// and keeps what was there; a log that cannot be written is not a silent 0.
func TestSnapshotPathsAreCheckedNotCreated(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such", "x.json")
	_, stderr, code := runPulltop(t, "headless", "--duration", "1s", "--regions", "4", "--snapshot", missing)
	assert.Equal(t, 2, code, stderr)
	assert.Contains(t, stderr, "directory "+filepath.Join(dir, "no", "such")+" does not exist")
	assert.NoDirExists(t, filepath.Join(dir, "no"), "no directory tree was made")

	dangling := filepath.Join(dir, "link.json")
	require.NoError(t, os.Symlink(filepath.Join(dir, "gone", "x.json"), dangling))
	_, stderr, code = runPulltop(t, "headless", "--duration", "1s", "--regions", "4", "--snapshot", dangling)
	assert.Equal(t, 2, code, stderr)
	assert.Contains(t, stderr, "does not exist")
	assert.NoDirExists(t, filepath.Join(dir, "gone"))

	same := filepath.Join(dir, "same")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--snapshot", same, "--log-file", filepath.Join(dir, ".", "same")}, "--snapshot and --log-file are the same file"},
		{[]string{"--sink", same, "--log-file", same}, "--sink and --log-file are the same file"},
		{[]string{"--snapshot", same, "--sink", same}, "--snapshot and --sink are the same file"},
	} {
		_, stderr, code := runPulltop(t, append([]string{"headless", "--duration", "1s", "--regions", "4"}, c.args...)...)
		assert.Equal(t, 2, code, stderr)
		assert.Contains(t, stderr, c.want)
	}
	// The TUI checks --sink against --log-file too, before the terminal is
	// taken.
	_, stderr, code = runPulltop(t, "--sink", same, "--log-file", same)
	assert.Equal(t, 2, code, stderr)
	assert.Contains(t, stderr, "--sink and --log-file are the same file")
}

func TestSnapshotToStdoutReportsBytesWritten(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "out.txt")
	f, err := os.Create(out)
	require.NoError(t, err)
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "headless", "--duration", "1s", "--regions", "4", "--snapshot", "/dev/stdout")
	cmd.Stdout = f
	var errb strings.Builder
	cmd.Stderr = &errb
	require.NoError(t, cmd.Run(), errb.String())
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	first, doc, ok := strings.Cut(string(data), "\n{")
	require.True(t, ok, "the status line, then the snapshot: %.300s", data)
	assert.Contains(t, first, "t=1s regions=4", "the status lines are kept, not replaced")
	n := len(doc) + len("{")
	assert.Contains(t, errb.String(), "snapshot: wrote /dev/stdout ("+strconv.Itoa(n)+" bytes, 4 regions)")
	_, err = snapshots.Unmarshal([]byte("{"+doc), "out")
	require.NoError(t, err)
}

func TestHeadlessLogFileFailureIsNotSilent(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	_, stderr, code := runPulltop(t, "headless", "--duration", "1s", "--regions", "4", "--log-file", "/dev/full")
	assert.Equal(t, 1, code, stderr)
	assert.Regexp(t, `--log-file /dev/full: \d+ log writes failed; first: .*no space left on device`, stderr)
}
