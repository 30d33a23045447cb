package netx

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"syscall"
	"time"

	"golang.org/x/time/rate"
)

// Defaults used when an option is not given or is given its zero value.
// They are documented in the package overview, together with when to change
// each one.
const (
	// Client.
	defaultDialTimeout           = 5 * time.Second
	defaultKeepAlive             = 30 * time.Second
	defaultTLSHandshakeTimeout   = 5 * time.Second
	defaultResponseHeaderTimeout = 30 * time.Second
	defaultIdleConnTimeout       = 55 * time.Second
	defaultExpectContinueTimeout = 1 * time.Second
	defaultClientTimeout         = 60 * time.Second
	defaultMaxConnsPerHost       = 512
	defaultMaxIdleConnsPerHost   = 128
	defaultMaxIdleConns          = 1024
	defaultSessionCacheSize      = 256
	// A response's header block may be at most 1 MiB: net/http's
	// transport allows 10 MiB, so a hostile or broken backend holds 10 MiB
	// per connection (512 per host) before the caller sees an error.
	defaultMaxResponseHeaderBytes = 1 << 20

	// Server.
	defaultReadHeaderTimeout = 10 * time.Second
	defaultReadTimeout       = 30 * time.Second
	defaultWriteTimeout      = 60 * time.Second
	defaultIdleTimeout       = 120 * time.Second
	defaultMaxHeaderBytes    = 64 << 10
	defaultMaxBodyBytes      = 10 << 20
	defaultRetryAfter        = 1 * time.Second
	defaultLivePath          = "/healthz"
	defaultReadyPath         = "/readyz"

	// Serving.
	defaultDrainDelay      = 5 * time.Second
	defaultShutdownTimeout = 25 * time.Second
)

// NoDrain, given to [WithDrainDelay], shuts down without a drain delay:
// readiness fails and the listener closes at once. Any negative duration
// means the same; zero means the 5s default.
const NoDrain time.Duration = -1

// ServerOption configures [NewServer] and [NewGuard].
//
// Values follow one rule across gotune: the zero value means the documented
// default, a negative value means "off" or "no limit", and an invalid
// value makes the constructor panic (the options say which values are
// invalid).
type ServerOption interface {
	applyServer(*serverConfig)
}

// ClientOption configures [NewClient].
type ClientOption interface {
	applyClient(*clientConfig)
}

// ServeOption configures [Serve] and [ListenAndServe].
type ServeOption interface {
	applyServe(*serveConfig)
}

type serverOption func(*serverConfig)

func (f serverOption) applyServer(c *serverConfig) { f(c) }

type clientOption func(*clientConfig)

func (f clientOption) applyClient(c *clientConfig) { f(c) }

type serveOption func(*serveConfig)

func (f serveOption) applyServe(c *serveConfig) { f(c) }

type serverConfig struct {
	logger      *slog.Logger
	maxBody     int64
	maxInFlight int
	adaptive    *AdaptiveLimit
	pressure    *pressure
	exempt      []string
	exemptSet   bool
	writeStall  time.Duration
	minBodyRate int
	rateLimit   *rateConfig
	livePath    string
	readyPath   string
	maxConns    int
	refusal     func(http.ResponseWriter, *http.Request, Refusal)
}

type clientConfig struct {
	base    http.RoundTripper
	breaker *BreakerSettings
	retry   *RetryPolicy
}

type serveConfig struct {
	drainDelay      time.Duration
	shutdownTimeout time.Duration
	signals         []os.Signal
	guard           *Guard
}

type rateConfig struct {
	limit   rate.Limit
	burst   int
	key     func(*http.Request) string
	maxKeys int
}

func newServerConfig(opts []ServerOption) *serverConfig {
	c := &serverConfig{livePath: defaultLivePath, readyPath: defaultReadyPath}
	for _, o := range opts {
		if o != nil {
			o.applyServer(c)
		}
	}
	return c
}

func newClientConfig(opts []ClientOption) *clientConfig {
	c := &clientConfig{}
	for _, o := range opts {
		if o != nil {
			o.applyClient(c)
		}
	}
	return c
}

