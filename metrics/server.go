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

// Listen validates addr and binds it, so that a bad address or a port in
// use is reported before anything else starts. Errors name the flag and
// say what to do. errorLog receives the HTTP server's own errors (never the
// terminal: the TUI owns it).
func Listen(addr string, src Source, errorLog *log.Logger) (*Server, error) {
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
	mux.HandleFunc("GET /snapshot", func(w http.ResponseWriter, r *http.Request) { serveSnapshot(w, src) })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "pulltop\n\n/metrics   Prometheus metrics\n/snapshot the latest snapshot as JSON (pulltop replay reads it)\n")
	})
	s := &Server{
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 10 * time.Second,
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

// serveSnapshot writes the latest snapshot as `--snapshot` would.
func serveSnapshot(w http.ResponseWriter, src Source) {
	st := src.Snapshot()
	if st == nil {
		http.Error(w, "no snapshot yet: the engine is starting", http.StatusServiceUnavailable)
		return
	}
	b, err := snapshots.Marshal(st)
	if err != nil {
		http.Error(w, "encoding the snapshot: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
