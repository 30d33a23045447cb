package netx

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"os"
	"syscall"
	"time"

	"golang.org/x/time/rate"
)

// Defaults used when an option is not given. They are documented in the
// package overview, together with when to change each one.
const (
	defaultName = "default"

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

// Option configures [NewTransport], [NewClient], [NewRoundTripper],
// [NewServer], [NewGuard], [ListenAndServe], [Serve] and [Listen]. One type
// serves all of them so that a service can keep one option list per name;
// each constructor reads the options that concern it and ignores the rest
// (the doc comment of every option says where it applies).
//
// Durations: zero keeps the default, a negative value switches the timeout
// off. Counts: zero keeps the default, a negative value means unlimited.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	name   string
	logger *slog.Logger
	now    func() time.Time

	// Client side.
	dialTimeout           time.Duration
	tlsHandshakeTimeout   time.Duration
	responseHeaderTimeout time.Duration
	idleConnTimeout       time.Duration
	clientTimeout         time.Duration
	maxConnsPerHost       int
	maxIdleConnsPerHost   int
	tlsConfig             *tls.Config
	sessionCache          tls.ClientSessionCache
	base                  http.RoundTripper
	breaker               *BreakerSettings
	retry                 *RetryPolicy

	// Server side.
	readHeaderTimeout time.Duration
	readTimeout       time.Duration
	writeTimeout      time.Duration
	idleTimeout       time.Duration
	maxHeaderBytes    int
	maxBodyBytes      int64
	maxInFlight       int
	adaptive          *AdaptiveLimit
	pressure          func() bool
	rateLimit         *rateConfig
	livePath          string
	readyPath         string
	healthSet         bool
	maxConns          int
	retryAfter        time.Duration

	// Serving.
	drainDelay      time.Duration
	shutdownTimeout time.Duration
	signals         []os.Signal
	signalsSet      bool
	reusePort       bool
	guard           *Guard
}

type rateConfig struct {
	limit   rate.Limit
	burst   int
	key     func(*http.Request) string
	maxKeys int
}

func newConfig(opts []Option) *config {
	c := &config{
		name:      defaultName,
		now:       time.Now,
		livePath:  defaultLivePath,
		readyPath: defaultReadyPath,
		signals:   []os.Signal{syscall.SIGTERM, os.Interrupt},
	}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
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

// pickN is pick for counts; unlimited is 0 in net/http's fields.
func pickN(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// WithName names the client or server in metrics (the "client" or "server"
// label) and log lines. Keep it a fixed, low-cardinality string such as
// "api" or "payments-backend". Applies everywhere; the default is "default".
func WithName(name string) Option {
	return optionFunc(func(c *config) {
		if name != "" {
			c.name = name
		}
	})
}

// WithLogger sets the logger for shed requests, recovered panics, evicted
// connections and shutdown phases. Nil (the default) is silent. On the
// server it also receives net/http's own error log at level Warn.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}

// WithClock replaces time.Now for latency measurement, rate limiting and
// Retry-After dates. Timers (drain delay, retry back-off) still use real
// time. Meant for tests.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}

// WithDialTimeout bounds establishing a TCP connection (client). Default 5s.
func WithDialTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.dialTimeout = d })
}

// WithTLSHandshakeTimeout bounds the TLS handshake (client). Default 5s.
func WithTLSHandshakeTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.tlsHandshakeTimeout = d })
}

// WithResponseHeaderTimeout bounds the wait for response headers after the
// request is written (client). Default 30s. Raise it for long-polling
// endpoints, or switch it off and rely on the request's context.
func WithResponseHeaderTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.responseHeaderTimeout = d })
}

// WithIdleConnTimeout sets how long an idle pooled connection is kept
// (client). Default 55s: below the 60s idle timeout of common load balancers
// and servers, so the client closes first and never sends on a connection
// the peer is closing.
func WithIdleConnTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.idleConnTimeout = d })
}

// WithTimeout sets [http.Client.Timeout], the bound on a whole exchange
// including reading the body (client, [NewClient] only). Default 60s.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.clientTimeout = d })
}

