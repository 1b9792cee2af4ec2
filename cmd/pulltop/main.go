// Command pulltop is `top` for TiKV change-data pulling. This file only wires
// cobra commands and flags to the packages that do the work.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/pulltop/pulltop/snapshots"
)

// version, when set at build time with -ldflags "-X main.version=...",
// overrides the module version the Go toolchain stamps (versionOf).
var version = ""

// exitError carries the exit status a failure should produce (DESIGN §1:
// 1 for a runtime failure, 2 for bad flags).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// maxErrorLen bounds an error message on stderr, in bytes.
const maxErrorLen = 2000

// oneLine cleans text from outside for the terminal (control sequences
// escaped, line breaks as spaces) and cuts it to max bytes, saying how
// much was cut.
func oneLine(text string, max int) string {
	total := len(text)
	if total > max {
		text = strings.ToValidUTF8(text[:max], "")
	}
	text = snapshots.CleanString(text)
	if total > max {
		text += fmt.Sprintf("… (%d bytes cut)", total-max)
	}
	return text
}

func main() {
	servePprof(os.Stderr)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr *os.File) int {
	cmd := newRootCommand(stdout, stderr)
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err == nil {
		return 0
	}
	// Errors quote servers and files (a PD's message, a script line): one
	// clean line, never a 50 MB echo.
	fmt.Fprintf(stderr, "pulltop: %s\n", oneLine(err.Error(), maxErrorLen))
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}
