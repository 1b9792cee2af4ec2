package snapshots

// gzip costs a third of a snapshot's save or load at 1M regions (~2-3 s of
// CPU for ~900 MB of JSON). It runs in its own goroutine, a few chunks
// ahead of (or behind) the JSON, so that on two cores it overlaps the
// encoding or decoding instead of adding to it.

import (
	"io"
	"os"
	"sync/atomic"
)

const (
	asyncChunk  = 256 << 10
	asyncChunks = 4
)

type chunk struct {
	b   []byte
	err error
}

// readAhead reads r in a goroutine, up to asyncChunks chunks ahead.
type readAhead struct {
	full chan chunk
	free chan []byte
	stop chan struct{}
	done chan struct{}
	buf  []byte // the chunk being read from, cur is what is left of it
	cur  []byte
	err  error
}

func newReadAhead(r io.Reader) *readAhead {
	ra := &readAhead{full: make(chan chunk, asyncChunks), free: make(chan []byte, asyncChunks),
		stop: make(chan struct{}), done: make(chan struct{})}
	for range asyncChunks {
		ra.free <- make([]byte, asyncChunk)
	}
	go func() {
		defer close(ra.done)
		for {
			var b []byte
			select {
			case b = <-ra.free:
			case <-ra.stop:
				return
			}
			n, err := io.ReadFull(r, b)
			if err == io.ErrUnexpectedEOF { // a short last chunk, not an error
				err = io.EOF
			}
			select {
			case ra.full <- chunk{b[:n], err}:
			case <-ra.stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ra
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.err != nil {
			return 0, ra.err
		}
		if ra.buf != nil {
			ra.free <- ra.buf[:cap(ra.buf)] // never blocks: there are asyncChunks slots
			ra.buf = nil
		}
		c := <-ra.full
		ra.buf, ra.cur, ra.err = c.b, c.b, c.err
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// close stops the goroutine; f, what it reads from, is closed first, so a
// read blocked on a pipe returns.
func (ra *readAhead) close(f *os.File) {
	close(ra.stop)
	f.Close()
	<-ra.done
}

// writeBehind writes to w in a goroutine, up to asyncChunks chunks behind.
// Its first error is returned by a later Write (so a full disk stops the
// encoding) and by finish.
type writeBehind struct {
	w      io.Writer
	full   chan []byte
	free   chan []byte
	done   chan error
	failed atomic.Pointer[error]
	buf    []byte
}

func newWriteBehind(w io.Writer) *writeBehind {
	wb := &writeBehind{w: w, full: make(chan []byte, asyncChunks), free: make(chan []byte, asyncChunks),
		done: make(chan error, 1)}
	for range asyncChunks {
		wb.free <- make([]byte, 0, asyncChunk)
	}
	go func() {
		var err error
		for b := range wb.full {
			if err == nil {
				if _, err = w.Write(b); err != nil {
					wb.failed.Store(&err)
				}
			}
			wb.free <- b[:0]
		}
		wb.done <- err
	}()
	wb.buf = <-wb.free
	return wb
}

func (wb *writeBehind) Write(p []byte) (int, error) { return writeChunks(wb, p) }

// WriteString saves the encoder a conversion per piece.
func (wb *writeBehind) WriteString(s string) (int, error) { return writeChunks(wb, s) }

func writeChunks[T string | []byte](wb *writeBehind, p T) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(wb.buf) == cap(wb.buf) {
			if err := wb.failed.Load(); err != nil {
				return 0, *err
			}
			wb.full <- wb.buf
			wb.buf = <-wb.free
		}
		k := copy(wb.buf[len(wb.buf):cap(wb.buf)], p)
		wb.buf = wb.buf[:len(wb.buf)+k]
		p = p[k:]
	}
	return n, nil
}

// finish writes what is left and waits for the goroutine; it must be
// called once, also after an error, so that the goroutine ends.
func (wb *writeBehind) finish() error {
	if len(wb.buf) > 0 {
		wb.full <- wb.buf
	}
	close(wb.full)
	return <-wb.done
}
