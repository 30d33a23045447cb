package tlscache

import (
	"log/slog"
	"time"
)

// Defaults used where an option is not given or is given a value <= 0.
const (
	DefaultMaxEntries         = 10000
	DefaultMaxNegativeEntries = 10000
	DefaultMaxNegativeBytes   = 4 << 20
	DefaultTTL                = time.Hour
	DefaultRefreshAhead       = 10 * time.Minute
	DefaultSkew               = 5 * time.Minute
	DefaultNegativeTTL        = 5 * time.Second
	DefaultMaxNegativeTTL     = time.Minute
	DefaultLoadTimeout        = 10 * time.Second
	DefaultMaxConcurrentLoads = 128
)

// An Option configures a [Cache] in [New].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	maxEntries   int
	maxNegative  int
	maxNegBytes  int
	ttl          time.Duration
	refreshAhead time.Duration
	skew         time.Duration
	negTTL       time.Duration
	maxNegTTL    time.Duration
	loadTimeout  time.Duration
	maxLoads     int
	clock        Clock
	logger       *slog.Logger
	defaultName  string
}

func defaultConfig() config {
	return config{
		maxEntries:   DefaultMaxEntries,
		maxNegative:  DefaultMaxNegativeEntries,
		maxNegBytes:  DefaultMaxNegativeBytes,
		ttl:          DefaultTTL,
		refreshAhead: DefaultRefreshAhead,
		skew:         DefaultSkew,
		negTTL:       DefaultNegativeTTL,
		maxNegTTL:    DefaultMaxNegativeTTL,
		loadTimeout:  DefaultLoadTimeout,
		maxLoads:     DefaultMaxConcurrentLoads,
		clock:        realClock{},
	}
}

// WithMaxEntries bounds the number of cached certificates (exact names and
// wildcards together). When full, a load evicts one entry chosen by SIEVE,
// an LRU approximation that also drops names seen once before names seen
// repeatedly, so a flood of one-off SNI values does not flush busy names.
func WithMaxEntries(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.maxEntries = n
		}
	})
}

// WithMaxNegativeEntries bounds the negative cache of failed loads. When
// full, the failure that would be forgotten soonest goes first.
func WithMaxNegativeEntries(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.maxNegative = n
		}
	})
}

// WithMaxNegativeBytes bounds the memory of the negative cache: each
// remembered failure is charged for its name, its error message (twice,
// for the errors that wrap it) and about 256 bytes of bookkeeping. When
// the total passes n, the failures that would be forgotten soonest go
// first. Names are at most 253 bytes (longer ones are refused before any
// load), so with the ready loaders an entry costs about 1 KiB and the
// default of 4 MiB holds about 4,000 of them.
func WithMaxNegativeBytes(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.maxNegBytes = n
		}
	})
}

// WithTTL sets how long a loaded certificate is cached before it must be
// loaded again. An entry expires at the earlier of load time + ttl and the
// certificate's NotAfter − skew (see [WithSkew]).
func WithTTL(ttl time.Duration) Option {
	return optionFunc(func(c *config) {
		if ttl > 0 {
			c.ttl = ttl
		}
	})
}

// WithRefreshAhead sets how long before expiry a background refresh starts
// (with up to a further half of it as random jitter, so entries loaded
// together do not refresh together). It is capped at half the entry's
// lifetime. A negative value switches background refresh off: entries then
// expire and the next handshake loads synchronously.
func WithRefreshAhead(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d != 0 {
			c.refreshAhead = d
		}
	})
}

// WithSkew sets how long before a certificate's NotAfter the cache stops
// serving it, to allow for clients whose clocks run ahead.
func WithSkew(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.skew = d
		}
	})
}

// WithNegativeTTL sets how long a failed load is remembered: base for the
// first failure, doubling with each further consecutive failure of the same
// name up to max, each with ±25% jitter.
func WithNegativeTTL(base, max time.Duration) Option {
	return optionFunc(func(c *config) {
		if base > 0 {
			c.negTTL = base
		}
		if max > 0 {
			c.maxNegTTL = max
		}
		if c.maxNegTTL < c.negTTL {
			c.maxNegTTL = c.negTTL
		}
	})
}

// WithLoadTimeout bounds each load. Loads run on a context detached from any
// handshake, so one client hanging up does not fail the others waiting for
// the same name; this timeout is what ends a stuck load.
func WithLoadTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.loadTimeout = d
		}
	})
}

// WithMaxConcurrentLoads bounds the loader calls running at once, misses
// and background refreshes together, and with them the goroutines the
// cache runs (one per load). A call abandoned at the load timeout counts
// until the loader returns, so a loader that ignores its context cannot
// pile up goroutines. When n calls are running, a miss that would start
// another fails at once with an error wrapping [ErrOverloaded] (a miss on
// a name already loading still waits for that load), and due refreshes
// are postponed while the old certificates keep serving.
func WithMaxConcurrentLoads(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.maxLoads = n
		}
	})
}

// WithClock replaces the real clock, for tests.
func WithClock(clk Clock) Option {
	return optionFunc(func(c *config) {
		if clk != nil {
			c.clock = clk
		}
	})
}

// WithLogger logs load failures and evictions of expiring entries to l.
// A nil logger (the default) keeps the cache silent.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}

// WithDefaultName sets the name looked up for handshakes without SNI
// (clients that connect to an IP address send none). Without it the
// loader is asked for the empty name.
func WithDefaultName(name string) Option {
	return optionFunc(func(c *config) { c.defaultName = normalize(name) })
}
