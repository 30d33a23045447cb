package netx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/gotune/gotune/internal/histogram"
)

// NewTransport returns an [*http.Transport] with every timeout set, an idle
// pool sized for concurrency, a bounded number of connections per host, TLS
// session resumption and HTTP/2 attempted; the defaults are listed in the
// package overview. Change any of them on the returned transport (for
// example TLSClientConfig.RootCAs, or TLSClientConfig.ClientSessionCache
// for a cache with metrics from gotune's tlscache package) and pass it to
// [NewClient] with [WithTransport]. The transport is safe for concurrent
// use; it keeps no metrics: [NewClient] adds those.
func NewTransport() *http.Transport {
	d := &net.Dialer{
		Timeout:   defaultDialTimeout,
		KeepAlive: defaultKeepAlive,
	}
	tlsCfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ClientSessionCache: tls.NewLRUClientSessionCache(defaultSessionCacheSize),
	}
	return &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            d.DialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        tlsCfg,
		TLSHandshakeTimeout:    defaultTLSHandshakeTimeout,
		ResponseHeaderTimeout:  defaultResponseHeaderTimeout,
		IdleConnTimeout:        defaultIdleConnTimeout,
		ExpectContinueTimeout:  defaultExpectContinueTimeout,
		MaxIdleConns:           defaultMaxIdleConns,
		MaxIdleConnsPerHost:    defaultMaxIdleConnsPerHost,
		MaxConnsPerHost:        defaultMaxConnsPerHost,
		MaxResponseHeaderBytes: defaultMaxResponseHeaderBytes,
	}
}

// NewClient returns an [*http.Client] with a 60s overall timeout (change
// Timeout on the returned client) whose Transport is a [*RoundTripper]
// around a transport from [NewTransport] (or the one of [WithTransport]):
// metrics always, a circuit breaker with [WithBreaker], retries with
// [WithRetry]. Get the RoundTripper back with [RoundTripperOf] for its
// Stats and collector. The client is safe for concurrent use. NewClient
// panics if an option's value is invalid.
func NewClient(opts ...ClientOption) *http.Client {
	c := newClientConfig(opts)
	return &http.Client{
		Transport: newRoundTripper(c),
		Timeout:   defaultClientTimeout,
	}
}

// RoundTripperOf returns the [*RoundTripper] of a client built by
// [NewClient], or nil if its Transport is something else.
func RoundTripperOf(c *http.Client) *RoundTripper {
	if c == nil {
		return nil
	}
	rt, _ := c.Transport.(*RoundTripper)
	return rt
}

// RoundTripper is an [http.RoundTripper] that records connection-pool wait,
// new and reused connections and dials through [httptrace], and optionally
// applies a per-host circuit breaker and retries idempotent requests. Get
// it from a client built by [NewClient] with [RoundTripperOf]. It is safe
// for concurrent use.
type RoundTripper struct {
	base     http.RoundTripper
	breakers *breakers
	retry    *retrier

	requests   counter
	connsNew   atomic.Uint64
	connsReuse counter
	dials      atomic.Uint64
	dialErrs   atomic.Uint64
	poolWait   *histogram.Histogram
}

func newRoundTripper(c *clientConfig) *RoundTripper {
	c.validate()
	rt := &RoundTripper{base: c.base, poolWait: histogram.New(waitBuckets...)}
	if rt.base == nil {
		rt.base = NewTransport()
	}
	if c.breaker != nil {
		rt.breakers = newBreakers(*c.breaker)
	}
	if c.retry != nil {
		rt.retry = newRetrier(*c.retry)
	}
	return rt
}

// CloseIdleConnections closes the idle connections of the wrapped
// transport; [http.Client.CloseIdleConnections] reaches it.
func (rt *RoundTripper) CloseIdleConnections() {
	if c, ok := rt.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// RoundTrip implements [http.RoundTripper].
//
// With both a breaker and retries, the breaker counts requests, not
// attempts: a request is let through (or refused with [ErrCircuitOpen])
// once, and counts once, with the outcome the caller gets after its
// retries. So BreakerSettings.ConsecutiveFailures is a number of failed
// requests as the caller sees them, whatever RetryPolicy.MaxAttempts is,
// and a retry that succeeds is a success. Retries stay bounded by their
// budget, so a failing backend sees at most BudgetRatio more load before
// the breaker opens.
func (rt *RoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.requests.inc()
	done := func(error) {}
	if rt.breakers != nil {
		d, err := rt.breakers.allow(req.URL.Host)
		if err != nil {
			return nil, err
		}
		done = d
	}
	var resp *http.Response
	var err error
	if rt.retry == nil {
		resp, err = rt.attempt(req)
	} else {
		resp, err = rt.retry.do(req, rt.attempt)
	}
	done(breakerOutcome(req, resp, err))
	return resp, err
}

// attempt is one try: trace and base transport.
func (rt *RoundTripper) attempt(req *http.Request) (*http.Response, error) {
	tr := &reqTrace{rt: rt}
	ctx := httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GetConn:     tr.getConn,
		GotConn:     tr.gotConn,
		ConnectDone: tr.connectDone,
	})
	return rt.base.RoundTrip(req.WithContext(ctx))
}

