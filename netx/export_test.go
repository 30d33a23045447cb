package netx

import (
	"time"

	"golang.org/x/time/rate"

	"github.com/gotune/gotune/internal/lru"
)

// ParseRetryAfter exposes parseRetryAfter to the tests.
var ParseRetryAfter = parseRetryAfter

// SetMaxRateKeys lowers the number of per-key buckets g keeps, so a test
// can see the least recently used one go.
func SetMaxRateKeys(g *Guard, n int) {
	g.rate.maxKeys = n
	g.rate.keys = lru.New[string, *rate.Limiter](n)
}

// SetBodyGrace shortens the time a request body gets before the minimum
// rate of WithProgressTimeouts applies, so a test need not wait 10s.
func SetBodyGrace(g *Guard, d time.Duration) { g.bodyGrace = d }

// SetSilentGrace sets how long a new connection may stay silent before it
// is the first to be evicted, and returns a function that restores it.
func SetSilentGrace(d time.Duration) (restore func()) { return swap(&silentGrace, d) }

// SetStuckWrite sets how long a write to a client may block before its
// connection may be evicted, and returns a function that restores it.
func SetStuckWrite(d time.Duration) (restore func()) { return swap(&stuckWrite, d) }

// SetHandshakeGrace sets how long the server may wait for the next bytes
// of a client that has sent a whole ClientHello or whole request headers
// before the connection counts as silent, and returns a function that
// restores it.
func SetHandshakeGrace(d time.Duration) (restore func()) {
	r1, r2 := swap(&handshakeGrace, d), swap(&requestGrace, d)
	return func() { r1(); r2() }
}

// SetIdleGrace sets how long an idle keep-alive connection is kept from
// eviction after its response, and returns a function that restores it.
func SetIdleGrace(d time.Duration) (restore func()) { return swap(&idleGrace, d) }

// SetCloseGrace sets how long a connection net/http holds open after its
// last response is kept from eviction, and returns a function that
// restores it.
func SetCloseGrace(d time.Duration) (restore func()) { return swap(&closeGrace, d) }

// swap sets *p to v and returns a function that puts the old value back.
func swap[T any](p *T, v T) (restore func()) {
	old := *p
	*p = v
	return func() { *p = old }
}

// ConnLimits is connLimits: the eviction limit and the accept ceiling for
// WithMaxConns(maxConns) under an RLIMIT_NOFILE soft limit of nofile.
func ConnLimits(maxConns int, nofile uint64) (limit, ceiling int64) {
	return connLimits(maxConns, nofile)
}
