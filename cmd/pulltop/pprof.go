package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// servePprof serves Go's profiles on $PULLTOP_PPROF (HOST:PORT), a
// measurement aid (CPU and heap profiles of a long run). Unset, nothing is
// served. Profiles show the program's memory and code paths, so an empty
// HOST (":6060") means loopback, not every interface; a HOST that is not
// loopback ("0.0.0.0:6060", a LAN address) is honoured because it was asked
// for explicitly, with a warning. Where it listens, or why it cannot, is
// said once on stderr, at start: before any TUI owns the terminal.
func servePprof(stderr io.Writer) {
	addr := os.Getenv("PULLTOP_PPROF")
	if addr == "" {
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		fmt.Fprintf(stderr, "pulltop: PULLTOP_PPROF=%q: want HOST:PORT, e.g. 127.0.0.1:6060; not serving profiles\n", addr)
		return
	}
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		// A measurement aid: never a reason to stop pulltop.
		fmt.Fprintf(stderr, "pulltop: PULLTOP_PPROF=%q: %v; not serving profiles\n", addr, err)
		return
	}
	bound := ln.Addr().String()
	fmt.Fprintf(stderr, "pulltop: PULLTOP_PPROF: profiles on http://%s/debug/pprof/\n", bound)
	if a, ok := ln.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() {
		fmt.Fprintf(stderr, "pulltop: warning: PULLTOP_PPROF listens on %s, not only on loopback: anyone who can reach this host can read pulltop's profiles\n", bound)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
}
