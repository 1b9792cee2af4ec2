package storebackoff

import (
	"testing"

	"go.uber.org/goleak"
)

// The package starts no goroutines; the tests that do must wait for theirs.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
