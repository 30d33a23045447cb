package tlscache

import (
	"time"

	"github.com/gotune/gotune/internal/histogram"
)

// Stats is a snapshot of a [Cache]'s state and counters since [New]. It
// marshals to JSON.
type Stats struct {
	// Entries is the number of cached certificates (exact and wildcard
	// names); it never exceeds MaxEntries.
	Entries    int `json:"entries"`
	MaxEntries int `json:"max_entries"`
	// NegativeEntries is the number of remembered failed loads; it never
	// exceeds MaxNegativeEntries, which is 0 under [NoNegativeCache]. A failure answers handshakes for its
	// backoff d, is kept for another d to remember the count of failures
	// in a row, and is then freed within one base negative TTL (see
	// [WithNegativeTTL]).
	NegativeEntries    int `json:"negative_entries"`
	MaxNegativeEntries int `json:"max_negative_entries"`
	// NegativeBytes is the memory charged to the remembered failures (see
	// [WithMaxNegativeBytes]); it exceeds MaxNegativeBytes only while a
	// single failure alone is larger.
	NegativeBytes    int `json:"negative_bytes"`
	MaxNegativeBytes int `json:"max_negative_bytes"`
	// InFlight is the number of loads running now.
	InFlight int `json:"in_flight"`
	// MaxConcurrentLoads is the bound on loader calls running at once.
	MaxConcurrentLoads int `json:"max_concurrent_loads"`

	// Hits counts handshakes served from the cache.
	Hits uint64 `json:"hits"`
	// InvalidNames counts handshakes refused with [ErrInvalidName]
	// because their server name cannot be a DNS host name; they touch
	// neither the cache nor a loader and are not counted as misses.
	InvalidNames uint64 `json:"invalid_names"`
	// Misses counts handshakes not served from the cache; NegativeHits and
	// Waits are subsets of them.
	Misses uint64 `json:"misses"`
	// NegativeHits counts misses answered by a remembered failure.
	NegativeHits uint64 `json:"negative_hits"`
	// Waits counts misses that joined a load already in progress.
	Waits uint64 `json:"waits"`
	// Overloaded counts misses refused with [ErrOverloaded] because
	// MaxConcurrentLoads loads were running.
	Overloaded uint64 `json:"overloaded"`
	// Loads counts calls of the loader, including refreshes.
	Loads uint64 `json:"loads"`
	// LoadErrors counts loads that failed, timed out, panicked or returned
	// an unusable certificate.
	LoadErrors uint64 `json:"load_errors"`
	// LoadTimeouts counts loads ended by the load timeout (also in
	// LoadErrors).
	LoadTimeouts uint64 `json:"load_timeouts"`
	// LoaderPanics counts loader calls that panicked or called
	// runtime.Goexit (also in LoadErrors).
	LoaderPanics uint64 `json:"loader_panics"`
	// Refreshes counts background loads started ahead of expiry;
	// RefreshErrors those that failed while the old certificate kept
	// serving.
	Refreshes     uint64 `json:"refreshes"`
	RefreshErrors uint64 `json:"refresh_errors"`

	Evictions Evictions `json:"evictions"`
	// NegativeEvictions counts failures forgotten early because the
	// negative cache was full (in entries or bytes).
	NegativeEvictions uint64 `json:"negative_evictions"`

	// LoadDuration is the distribution of load durations.
	LoadDuration Histogram `json:"load_duration"`
}

// Evictions counts entries removed from a [Cache], by reason.
type Evictions struct {
	// Capacity: removed to make room (SIEVE).
	Capacity uint64 `json:"capacity"`
	// Expired: reached its expiry without a successful refresh, or found
	// past its certificate's NotAfter (less a margin) by a handshake.
	Expired uint64 `json:"expired"`
	// Invalidated: removed by [Cache.Invalidate].
	Invalidated uint64 `json:"invalidated"`
}

// Histogram is a cumulative histogram of durations in seconds, in the shape
// Prometheus expects.
type Histogram struct {
	Count uint64 `json:"count"`
	// Sum is the total of the observed durations in seconds.
	Sum float64 `json:"sum"`
	// Buckets hold cumulative counts by upper bound, ascending.
	Buckets []Bucket `json:"buckets"`
}

// Bucket is one cumulative histogram bucket.
type Bucket struct {
	UpperBound float64 `json:"le"`
	Count      uint64  `json:"count"`
}

// loadBuckets are the upper bounds of Stats.LoadDuration: loads range
// from a map lookup to an ACME order.
var loadBuckets = []time.Duration{
	time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 500 * time.Millisecond, time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
}

// histogramOf turns internal/histogram's snapshot into the exported shape.
func histogramOf(h histogram.Snapshot) Histogram {
	out := Histogram{Count: h.Count, Sum: h.Sum.Seconds(), Buckets: make([]Bucket, len(h.Bounds))}
	for i, b := range h.Bounds {
		out.Buckets[i] = Bucket{UpperBound: b.Seconds(), Count: h.Cumulative[i]}
	}
	return out
}
