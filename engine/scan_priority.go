package engine

import (
	"strings"

	"github.com/pingcap/kvproto/pkg/cdcpb"
)

// InitialScanPriority is the cdcpb.ScanPriority of every region request
// (each one starts an initial scan): pulltop is a guest next to production
// changefeeds, so it asks to be scanned after them, as TiCDC's log puller
// does for bootstrap scans (TiCDC #5480). The field is proto3 field 14 of
// ChangeDataRequest, default SCAN_PRIORITY_UNKNOWN: a TiKV built on an
// older kvproto skips it as an unknown field, and TiKV master (which pins
// this kvproto) decodes it but does not read it; a CDC service that
// schedules scans by priority honours it.
const InitialScanPriority = cdcpb.ScanPriority_SCAN_PRIORITY_LOW

// ScanPriorityName is a ScanPriority in the snapshot's words: "low",
// "high", "unknown".
func ScanPriorityName(p cdcpb.ScanPriority) string {
	return strings.ToLower(strings.TrimPrefix(p.String(), "SCAN_PRIORITY_"))
}
