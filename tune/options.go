package tune

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime"
)

// MaxProcsPolicy says how GOMAXPROCS follows a CPU quota.
type MaxProcsPolicy int

const (
	// MaxProcsRuntime gives the Go runtime's own answer: the quota rounded
	// up, at least 2 where 2 or more CPUs are allowed, at most the allowed
	// CPUs. The runtime is left to do it where it does so itself; gotune sets
	// it where the runtime's cgroup support is off (a go line of 1.24 or
	// older) or where an ancestor's quota is tighter than the leaf's, which
	// the runtime does not read.
	MaxProcsRuntime MaxProcsPolicy = iota
	// MaxProcsFloor rounds the quota down, at least 1 (automaxprocs'
	// rounding: 0.5 CPU gives 1, 1.5 gives 1), for services that prefer
	// less CFS throttling to more parallelism.
	MaxProcsFloor
	// MaxProcsOff leaves GOMAXPROCS alone.
	MaxProcsOff
)

func (p MaxProcsPolicy) String() string {
	switch p {
	case MaxProcsRuntime:
		return "runtime"
	case MaxProcsFloor:
		return "floor"
	case MaxProcsOff:
		return "off"
	}
	return fmt.Sprintf("MaxProcsPolicy(%d)", int(p))
}

// ParseMaxProcsPolicy parses "runtime", "floor" or "off".
func ParseMaxProcsPolicy(s string) (MaxProcsPolicy, error) {
	for _, p := range []MaxProcsPolicy{MaxProcsRuntime, MaxProcsFloor, MaxProcsOff} {
		if s == p.String() {
			return p, nil
		}
	}
	return 0, fmt.Errorf("tune: bad GOMAXPROCS policy %q: want runtime, floor or off", s)
}

// GOGCOff is the GOGC percent that turns the proportional collector off; with
// [WithGOGC] it takes effect only where a memory limit is set, so the heap
// is still bounded.
const GOGCOff = -1

// DefaultMemoryRatio is the share of the memory limit given to GOMEMLIMIT.
const DefaultMemoryRatio = 0.9

// An Option configures [Detect], [Apply] and [NewTuner]; every option
// applies to all three, since a Tuner applies what Apply would and Detect
// computes it.
//
// Values follow one rule, as in every gotune package: the zero value of an
// option's argument means the documented default (WithRoot(""),
// WithMemoryRatio(0), WithMemoryReserve(0), WithGOGC(0)); "off" has its own
// name ([MaxProcsOff], [WithoutMemoryLimit], [GOGCOff]); any other value
// out of range is an error from Detect, Apply and [Tuner.Start] that names
// the option and the value, and nothing is changed.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	root         string
	logger       *slog.Logger
	procs        MaxProcsPolicy
	ratio        float64
	reserve      int64
	gogc         int  // percent, GOGCOff, or 0 for "leave alone"
	gogcSet      bool // whether WithGOGC was given
	overrideCode bool
	memOff       bool
	err          error

	// Seams for tests (set from export_test.go).
	lookupEnv func(string) (string, bool)
	numCPU    func() int
}

func newConfig(opts []Option) config {
	c := config{
		root:      "/",
		ratio:     DefaultMemoryRatio,
		lookupEnv: os.LookupEnv,
		numCPU:    runtime.NumCPU,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("tune: "+format, args...)
	}
}

// live reports whether the limits are this process's own, so the affinity
// comes from sched_getaffinity and the runtime's own default can be judged.
func (c *config) live() bool { return c.root == "/" }

// WithRoot reads /proc and /sys under dir instead of "/": a fixture tree, or
// another mount namespace through /proc/PID/root. Under a root everything
// comes from the files, the CPU affinity included (proc/self/status), never
// from this process's syscalls. An empty dir means the default, "/".
func WithRoot(dir string) Option {
	return optionFunc(func(c *config) {
		if dir == "" {
			dir = "/"
		}
		c.root = dir
	})
}

// WithLogger logs what was set and why. Nil, the default, is silent.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}

// WithMaxProcs sets the GOMAXPROCS policy; the default is [MaxProcsRuntime].
func WithMaxProcs(p MaxProcsPolicy) Option {
	return optionFunc(func(c *config) {
		if p < MaxProcsRuntime || p > MaxProcsOff {
			c.fail("WithMaxProcs(%d): unknown policy", int(p))
			return
		}
		c.procs = p
	})
}

// WithMemoryRatio sets the share of min(memory.max, memory.high) given to
// GOMEMLIMIT, in (0, 1]; zero means the default, [DefaultMemoryRatio]. The
// rest is headroom for what the Go runtime does not count: thread stacks,
// cgo, the page cache that the cgroup charges. [WithoutMemoryLimit] leaves
// GOMEMLIMIT alone.
func WithMemoryRatio(r float64) Option {
	return optionFunc(func(c *config) {
		switch {
		case r == 0:
			c.ratio = DefaultMemoryRatio
		case math.IsNaN(r) || r < 0 || r > 1:
			c.fail("WithMemoryRatio(%v): want a ratio in (0, 1], or 0 for the default %v", r, DefaultMemoryRatio)
		default:
			c.ratio = r
		}
	})
}

// WithMemoryReserve subtracts bytes from GOMEMLIMIT after the ratio, for
// memory that a sidecar or cgo allocator in the same cgroup uses. The
// default is 0; a negative count is an error.
func WithMemoryReserve(bytes int64) Option {
	return optionFunc(func(c *config) {
		if bytes < 0 {
			c.fail("WithMemoryReserve(%d): negative", bytes)
			return
		}
		c.reserve = bytes
	})
}

// WithoutMemoryLimit leaves GOMEMLIMIT alone.
func WithoutMemoryLimit() Option {
	return optionFunc(func(c *config) { c.memOff = true })
}

// WithGOGC sets GOGC to percent, or turns it off with [GOGCOff] where a
// memory limit bounds the heap. Zero means the default, as without this
// option: GOGC is left alone. Other negative values are an error. A GOGC
// environment variable always wins.
func WithGOGC(percent int) Option {
	return optionFunc(func(c *config) {
		switch {
		case percent == 0:
			c.gogc, c.gogcSet = 0, false
		case percent < GOGCOff:
			c.fail("WithGOGC(%d): want a positive percent, GOGCOff (-1), or 0 to leave GOGC alone", percent)
		default:
			c.gogc, c.gogcSet = percent, true
		}
	})
}

// WithOverrideCode lets [Apply] replace a GOMAXPROCS or memory limit that
// the program set in code before it. By default such a value wins and is
// reported with the source [SourceCode]. Environment variables win either way.
func WithOverrideCode() Option {
	return optionFunc(func(c *config) { c.overrideCode = true })
}
