package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/pulltop/pulltop/engine"
)

// versionText is what `pulltop version` and `pulltop --version` print: a
// postmortem has to say which build watched the incident, so it names the
// module version, the commit it was built from and when, the Go release,
// and the versions of the two protocol libraries that decide what pulltop
// speaks to TiKV and PD. Everything comes from the build info the Go
// toolchain embeds; -ldflags "-X main.version=…" overrides the version.
func versionText() string {
	info, ok := debug.ReadBuildInfo()
	return versionOf(info, ok)
}

// versionOf is versionText for given build information. The version shown
// is the main module's as the toolchain stamped it: what `go install
// github.com/pulltop/pulltop/cmd/pulltop@VERSION` builds carries VERSION
// (the tag, or the pseudo-version of the commit @latest resolved to); a
// `go build` in a checkout carries "(devel)", or a pseudo-version derived
// from the checkout's commit when Go stamps VCS information (go 1.24+,
// -buildvcs not false).
func versionOf(info *debug.BuildInfo, ok bool) string {
	var b strings.Builder
	v := version
	if v == "" {
		v = "(devel)" // what the toolchain says of a build it cannot version
		if ok && info.Main.Version != "" {
			v = info.Main.Version
		}
	}
	fmt.Fprintf(&b, "pulltop %s\n", v)
	if !ok {
		b.WriteString("  (no build information: built without module support)\n")
		return b.String()
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	rev := settings["vcs.revision"]
	if rev == "" {
		rev = "unknown (no version control information in this build)"
	} else if settings["vcs.modified"] == "true" {
		rev += " (with uncommitted changes)"
	}
	fmt.Fprintf(&b, "  module     %s\n", info.Main.Path)
	fmt.Fprintf(&b, "  revision   %s\n", rev)
	if t := settings["vcs.time"]; t != "" {
		fmt.Fprintf(&b, "  committed  %s\n", t)
	}
	fmt.Fprintf(&b, "  go         %s %s/%s\n", info.GoVersion, settings["GOOS"], settings["GOARCH"])
	for _, dep := range []struct{ label, path string }{
		{"kvproto", "github.com/pingcap/kvproto"},
		{"pd client", "github.com/tikv/pd/client"},
		{"client-go", "github.com/tikv/client-go/v2"},
		{"grpc", "google.golang.org/grpc"},
	} {
		line := depVersion(info, dep.path)
		if dep.label == "kvproto" {
			// The protocol feature this kvproto brings (cdcpb.ScanPriority):
			// initial scans ask to run after production changefeeds'.
			line += " (ScanPriority: initial scans ask for " + engine.InitialScanPriority.String() + ")"
		}
		fmt.Fprintf(&b, "  %-10s %s\n", dep.label, line)
	}
	return b.String()
}

// depVersion is a dependency's version as built, following a replace.
func depVersion(info *debug.BuildInfo, path string) string {
	for _, d := range info.Deps {
		if d.Path != path {
			continue
		}
		if d.Replace != nil {
			return d.Replace.Path + " " + d.Replace.Version + " (replaces " + d.Version + ")"
		}
		return d.Version
	}
	return "not linked"
}

func printVersion(w io.Writer) {
	_, _ = io.WriteString(w, versionText())
}
