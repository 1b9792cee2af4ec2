package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulltop/pulltop/sim"
	"github.com/pulltop/pulltop/snapshots"
)

// goModVersion is the version go.mod requires of a module.
func goModVersion(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile("../../go.mod")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(path) + `\s+(\S+)`).FindStringSubmatch(string(b))
	require.NotNil(t, m, "%s in go.mod", path)
	return m[1]
}

// pulltop version and --version say which build watched the incident:
// version, revision, Go, and the protocol libraries (issue 18 item 9).
func TestVersionNamesTheBuild(t *testing.T) {
	// The version the toolchain stamped into this binary, as `go version
	// -m` reads it: "(devel)" here (a build in a checkout), the tag or
	// pseudo-version for what `go install …@latest` builds.
	goVersionM, err := exec.Command("go", "version", "-m", binary).Output()
	require.NoError(t, err)
	stamped := regexp.MustCompile(`(?m)^\s+mod\s+github\.com/pulltop/pulltop\s+(\S+)`).FindSubmatch(goVersionM)
	require.NotNil(t, stamped, "go version -m %s:\n%s", binary, goVersionM)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, stderr, code := runPulltop(t, args...)
		require.Equal(t, 0, code, stderr)
		require.True(t, strings.HasPrefix(out, "pulltop "+string(stamped[1])+"\n"), "want the stamped %s first:\n%s", stamped[1], out)
		require.Regexp(t, `(?m)^  revision   \S`, out)
		require.Regexp(t, `(?m)^  go         go1\.\d+`, out)
		require.Contains(t, out, "  kvproto    "+goModVersion(t, "github.com/pingcap/kvproto")+
			" (ScanPriority: initial scans ask for SCAN_PRIORITY_LOW)\n")
		require.Contains(t, out, "\n  module     github.com/pulltop/pulltop\n")
		require.Contains(t, out, "  pd client  "+goModVersion(t, "github.com/tikv/pd/client")+"\n")
	}
}

// Help never sends the operator to a document they do not have: --script
// points at the grammar in `pulltop sim --help`, which lists every verb.
func TestHelpPointsAtWhatTheUserHas(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"sim", "--help"}, {"headless", "--help"}, {"replay", "--help"}} {
		out, stderr, code := runPulltop(t, args...)
		require.Equal(t, 0, code, stderr)
		require.NotContains(t, out, "DESIGN", "pulltop %v", args)
		require.NotContains(t, out, "§", "pulltop %v", args)
	}
	out, _, _ := runPulltop(t, "--help")
	require.Contains(t, out, "its grammar: pulltop sim --help")
	out, _, _ = runPulltop(t, "sim", "--help")
	for _, v := range sim.Verbs() {
		require.Regexp(t, `(at|every) \S+ `+regexp.QuoteMeta(string(v))+`\b`, out, "the grammar shows %s", v)
	}
}

// The embedded sim's fault lines reach the event log as they fire, with
// what they did to the stores; headless saves it with the snapshot.
func TestHeadlessSnapshotHasTheEventLog(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "faults.txt")
	require.NoError(t, os.WriteFile(script, []byte("at 1s kill-stream 2\nevery 200ms split random\nat 2500ms stop-faults\n"), 0o644))
	path := filepath.Join(dir, "s.json")
	_, stderr, code := runPulltop(t, "headless", "--duration", "5s", "--regions", "12", "--script", script, "--snapshot", path)
	require.Equal(t, 0, code, stderr)
	st, err := snapshots.Load(path)
	require.NoError(t, err)
	has := func(kind, subject, text string) bool {
		for _, e := range st.Log {
			if e.Kind == kind && strings.Contains(e.Subject, subject) && strings.Contains(e.Text, text) {
				return true
			}
		}
		return false
	}
	// A fault line is logged under its target, the one "random" picked named.
	require.True(t, has(snapshots.LogFault, "store 2", "at 1s kill-stream 2 (script line 1)"), "%v", st.Log)
	require.True(t, has(snapshots.LogFault, "region ", "every 200ms split random → split region "), "the target random picked is named: %v", st.Log)
	require.True(t, has(snapshots.LogFault, "region ", "(script line 2) ("), "a recurring line is one entry that counts: %v", st.Log)
	require.True(t, has(snapshots.LogFault, "script line 3", "stop-faults"), "%v", st.Log)
	require.True(t, has(snapshots.LogStore, "store 2", "stream failed"), "%v", st.Log)
	require.True(t, has(snapshots.LogRegion, "region", "split from"), "%v", st.Log)
	n := 0
	for _, e := range st.Log {
		if strings.Contains(e.Text, "(script line 2)") {
			n++
		}
	}
	require.LessOrEqual(t, n, 3, "a burst of splits folds: %v", st.Log)
}
