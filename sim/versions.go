package sim

import (
	"fmt"
	"strconv"
	"strings"
)

// This file is the one place where the sim's behaviour depends on the TiKV
// or PD release it pretends to be (DESIGN §3): every servers' branch on a
// version asks `has(feature)`, and the table below says since which release
// a feature exists and which function of TiKV or PD it comes from. A new
// version difference is a new row, never an `if version < …` in a server.

// Component is the kind of server a feature belongs to.
type Component string

// The components whose releases differ on the wire.
const (
	ComponentTiKV Component = "tikv"
	ComponentPD   Component = "pd"
)

// Feature is a piece of wire behaviour that only some releases have.
type Feature string

// The version-dependent features the sim models.
const (
	// FeatureEventFeedV2: TiKV serves ChangeData/EventFeedV2 (older ones
	// answer Unimplemented; EventFeed still works).
	FeatureEventFeedV2 Feature = "EventFeedV2"
	// FeatureRegionDeregister: a Deregister with region_id != 0 removes
	// only that (request id, region) and answers it with region_not_found.
	// Before it (7.3) every Deregister removes the whole request id of the
	// connection, silently.
	FeatureRegionDeregister Feature = "per-region Deregister"
	// FeatureBatchScanRegions: PD serves BatchScanRegions (older ones answer
	// Unimplemented; ScanRegions still works).
	FeatureBatchScanRegions Feature = "BatchScanRegions"
)

// versionRow is one row of the version table.
type versionRow struct {
	Component Component
	Feature   Feature
	Since     Version
	Source    string // where in TiKV/PD the behaviour is decided
}

// versionTable is the sim's whole knowledge of release differences, read
// at the release tags of tikv/tikv and tikv/pd.
var versionTable = []versionRow{
	{ComponentTiKV, FeatureEventFeedV2, Version{7, 3, 0},
		"components/cdc/src/service.rs fn event_feed_v2 (absent at v7.1.0, v7.2.0)"},
	{ComponentTiKV, FeatureRegionDeregister, Version{7, 4, 0},
		"components/cdc/src/service.rs handle_deregister → Deregister::Region (v7.3.0 always sends Deregister::Request, and endpoint.rs on_deregister removes it with no error event)"},
	{ComponentPD, FeatureBatchScanRegions, Version{8, 2, 0},
		"server/grpc_service.go GrpcServer.BatchScanRegions (absent at v7.5.0, v8.1.0)"},
}

// VersionTable returns the table, for docs and tests.
func VersionTable() []versionRow { return append([]versionRow(nil), versionTable...) }

// Version is a TiKV or PD release, major.minor.patch.
type Version struct{ Major, Minor, Patch int }

// DefaultVersion is what the sim pretends to be unless told otherwise.
var DefaultVersion = Version{8, 5, 0}

// MinVersion is the oldest release the sim can pretend to be: older ones
// differ in ways the sim does not model.
var MinVersion = Version{6, 5, 0}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Less orders releases.
func (v Version) Less(o Version) bool {
	if v.Major != o.Major {
		return v.Major < o.Major
	}
	if v.Minor != o.Minor {
		return v.Minor < o.Minor
	}
	return v.Patch < o.Patch
}

// ParseVersion reads "8.1.0", "v8.1.0" or "8.1" (patch 0), as --tikv-version
// and --pd-version take them.
func ParseVersion(s string) (Version, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "v")
	parts := strings.Split(t, ".")
	if len(parts) == 2 {
		parts = append(parts, "0")
	}
	if len(parts) != 3 {
		return Version{}, fmt.Errorf("version %q: want MAJOR.MINOR.PATCH, e.g. 8.1.0", s)
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 || x > 999 {
			return Version{}, fmt.Errorf("version %q: want MAJOR.MINOR.PATCH, e.g. 8.1.0", s)
		}
		n[i] = x
	}
	v := Version{n[0], n[1], n[2]}
	if v.Less(MinVersion) {
		return Version{}, fmt.Errorf("version %q: the sim models releases from %s on", s, MinVersion)
	}
	return v, nil
}

// releaseFeatures is what one server of one release can do.
type releaseFeatures struct {
	component Component
	version   Version
}

func (r releaseFeatures) has(f Feature) bool {
	for _, row := range versionTable {
		if row.Component == r.component && row.Feature == f {
			return !r.version.Less(row.Since)
		}
	}
	panic(fmt.Sprintf("sim: feature %q of %s is not in the version table", f, r.component))
}
