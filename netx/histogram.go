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

// Histogram is a snapshot of a latency histogram. Counts[i] is the number
// of observations at or below UpperBounds[i] and above the bound before it
// (not cumulative); the last count, one longer than UpperBounds, holds the
// observations above every bound.
type Histogram struct {
	UpperBounds []time.Duration `json:"upper_bounds_ns"`
	Counts      []uint64        `json:"counts"`
	Count       uint64          `json:"count"`
	Sum         time.Duration   `json:"sum_ns"`
}

func (h *histogram) snapshot() Histogram {
	s := Histogram{
		UpperBounds: append([]time.Duration(nil), waitBuckets[:]...),
		Counts:      make([]uint64, len(h.counts)),
		Sum:         time.Duration(h.sumNs.Load()),
	}
	for i := range h.counts {
		s.Counts[i] = h.counts[i].Load()
		s.Count += s.Counts[i]
	}
	return s
}