func newServeConfig(opts []ServeOption) *serveConfig {
	c := &serveConfig{signals: []os.Signal{syscall.SIGTERM, os.Interrupt}}
	for _, o := range opts {
		if o != nil {
			o.applyServe(c)
		}
	}
	return c
}

// pick returns def for zero, 0 (off) for negative, and v otherwise.
func pick(v, def time.Duration) time.Duration {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// WithLogger sets the logger for shed requests, recovered panics, evicted
// connections and shutdown phases ([Serve] logs through the Guard's
// logger). Nil, the default, is silent. On a server from [NewServer] it
// also receives net/http's own error log at level Warn. Give the logger
// the attributes that tell instances apart (logger.With("server", "api")).
func WithLogger(l *slog.Logger) ServerOption {
	return serverOption(func(c *serverConfig) { c.logger = l })
}

// WithMaxBodyBytes bounds request bodies. A declared Content-Length above
// it gets 413 before the handler runs; a chunked body that grows past it
// fails the handler's Read with [*http.MaxBytesError], and an error status
// the handler then writes is turned into 413. Zero means the 10 MiB
// default, negative means no limit.
func WithMaxBodyBytes(n int64) ServerOption {
	return serverOption(func(c *serverConfig) { c.maxBody = n })
}

// WithMaxInFlight sets a static limit on requests being handled at once;
// requests beyond it are shed at once with 503 and Retry-After. Zero means
// the default, max(256, 128 × GOMAXPROCS) at construction; negative means
// no limit. Set it to what the handler's scarcest resource (a database
// pool, a worker pool) can hold.
func WithMaxInFlight(n int) ServerOption {
	return serverOption(func(c *serverConfig) { c.maxInFlight = n })
}

// WithAdaptiveLimit replaces the static in-flight limit with one that adapts
// to latency. See [AdaptiveLimit]; [NewServer] and [NewGuard] panic if its
// fields are invalid.
func WithAdaptiveLimit(a AdaptiveLimit) ServerOption {
	return serverOption(func(c *serverConfig) { c.adaptive = &a })
}

// WithRateLimit sets a token bucket of r requests per second with the
// given burst; requests beyond it get 429 with a Retry-After that says
// when a token will be free. With a nil key there is one bucket for the
// server; otherwise one per key (for example [KeyByClientIP], or an API
// token), of which the 10000 most recently used are kept, so a flood of
// distinct keys cannot grow memory. key must be safe for concurrent use; an
// empty key is not limited. [NewServer] and [NewGuard] panic if r is
// negative or burst is not positive.
func WithRateLimit(r rate.Limit, burst int, key func(*http.Request) string) ServerOption {
	return serverOption(func(c *serverConfig) {
		c.rateLimit = &rateConfig{limit: r, burst: burst, key: key, maxKeys: defaultMaxRateKeys}
	})
}

// WithHealthPaths sets the liveness and readiness paths the [Guard] answers
// itself, before any limit. Defaults "/healthz" and "/readyz"; an empty
// path switches that endpoint off.
func WithHealthPaths(live, ready string) ServerOption {
	return serverOption(func(c *serverConfig) { c.livePath, c.readyPath = live, ready })
}

// WithMaxConns bounds open connections on a listener wrapped by
// [Guard.Listener]. Past the bound a new connection evicts one that is not
// doing useful work, in the order of the package overview: one lingering
// after an error response, an idle keep-alive connection, a silent one,
// then one that trickles its headers, body or ClientHello, does not read
// its response, or whose every request waits on a client that moves less
// than 1 KiB a second (a body declared and not sent, an HTTP/2 window kept
// shut). A connection accepted less than half a second ago that has sent
// nothing yet, one in its TLS handshake, and a busy one are not evicted:
// when only those are left the listener waits before accepting, so new
// connections queue in the kernel as with plain net/http. Zero means the
// default: eviction starts at 3/4 of the RLIMIT_NOFILE soft limit at wrap
// time, and while nothing can be evicted accepts go on up to all but
// 1/16 of it (at least 16 kept), as plain net/http accepts until it runs
// out (no limit where the descriptor limit is not known); [ConnStats] Max
// and Ceiling report both. WithMaxConns(n) is both bounds. Negative means
// no limit.
func WithMaxConns(n int) ServerOption {
	return serverOption(func(c *serverConfig) { c.maxConns = n })
}

// Refusal describes a request the [Guard] refuses before its handler runs:
// a shed (503), a rate limit (429) or a body over the limit (413).
type Refusal struct {
	// Status is the HTTP status to send.
	Status int
	// Reason is the shed reason ("in_flight", "pressure", "rate_limit";
	// see ServerStats.Shed) or "body_too_large".
	Reason string
	// RetryAfter is when the client may try again (zero for 413). The
	// Guard has already set the Retry-After header from it.
	RetryAfter time.Duration
}

// WithRefusal sets the function that writes the Guard's refusal responses,
// for example as JSON for an API. It is called with the Retry-After header
// already set and must write the status ref.Status (or another error
// status). The default writes a short text/plain body.
func WithRefusal(write func(w http.ResponseWriter, r *http.Request, ref Refusal)) ServerOption {
	return serverOption(func(c *serverConfig) { c.refusal = write })
}

// WithTransport makes [NewClient] wrap rt instead of a transport from
// [NewTransport]. To change a field of the default transport, build one
// with NewTransport, set the field and pass it here.
func WithTransport(rt http.RoundTripper) ClientOption {
	return clientOption(func(c *clientConfig) { c.base = rt })
}

// WithBreaker enables a per-host circuit breaker. See [BreakerSettings]
// for the defaults of its zero fields; [NewClient] panics if a field is
// invalid.
func WithBreaker(s BreakerSettings) ClientOption {
	return clientOption(func(c *clientConfig) { c.breaker = &s })
}

// WithRetry enables retries of idempotent requests. See [RetryPolicy] for
// the defaults of its zero fields; [NewClient] panics if a field is
// invalid.
func WithRetry(p RetryPolicy) ClientOption {
	return clientOption(func(c *clientConfig) { c.retry = &p })
}

// WithDrainDelay sets how long [Serve] keeps serving with readiness failing
// before it shuts down. Zero means the 5s default, which should exceed the
// load balancer's health-check interval times its unhealthy threshold;
// [NoDrain] (or any negative value) means no delay.
func WithDrainDelay(d time.Duration) ServeOption {
	return serveOption(func(c *serveConfig) { c.drainDelay = d })
}

// WithShutdownTimeout bounds [http.Server.Shutdown] after the drain;
// connections still open then are closed. Zero means the 25s default,
// which with the default drain fits Kubernetes' 30s grace period; negative
// waits without bound.
func WithShutdownTimeout(d time.Duration) ServeOption {
	return serveOption(func(c *serveConfig) { c.shutdownTimeout = d })
}

// WithSignals sets the signals that start a graceful shutdown. Default
// SIGTERM and SIGINT; no arguments means only the context stops the server.
func WithSignals(sigs ...os.Signal) ServeOption {
	return serveOption(func(c *serveConfig) { c.signals = sigs })
}

// WithGuard tells [Serve] which [Guard] to drain and whose listener
// wrapper to use, for servers not built by [NewServer].
func WithGuard(g *Guard) ServeOption {
	return serveOption(func(c *serveConfig) { c.guard = g })
}

// validate panics on values no default can stand for: the documented
// panics of NewServer and NewGuard.
func (c *serverConfig) validate() {
	if a := c.adaptive; a != nil {
		if a.Min < 0 || a.Max < 0 || a.Window < 0 || a.Target < 0 {
			panic(fmt.Sprintf("netx: AdaptiveLimit{Min: %d, Max: %d, Window: %d, Target: %v}: negative field", a.Min, a.Max, a.Window, a.Target))
		}
		if a.Min > 0 && a.Max > 0 && a.Min > a.Max {
			panic(fmt.Sprintf("netx: AdaptiveLimit Min %d above Max %d", a.Min, a.Max))
		}
	}
	if p := c.pressure; p != nil && p.max <= 0 {
		panic(fmt.Sprintf("netx: WithPressure max level %d: must be positive", p.max))
	}
	if r := c.rateLimit; r != nil {
		if r.limit < 0 || r.burst <= 0 {
			panic(fmt.Sprintf("netx: WithRateLimit(%v, %d): rate must not be negative and burst must be positive", r.limit, r.burst))
		}
	}
}
