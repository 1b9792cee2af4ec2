package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	osexec "os/exec"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/internal/tmuxtest"
)

// sq quotes s for sh.
func sq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// shellTUI runs the real pulltop in tmux under a shell that reports, once
// it has exited, its status and the terminal's mode, then stays on screen.
// pulltop's stderr goes to errFile.
type shellTUI struct {
	s                        *tmuxtest.Session
	pidFile, sttyFile, errFn string
}

func startShellTUI(t *testing.T, env []string, args ...string) *shellTUI {
	t.Helper()
	dir := t.TempDir()
	st := &shellTUI{pidFile: filepath.Join(dir, "pid"), sttyFile: filepath.Join(dir, "stty"), errFn: filepath.Join(dir, "stderr")}
	inner := "echo $$ > " + sq(st.pidFile) + "; exec " + sq(binary)
	for _, a := range args {
		inner += " " + sq(a)
	}
	inner += " 2> " + sq(st.errFn)
	outer := "sh -c " + sq(inner) + "; code=$?; stty -a > " + sq(st.sttyFile) + "; echo PULLTOP-EXITED $code; sleep 120"
	st.s = tmuxtest.Start(t, 120, 40, append(env, "NO_COLOR=1"), "sh", "-c", outer)
	return st
}

func (st *shellTUI) stderr(t *testing.T) string {
	b, err := os.ReadFile(st.errFn)
	require.NoError(t, err)
	return string(b)
}

// quit presses q and returns the screen once the shell reports the exit.
func (st *shellTUI) quit() string {
	return st.s.SendAndWaitFunc("q", "pulltop's exit reported", exitReport.MatchString)
}

var exitReport = regexp.MustCompile(`PULLTOP-EXITED \d+`)

func (st *shellTUI) waitExit(t *testing.T) string {
	t.Helper()
	return st.s.WaitForMatch(regexp.MustCompile(`PULLTOP-EXITED \d+`))
}

// SIGHUP used to leave the terminal raw and on the alternate screen, and
// SIGTERM exited 0, SIGINT 1 (issue 25 item 6); now each stops the UI,
// restores the terminal and exits 128 + the signal, as headless does.
func TestTUISignalsRestoreTheTerminalAndExitCode(t *testing.T) {
	for _, c := range []struct {
		sig, stderr string
		code        int
	}{{"HUP", "terminal hung up (SIGHUP)", 129}, {"TERM", "interrupted by SIGTERM (the terminal was restored)", 143},
		{"INT", "interrupted by SIGINT (the terminal was restored)", 130}} {
		t.Run(c.sig, func(t *testing.T) {
			state := t.TempDir()
			st := startShellTUI(t, []string{"XDG_STATE_HOME=" + state}, "--regions", "8")
			st.s.WaitFor("Overview", "embedded sim")
			pid, err := os.ReadFile(st.pidFile)
			require.NoError(t, err)
			require.NoError(t, runCmd("kill", "-"+c.sig, strings.TrimSpace(string(pid))))
			screen := st.waitExit(t)
			require.Contains(t, screen, fmt.Sprintf("PULLTOP-EXITED %d", c.code), st.stderr(t))
			require.NotContains(t, screen, "Overview", "the alternate screen is gone")
			stty, err := os.ReadFile(st.sttyFile)
			require.NoError(t, err)
			modes := " " + strings.Join(strings.Fields(string(stty)), " ") + " "
			for _, mode := range []string{" icanon ", " echo ", " icrnl ", " isig "} {
				require.Contains(t, modes, mode, "terminal mode restored after SIG%s: %s", c.sig, stty)
			}
			require.Contains(t, st.stderr(t), c.stderr)
		})
	}
}

