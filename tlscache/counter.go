package tlscache

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	_ "unsafe" // for go:linkname
)

// counter is a per-P striped counter for the hit path. One shared atomic
// would put every handshake on every core onto one cache line. The P's id
// comes from runtime.procPin, the same primitive sync.Pool uses; the
// runtime keeps it reachable by linkname for packages that do this (see
// go.dev/issue/67401). The goroutine is unpinned before the add: if it
// migrates in between, two Ps share a stripe for one add, which the atomic
// keeps correct. Stripes are padded to 128 bytes (adjacent-line prefetch).
type counter struct {
	mask    int
	stripes []stripe
}

type stripe struct {
	n atomic.Uint64
	_ [128 - 8]byte
}

//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

func newCounter() *counter {
	// Enough stripes for every P, also if GOMAXPROCS is raised later up
	// to the CPU count; beyond that, Ps share stripes, still correctly.
	n := max(runtime.GOMAXPROCS(0), runtime.NumCPU())
	n = 1 << bits.Len(uint(min(n, 1024)-1))
	return &counter{mask: n - 1, stripes: make([]stripe, n)}
}

// inc adds one and returns the new count of the stripe it added to.
func (c *counter) inc() uint64 {
	p := procPin()
	procUnpin()
	return c.stripes[p&c.mask].n.Add(1)
}

func (c *counter) load() uint64 {
	var sum uint64
	for i := range c.stripes {
		sum += c.stripes[i].n.Load()
	}
	return sum
}
