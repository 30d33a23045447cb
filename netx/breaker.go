package netx

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// ErrCircuitOpen is returned (wrapped) by a [RoundTripper] when the breaker
// for the request's host is open, or half-open with its probes already in
// flight. The request was not sent.
var ErrCircuitOpen = errors.New("netx: circuit breaker open")

// maxBreakers bounds the per-host breakers of one RoundTripper; requests to
// further hosts pass without a breaker. A client talks to a handful of
// hosts; this only stops a client fed arbitrary URLs from growing without
// bound.
const maxBreakers = 1024

// BreakerSettings configures the per-host circuit breaker of
// [WithBreaker], built on github.com/sony/gobreaker/v2. Zero fields take
// the defaults given; negative durations and a FailureRatio outside [0, 1]
// are invalid.
//
// With [WithRetry] as well, the breaker counts a request once, with the
// outcome after its retries (see [RoundTripper.RoundTrip]).
//
// A failure is a transport error or a 5xx response. The caller canceling
// its own request (context.Canceled) is not counted at all, and 4xx
// responses count as successes: neither says the backend is unwell. A
// deadline that expires (the client's timeout or the caller's) is a
// failure, because a slow backend is what a breaker is for.
type BreakerSettings struct {
	// ConsecutiveFailures trips the breaker after this many failures in a
	// row. Default 5.
	ConsecutiveFailures uint32
	// FailureRatio, if set, also trips it when at least MinRequests
	// requests were seen in the current Interval and this fraction of them
	// failed.
	FailureRatio float64
	// MinRequests is the sample size for FailureRatio. Default 20.
	MinRequests uint32
	// Interval is the window after which a closed breaker forgets its
	// counts. Default 60s.
	Interval time.Duration
	// OpenTimeout is how long the breaker stays open before letting probes
	// through (half-open). Default 10s.
	OpenTimeout time.Duration
	// HalfOpenRequests is the number of probes allowed while half-open;
	// that many successes in a row close the breaker, one failure opens it
	// again. Default 1.
	HalfOpenRequests uint32
}

var breakerStates = [...]string{"closed", "open", "half_open"}

type breaker = gobreaker.TwoStepCircuitBreaker[struct{}]

type breakers struct {
	settings gobreaker.Settings
	m        sync.Map // host -> *breaker
	n        atomic.Int64
	trips    atomic.Uint64
	rejected atomic.Uint64
}

// errExcluded marks an outcome the breaker must not count.
var errExcluded = errors.New("netx: excluded from breaker counts")

type statusError int

func (e statusError) Error() string { return fmt.Sprintf("netx: status %d", int(e)) }

func newBreakers(s BreakerSettings) *breakers {
	b := &breakers{}
	consecutive := s.ConsecutiveFailures
	if consecutive == 0 {
		consecutive = 5
	}
	minReq := s.MinRequests
	if minReq == 0 {
		minReq = 20
	}
	ratio := s.FailureRatio
	interval := s.Interval
	if interval <= 0 {
		interval = 60 * time.Second
	}
	open := s.OpenTimeout
	if open <= 0 {
		open = 10 * time.Second
	}
	half := s.HalfOpenRequests
	if half == 0 {
		half = 1
	}
	b.settings = gobreaker.Settings{
		MaxRequests: half,
		Interval:    interval,
		Timeout:     open,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			if c.ConsecutiveFailures >= consecutive {
				return true
			}
			return ratio > 0 && c.Requests >= minReq &&
				float64(c.TotalFailures) >= ratio*float64(c.Requests)
		},
		IsExcluded: func(err error) bool { return err == errExcluded },
		OnStateChange: func(host string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				b.trips.Add(1)
			}
		},
	}
	return b
}

func (b *breakers) get(host string) *breaker {
	if v, ok := b.m.Load(host); ok {
		return v.(*breaker)
	}
	if b.n.Load() >= maxBreakers {
		return nil
	}
	s := b.settings
	s.Name = host
	v, loaded := b.m.LoadOrStore(host, gobreaker.NewTwoStepCircuitBreaker[struct{}](s))
	if !loaded {
		b.n.Add(1)
	}
	return v.(*breaker)
}

func (b *breakers) allow(host string) (func(error), error) {
	cb := b.get(host)
	if cb == nil {
		return func(error) {}, nil
	}
	done, err := cb.Allow()
	if err != nil {
		b.rejected.Add(1)
		return nil, fmt.Errorf("netx: host %q: %w (%v)", host, ErrCircuitOpen, err)
	}
	return done, nil
}

func (b *breakers) stats() (byState map[string]int, trips, rejected uint64) {
	byState = make(map[string]int, len(breakerStates))
	for _, st := range breakerStates {
		byState[st] = 0
	}
	b.m.Range(func(_, v any) bool {
		switch v.(*breaker).State() {
		case gobreaker.StateClosed:
			byState["closed"]++
		case gobreaker.StateOpen:
			byState["open"]++
		case gobreaker.StateHalfOpen:
			byState["half_open"]++
		}
		return true
	})
	return byState, b.trips.Load(), b.rejected.Load()
}

// breakerOutcome maps a round trip's result to what the breaker counts:
// nil for success, errExcluded for the caller's own cancellation, an
// error for failure.
func breakerOutcome(req *http.Request, resp *http.Response, err error) error {
	if err != nil {
		if callerCanceled(req, err) {
			return errExcluded
		}
		return err
	}
	if resp.StatusCode >= 500 {
		return statusError(resp.StatusCode)
	}
	return nil
}