// WithMaxConnsPerHost bounds the connections per host, dialing, active and
// idle together (client). Default 512; requests beyond it wait for a
// connection, and that wait is recorded in the pool-wait histogram.
func WithMaxConnsPerHost(n int) Option {
	return optionFunc(func(c *config) { c.maxConnsPerHost = n })
}

// WithMaxIdleConnsPerHost sets the idle pool per host (client). Default 128,
// where net/http's default of 2 makes a busy client dial and close
// connections on every burst.
func WithMaxIdleConnsPerHost(n int) Option {
	return optionFunc(func(c *config) { c.maxIdleConnsPerHost = n })
}

// WithTLSConfig sets the client's TLS configuration. It is cloned; if its
// ClientSessionCache is nil, the session cache of [WithSessionCache] (or a
// default LRU cache) is set on the clone.
func WithTLSConfig(cfg *tls.Config) Option {
	return optionFunc(func(c *config) { c.tlsConfig = cfg })
}

// WithSessionCache sets the TLS session cache used for resumption (client),
// for example a cache with hit metrics from gotune's tlscache package. The
// default is [tls.NewLRUClientSessionCache] with 256 entries.
func WithSessionCache(cache tls.ClientSessionCache) Option {
	return optionFunc(func(c *config) { c.sessionCache = cache })
}

// WithBaseTransport makes [NewRoundTripper] and [NewClient] wrap rt instead
// of a transport from [NewTransport]. The transport options are then
// ignored.
func WithBaseTransport(rt http.RoundTripper) Option {
	return optionFunc(func(c *config) { c.base = rt })
}

// WithBreaker enables a per-host circuit breaker (client). See
// [BreakerSettings] for the defaults of its zero fields.
func WithBreaker(s BreakerSettings) Option {
	return optionFunc(func(c *config) { c.breaker = &s })
}

// WithRetry enables retries of idempotent requests (client). See
// [RetryPolicy] for the defaults of its zero fields.
func WithRetry(p RetryPolicy) Option {
	return optionFunc(func(c *config) { c.retry = &p })
}

// WithReadHeaderTimeout bounds reading the request line and headers
// (server). Default 10s.
func WithReadHeaderTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.readHeaderTimeout = d })
}

// WithReadTimeout bounds reading a whole request, headers and body
// (server). Default 30s; raise it for large uploads on slow links.
func WithReadTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.readTimeout = d })
}

// WithWriteTimeout bounds the time from the end of the request headers to
// the end of the response write (server). Default 60s. Streaming handlers
// (server-sent events, long downloads) should extend it per request with
// [http.ResponseController.SetWriteDeadline] rather than switch it off.
func WithWriteTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.writeTimeout = d })
}

// WithIdleTimeout sets how long a keep-alive connection may sit idle
// (server). Default 120s: above the 60s idle timeout of common load
// balancers, so the balancer closes first and never sends a request into a
// connection the server is closing.
func WithIdleTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.idleTimeout = d })
}

// WithMaxHeaderBytes bounds the request line plus headers (server); larger
// requests get 431. Default 64 KiB where net/http allows 1 MiB.
func WithMaxHeaderBytes(n int) Option {
	return optionFunc(func(c *config) { c.maxHeaderBytes = n })
}

// WithMaxBodyBytes bounds request bodies (server). A declared
// Content-Length above it gets 413 before the handler runs; a chunked body
// that grows past it fails the handler's Read with [*http.MaxBytesError], and
// an error status the handler then writes is turned into 413. Default 10 MiB.
func WithMaxBodyBytes(n int64) Option {
	return optionFunc(func(c *config) { c.maxBodyBytes = n })
}

// WithMaxInFlight sets a static limit on requests being handled at once
// (server); requests beyond it are shed at once with 503 and Retry-After.
// Default max(256, 128 × GOMAXPROCS) at construction. Set it to what the
// handler's scarcest resource (a database pool, a worker pool) can hold.
func WithMaxInFlight(n int) Option {
	return optionFunc(func(c *config) { c.maxInFlight = n })
}

// WithAdaptiveLimit replaces the static in-flight limit with one that adapts
// to latency (server). See [AdaptiveLimit].
func WithAdaptiveLimit(a AdaptiveLimit) Option {
	return optionFunc(func(c *config) { c.adaptive = &a })
}

