package netx

import (
	"sync/atomic"
	"time"
)

// waitBuckets are the upper bounds of the pool-wait histogram: a pooled
// connection comes back in microseconds, a dial on loopback in a fraction of
// a millisecond, a dial across a region in tens of milliseconds, and a wait
// on an exhausted pool in up to the request's timeout.
var waitBuckets = [...]time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond,
	500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond,
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond,
	50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond,
	5 * time.Second, 10 * time.Second,
}

// histogram is a fixed-bucket latency histogram updated with atomics.
type histogram struct {
	counts [len(waitBuckets) + 1]atomic.Uint64 // last one is +Inf
	sumNs  atomic.Int64
}

func (h *histogram) observe(d time.Duration) {
	i := 0
	for i < len(waitBuckets) && d > waitBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNs.Add(int64(d))
}

// histSnapshot is a snapshot of a histogram. counts[i] is the number of
// observations at or below waitBuckets[i] and above the bound before it
// (not cumulative); the last count holds the observations above every
// bound.
type histSnapshot struct {
	counts [len(waitBuckets) + 1]uint64
	count  uint64
	sum    time.Duration
}

func (h *histogram) snapshot() histSnapshot {
	s := histSnapshot{sum: time.Duration(h.sumNs.Load())}
	for i := range h.counts {
		s.counts[i] = h.counts[i].Load()
		s.count += s.counts[i]
	}
	return s
}
