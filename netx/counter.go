package netx

import (
	"math/rand/v2"
	"sync/atomic"
)

// counter is a monotonically increasing count for hot paths: updates go to
// one of several cache-line-padded shards picked at random (the runtime's
// per-thread generator, no shared state), so goroutines on different cores
// rarely touch the same line. Loads sum the shards.
type counter struct {
	shards [counterShards]struct {
		n atomic.Uint64
		_ [56]byte
	}
}

const counterShards = 16

func (c *counter) inc() {
	c.shards[rand.Uint32()%counterShards].n.Add(1)
}

func (c *counter) load() uint64 {
	var sum uint64
	for i := range c.shards {
		sum += c.shards[i].n.Load()
	}
	return sum
}
