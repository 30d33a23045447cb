package gcguardpeers

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(ChildEnv) != "" {
		os.Exit(RunChild())
	}
	goleak.VerifyTestMain(m)
}
