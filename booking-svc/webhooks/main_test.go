package webhooks_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: the delivery service, River's
// client, pgx pools and test receivers must all stop when their test ends.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
