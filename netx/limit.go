package netx

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/gotune/gotune/internal/lru"
)

// AdaptiveLimit configures an in-flight limit that follows latency
// (additive increase, multiplicative decrease). After every Window
// completed requests the mean latency of that window is compared with
// Target: above it, the limit shrinks by a tenth (at least 1, not below
// Min); at or below it, and if requests were shed in the window, the limit
// grows by 1 (not above Max). It starts at Max.
//
// Use it when the handler's capacity is not known or changes (a backend
// that slows down under load): the limit settles where latency stays near
// Target. Target should sit above the normal latency with some room, for
// example twice the unloaded p99.
type AdaptiveLimit struct {
	// Min and Max bound the limit. Defaults 1 and 1000.
	Min, Max int
	// Target is the latency the limit steers to. Required; zero switches
	// adaptation off and Max acts as a static limit.
	Target time.Duration
	// Window is the number of requests per adjustment. Default 50.
	Window int
}

type inflightLimit struct {
	inflight atomic.Int64
	limit    atomic.Int64

	adaptive bool
	min, max int64
	target   time.Duration
	window   int64
	shed     atomic.Bool
	mu       sync.Mutex
	n        int64
	sum      time.Duration
}

func newInflightLimit(static int, a *AdaptiveLimit) *inflightLimit {
	l := &inflightLimit{}
	if a == nil {
		limit := int64(static)
		if static <= 0 {
			limit = 1 << 62 // no limit; int64 so it fits on 32-bit platforms too
		}
		l.limit.Store(limit)
		return l
	}
	l.min, l.max = int64(a.Min), int64(a.Max)
	if l.min <= 0 {
		l.min = 1
	}
	if l.max <= 0 {
		l.max = 1000
	}
	l.max = max(l.max, l.min)
	l.window = int64(a.Window)
	if l.window <= 0 {
		l.window = 50
	}
	l.target = a.Target
	l.adaptive = a.Target > 0
	l.limit.Store(l.max)
	return l
}

func (l *inflightLimit) acquire() bool {
	if l.inflight.Add(1) > l.limit.Load() {
		l.inflight.Add(-1)
		if l.adaptive {
			l.shed.Store(true)
		}
		return false
	}
	return true
}

func (l *inflightLimit) release(latency time.Duration) {
	l.inflight.Add(-1)
	if !l.adaptive {
		return
	}
	l.mu.Lock()
	l.n++
	l.sum += latency
	if l.n >= l.window {
		mean := l.sum / time.Duration(l.n)
		cur := l.limit.Load()
		switch {
		case mean > l.target:
			l.limit.Store(max(l.min, cur-max(1, cur/10)))
		case l.shed.Load():
			l.limit.Store(min(l.max, cur+1))
		}
		l.shed.Store(false)
		l.n, l.sum = 0, 0
	}
	l.mu.Unlock()
}

// rateLimiter is a global token bucket or one bucket per key with LRU
// eviction.
type rateLimiter struct {
	global  *rate.Limiter
	cfg     rateConfig
	mu      sync.Mutex
	keys    *lru.Cache[string, *rate.Limiter] // the most recently used maxKeys buckets
	maxKeys int
}

const defaultMaxRateKeys = 10000

func newRateLimiter(c rateConfig) *rateLimiter {
	r := &rateLimiter{cfg: c}
	if c.key == nil {
		r.global = rate.NewLimiter(c.limit, c.burst)
		return r
	}
	r.maxKeys = c.maxKeys
	if r.maxKeys <= 0 {
		r.maxKeys = defaultMaxRateKeys
	}
	r.keys = lru.New[string, *rate.Limiter](r.maxKeys)
	return r
}

// allow takes a token for r at now, or reports how long until one is free.
func (r *rateLimiter) allow(req *http.Request, now time.Time) (time.Duration, bool) {
	lim := r.global
	if lim == nil {
		k := r.cfg.key(req)
		if k == "" {
			return 0, true
		}
		lim = r.bucket(k)
	}
	res := lim.ReserveN(now, 1)
	if !res.OK() {
		return time.Second, false
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}

func (r *rateLimiter) bucket(k string) *rate.Limiter {
	r.mu.Lock()
	defer r.mu.Unlock()
	if lim, ok := r.keys.Get(k); ok {
		return lim
	}
	lim := rate.NewLimiter(r.cfg.limit, r.cfg.burst)
	r.keys.Add(k, lim) // evicts the least recently used key past maxKeys
	return lim
}
