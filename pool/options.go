package pool

import (
	"fmt"
	"log/slog"
	"time"
)

// DefaultTTL is how long an object may sit idle before the pool drops it,
// when [WithTTL] is not given or is given 0.
const DefaultTTL = time.Minute

// NoTTL, given to [WithTTL], turns expiry off: the pool then only bounds
// its size, like a free list. Any negative duration means the same.
const NoTTL time.Duration = -1

// DefaultMaxIdle is the idle-object bound used when [WithMaxIdle] is not
// given or is given 0.
const DefaultMaxIdle = 1024

// An Option configures a [Pool] at construction ([New]). A [BuffersOption]
// configures [Buffers] ([NewBuffers]); a [CommonOption] is both. So an
// option that does not apply to a constructor does not compile there:
// WithReset on NewBuffers, or WithSizeClasses on New.
//
// Values follow one rule across gotune: an option's zero value means its
// documented default, a negative value means off or no limit where that
// makes sense ([NoTTL], [WithMaxSize], [WithReleaseOS]), and an invalid
// value makes the constructor panic with a message naming the option and
// the value, since [New] and [NewBuffers] return no error.
//
// Options that name the element type ([WithReset], [WithDestroy],
// [WithSize]) must match the pool's type parameter; New panics otherwise,
// because that is a programming error the compiler cannot see through the
// Option interface.
type Option interface {
	applyPool(*config)
}

// A BuffersOption configures [Buffers] at construction ([NewBuffers]).
type BuffersOption interface {
	applyBuffers(*config)
}

// A CommonOption applies to both [New] and [NewBuffers].
type CommonOption interface {
	Option
	BuffersOption
}

// optionFunc is a CommonOption; poolOption and buffersOption apply to one
// constructor only.
type (
	optionFunc    func(*config)
	poolOption    func(*config)
	buffersOption func(*config)
)

func (f optionFunc) applyPool(c *config)       { f(c) }
func (f optionFunc) applyBuffers(c *config)    { f(c) }
func (f poolOption) applyPool(c *config)       { f(c) }
func (f buffersOption) applyBuffers(c *config) { f(c) }

type config struct {
	ttl      time.Duration
	maxIdle  int
	maxSize  int
	reset    any              // func(T)
	destroy  any              // func(T)
	size     any              // func(T) int
	now      func() time.Time // tests replace it (export_test.go)
	logger   *slog.Logger
	group    *Group
	pressure func() bool
	name     string
	release  int64

	// Buffers only.
	minClass, maxClass int
	maxIdleBytes       int64
	// trusted marks the size and reset hooks as the package's own (Buffers'),
	// which cannot panic: Put calls them without a deferred recover.
	trusted bool
}

func defaultConfig() config {
	return config{ttl: DefaultTTL, maxIdle: DefaultMaxIdle, now: time.Now}
}

// WithTTL sets how long an object may stay idle in the pool. An idle object
// is dropped (made unreachable, and passed to the [WithDestroy] hook) no
// sooner than d and, while the sweep timer fires on time, no later than
// about 1.25×d after its Put, whether or not a garbage collection runs or
// the pool is used again. After a late sweep (the process was paused)
// objects Put shortly before it stay up to d longer: Put does not read
// the time, so the pool cannot tell them from older ones. d == 0 means
// [DefaultTTL]; a negative d ([NoTTL]) disables expiry: the pool then only
// bounds its size, like a free list.
func WithTTL(d time.Duration) CommonOption {
	return optionFunc(func(c *config) {
		switch {
		case d == 0:
			c.ttl = DefaultTTL
		case d < 0:
			c.ttl = NoTTL
		default:
			c.ttl = d
		}
	})
}

// WithMaxIdle bounds the number of idle objects the pool holds. The bound is
// hard: it holds at every instant, however many goroutines Put at once. A
// Put that finds the pool full drops its object. Up to half the bound (at
// most sixteen objects per P) sits in per-P cells that only their own P
// fills, so Puts from a single P can leave that part unused. n == 0 means
// [DefaultMaxIdle]; New panics if n < 0 (an unbounded pool is not on offer).
func WithMaxIdle(n int) CommonOption {
	return optionFunc(func(c *config) {
		if n == 0 {
			n = DefaultMaxIdle
		}
		c.maxIdle = n
	})
}

// WithReset sets a hook that Put runs on every object it may keep, before
// the object becomes visible to Get, for example (*bytes.Buffer).Reset. The
// hook runs on the caller's goroutine, outside the pool's locks. Where it
// panics, the panic is recovered, counted in [Stats.HookPanics] and logged,
// and the object is dropped (to the destroy hook), not kept.
func WithReset[T any](fn func(T)) Option {
	return poolOption(func(c *config) { c.reset = fn })
}

// WithDestroy sets a hook that runs on every object the pool lets go of:
// refused by Put (full, oversized, closed), expired by the TTL, dropped by
// [Pool.DropIdle] or drained by [Pool.Close]. Use it for objects that hold
// resources. It runs outside the pool's locks, on the goroutine of the call
// that dropped the object or, for expiry, on the sweep timer's goroutine,
// so it may call the pool's methods; but a hook that Puts into its own
// closed pool is called again for that object, without end. A panic in it
// is recovered, counted in [Stats.HookPanics] and logged.
func WithDestroy[T any](fn func(T)) Option {
	return poolOption(func(c *config) { c.destroy = fn })
}

