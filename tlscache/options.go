package tlscache

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults used where an option is not given or is given zero.
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

// MaxEntriesLimit is the largest bound [WithMaxEntries] accepts. The
// cache allocates its hash table for the bound at construction (about
// 16 bytes an entry), so a bound far past any real number of certificates
// is refused rather than paid for.
const MaxEntriesLimit = 1 << 24

// Explicit "off" values, for the options where switching off makes sense.
// Any negative value means the same; zero always means the default.
const (
	// NoTTL, given to [WithTTL], caches a certificate until its NotAfter
	// less the skew, however long that is.
	NoTTL time.Duration = -1
	// NoRefreshAhead, given to [WithRefreshAhead], switches background
	// refresh off: entries expire and the next handshake loads
	// synchronously.
	NoRefreshAhead time.Duration = -1
	// NoSkew, given to [WithSkew], serves a certificate until a few
	// seconds before its NotAfter.
	NoSkew time.Duration = -1
	// NoNegativeCache, given to [WithMaxNegativeEntries], switches the
	// negative cache off: every handshake for a name that failed to load
	// calls the loader again (one call at a time per name, and at most
	// [WithMaxConcurrentLoads] in all).
	NoNegativeCache = -1
)

// An Option configures a [Cache] in [New].
type Option interface{ apply(*config) error }

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	maxEntries   int
	maxNegative  int // 0: negative cache off
	maxNegBytes  int
	ttl          time.Duration // 0: no TTL
	refreshAhead time.Duration // 0: no refresh ahead
	skew         time.Duration
	negTTL       time.Duration
	maxNegTTL    time.Duration
	loadTimeout  time.Duration
	maxLoads     int
	logger       *slog.Logger
	defaultName  string
	now          func() time.Time // time.Now; export_test.go offsets it
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
		now:          time.Now,
	}
}

// optionError is the error for option opt given the value v.
func optionError(opt string, v any, why string) error {
	return fmt.Errorf("tlscache: %s(%v): %s", opt, v, why)
}

// count resolves a bound: 0 keeps def, a negative n is an error.
func count(opt string, n int, def *int) error {
	switch {
	case n < 0:
		return optionError(opt, n, "must not be negative (0 means the default)")
	case n > 0:
		*def = n
	}
	return nil
}

// duration resolves a duration: 0 keeps def; a negative d is off (off is
// the value it sets then), or an error where off is nil.
func duration(opt string, d time.Duration, def *time.Duration, off *time.Duration) error {
	switch {
	case d < 0 && off == nil:
		return optionError(opt, d, "must not be negative (0 means the default)")
	case d < 0:
		*def = *off
	case d > 0:
		*def = d
	}
	return nil
}

var zero time.Duration

// maxNegativeTTL bounds WithNegativeTTL: a failure remembered for longer
// is not a cache but an outage, and the backoff arithmetic stays far
// from overflow.
const maxNegativeTTL = 24 * time.Hour

// WithMaxEntries bounds the number of cached certificates (exact names and
// wildcards together). When full, a load evicts one entry chosen by SIEVE,
// an LRU approximation that also drops names seen once before names seen
// repeatedly, so a flood of one-off SNI values does not flush busy names.
// Zero means [DefaultMaxEntries]; the cache is always bounded, so [New]
// refuses a negative n or one above [MaxEntriesLimit].
func WithMaxEntries(n int) Option {
	return optionFunc(func(c *config) error {
		if n > MaxEntriesLimit {
			return optionError("WithMaxEntries", n, fmt.Sprintf("more than MaxEntriesLimit (%d)", MaxEntriesLimit))
		}
		return count("WithMaxEntries", n, &c.maxEntries)
	})
}

// WithMaxNegativeEntries bounds the negative cache of failed loads. When
// full, the failure that would be forgotten soonest goes first. Zero means
// [DefaultMaxNegativeEntries]; [NoNegativeCache] (any negative n) switches
// the negative cache off.
func WithMaxNegativeEntries(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 0 {
			c.maxNegative = 0
			return nil
		}
		return count("WithMaxNegativeEntries", n, &c.maxNegative)
	})
}

// WithMaxNegativeBytes bounds the memory of the negative cache: each
// remembered failure is charged for its name, its error message (twice,
// for the errors that wrap it) and about 256 bytes of bookkeeping. When
// the total passes n, the failures that would be forgotten soonest go
// first. Names are at most 253 bytes (longer ones are refused before any
// load), so with the ready loaders an entry costs about 1 KiB and the
// default of 4 MiB holds about 4,000 of them. Zero means
// [DefaultMaxNegativeBytes]; [New] refuses a negative n (switch the
// negative cache off with [NoNegativeCache] instead).
func WithMaxNegativeBytes(n int) Option {
	return optionFunc(func(c *config) error { return count("WithMaxNegativeBytes", n, &c.maxNegBytes) })
}

