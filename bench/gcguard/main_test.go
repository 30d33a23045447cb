package gcguardbench

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(resizeEnv) != "" {
		os.Exit(resizeChild())
	}
	goleak.VerifyTestMain(m)
}
