package netx

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// NewTransport returns an [*http.Transport] with every timeout set, an idle
// pool sized for concurrency, a bounded number of connections per host, TLS
// session resumption and HTTP/2 attempted. It takes the client options
// (dial, TLS handshake, response header and idle timeouts, pool sizes, TLS
// configuration, session cache); the defaults are listed in the package
// overview. The transport is safe for concurrent use; it keeps no metrics,
// wrap it with [NewRoundTripper] (or use [NewClient]) for those.
func NewTransport(opts ...Option) *http.Transport {
	return newTransport(newConfig(opts))
}

func newTransport(c *config) *http.Transport {
	d := &net.Dialer{
		Timeout:   pick(c.dialTimeout, defaultDialTimeout),
		KeepAlive: defaultKeepAlive,
	}
	var tlsCfg *tls.Config
	if c.tlsConfig != nil {
		tlsCfg = c.tlsConfig.Clone()
	} else {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if tlsCfg.ClientSessionCache == nil {
		if c.sessionCache != nil {
			tlsCfg.ClientSessionCache = c.sessionCache
		} else {
			tlsCfg.ClientSessionCache = tls.NewLRUClientSessionCache(defaultSessionCacheSize)
		}
	}
	maxPerHost := pickN(c.maxConnsPerHost, defaultMaxConnsPerHost)
	idlePerHost := pickN(c.maxIdleConnsPerHost, defaultMaxIdleConnsPerHost)
	if maxPerHost > 0 && idlePerHost > maxPerHost {
		idlePerHost = maxPerHost
	}
	if idlePerHost == 0 {
		// net/http reads 0 as its default of 2; "unlimited" means as
		// many as may be open.
		idlePerHost = max(maxPerHost, defaultMaxIdleConns)
	}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   pick(c.tlsHandshakeTimeout, defaultTLSHandshakeTimeout),
		ResponseHeaderTimeout: pick(c.responseHeaderTimeout, defaultResponseHeaderTimeout),
		IdleConnTimeout:       pick(c.idleConnTimeout, defaultIdleConnTimeout),
		ExpectContinueTimeout: defaultExpectContinueTimeout,
		MaxIdleConns:          max(defaultMaxIdleConns, idlePerHost),
		MaxIdleConnsPerHost:   idlePerHost,
		MaxConnsPerHost:       maxPerHost,
	}
}

// NewClient returns an [*http.Client] with an overall timeout ([WithTimeout],
// default 60s) whose Transport is a [*RoundTripper] from
// [NewRoundTripper]: metrics always, a circuit breaker with [WithBreaker],
// retries with [WithRetry]. Get the RoundTripper back with
// [RoundTripperOf] for its Stats and collector. The client is safe for
// concurrent use.
func NewClient(opts ...Option) *http.Client {
	c := newConfig(opts)
	return &http.Client{
		Transport: newRoundTripper(c),
		Timeout:   pick(c.clientTimeout, defaultClientTimeout),
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
// applies a per-host circuit breaker and retries idempotent requests. Build
// it with [NewRoundTripper] or [NewClient]. It is safe for concurrent use.
type RoundTripper struct {
	name     string
	base     http.RoundTripper
	now      func() time.Time
	breakers *breakers
	retry    *retrier

	requests   counter
	connsNew   atomic.Uint64
	connsReuse counter
	dials      atomic.Uint64
	dialErrs   atomic.Uint64
	poolWait   histogram
}

// NewRoundTripper returns a [*RoundTripper] around a transport from
// [NewTransport] built with the same options, or around the transport given
// with [WithBaseTransport].
func NewRoundTripper(opts ...Option) *RoundTripper {
	return newRoundTripper(newConfig(opts))
}

func newRoundTripper(c *config) *RoundTripper {
	rt := &RoundTripper{name: c.name, base: c.base, now: c.now}
	if rt.base == nil {
		rt.base = newTransport(c)
	}
	if c.breaker != nil {
		rt.breakers = newBreakers(c.name, *c.breaker, c.logger)
	}
	if c.retry != nil {
		rt.retry = newRetrier(*c.retry, c.now)
	}
	return rt
}

// Base returns the wrapped transport (an [*http.Transport] unless
// [WithBaseTransport] said otherwise).
func (rt *RoundTripper) Base() http.RoundTripper { return rt.base }

// CloseIdleConnections closes the idle connections of the wrapped
// transport; [http.Client.CloseIdleConnections] reaches it.
func (rt *RoundTripper) CloseIdleConnections() {
	if c, ok := rt.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// RoundTrip implements [http.RoundTripper].
func (rt *RoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.requests.inc()
	if rt.retry == nil {
		return rt.attempt(req)
	}
	return rt.retry.do(req, rt.attempt)
}

// attempt is one try: trace, breaker, base transport.
func (rt *RoundTripper) attempt(req *http.Request) (*http.Response, error) {
	tr := &reqTrace{rt: rt}
	ctx := httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GetConn:     tr.getConn,
		GotConn:     tr.gotConn,
		ConnectDone: tr.connectDone,
	})
	req = req.WithContext(ctx)
	if rt.breakers == nil {
		return rt.base.RoundTrip(req)
	}
	done, err := rt.breakers.allow(req.URL.Host)
	if err != nil {
		return nil, err
	}
	resp, err := rt.base.RoundTrip(req)
	done(breakerOutcome(req, resp, err))
	return resp, err
}

type reqTrace struct {
	rt    *RoundTripper
	start time.Time
}

func (t *reqTrace) getConn(string) { t.start = t.rt.now() }

func (t *reqTrace) gotConn(info httptrace.GotConnInfo) {
	if !t.start.IsZero() {
		t.rt.poolWait.observe(t.rt.now().Sub(t.start))
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
	Name string `json:"name"`
	// Requests counts calls to RoundTrip (retries are not counted again).
	Requests uint64 `json:"requests"`
	// ConnsNew and ConnsReused count connections handed to requests:
	// fresh from a dial, or from the idle pool.
	ConnsNew    uint64 `json:"conns_new"`
	ConnsReused uint64 `json:"conns_reused"`
	// Dials and DialErrors count TCP connection attempts.
	Dials      uint64 `json:"dials"`
	DialErrors uint64 `json:"dial_errors"`
	// PoolWait is the time from asking the pool for a connection to
	// getting one (httptrace GetConn to GotConn).
	PoolWait Histogram `json:"pool_wait"`
	// Breakers is zero when no breaker is configured.
	Breakers BreakerStats `json:"breakers"`
	// Retries counts retries sent; RetriesDenied counts retries the budget
	// or the deadline refused.
	Retries       uint64 `json:"retries"`
	RetriesDenied uint64 `json:"retries_denied"`
}

// Stats returns a snapshot of the counters. Safe for concurrent use.
func (rt *RoundTripper) Stats() ClientStats {
	s := ClientStats{
		Name:        rt.name,
		Requests:    rt.requests.load(),
		ConnsNew:    rt.connsNew.Load(),
		ConnsReused: rt.connsReuse.load(),
		Dials:       rt.dials.Load(),
		DialErrors:  rt.dialErrs.Load(),
		PoolWait:    rt.poolWait.snapshot(),
	}
	if rt.breakers != nil {
		s.Breakers = rt.breakers.stats()
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
