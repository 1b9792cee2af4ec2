package main

import (
	"net"
	"net/http"
	"net/http/pprof"
	"os"
)

// servePprof serves Go's profiles on $PULLTOP_PPROF (host:port), for the
// scale measurements (scripts/bench --scale takes CPU and heap profiles of
// both processes through it). Unset, nothing is served. It says nothing on
// the terminal: the TUI may own it.
func servePprof() {
	addr := os.Getenv("PULLTOP_PPROF")
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return // a measurement aid: never a reason to stop pulltop
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() { _ = http.Serve(ln, mux) }() //nolint:gosec // loopback measurement aid, no timeouts needed
}
