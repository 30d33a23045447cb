package numa

import (
	"errors"
	"log/slog"
	"strconv"
	"time"
)

// Sentinel errors. Errors returned by this package wrap them where callers
// may want to branch; test with [errors.Is].
var (
	// ErrUnsupported is returned on systems other than Linux, where there is
	// nothing to read or set, unless [WithRoot] points at a Linux tree.
	ErrUnsupported = errors.New("numa: unsupported on this system")

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

// An Option configures [Discover], [Pin], [NewWorker] or [NewCollector].
// Each function reads the options that apply to it and ignores the rest.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	root        string
	logger      *slog.Logger
	cpus        []int
	hasCPUs     bool
	policy      MemPolicy
	gomaxprocs  bool
	report      *PinReport
	minInterval time.Duration
	now         func() time.Time
	maxMapLines int
}

func newConfig(opts []Option) config {
	c := config{
		gomaxprocs:  true,
		minInterval: 15 * time.Second,
		now:         time.Now,
		maxMapLines: 1 << 20,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// WithRoot reads /proc and /sys under dir instead of /, for fixture trees or
// another mount namespace (for example /proc/1/root, or a host's root
// mounted into a container). Under WithRoot, [Discover] takes everything,
// the process's allowed CPUs included, from files and makes no system call.
// [Pin] still acts on this process, using the topology read from dir.
func WithRoot(dir string) Option {
	return optionFunc(func(c *config) { c.root = dir })
}

// WithLogger logs what [Pin] and the [Collector] decide. Nil, the default,
// is silent.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}

// WithCPUs narrows [Pin] to the given CPUs of the node (for example to keep
// one core free for other work). CPUs outside the node's allowed CPUs are
// ignored, never added; if none remain, Pin fails with [ErrNoCPUs].
func WithCPUs(cpus ...int) Option {
	return optionFunc(func(c *config) { c.cpus, c.hasCPUs = append([]int(nil), cpus...), true })
}

// WithMemPolicy selects the memory policy [Pin] sets. The default is
// [MemPreferred].
func WithMemPolicy(p MemPolicy) Option {
	return optionFunc(func(c *config) { c.policy = p })
}

// WithGOMAXPROCS controls whether [Pin] lets GOMAXPROCS follow the pinned
// CPUs (the default, true). It never does so while the GOMAXPROCS
// environment variable is set.
func WithGOMAXPROCS(follow bool) Option {
	return optionFunc(func(c *config) { c.gomaxprocs = follow })
}

// WithReport makes [Pin] fill *r with what it did and why, including the
// parts that were unavailable. r must not be read until Pin returns.
func WithReport(r *PinReport) Option {
	return optionFunc(func(c *config) { c.report = r })
}

// WithMinInterval sets how often the [Collector] rereads the files behind
// its metrics; scrapes in between get the cached values. The default is 15
// seconds: reading /proc/self/numa_maps walks the page tables of every
// mapping and costs milliseconds on a large process.
func WithMinInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.minInterval = d })
}

// WithClock replaces time.Now for the [Collector]'s rate limit.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}
