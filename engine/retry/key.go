package retry

import (
	"encoding/hex"
	"fmt"
)

// Key identifies what is being retried: a logical key range of one
// subscription. It deliberately leaves out the region ID and epoch, which
// change on every split, merge and leader transfer; keying by range is what
// lets backoff and a pending retry survive those changes (TiCDC #5857).
type Key struct {
	Subscription uint64
	Start        string // raw key bytes, inclusive
	End          string // raw key bytes, exclusive; "" means +inf
}

// String renders the key for errors and logs, with the range in lowercase hex
// as in the snapshot format.
func (k Key) String() string {
	return fmt.Sprintf("subscription %d [%s, %s)", k.Subscription,
		hex.EncodeToString([]byte(k.Start)), hex.EncodeToString([]byte(k.End)))
}

// Reason is why a retry was needed. The values are the snapshot's error
// reasons (snapshots.Reason*), so the engine can show them without mapping.
type Reason string

// Reasons with their own backoff curve (see RuleFor).
const (
	ReasonNotLeader         Reason = "not_leader"
	ReasonEpochNotMatch     Reason = "epoch_not_match"
	ReasonRegionNotFound    Reason = "region_not_found"
	ReasonServerIsBusy      Reason = "server_is_busy"
	ReasonCongested         Reason = "congested"
	ReasonStoreFailure      Reason = "store_failure"
	ReasonRPCCtxUnavailable Reason = "rpc_ctx_unavailable"
	ReasonUnknown           Reason = "unknown"
)
