package metrics

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pulltop/pulltop/snapshots"
)

// Server serves /metrics (and /snapshot) for a Source on --metrics-addr.
// Its goroutine is the http.Server's; Close stops it and waits.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// ParseAddr checks a --metrics-addr value: HOST:PORT with a numeric port
// (HOST may be empty for every interface; port 0 picks a free one).
func ParseAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--metrics-addr %q: want HOST:PORT, e.g. 127.0.0.1:9090 or :9090", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("--metrics-addr %q: port %q is not a number, e.g. 127.0.0.1:9090", addr, port)
	}
	if n < 0 || n > 65535 {
		return fmt.Errorf("--metrics-addr %q: port %d is out of range (0 to 65535; 0 picks a free one)", addr, n)
	}
	return nil
}

// Options are the server's choices beyond its address.
type Options struct {
	// NoSnapshot leaves /snapshot off (--metrics-snapshot=false): it
	// serves row keys, store addresses and the event log, which /metrics
	// does not.
	NoSnapshot bool
}

// Listen is ListenWith with /snapshot on.
func Listen(addr string, src Source, errorLog *log.Logger) (*Server, error) {
	return ListenWith(addr, src, errorLog, Options{})
}

// Timeouts of the HTTP server: a client that sends its request slowly, or
// reads a /snapshot slowly, is cut off instead of holding a connection
// (and, for /snapshot, a whole published State) for ever.
const (
	readTimeout  = 10 * time.Second
	writeTimeout = 60 * time.Second // a 1M-region /snapshot streams in a few seconds
	idleTimeout  = 60 * time.Second
)

// ListenWith validates addr and binds it, so that a bad address or a port
// in use is reported before anything else starts. Errors name the flag and
// say what to do. errorLog receives the HTTP server's own errors (never the
// terminal: the TUI owns it).
func ListenWith(addr string, src Source, errorLog *log.Logger, opts Options) (*Server, error) {
	if err := ParseAddr(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		switch {
		case errors.Is(err, syscall.EADDRINUSE):
			return nil, fmt.Errorf("--metrics-addr %s: address already in use; pick another port or stop what uses it", addr)
		case errors.Is(err, syscall.EADDRNOTAVAIL):
			return nil, fmt.Errorf("--metrics-addr %s: no such address on this machine; use one of its addresses, 127.0.0.1, or leave HOST empty for all", addr)
		}
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(src),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      errorLog,
		ErrorHandling: promhttp.ContinueOnError,
	}))
	index := "pulltop\n\n/metrics   Prometheus metrics\n"
	if !opts.NoSnapshot {
		snap := &snapshotHandler{src: src, slots: make(chan struct{}, SnapshotConcurrency)}
		mux.Handle("GET /snapshot", snap)
		index += "/snapshot the latest snapshot as JSON (pulltop replay reads it)\n"
	} else {
		mux.HandleFunc("GET /snapshot", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "/snapshot is off (--metrics-snapshot=false)", http.StatusNotFound)
		})
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, index)
	})
	s := &Server{
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: readTimeout,
			ReadTimeout:       readTimeout,
			WriteTimeout:      writeTimeout,
			IdleTimeout:       idleTimeout,
			ErrorLog:          errorLog,
		},
		ln:   ln,
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && errorLog != nil {
			errorLog.Printf("metrics server on %s stopped: %v", ln.Addr(), err)
		}
	}()
	return s, nil
}

// Loopback reports whether the server listens on a loopback address only
// (127.0.0.1, ::1, localhost): anything else — every interface (":0",
// "0.0.0.0"), a LAN or public address — is reachable from other hosts.
func (s *Server) Loopback() bool {
	a, ok := s.ln.Addr().(*net.TCPAddr)
	return ok && a.IP.IsLoopback()
}

// Addr is the address the server listens on (the real port when the flag
// said 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server: scrapes under way get a second to finish.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = s.srv.Close()
	}
	<-s.done
	return err
}

// SnapshotConcurrency is how many /snapshot responses are written at
// once; a request beyond it is answered 429 with Retry-After at once. Each
// response streams the published State (one region at a time, never the
// whole document), but it keeps that State alive while a slow client
// reads: one at a time bounds the extra memory to one State.
const SnapshotConcurrency = 1

// snapshotHandler serves /snapshot: the latest snapshot as `--snapshot`
// writes it, streamed.
type snapshotHandler struct {
	src   Source
	slots chan struct{}
}

func (h *snapshotHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	default:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "another /snapshot is being written; retry in a second", http.StatusTooManyRequests)
		return
	}
	st := h.src.Snapshot()
	if st == nil {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "no snapshot yet: the engine is starting", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	// Encode checks the State before it writes a byte: an invalid one is
	// a 500 with the reason, not half a document.
	out := &headerOnWrite{w: w}
	if err := snapshots.Encode(out, st); err != nil {
		if !out.started {
			http.Error(w, "encoding the snapshot: "+err.Error(), http.StatusInternalServerError)
		}
		// Past the first byte the status is sent: the client sees a
		// truncated document (invalid JSON), and the log says why.
	}
}

// headerOnWrite notes that the response has started.
type headerOnWrite struct {
	w       http.ResponseWriter
	started bool
}

func (h *headerOnWrite) Write(p []byte) (int, error) {
	h.started = true
	return h.w.Write(p)
}
