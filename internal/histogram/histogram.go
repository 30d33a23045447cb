// Package histogram is the one fixed-bucket duration histogram of gotune's
// packages (netx's pool waits, tlscache's load durations): observations
// counted with atomics, so a hot path never takes a lock, and snapshots in
// the cumulative shape Prometheus expects.
package histogram

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"
)

// Histogram counts durations into buckets by upper bound. The zero value
// is not usable; call [New]. It is safe for concurrent use.
type Histogram struct {
	bounds []time.Duration
	counts []atomic.Uint64 // counts[i]: in (bounds[i-1], bounds[i]]; the last: above every bound
	sum    atomic.Int64    // nanoseconds
}

// New returns a histogram with the given upper bounds. It panics unless
// they are positive and strictly ascending: they are the program's
// constants, not input.
func New(bounds ...time.Duration) *Histogram {
	for i, b := range bounds {
		if b <= 0 || (i > 0 && b <= bounds[i-1]) {
			panic(fmt.Sprintf("histogram: bounds %v must be positive and strictly ascending", bounds))
		}
	}
	return &Histogram{bounds: slices.Clone(bounds), counts: make([]atomic.Uint64, len(bounds)+1)}
}

// Observe counts d in the first bucket whose bound is at least d.
func (h *Histogram) Observe(d time.Duration) {
	i, _ := slices.BinarySearch(h.bounds, d)
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// Snapshot is a histogram's state: cumulative counts by upper bound, the
// total count and the sum. Observations that land while it is taken may be
// in Count and not in a bucket, or the other way round, by one.
type Snapshot struct {
	Bounds     []time.Duration
	Cumulative []uint64 // Cumulative[i]: observations at or below Bounds[i]
	Count      uint64   // every observation, those above the last bound included
	Sum        time.Duration
}

// Snapshot returns the state now.
func (h *Histogram) Snapshot() Snapshot {
	s := Snapshot{Bounds: h.bounds, Cumulative: make([]uint64, len(h.bounds)), Sum: time.Duration(h.sum.Load())}
	for i := range h.counts {
		s.Count += h.counts[i].Load()
		if i < len(h.bounds) {
			s.Cumulative[i] = s.Count
		}
	}
	return s
}

// Buckets returns the cumulative counts keyed by upper bound in seconds,
// the form prometheus.NewConstHistogram takes.
func (s Snapshot) Buckets() map[float64]uint64 {
	m := make(map[float64]uint64, len(s.Bounds))
	for i, b := range s.Bounds {
		m[b.Seconds()] = s.Cumulative[i]
	}
	return m
}
