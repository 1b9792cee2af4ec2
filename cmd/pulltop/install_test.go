package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// `go install github.com/pulltop/pulltop/cmd/pulltop@latest` resolves the
// module path, and the binary it builds says which version it is. The
// repository is not published, so the test is the module proxy: a file://
// proxy serving this commit (git archive HEAD, the module zip layout) as
// v0.3.0, the only version listed, so @latest picks it; every dependency
// comes from the local module cache's download directory, no network. The
// build then happens exactly as for a user: module mode, outside any
// checkout, in a fresh module cache.
//
// It recompiles every dependency from the fresh cache (~3 minutes on a
// loaded 2-core machine, half of CI's default run), so it runs only with
// PULLTOP_TEST_INSTALL=1 and skips, saying so, elsewhere. It builds what HEAD holds, not
// uncommitted changes.
func TestGoInstallLatestShowsTheModuleVersion(t *testing.T) {
	if os.Getenv("PULLTOP_TEST_INSTALL") != "1" {
		t.Skip("go install from a module proxy takes minutes: run it with PULLTOP_TEST_INSTALL=1 go test -run TestGoInstall ./cmd/pulltop")
	}
	goEnv := func(key string) string {
		out, err := exec.Command("go", "env", key).Output()
		require.NoError(t, err)
		return strings.TrimSpace(string(out))
	}
	modcache := goEnv("GOMODCACHE")
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): nothing to publish to the test proxy", err)
	}

	dir := t.TempDir()
	at := filepath.Join(dir, "proxy", "github.com", "pulltop", "pulltop", "@v")
	require.NoError(t, os.MkdirAll(at, 0o755))
	archive := exec.Command("git", "archive", "--format=zip", "--prefix=github.com/pulltop/pulltop@v0.3.0/",
		"-o", filepath.Join(at, "v0.3.0.zip"), "HEAD")
	archive.Dir = strings.TrimSpace(string(root))
	out, err := archive.CombinedOutput()
	require.NoError(t, err, "%s", out)
	mod, err := exec.Command("git", "-C", archive.Dir, "show", "HEAD:go.mod").Output()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(at, "v0.3.0.mod"), mod, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(at, "v0.3.0.info"), []byte(`{"Version":"v0.3.0","Time":"2026-12-05T00:00:00Z"}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(at, "list"), []byte("v0.3.0\n"), 0o644))

	install := exec.Command("go", "install", "github.com/pulltop/pulltop/cmd/pulltop@latest")
	install.Dir = dir // outside any module
	install.Env = append(os.Environ(),
		"GOPROXY=file://"+filepath.ToSlash(filepath.Join(dir, "proxy"))+",file://"+filepath.ToSlash(filepath.Join(modcache, "cache", "download")),
		"GOSUMDB=off",         // the test proxy's module has no checksum database entry; go.sum checks the dependencies
		"GOFLAGS=-modcacherw", // so the temporary module cache can be removed
		"GOMODCACHE="+filepath.Join(dir, "modcache"),
		"GOBIN="+filepath.Join(dir, "bin"),
		"GOWORK=off", "GOTOOLCHAIN=local")
	out, err = install.CombinedOutput()
	require.NoError(t, err, "go install …@latest:\n%s", out)

	version, err := exec.Command(filepath.Join(dir, "bin", "pulltop"), "version").Output()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(version), "pulltop v0.3.0\n"), "%s", version)
	require.Contains(t, string(version), "\n  module     github.com/pulltop/pulltop\n")
	require.Contains(t, string(version), "  kvproto    "+goModVersion(t, "github.com/pingcap/kvproto")+" (ScanPriority")
}
