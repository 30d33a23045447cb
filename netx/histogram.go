package netx

import "time"

// waitBuckets are the upper bounds of the pool-wait histogram: a pooled
// connection comes back in microseconds, a dial on loopback in a fraction of
// a millisecond, a dial across a region in tens of milliseconds, and a wait
// on an exhausted pool in up to the request's timeout.
var waitBuckets = []time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond,
	500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond,
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond,
	50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond,
	5 * time.Second, 10 * time.Second,
}