// WithPressure sheds requests with 503 while pressure reports true
// (server), for example a memory-pressure signal from gotune's gcguard
// package. It is called once per request and must be cheap and safe for
// concurrent use.
func WithPressure(pressure func() bool) Option {
	return optionFunc(func(c *config) { c.pressure = pressure })
}

// WithRateLimit sets a global token bucket (server) of r requests per
// second with the given burst; requests beyond it get 429 with a
// Retry-After that says when a token will be free.
func WithRateLimit(r rate.Limit, burst int) Option {
	return optionFunc(func(c *config) {
		c.rateLimit = &rateConfig{limit: r, burst: burst}
	})
}

// WithRateLimitByKey sets one token bucket per key (server), for example
// per API token or client address. At most maxKeys buckets are kept (least
// recently used go first; default 10000), so a flood of distinct keys
// cannot grow memory. key must be safe for concurrent use; an empty key
// is not limited.
func WithRateLimitByKey(r rate.Limit, burst int, key func(*http.Request) string, maxKeys int) Option {
	return optionFunc(func(c *config) {
		c.rateLimit = &rateConfig{limit: r, burst: burst, key: key, maxKeys: maxKeys}
	})
}

// WithHealthPaths sets the liveness and readiness paths the [Guard] answers
// itself, before any limit (server). Defaults "/healthz" and "/readyz"; an
// empty path switches that endpoint off.
func WithHealthPaths(live, ready string) Option {
	return optionFunc(func(c *config) {
		c.livePath, c.readyPath, c.healthSet = live, ready, true
	})
}

// WithMaxConns bounds open connections on a listener wrapped by
// [Guard.Listener] (server). Past the bound the oldest connection that has
// not finished sending its headers, or is idle, is closed; a new
// connection is refused only when every other one is busy with a request.
// Default: 3/4 of the RLIMIT_NOFILE soft limit at wrap time (unbounded
// where that limit is not known).
func WithMaxConns(n int) Option {
	return optionFunc(func(c *config) { c.maxConns = n })
}

// WithRetryAfter sets the Retry-After sent with 503 shed responses
// (server). Default 1s; it is rounded up to whole seconds.
func WithRetryAfter(d time.Duration) Option {
	return optionFunc(func(c *config) { c.retryAfter = d })
}

// WithDrainDelay sets how long [ListenAndServe] keeps serving with
// readiness failing before it shuts down ([ListenAndServe], [Serve]).
// Default 5s; it should exceed the load balancer's health-check interval
// times its unhealthy threshold. Negative means no delay.
func WithDrainDelay(d time.Duration) Option {
	return optionFunc(func(c *config) { c.drainDelay = d })
}

// WithShutdownTimeout bounds [http.Server.Shutdown] after the drain
// ([ListenAndServe], [Serve]); connections still open then are closed.
// Default 25s, which with the default drain fits Kubernetes' 30s grace
// period. Negative waits without bound.
func WithShutdownTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.shutdownTimeout = d })
}

// WithSignals sets the signals that start a graceful shutdown
// ([ListenAndServe], [Serve]). Default SIGTERM and SIGINT; no arguments
// means only the context stops the server.
func WithSignals(sigs ...os.Signal) Option {
	return optionFunc(func(c *config) { c.signals, c.signalsSet = sigs, true })
}

// WithReusePort sets SO_REUSEPORT on the listening socket ([Listen],
// [ListenAndServe]) so several processes can listen on one port. The
// kernel spreads connections by a hash of the address pair, not by load, so
// a slow process keeps receiving its share; use it for zero-downtime
// restarts and per-core processes, not as a load balancer. Linux only;
// elsewhere Listen returns [ErrUnsupported].
func WithReusePort(on bool) Option {
	return optionFunc(func(c *config) { c.reusePort = on })
}

// WithGuard tells [ListenAndServe] and [Serve] which [Guard] to drain and
// whose listener wrapper to use, for servers not built by [NewServer].
func WithGuard(g *Guard) Option {
	return optionFunc(func(c *config) { c.guard = g })
}