// WithTTL sets how long a loaded certificate is cached before it must be
// loaded again. An entry expires at the earlier of load time + ttl and the
// certificate's NotAfter − skew (see [WithSkew]). Zero means [DefaultTTL];
// [NoTTL] (any negative ttl) caches until NotAfter − skew.
func WithTTL(ttl time.Duration) Option {
	return optionFunc(func(c *config) error { return duration("WithTTL", ttl, &c.ttl, &zero) })
}

// WithRefreshAhead sets how long before expiry a background refresh starts
// (with up to a further half of it as random jitter, so entries loaded
// together do not refresh together). It is capped at half the entry's
// lifetime. Zero means [DefaultRefreshAhead]; [NoRefreshAhead] (any
// negative d) switches background refresh off: entries then expire and
// the next handshake loads synchronously.
func WithRefreshAhead(d time.Duration) Option {
	return optionFunc(func(c *config) error { return duration("WithRefreshAhead", d, &c.refreshAhead, &zero) })
}

// WithSkew sets how long before a certificate's NotAfter the cache stops
// serving it, to allow for clients whose clocks run ahead. Zero means
// [DefaultSkew]; [NoSkew] (any negative d) serves a certificate until a
// margin of 5 s before its NotAfter, which the cache always keeps.
func WithSkew(d time.Duration) Option {
	return optionFunc(func(c *config) error { return duration("WithSkew", d, &c.skew, &zero) })
}

// WithNegativeTTL sets how long a failed load is remembered: base for the
// first failure, doubling with each further consecutive failure of the same
// name up to max, each with ±25% jitter. A zero base means
// [DefaultNegativeTTL] and a zero max [DefaultMaxNegativeTTL] (or base, if
// that is longer). [New] refuses a negative value (switch the negative
// cache off with [NoNegativeCache]), a max below base, and a max over
// 24 hours. base also paces retries of failed refreshes.
func WithNegativeTTL(base, max time.Duration) Option {
	return optionFunc(func(c *config) error {
		if base < 0 || max < 0 {
			return fmt.Errorf("tlscache: WithNegativeTTL(%v, %v): must not be negative (0 means the default; NoNegativeCache switches the negative cache off)", base, max)
		}
		if max > maxNegativeTTL {
			return fmt.Errorf("tlscache: WithNegativeTTL(%v, %v): max is over %v", base, max, maxNegativeTTL)
		}
		if base > maxNegativeTTL {
			return fmt.Errorf("tlscache: WithNegativeTTL(%v, %v): base is over %v", base, max, maxNegativeTTL)
		}
		if base > 0 && max > 0 && max < base {
			return fmt.Errorf("tlscache: WithNegativeTTL(%v, %v): max is below base", base, max)
		}
		if base > 0 {
			c.negTTL = base
		}
		if max > 0 {
			c.maxNegTTL = max
		}
		if c.maxNegTTL < c.negTTL {
			// A base above the default max, with max left at zero:
			// the max follows the base.
			c.maxNegTTL = c.negTTL
		}
		return nil
	})
}

// WithLoadTimeout bounds each load. Loads run on a context detached from any
// handshake, so one client hanging up does not fail the others waiting for
// the same name; this timeout is what ends a stuck load, so it cannot be
// switched off: zero means [DefaultLoadTimeout] and [New] refuses a
// negative d.
func WithLoadTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) error { return duration("WithLoadTimeout", d, &c.loadTimeout, nil) })
}

// WithMaxConcurrentLoads bounds the loader calls running at once, misses
// and background refreshes together, and with them the goroutines the
// cache runs (one per load). A call abandoned at the load timeout counts
// until the loader returns, so a loader that ignores its context cannot
// pile up goroutines. When n calls are running, a miss that would start
// another fails at once with an error wrapping [ErrOverloaded] (a miss on
// a name already loading still waits for that load), and due refreshes
// are postponed while the old certificates keep serving. Zero means
// [DefaultMaxConcurrentLoads]; the bound cannot be switched off, and [New]
// refuses a negative n.
func WithMaxConcurrentLoads(n int) Option {
	return optionFunc(func(c *config) error { return count("WithMaxConcurrentLoads", n, &c.maxLoads) })
}

// WithLogger logs load failures and evictions of expiring entries to l.
// A nil logger (the default) keeps the cache silent.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error { c.logger = l; return nil })
}

// WithDefaultName sets the name looked up for handshakes without SNI
// (clients that connect to an IP address send none). Without it the
// loader is asked for the empty name.
func WithDefaultName(name string) Option {
	return optionFunc(func(c *config) error { c.defaultName = normalize(name); return nil })
}
