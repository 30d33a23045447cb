package tlspeers

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// certmagic's cache maintenance goroutine and its zap logger's sinks
	// end a moment after Cache.Stop returns; goleak retries until they do.
	goleak.VerifyTestMain(m)
}
