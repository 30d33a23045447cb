package numa

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/gotune/gotune/internal/cpulist"
)

// Sentinel errors. Errors returned by this package wrap them where callers
// may want to branch; test with [errors.Is].
var (
	// ErrUnsupported is returned on systems other than Linux, where there is
	// nothing to read or set, unless [WithRoot] points at a Linux tree.
	// It wraps [errors.ErrUnsupported].
	ErrUnsupported = fmt.Errorf("numa: %w on this system", errors.ErrUnsupported)

	// ErrUnavailable means the kernel refused an operation with EPERM
	// (seccomp, missing capability) or ENOSYS (kernel without NUMA support):
	// the feature is unavailable here, which is not a malfunction.
	ErrUnavailable = errors.New("numa: unavailable")

	// ErrNoNode is returned for a node id that is not online.
	ErrNoNode = errors.New("numa: no such node")

	// ErrNoCPUs means the requested CPUs share no CPU with the CPUs this
	// process may run on; pinning would have to widen the allowed set.
	ErrNoCPUs = errors.New("numa: no allowed CPUs")

	// ErrPinned is returned by [Pin] while an earlier pin is in effect
	// (made and not yet undone): pins do not nest. Undo the pin in effect
	// first.
	ErrPinned = errors.New("numa: already pinned")

	// ErrClosed is returned by a [Worker] after Close.
	ErrClosed = errors.New("numa: worker closed")
)

// MemPolicy selects the memory policy [Pin] sets.
type MemPolicy int

const (
	// MemPreferred asks the kernel to allocate on the node and fall back to
	// other nodes when it is full (MPOL_PREFERRED). The default.
	MemPreferred MemPolicy = iota
	// MemBind restricts allocations to the node (MPOL_BIND): allocations
	// that do not fit trigger reclaim and, at worst, the OOM killer, rather
	// than spilling to a remote node.
	MemBind
	// MemLeave leaves the memory policy as it is.
	MemLeave
)

// String returns "preferred", "bind" or "leave".
func (p MemPolicy) String() string {
	switch p {
	case MemPreferred:
		return "preferred"
	case MemBind:
		return "bind"
	case MemLeave:
		return "leave"
	}
	return "MemPolicy(" + strconv.Itoa(int(p)) + ")"
}

// Options. Each function takes its own option type, so an option meant
// for one does not compile on another: [Discover] takes [DiscoverOption]s,
// [Pin] [PinOption]s and [NewCollector] [CollectorOption]s. [WithRoot]
// applies to Discover and Pin, [WithLogger] to Pin and NewCollector; the
// others to one function each.
//
// Values follow one rule, as in every gotune package: the zero value of an
// option's argument means the documented default (WithRoot(""), WithCPUs()
// with no CPUs, WithMinInterval(0)); "off" has its own name
// ([WithoutGOMAXPROCS], [MemLeave]) or is a negative value
// (WithMinInterval(-1) rereads on every scrape); an invalid value (a
// negative CPU id, an unknown [MemPolicy]) makes Pin return an error that
// names the option and the value.

// A DiscoverOption configures [Discover].
type DiscoverOption interface{ applyDiscover(*discoverConfig) }

// A PinOption configures [Pin].
type PinOption interface{ applyPin(*pinConfig) }

// A CollectorOption configures [NewCollector].
type CollectorOption interface{ applyCollector(*collectorConfig) }

// A RootOption is an option for both [Discover] and [Pin]; see [WithRoot].
type RootOption interface {
	DiscoverOption
	PinOption
}

// A LoggerOption is an option for both [Pin] and [NewCollector]; see
// [WithLogger].
type LoggerOption interface {
	PinOption
	CollectorOption
}

type discoverConfig struct{ root string }

type pinConfig struct {
	root       string
	logger     *slog.Logger
	cpus       []int
	policy     MemPolicy
	noMaxProcs bool
	report     *PinReport
	err        error
}

type collectorConfig struct {
	logger      *slog.Logger
	minInterval time.Duration
	maxMapLines int
}

func newDiscoverConfig(opts []DiscoverOption) discoverConfig {
	var c discoverConfig
	for _, o := range opts {
		if o != nil {
			o.applyDiscover(&c)
		}
	}
	return c
}

func newPinConfig(opts []PinOption) pinConfig {
	var c pinConfig
	for _, o := range opts {
		if o != nil {
			o.applyPin(&c)
		}
	}
	return c
}

