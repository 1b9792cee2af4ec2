package snapshots

import (
	"testing"

	"go.uber.org/goleak"
)

// Loading and saving gzip run a goroutine each (async.go): none may outlive
// its Load or Save, also when the file is bad.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
