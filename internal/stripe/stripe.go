// Package stripe provides a per-P striped counter for hot paths, where one
// shared atomic would put every core's increment on one cache line.
package stripe

import (
	"math/bits"
	"runtime"
	"sync/atomic"
)

// Counter is a striped counter: Inc adds to the stripe of the P the
// goroutine runs on, Load sums the stripes. The P's id comes from
// runtime.procPin, the primitive sync.Pool uses, which the runtime keeps
// reachable by linkname for packages that do this (go.dev/issue/67401);
// with -tags gotune_nolinkname a hash of the goroutine's stack address
// takes its place. The goroutine is unpinned before the add: if it migrates
// in between, two Ps share a stripe for one add, which the atomic keeps
// correct. Stripes are padded to 128 bytes (adjacent-line prefetch).
//
// The zero value is not usable; call [New]. A Counter is safe for
// concurrent use.
type Counter struct {
	mask    int
	stripes []cell
}

type cell struct {
	n atomic.Uint64
	_ [128 - 8]byte
}

// New returns a Counter with a stripe for every P, also if GOMAXPROCS is
// raised later up to the CPU count; beyond that (or past 1024), Ps share
// stripes, still correctly.
func New() *Counter {
	n := max(runtime.GOMAXPROCS(0), runtime.NumCPU())
	n = 1 << bits.Len(uint(min(n, 1024)-1))
	return &Counter{mask: n - 1, stripes: make([]cell, n)}
}

// Stripes returns the number of stripes.
func (c *Counter) Stripes() int { return len(c.stripes) }

// Inc adds one and returns the new count of the stripe it added to (a
// cheap way to act every Nth time on a hot path without a shared word).
func (c *Counter) Inc() uint64 {
	return c.stripes[index()&c.mask].n.Add(1)
}

// Load returns the sum of the stripes. It is not a snapshot: adds that run
// while it sums may or may not be counted.
func (c *Counter) Load() uint64 {
	var sum uint64
	for i := range c.stripes {
		sum += c.stripes[i].n.Load()
	}
	return sum
}