// DefaultMinInterval is how often a [Collector] rereads its files by default.
const DefaultMinInterval = 15 * time.Second

func newCollectorConfig(opts []CollectorOption) collectorConfig {
	c := collectorConfig{maxMapLines: 1 << 20}
	for _, o := range opts {
		if o != nil {
			o.applyCollector(&c)
		}
	}
	switch {
	case c.minInterval == 0:
		c.minInterval = DefaultMinInterval
	case c.minInterval < 0:
		c.minInterval = 0
	}
	return c
}

func (c *pinConfig) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("numa: "+format, args...)
	}
}

type rootOption string

func (o rootOption) applyDiscover(c *discoverConfig) { c.root = string(o) }
func (o rootOption) applyPin(c *pinConfig)           { c.root = string(o) }

// WithRoot reads /proc and /sys under dir instead of /, for fixture trees or
// another mount namespace (for example /proc/1/root, or a host's root
// mounted into a container). Under WithRoot, [Discover] takes everything,
// the process's allowed CPUs included, from files and makes no system call.
// [Pin] still acts on this process, using the topology read from dir. An
// empty dir means the default, /. A [Collector] reads under the root of the
// [Topology] it is given.
func WithRoot(dir string) RootOption { return rootOption(dir) }

type loggerOption struct{ l *slog.Logger }

func (o loggerOption) applyPin(c *pinConfig)             { c.logger = o.l }
func (o loggerOption) applyCollector(c *collectorConfig) { c.logger = o.l }

// WithLogger logs what [Pin] and the [Collector] decide. Nil, the default,
// is silent.
func WithLogger(l *slog.Logger) LoggerOption { return loggerOption{l} }

type pinFunc func(*pinConfig)

func (f pinFunc) applyPin(c *pinConfig) { f(c) }

// WithCPUs narrows [Pin] to the given CPUs of the node (for example to keep
// one core free for other work). CPUs outside the node's allowed CPUs are
// ignored, never added; if none remain, Pin fails with [ErrNoCPUs]. No CPUs
// means the default, all of the node's allowed CPUs; a negative or too
// large CPU id makes Pin fail with an error naming it.
func WithCPUs(cpus ...int) PinOption {
	cpus = slices.Clone(cpus)
	return pinFunc(func(c *pinConfig) {
		for _, id := range cpus {
			if id < 0 || id >= cpulist.MaxID {
				c.fail("WithCPUs(%v): bad CPU id %d", cpus, id)
				return
			}
		}
		c.cpus = cpus
	})
}

// WithMemPolicy selects the memory policy [Pin] sets. The default (the zero
// value) is [MemPreferred]; [MemLeave] leaves the policy alone. Any other
// value makes Pin fail with an error naming it.
func WithMemPolicy(p MemPolicy) PinOption {
	return pinFunc(func(c *pinConfig) {
		if p < MemPreferred || p > MemLeave {
			c.fail("WithMemPolicy(%d): unknown policy: want MemPreferred, MemBind or MemLeave", int(p))
			return
		}
		c.policy = p
	})
}

// WithoutGOMAXPROCS keeps [Pin] from lowering GOMAXPROCS to the pinned CPU
// count. By default it does so, but never while the GOMAXPROCS environment
// variable is set.
func WithoutGOMAXPROCS() PinOption {
	return pinFunc(func(c *pinConfig) { c.noMaxProcs = true })
}

// WithReport makes [Pin] fill *r with what it did and why, including the
// parts that were unavailable. r must not be read until Pin returns. After
// a successful Pin, [Pinned] returns the same report.
func WithReport(r *PinReport) PinOption {
	return pinFunc(func(c *pinConfig) { c.report = r })
}

type collectorFunc func(*collectorConfig)

func (f collectorFunc) applyCollector(c *collectorConfig) { f(c) }

// WithMinInterval sets how often the [Collector] rereads the files behind
// its metrics; scrapes in between get the cached values. Zero means the
// default, [DefaultMinInterval]: reading /proc/self/numa_maps walks the
// page tables of every mapping and costs milliseconds on a large process.
// A negative interval turns the cache off: every scrape rereads.
func WithMinInterval(d time.Duration) CollectorOption {
	return collectorFunc(func(c *collectorConfig) { c.minInterval = d })
}