// A log file that cannot be written never writes over the TUI (zap's
// "write error" lines used to cross the screen); it is reported after.
func TestTUILogFileFailureStaysOffScreen(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	st := startShellTUI(t, []string{"XDG_STATE_HOME=" + t.TempDir()}, "--regions", "8", "--log-file", "/dev/full")
	st.s.Ready(tab(1))
	// Operator actions are logged: pause and resume store 1. The first
	// frames come before the first snapshot with stores, where P would
	// find no store: the evidence is store 1's row.
	st.s.SendAndWaitFunc("5", "the Stores view with store 1", func(screen string) bool {
		return strings.Contains(screen, tab(5)) && storeRow(screen, "1", "UP")
	})
	st.s.SendAndWait("P", "Pause store 1")
	screen := st.s.SendAndWait("y", "pause store 1: done")
	require.NotContains(t, screen, "write error")
	require.NotContains(t, screen, "no space left")
	require.Contains(t, st.quit(), "PULLTOP-EXITED 1", "as headless: not a silent 0")
	require.Regexp(t, `pulltop: --log-file /dev/full: \d+ log writes failed; first: .*no space left on device`, st.stderr(t))
}

// An unwritable HOME (and no XDG_STATE_HOME) no longer blames a --log-file
// the operator never gave: logs and ctrl+s go to a private temp dir, with a
// notice.
func TestTUIUnwritableHomeFallsBack(t *testing.T) {
	tmp := t.TempDir()
	st := startShellTUI(t, []string{"HOME=/proc/pulltop-no-home", "XDG_STATE_HOME=", "TMPDIR=" + tmp}, "--regions", "8")
	st.s.Ready(tab(1))
	dir := filepath.Join(tmp, "pulltop-"+itoa(uint64(os.Getuid())))
	st.s.SendAndWait("C-s", "snapshot saved to "+dir)
	require.Contains(t, st.quit(), "PULLTOP-EXITED 0")
	require.Contains(t, st.stderr(t), "pulltop: cannot use the state directory (")
	require.Contains(t, st.stderr(t), "logs and ctrl+s snapshots go to "+dir)
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	fi, err = os.Stat(filepath.Join(dir, "pulltop.log"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	files, err := filepath.Glob(filepath.Join(dir, "pulltop-*.json"))
	require.NoError(t, err)
	require.Len(t, files, 1)
}

// While PD does not answer, the terminal says what pulltop waits for
// (it was blank for 8 s), then the error, exit 1.
func TestTUISaysItWaitsForPD(t *testing.T) {
	s := tmuxtest.Start(t, 120, 40, []string{"XDG_STATE_HOME=" + t.TempDir()}, binary, "--pd", "127.0.0.1:1")
	s.WaitForFunc("the connecting notice", 3*time.Second, func(screen string) bool {
		return strings.Contains(screen, "pulltop: connecting to PD 127.0.0.1:1 (up to 8s)…")
	})
	require.Equal(t, 1, s.WaitExit(15*time.Second))
}

// The Overview shows PD's error while PD is down; R on a filter offers
// exactly the matched regions, counted.
func TestTUIPDErrorAndExactReloadInTmux(t *testing.T) {
	script := filepath.Join(t.TempDir(), "faults.txt")
	require.NoError(t, os.WriteFile(script, []byte("at 2s pd-down for 1h\n"), 0o600))
	s, _ := startTUI(t, "--regions", "12", "--script", script)
	s.Ready(tab(1))
	s.WaitForFunc("PD's error on the Overview", 20*time.Second, func(screen string) bool {
		return strings.Contains(screen, "PD             NOT ANSWERING")
	})
	s.SendAndWait("2", tab(2), "REGION")
	s.SendAndWait("/", "/█")
	s.TypeAndWait("store:1", "/store:1█")
	matched := regexp.MustCompile(`filter "store:1": ([1-9]\d*) of 12 regions match`)
	screen := s.SendAndWaitFunc("Enter", "store 1's regions matched", matched.MatchString)
	n := matched.FindStringSubmatch(screen)[1]
	s.SendAndWait("R", "Force reload the "+n+` regions matching "store:1" (subscription 1)?`)
	s.SendAndWait("n", "cancelled")
	require.Equal(t, 0, s.SendAndExit("q", 10*time.Second))
}

func runCmd(name string, args ...string) error { return osexec.Command(name, args...).Run() }
