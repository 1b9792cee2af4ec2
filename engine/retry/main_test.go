package retry

import (
	"testing"

	"go.uber.org/goleak"
)

// Every scheduler a test starts must be stopped, and Stop must end every
// goroutine it started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
