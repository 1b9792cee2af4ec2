package main

import (
	"testing"
)

// The real binary on its embedded cluster: a region's detail says what
// scan priority the engine asked for on its initial scan (every one asks
// SCAN_PRIORITY_LOW; engine.InitialScanPriority).
func TestRegionDetailShowsScanPriorityInTmux(t *testing.T) {
	s, _ := startOperatorTUI(t, 120, 40, "", nil, "--regions", "6")
	s.Ready(tab(1), "embedded sim")
	s.SendAndWait("2", tab(2), "REGION")
	s.WaitFor("INITIALIZED") // a row under the cursor: enter opens it
	s.SendAndWait("Enter", "detail of region", "(enter: the store)",
		"scan priority  low   (asked on every initial scan; ignored where unsupported)")
	s.SendAndWait("Escape", tab(2), "REGION")
}
