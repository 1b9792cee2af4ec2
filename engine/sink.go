package engine

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// rowSink writes delivered rows as JSON lines (--sink) without ever making
// the event loop wait for the file: the loop encodes rows into a chunk and
// hands full chunks (and, every tick, the partial one) to a writer
// goroutine through a bounded queue. A sink that cannot keep up — a full
// queue, a reader that stopped reading for sinkStall, a write error —
// becomes the engine's fatal error naming the file; rows are never dropped
// without one.
//
// Owner: the event loop calls write, handoff and err; the writer goroutine
// owns the file until close.
type rowSink struct {
	path  string
	f     *os.File
	stall time.Duration

	buf     []byte // the chunk being filled (event loop)
	bufRows int
	queue   chan sinkChunk

	handed  atomic.Uint64 // rows handed to the writer
	written atomic.Uint64 // rows the writer has written
	failed  atomic.Pointer[error]
	drained chan struct{} // closed when the writer has finished
}

type sinkChunk struct {
	data []byte
	rows int
}

const (
	sinkChunkSize  = 1 << 20 // hand a chunk over once it holds this much
	sinkQueueLen   = 64      // chunks waiting for the writer: 64 MiB at most
	sinkOpenWait   = 5 * time.Second
	defaultStall   = 10 * time.Second
	sinkRetryEvery = 50 * time.Millisecond
)

// openSink opens path for appending rows. A named pipe is opened without
// blocking: with no reader, open(2) would hang the whole process before it
// even handles signals, so pulltop waits up to sinkOpenWait for a reader
// and then says so.
func openSink(path string, stall time.Duration) (*rowSink, error) {
	if stall <= 0 {
		stall = defaultStall
	}
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return nil, fmt.Errorf("--sink %s: is a directory; name a file", path)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("--sink %s: %w", path, err)
	}
	var f *os.File
	if err == nil && !fi.Mode().IsRegular() {
		// A pipe, a terminal, a socket: non-blocking, so the writer can be
		// given deadlines and the open cannot hang.
		deadline := time.Now().Add(sinkOpenWait)
		for {
			f, err = os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
			if !errors.Is(err, syscall.ENXIO) || time.Now().After(deadline) {
				break
			}
			time.Sleep(sinkRetryEvery)
		}
		if errors.Is(err, syscall.ENXIO) {
			return nil, fmt.Errorf("--sink %s: no process opened the named pipe for reading within %s; start the reader first", path, sinkOpenWait)
		}
	} else {
		f, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	}
	if err != nil {
		return nil, fmt.Errorf("--sink %s: %w", path, err)
	}
	s := &rowSink{
		path: path, f: f, stall: stall,
		buf:     make([]byte, 0, sinkChunkSize+4096),
		queue:   make(chan sinkChunk, sinkQueueLen),
		drained: make(chan struct{}),
	}
	go s.writer()
	return s, nil
}

// writer writes chunks in order until the queue is closed or a write fails.
func (s *rowSink) writer() {
	defer close(s.drained)
	for c := range s.queue {
		if s.failed.Load() != nil {
			continue // already failed: the loop reports it; keep nothing
		}
		if err := s.writeChunk(c.data); err != nil {
			lost := s.handed.Load() - s.written.Load()
			err = fmt.Errorf("--sink %s: %w; %d rows not written", s.path, err, lost)
			s.failed.Store(&err)
			continue
		}
		s.written.Add(uint64(c.rows))
	}
}

// writeChunk writes data, allowing the reader s.stall without progress.
// Deadlines work on pipes and terminals; a regular file never stalls.
func (s *rowSink) writeChunk(data []byte) error {
	for len(data) > 0 {
		_ = s.f.SetWriteDeadline(time.Now().Add(s.stall))
		n, err := s.f.Write(data)
		data = data[n:]
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if n > 0 {
				continue // slow but moving
			}
			return fmt.Errorf("the reader has not read anything for %s", s.stall)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// write encodes one row into the current chunk; a full chunk is handed
// over. Called on the event loop: it never blocks.
func (s *rowSink) write(sub, region uint64, row Row) error {
	b := s.buf
	b = append(b, `{"subscription":`...)
	b = strconv.AppendUint(b, sub, 10)
	b = append(b, `,"region":`...)
	b = strconv.AppendUint(b, region, 10)
	b = append(b, `,"op":"`...)
	b = append(b, row.OpType.String()...)
	b = append(b, `","key":"`...)
	b = hex.AppendEncode(b, row.Key)
	b = append(b, `","start_ts":`...)
	b = strconv.AppendUint(b, row.StartTs, 10)
	b = append(b, `,"commit_ts":`...)
	b = strconv.AppendUint(b, row.CommitTs, 10)
	b = append(b, `,"value":"`...)
	b = hex.AppendEncode(b, row.Value)
	b = append(b, `","old_value":"`...)
	b = hex.AppendEncode(b, row.OldValue)
	b = append(b, "\"}\n"...)
	s.buf = b
	s.bufRows++
	if len(s.buf) >= sinkChunkSize {
		return s.handoff()
	}
	return s.err()
}

// handoff gives the current chunk to the writer without waiting. A full
// queue means the sink cannot keep up: an error, never a wait or a drop.
func (s *rowSink) handoff() error {
	if err := s.err(); err != nil {
		return err
	}
	if s.bufRows == 0 {
		return nil
	}
	select {
	case s.queue <- sinkChunk{data: s.buf, rows: s.bufRows}:
		s.handed.Add(uint64(s.bufRows))
		s.buf, s.bufRows = make([]byte, 0, sinkChunkSize+4096), 0
		return nil
	default:
		waiting := s.handed.Load() - s.written.Load() + uint64(s.bufRows)
		return fmt.Errorf("--sink %s: cannot keep up: %d rows (%d MiB) waiting to be written; is its reader stalled?",
			s.path, waiting, (sinkQueueLen*sinkChunkSize)>>20)
	}
}

// err is the writer's failure, if any.
func (s *rowSink) err() error {
	if p := s.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// drain hands over what is buffered and waits up to timeout for the writer
// to have written every row handed to it. Called from any goroutine once
// the event loop no longer writes (or on it, with the loop's rows).
func (s *rowSink) drain(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if err := s.err(); err != nil {
			return err
		}
		if s.written.Load() >= s.handed.Load() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("--sink %s: %d rows not written within %s; is its reader stalled?",
				s.path, s.handed.Load()-s.written.Load(), timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// close stops the writer and closes the file. Rows still queued after the
// writer's last stall window are given up and counted in the error.
func (s *rowSink) close() error {
	hErr := s.handoff()
	close(s.queue)
	select {
	case <-s.drained:
	case <-time.After(s.stall + time.Second):
		// A writer stuck without deadlines (a regular file on a hung
		// disk): closing the file ends its write.
	}
	cerr := s.f.Close()
	select {
	case <-s.drained:
	case <-time.After(time.Second):
		// Only a write the kernel will not interrupt gets here; leave it.
	}
	if err := s.err(); err != nil {
		return err
	}
	if hErr != nil {
		return hErr
	}
	if lost := s.handed.Load() - s.written.Load(); lost > 0 {
		return fmt.Errorf("--sink %s: %d rows not written", s.path, lost)
	}
	if cerr != nil {
		return fmt.Errorf("--sink %s: %w", s.path, cerr)
	}
	return nil
}
