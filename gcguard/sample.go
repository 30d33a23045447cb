package gcguard

import (
	"math"
	"runtime/metrics"
	"time"
)

// The runtime/metrics the guard reads. Reading them does not stop the world,
// unlike runtime.ReadMemStats.
var metricNames = [...]string{
	"/gc/cycles/total:gc-cycles",
	"/gc/heap/live:bytes",
	"/gc/heap/goal:bytes",
	"/gc/scan/stack:bytes",
	"/gc/scan/globals:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/gc/gogc:percent",
	"/gc/gomemlimit:bytes",
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/gc/mark/idle:cpu-seconds",
	"/cpu/classes/total:cpu-seconds",
	"/cpu/classes/idle:cpu-seconds",
	"/gc/limiter/last-enabled:gc-cycle",
}

// reader reads samples into a reused slice. It is not safe for concurrent
// use.
type reader struct {
	s []metrics.Sample
}

func newReader() *reader {
	r := &reader{s: make([]metrics.Sample, len(metricNames))}
	for i, n := range metricNames {
		r.s[i].Name = n
	}
	return r
}

func (r *reader) read(at time.Time) sample {
	metrics.Read(r.s)
	u := func(i int) uint64 {
		if r.s[i].Value.Kind() != metrics.KindUint64 {
			return 0 // metric missing from this runtime
		}
		return r.s[i].Value.Uint64()
	}
	i64 := func(i int) int64 { return int64(min(u(i), math.MaxInt64)) }
	f := func(i int) float64 {
		if r.s[i].Value.Kind() != metrics.KindFloat64 {
			return 0
		}
		return r.s[i].Value.Float64()
	}
	gogc := -1 // the runtime reports off as the largest uint64
	if v := u(10); v <= math.MaxInt32 {
		gogc = int(v)
	}
	return sample{
		at:          at,
		cycles:      u(0),
		live:        i64(1),
		goal:        i64(2),
		stacks:      i64(3),
		globals:     i64(4),
		nonHeap:     max(i64(5)-i64(6)-i64(7)-i64(8)-i64(9), 0),
		gogc:        gogc,
		limit:       i64(11),
		gcCPU:       f(12),
		markIdle:    f(13),
		totalCPU:    f(14),
		idleCPU:     f(15),
		limiterLast: u(16),
	}
}
