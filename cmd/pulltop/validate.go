package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pulltop/pulltop/snapshots"
)

// This file checks what the operator typed before anything starts: a
// mistake found after an 8 s connection attempt, or after a 5 minute
// capture, costs an incident minutes. Every message is one line naming the
// flag, the value and what to do.

// maxPDAddrs bounds --pd: a PD cluster has a handful of members, and each
// address is probed in turn.
const maxPDAddrs = 16

// parsePDAddrs checks --pd. It accepts the pd-ctl habit of a URL
// (http://host:port, https:// with TLS flags) and returns plain host:port.
func parsePDAddrs(c *cobra.Command, addrs []string, tls bool) ([]string, error) {
	if !c.Flags().Changed("pd") {
		return nil, nil
	}
	if len(addrs) == 0 {
		// A typo'd variable in an incident script (--pd "$PD_ADDR") must
		// not silently watch a simulated cluster instead.
		return nil, usageError(`--pd is empty: give host:port (e.g. --pd 127.0.0.1:2379), or leave --pd out to watch the embedded simulated cluster`)
	}
	if len(addrs) > maxPDAddrs {
		return nil, usageError("--pd has %d addresses; give at most %d (PD's members, e.g. --pd pd1:2379,pd2:2379)", len(addrs), maxPDAddrs)
	}
	out := make([]string, 0, len(addrs))
	for _, addr := range addrs {
		a, err := parseHostPort(addr, true)
		if err != nil {
			return nil, usageError("--pd %s: %v", quoteArg(addr), err)
		}
		if strings.HasPrefix(addr, "https://") && !tls {
			return nil, usageError("--pd %s: https:// needs --ca, --cert and --key (as for pd-ctl)", quoteArg(addr))
		}
		out = append(out, a)
	}
	return out, nil
}

// parseHostPort checks HOST:PORT (with a URL scheme when allowURL) and
// returns it as host:port. Port 0 is refused: a PD address names a port.
func parseHostPort(addr string, allowURL bool) (string, error) {
	a := addr
	if allowURL {
		for _, scheme := range []string{"http://", "https://"} {
			if rest, ok := strings.CutPrefix(a, scheme); ok {
				a = strings.TrimSuffix(rest, "/")
			}
		}
	}
	switch {
	case a == "":
		return "", errors.New("empty address; want host:port, e.g. 127.0.0.1:2379")
	case strings.TrimSpace(a) != a || strings.ContainsAny(a, " \t"):
		return "", errors.New("has spaces; want host:port, e.g. 127.0.0.1:2379 (separate several with commas, no spaces)")
	case strings.Contains(a, "://") || strings.Contains(a, "/"):
		return "", errors.New("want host:port or http://host:port, e.g. 127.0.0.1:2379")
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		if strings.Count(a, ":") > 1 && !strings.HasPrefix(a, "[") {
			return "", errors.New("an IPv6 address needs brackets: [::1]:2379")
		}
		return "", errors.New("want host:port, e.g. 127.0.0.1:2379")
	}
	if host == "" {
		return "", errors.New("no host; want host:port, e.g. 127.0.0.1:2379")
	}
	if err := checkPort(port, false); err != nil {
		return "", err
	}
	return net.JoinHostPort(host, port), nil
}

// checkPort accepts 1–65535, and 0 (pick a free port) when zeroOK.
func checkPort(port string, zeroOK bool) error {
	n, err := strconv.Atoi(port)
	switch {
	case err != nil:
		return fmt.Errorf("port %s is not a number", quoteArg(port))
	case n == 0 && zeroOK:
		return nil
	case n < 1 || n > 65535:
		return fmt.Errorf("port %d is out of range (1-65535)", n)
	}
	return nil
}

// checkListen checks sim --listen HOST:PORT (port 0 picks a free one).
func checkListen(listen string) error {
	host, port, err := net.SplitHostPort(listen)
	if err == nil {
		err = checkPort(port, true)
	}
	if err == nil && strings.TrimSpace(host) != host {
		err = errors.New("has spaces")
	}
	if err != nil {
		return usageError("--listen %s: %v; want HOST:PORT, e.g. 127.0.0.1:2379 (port 0 picks a free one)", quoteArg(listen), err)
	}
	return nil
}

// checkSinkPath finds a --sink that cannot work before the run: a
// directory, or a file in a directory that does not exist.
func checkSinkPath(path string) error {
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return usageError("--sink %s: is a directory; name a file to write rows to", quoteArg(path))
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return usageError("--sink %s: %v", quoteArg(path), err)
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return usageError("--sink %s: directory %s does not exist", quoteArg(path), quoteArg(dir))
	}
	return nil
}

// checkSnapshotPath finds a --snapshot that cannot be written before the
// run (it used to fail after the whole capture), and refuses --snapshot
// and --sink naming the same file (one would clobber the other).
func checkSnapshotPath(snapshot, sink, logFile string) error {
	if sink != "" && logFile != "" && samePath(sink, logFile) {
		return usageError("--sink and --log-file are the same file (%s): rows and log lines would interleave; give them different names", quoteArg(sink))
	}
	if snapshot == "" {
		return nil
	}
	if err := snapshots.CheckSavePath(snapshot); err != nil {
		return usageError("--snapshot %s: %v", quoteArg(snapshot), err)
	}
	if sink != "" && samePath(snapshot, sink) {
		return usageError("--snapshot and --sink are the same file (%s): the snapshot would overwrite the rows; give them different names", quoteArg(snapshot))
	}
	if logFile != "" && samePath(snapshot, logFile) {
		return usageError("--snapshot and --log-file are the same file (%s): the snapshot would replace the log; give them different names", quoteArg(snapshot))
	}
	return nil
}

// samePath reports whether two paths name the same file, through symbolic
// links, whether or not it exists yet.
func samePath(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(fa, fb)
	}
	resolve := func(p string) string {
		abs, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		if r, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
			return filepath.Join(r, filepath.Base(abs))
		}
		return abs
	}
	return resolve(a) == resolve(b)
}

// quoteArg shows a value the operator typed, quoted only when it needs to
// be (spaces, control characters), and cut when it is absurdly long.
func quoteArg(s string) string {
	const max = 80
	if len(s) > max {
		s = s[:max] + "…"
	}
	q := strconv.Quote(s)
	if q[1:len(q)-1] == s && !strings.ContainsAny(s, " ,") && s != "" {
		return s
	}
	return q
}

// noArgs is cobra.NoArgs as a usage error (exit status 2).
func noArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if c.HasSubCommands() {
		var names []string
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				names = append(names, sub.Name())
			}
		}
		return usageError("unknown command %s for %s (commands: %s; see '%s --help')",
			quoteArg(args[0]), c.CommandPath(), strings.Join(names, ", "), c.CommandPath())
	}
	return usageError("%s takes no arguments, got %s (flags start with --; see '%s --help')",
		c.CommandPath(), quoteArg(strings.Join(args, " ")), c.CommandPath())
}
