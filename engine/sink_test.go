package engine_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/engine"
	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
)

func mkfifo(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rows.fifo")
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	return path
}

// --sink FIFO with nobody reading used to block in open(2) before signals
// were even handled. Now the start fails within seconds, naming the file.
func TestSinkFIFOWithNoReaderFailsTheStart(t *testing.T) {
	fifo := mkfifo(t)
	s, err := sim.Start(sim.Config{Stores: 1, Regions: 2})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	begin := time.Now()
	_, err = engine.Start(engine.Config{PD: []string{s.PDAddr()}, SinkPath: fifo})
	require.ErrorContains(t, err, "--sink "+fifo+": no process opened the named pipe for reading within 5s")
	require.Less(t, time.Since(begin), 15*time.Second)
}

// A reader that stops reading: the event loop never waits for it (snapshots
// keep coming), and the engine stops with an error naming the file and the
// rows not written, instead of hanging with the rows lost.
func TestSinkStalledReaderStopsTheEngine(t *testing.T) {
	fifo := mkfifo(t)
	opened := make(chan *os.File, 1)
	go func() {
		f, err := os.Open(fifo) // blocks until the engine opens its end
		if err != nil {
			opened <- nil
			return
		}
		opened <- f
	}()
	h := startHarness(t, sim.Config{Stores: 1, Regions: 4, WriteRate: 3000}, func(c *engine.Config) {
		c.SinkPath = fifo
		c.SinkStallTimeout = time.Second
		c.PublishInterval = 50 * time.Millisecond
	})
	reader := <-opened
	require.NotNil(t, reader)
	defer reader.Close()
	// Read the first line, then never again: the pipe fills.
	line, err := bufio.NewReader(reader).ReadString('\n')
	require.NoError(t, err)
	require.Contains(t, line, `"subscription":1`)

	st := h.waitFor("the sink error", 30*time.Second, func(st *snapshots.State) bool { return st.EngineError != "" })
	require.Contains(t, st.EngineError, "--sink "+fifo+": the reader has not read anything for 1s")
	require.Contains(t, st.EngineError, "rows not written")
	// The loop still answers at once.
	begin := time.Now()
	h.eng.Refresh()
	require.Less(t, time.Since(begin), 2*time.Second)
	require.Error(t, h.eng.FlushSink(time.Second))
}

// With a reader that keeps up, FlushSink leaves every delivered row in the
// pipe: none lost, none waiting.
func TestSinkDeliversEveryRow(t *testing.T) {
	fifo := mkfifo(t)
	var lines atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		f, err := os.Open(fifo)
		if err != nil {
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), `{"subscription":`) {
				lines.Add(1)
			}
		}
	}()
	var delivered atomic.Int64
	h := startHarness(t, sim.Config{Stores: 2, Regions: 4, WriteRate: 2000}, func(c *engine.Config) {
		c.SinkPath = fifo
		c.OnRow = func(uint64, engine.Row) { delivered.Add(1) }
	})
	h.waitFor("rows", 20*time.Second, func(st *snapshots.State) bool { return st.Totals.Events > 2000 })
	require.NoError(t, h.eng.FlushSink(10*time.Second))
	require.Eventually(t, func() bool { return lines.Load() >= 2000 }, 10*time.Second, 10*time.Millisecond,
		"flushed rows reach the reader")
	h.eng.Close() // writes what is left, closes the pipe: the reader sees EOF
	<-done
	require.Equal(t, delivered.Load(), lines.Load(), "every delivered row is in the sink")
}