type reqTrace struct {
	rt    *RoundTripper
	start time.Time
}

func (t *reqTrace) getConn(string) { t.start = time.Now() }

func (t *reqTrace) gotConn(info httptrace.GotConnInfo) {
	if !t.start.IsZero() {
		t.rt.poolWait.Observe(time.Since(t.start))
	}
	if info.Reused {
		t.rt.connsReuse.inc()
	} else {
		t.rt.connsNew.Add(1)
	}
}

func (t *reqTrace) connectDone(_, _ string, err error) {
	t.rt.dials.Add(1)
	if err != nil {
		t.rt.dialErrs.Add(1)
	}
}

// ClientStats is a snapshot of a [RoundTripper]'s counters. Counters only
// grow; gauges (the breaker states) are as of the call.
type ClientStats struct {
	// Requests counts calls to RoundTrip (retries are not counted again).
	Requests uint64 `json:"requests"`
	// ConnsNew and ConnsReused count connections handed to requests:
	// fresh from a dial, or from the idle pool.
	ConnsNew    uint64 `json:"conns_new"`
	ConnsReused uint64 `json:"conns_reused"`
	// Dials and DialErrors count TCP connection attempts.
	Dials      uint64 `json:"dials"`
	DialErrors uint64 `json:"dial_errors"`
	// PoolWaits counts requests that asked the pool for a connection and
	// PoolWaitTotal sums the time from asking to getting one (httptrace
	// GetConn to GotConn); the collector exports the histogram.
	PoolWaits     uint64        `json:"pool_waits"`
	PoolWaitTotal time.Duration `json:"pool_wait_total_ns"`
	// Breakers counts the per-host breakers by state ("closed", "open",
	// "half_open"); it is nil when no breaker is configured.
	// BreakerTrips counts transitions to open; BreakerRejected counts
	// requests refused with [ErrCircuitOpen].
	Breakers        map[string]int `json:"breakers,omitempty"`
	BreakerTrips    uint64         `json:"breaker_trips"`
	BreakerRejected uint64         `json:"breaker_rejected"`
	// Retries counts retries sent; RetriesDenied counts retries the budget
	// or the deadline refused.
	Retries       uint64 `json:"retries"`
	RetriesDenied uint64 `json:"retries_denied"`
}

// Stats returns a snapshot of the counters. Safe for concurrent use.
func (rt *RoundTripper) Stats() ClientStats {
	var h histogram.Snapshot
	if rt.poolWait != nil { // a zero RoundTripper has seen no request
		h = rt.poolWait.Snapshot()
	}
	s := ClientStats{
		PoolWaits:     h.Count,
		PoolWaitTotal: h.Sum,
		Requests:      rt.requests.load(),
		ConnsNew:      rt.connsNew.Load(),
		ConnsReused:   rt.connsReuse.load(),
		Dials:         rt.dials.Load(),
		DialErrors:    rt.dialErrs.Load(),
	}
	if rt.breakers != nil {
		s.Breakers, s.BreakerTrips, s.BreakerRejected = rt.breakers.stats()
	}
	if rt.retry != nil {
		s.Retries = rt.retry.retries.Load()
		s.RetriesDenied = rt.retry.denied.Load()
	}
	return s
}

// callerCanceled reports whether err comes from the caller canceling its
// own request, which says nothing about the backend.
func callerCanceled(req *http.Request, err error) bool {
	return errors.Is(err, context.Canceled) && errors.Is(req.Context().Err(), context.Canceled)
}

// validate panics on values no default can stand for: the documented
// panic of NewClient.
func (c *clientConfig) validate() {
	if b := c.breaker; b != nil {
		if b.FailureRatio < 0 || b.FailureRatio > 1 || b.Interval < 0 || b.OpenTimeout < 0 {
			panic(fmt.Sprintf("netx: BreakerSettings{FailureRatio: %v, Interval: %v, OpenTimeout: %v}: ratio outside [0, 1] or negative duration", b.FailureRatio, b.Interval, b.OpenTimeout))
		}
	}
	if p := c.retry; p != nil {
		if p.MaxAttempts < 0 || p.BaseDelay < 0 || p.MaxDelay < 0 || p.BudgetRatio < 0 || p.MinRetriesPerSecond < 0 {
			panic(fmt.Sprintf("netx: RetryPolicy %+v: negative field", *p))
		}
	}
}
