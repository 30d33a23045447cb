package tlscache

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// counter is a striped counter for the hit path. One shared atomic would
// put every handshake on every core onto one cache line; striping by
// goroutine stack address keeps a goroutine on one stripe (stacks are
// distinct and at least 2 KiB apart) without locks, allocation or runtime
// internals. Stripes are padded to 128 bytes (adjacent-line prefetch).
type counter struct {
	shift   uint
	stripes []stripe
}

type stripe struct {
	n atomic.Uint64
	_ [128 - 8]byte
}

func newCounter() *counter {
	// Eight stripes per P keeps the chance that two busy goroutines share
	// a stripe low (the birthday bound) for 16 KiB per 16 Ps.
	n := 8 * runtime.GOMAXPROCS(0)
	n = min(max(n, 16), 1024)
	n = 1 << bits.Len(uint(n-1))
	return &counter{
		shift:   uint(64 - bits.TrailingZeros(uint(n))),
		stripes: make([]stripe, n),
	}
}

func (c *counter) inc() {
	var marker byte
	h := uint64(uintptr(unsafe.Pointer(&marker))>>11) * 0x9E3779B97F4A7C15
	c.stripes[h>>c.shift].n.Add(1)
}

func (c *counter) load() uint64 {
	var sum uint64
	for i := range c.stripes {
		sum += c.stripes[i].n.Load()
	}
	return sum
}