// WithSize sets a function that reports an object's size in bytes (for a
// buffer, its capacity). The pool uses it for the idle-bytes statistic and,
// with [WithMaxSize], to refuse oversized objects. It runs on every Put;
// a panic in it is handled as one in [WithReset].
func WithSize[T any](fn func(T) int) Option {
	return poolOption(func(c *config) { c.size = fn })
}

// WithMaxSize makes Put drop objects whose [WithSize] is larger than n
// bytes, so one request that grew a buffer to 32 MiB does not park it in
// the pool. No limit is the default: 0, or a negative n, means none. It
// has no effect without WithSize.
func WithMaxSize(n int) Option {
	return poolOption(func(c *config) { c.maxSize = n })
}

// WithLogger sets a logger for sweeps and Close (debug level). nil, the
// default, is silent.
func WithLogger(l *slog.Logger) CommonOption {
	return optionFunc(func(c *config) { c.logger = l })
}

// WithName names the pool in its log lines. Give [NewCollector] the same
// name, so that logs and metrics agree.
func WithName(name string) CommonOption {
	return optionFunc(func(c *config) { c.name = name })
}

// WithGroup adds the pool to g at construction; Close removes it again.
// See [Group] for wiring a memory-pressure signal to many pools.
func WithGroup(g *Group) CommonOption {
	return optionFunc(func(c *config) { c.group = g })
}

// WithPressure sets a graded pressure signal the pool polls at each sweep:
// while level() is at least at, every sweep drops all idle objects
// (counted as pressure drops), not only expired ones. It takes any
// integer-kind level, so gcguard's and tune's plug in directly, as in
// netx.WithPressure:
//
//	pool.WithPressure(guard.Level, gcguard.LevelElevated)
//
// Sweeps run every TTL/8 while the pool holds idle objects, so the signal
// needs a TTL. For an immediate reaction push the signal instead, through
// [Pool.DropIdle] or a [Group] and [DropOn]. The signal is polled outside
// the pool's locks; a panic in it is recovered, counted in
// [Stats.HookPanics], logged, and read as no pressure. A nil level removes
// the signal.
func WithPressure[L ~int | ~int32 | ~int64](level func() L, at L) CommonOption {
	return optionFunc(func(c *config) {
		if level == nil {
			c.pressure = nil
			return
		}
		c.pressure = func() bool { return level() >= at }
	})
}

// WithReleaseOS makes a sweep that expired at least minBytes (by
// [WithSize]) ask the runtime to return freed memory to the operating
// system at once, with debug.FreeOSMemory, so the process's RSS falls and
// not only its heap. FreeOSMemory runs a full garbage collection, so the
// hint is rate-limited to once per [ReleaseOSInterval] for the whole
// process, and it is off by default (0, or a negative minBytes, is off). Without it the
// runtime's background scavenger returns the memory over minutes.
func WithReleaseOS(minBytes int64) CommonOption {
	return optionFunc(func(c *config) { c.release = minBytes })
}

// WithSizeClasses sets the smallest and largest buffer capacity [Buffers]
// keeps (each rounded up to a power of two). Requests above max are served
// by a plain allocation and never kept. The default is 64 B to 64 KiB
// ([DefaultMinClass], [DefaultMaxClass]); a zero min or max means its
// default. NewBuffers panics if min or max is negative or min > max.
func WithSizeClasses(min, max int) BuffersOption {
	return buffersOption(func(c *config) {
		if min == 0 {
			min = DefaultMinClass
		}
		if max == 0 {
			max = DefaultMaxClass
		}
		c.minClass, c.maxClass = min, max
	})
}

// WithMaxIdleBytes bounds the bytes [Buffers] keeps idle in []byte
// slices, counted by capacity; the bound holds at every instant. It is
// split evenly across the size classes. A class of size S keeps slices
// of capacity S up to 2S-1 (a slice grown by append goes to the largest
// class its capacity covers), so it keeps at most its share divided by
// 2S-1 slices (the largest class, which keeps capacity S only, its share
// divided by S), and never more than [WithMaxIdle]. Slices of exactly a
// class size, as [Buffers.Get] returns, therefore fill only about half
// of the bound; a class whose share is below 2S-1 keeps nothing. The
// *bytes.Buffer side is bounded by WithMaxIdle buffers of at most the
// largest class each. The default is 32 MiB ([DefaultMaxIdleBytes]); 0
// means that default, and NewBuffers panics if n < 0. It applies to
// Buffers only.
func WithMaxIdleBytes(n int64) BuffersOption {
	return buffersOption(func(c *config) {
		if n == 0 {
			n = DefaultMaxIdleBytes
		}
		c.maxIdleBytes = n
	})
}

func hookFor[F any](v any, what string) F {
	var zero F
	if v == nil {
		return zero
	}
	f, ok := v.(F)
	if !ok {
		panic(fmt.Sprintf("pool: %s(%T) does not match the pool's element type (want %T)", what, v, zero))
	}
	return f
}
