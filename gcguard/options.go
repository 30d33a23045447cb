package gcguard

import (
	"fmt"
	"log/slog"
	"math"
	"time"
)

// An Option configures [Start].
type Option interface {
	apply(*options) error
}

type optionFunc func(*options) error

func (f optionFunc) apply(o *options) error { return f(o) }

type options struct {
	cfg        config
	target     int64   // from WithMemoryTarget; 0 = default
	ratio      float64 // applied to the cgroup limit for the default target
	root       string  // where /proc and /sys are read
	override   bool
	dryRun     bool
	pressureAt Level
	interval   time.Duration
	noKernel   bool // WithoutKernelPressure
	noHard     bool // WithHardLimit(negative): no hard limit, memory.max ignored
	noTarget   bool // WithMemoryTarget(negative): run without a target
	needTarget bool // WithTargetRequired
	logger     *slog.Logger
	now        func() time.Time // tests replace it (see withClock in the tests)
}

func defaultOptions() options {
	return options{
		cfg:        defaultConfig(),
		ratio:      0.9,
		root:       "/",
		pressureAt: LevelCritical,
		interval:   5 * time.Second,
		now:        time.Now,
	}
}

// WithMemoryTarget sets the memory target in bytes: the most memory the
// process should use as the runtime counts it (GOMEMLIMIT's measure). A
// given target is fixed. Zero, like leaving the option out, means the
// default: GOMEMLIMIT when it is already set (in the environment or in
// code, tune/auto's included), followed as its owner moves it, else
// min(memory.max, memory.high) of the process's cgroup times the ratio
// from [WithRatio], re-read on the idle timer so that an in-place resize
// moves it, else no target (see [Start]). A negative bytes ([NoTarget])
// asks for no target even where one is known. A target between 0 and
// [MinTarget], or above the machine's memory, is an error from [Start].
func WithMemoryTarget(bytes int64) Option {
	return optionFunc(func(o *options) error {
		switch {
		case bytes == 0:
			return nil
		case bytes < 0:
			o.noTarget, o.target = true, 0
			return nil
		case bytes < MinTarget:
			return fmt.Errorf("gcguard: WithMemoryTarget(%d): target must be at least %d bytes (MinTarget)", bytes, MinTarget)
		}
		o.noTarget, o.target = false, bytes
		return nil
	})
}

// NoTarget, given to [WithMemoryTarget], runs the guard without a memory
// target: it sets neither GOGC nor GOMEMLIMIT, and its level comes from
// the GC's CPU share and the kernel's memory pressure only. Any negative
// value means the same.
const NoTarget int64 = -1

// WithTargetRequired makes [Start] return [ErrNoTarget] where no memory
// target is known (no [WithMemoryTarget], no GOMEMLIMIT, no cgroup memory
// limit), instead of running without one. Use it where a guard without a
// target would be a deployment mistake, for example a container that must
// have a memory limit.
func WithTargetRequired() Option {
	return optionFunc(func(o *options) error { o.needTarget = true; return nil })
}

// WithRatio sets the fraction of the cgroup memory limit that becomes the
// default memory target (0.9 by default; 0 means the default). It has no
// effect together with [WithMemoryTarget].
func WithRatio(r float64) Option {
	return optionFunc(func(o *options) error {
		if r == 0 {
			return nil
		}
		if !(r > 0 && r <= 1) {
			return fmt.Errorf("gcguard: WithRatio(%v): ratio must be in (0, 1]", r)
		}
		o.ratio = r
		return nil
	})
}

// WithGOGCRange bounds the GOGC the guard sets (10 to 500 by default;
// 0, 0 means the default).
func WithGOGCRange(lo, hi int) Option {
	return optionFunc(func(o *options) error {
		if lo == 0 && hi == 0 {
			return nil
		}
		if lo < 1 || hi < lo || hi > math.MaxInt32 {
			// The runtime holds GOGC in an int32: a larger one would wrap.
			return fmt.Errorf("gcguard: WithGOGCRange(%d, %d): want 1 <= min <= max <= %d", lo, hi, math.MaxInt32)
		}
		o.cfg.minGOGC, o.cfg.maxGOGC = lo, hi
		return nil
	})
}

// WithThresholds sets the live heap, as a fraction of the memory target, at
// which the level becomes elevated (0.7 by default) and critical (0.9);
// 0, 0 means the default.
func WithThresholds(elevated, critical float64) Option {
	return optionFunc(func(o *options) error {
		if elevated == 0 && critical == 0 {
			return nil
		}
		if !(elevated > 0 && elevated < critical && critical <= 1) {
			return fmt.Errorf("gcguard: WithThresholds(%v, %v): want 0 < elevated < critical <= 1", elevated, critical)
		}
		o.cfg.elevatedAt, o.cfg.criticalAt = elevated, critical
		return nil
	})
}

// WithGCCPUBudget sets the share of the process's non-idle CPU time that the
// GC may take before the level rises (0.15 by default), measured over the
// window and over its recent part (its last fifth or last 3 cycles,
// whichever is shorter), whichever share is higher: above it the level is
// at least elevated, and critical when memory is what drives the GC (the
// live heap past the elevated threshold, or the target taking a GOGC below
// 200). Zero means the default; a negative share turns the check off, so
// that GC CPU alone never raises the level.
func WithGCCPUBudget(share float64) Option {
	return optionFunc(func(o *options) error {
		switch {
		case share == 0:
			return nil
		case share < 0:
			o.cfg.cpuBudget = math.Inf(1)
			return nil
		}
		if !(share > 0 && share < 1) {
			return fmt.Errorf("gcguard: WithGCCPUBudget(%v): share must be in (0, 1)", share)
		}
		o.cfg.cpuBudget = share
		return nil
	})
}

// WithWindow sets the sliding window over which GC CPU is measured (5s by
// default; 0 means the default). A negative window is an error from
// [Start].
func WithWindow(d time.Duration) Option {
	return optionFunc(func(o *options) error {
		if d == 0 {
			return nil
		}
		if d < 0 {
			return fmt.Errorf("gcguard: WithWindow(%v): window must not be negative", d)
		}
		o.cfg.window = d
		return nil
	})
}

// WithMinInterval sets how long a level is held before it may fall (1s by
// default) and, for a guard that does not set the memory limit itself, the
// least time between two raises of GOGC. Lowering GOGC is never delayed, nor
// is raising it while the guard's memory limit bounds the heap. Zero means
// the default; a negative d means no hold: a level falls, and
// GOGC rises, as soon as the heap allows.
func WithMinInterval(d time.Duration) Option {
	return optionFunc(func(o *options) error {
		if d == 0 {
			return nil
		}
		o.cfg.minInterval = max(d, 0)
		return nil
	})
}

// WithHardLimit sets the hard memory ceiling in bytes, above which the
// process is killed; by default it is the cgroup's memory.max, re-read on
// the idle timer; 0 means that default. A negative bytes means none: the
// cgroup's memory.max is not read as a ceiling. The death spiral escape of
// [WithHeadroom] never lifts the memory limit above it. A limit above the
// machine's memory is an error from [Start].
func WithHardLimit(bytes int64) Option {
	return optionFunc(func(o *options) error {
		switch {
		case bytes == 0:
			return nil
		case bytes < 0:
			o.noHard, o.cfg.hard = true, 0
			return nil
		}
		o.noHard, o.cfg.hard = false, bytes
		return nil
	})
}

// WithHeadroom chooses the headroom escape from a death spiral: when the GC
// CPU limiter engages or the effective GOGC collapses near the target, the
// guard lifts GOMEMLIMIT to limit (capped at the hard limit) for at most d,
// then puts it back, and grants no new escape for cooldown after that. The
// record of escapes is kept per process, across Stop and Start. Only a
// guard that sets GOMEMLIMIT escapes: where the environment or earlier code
// owns the limit, or in dry run, the escape is refused and recorded in
// [Stats.EscapeRefused]. Without this option the guard keeps the limit and
// relies on the critical level to shed load.
func WithHeadroom(limit int64, d, cooldown time.Duration) Option {
	return optionFunc(func(o *options) error {
		if limit <= 0 || d <= 0 || cooldown < 0 {
			return fmt.Errorf("gcguard: WithHeadroom(%d, %v, %v): want positive limit and duration, cooldown >= 0", limit, d, cooldown)
		}
		o.cfg.headroom, o.cfg.headroomFor, o.cfg.cooldown = limit, d, cooldown
		return nil
	})
}

// WithDryRun makes the guard compute and report what it would set without
// setting anything. It takes no death-spiral escape, which it could not
// apply, and since its own limit is not there as a net under the heap, the
// GOGC it reports keeps the heap goal inside the target on its own unless a
// limit at or below the target is already in force.
func WithDryRun() Option {
	return optionFunc(func(o *options) error { o.dryRun = true; return nil })
}

// WithOverride hands GOGC and GOMEMLIMIT to the guard even when the
// environment or earlier code has set them. Without it the guard leaves a
// user's setting alone and only reports what it would set.
func WithOverride() Option {
	return optionFunc(func(o *options) error { o.override = true; return nil })
}

// WithoutKernelPressure makes the level follow the Go heap and the GC
// alone. By default the guard also reads, at most once a second, the
// kernel's view of the cgroup's memory: its memory pressure (PSI, where the
// cgroup has it) and its limit events (memory.events high, max, oom,
// oom_kill; memory.failcnt and oom_kill on cgroup v1). Memory outside the
// Go heap, page cache, cgo or a sidecar in the same pod, then raises the
// level even while the heap is small: elevated while the cgroup's tasks
// stall on memory over 10% of the last 10 s or a limit was reached since
// the last read, critical past 40% or on an OOM kill. The host's PSI (a v1
// host's /proc/pressure) never counts.
func WithoutKernelPressure() Option {
	return optionFunc(func(o *options) error { o.noKernel = true; return nil })
}

// WithPressureAt sets the level at which [Guard.Pressure] reports true
// (critical by default). LevelOK, the zero Level, means the default.
func WithPressureAt(l Level) Option {
	return optionFunc(func(o *options) error {
		if l == LevelOK {
			return nil
		}
		if l < LevelElevated || l > LevelCritical {
			return fmt.Errorf("gcguard: WithPressureAt(%v): want elevated or critical", l)
		}
		o.pressureAt = l
		return nil
	})
}

// WithInterval sets the coarse timer that runs the controller when no GC
// cycle has (5s by default), so levels fall and escapes end while the
// program is idle. Timer runs also re-read the cgroup limits, at most every
// 5s. Zero means the default; a negative d is an error from [Start].
func WithInterval(d time.Duration) Option {
	return optionFunc(func(o *options) error {
		if d == 0 {
			return nil
		}
		if d < 0 {
			return fmt.Errorf("gcguard: WithInterval(%v): interval must not be negative", d)
		}
		o.interval = d
		return nil
	})
}

// WithLogger logs every change the guard makes at Info and every level
// change at Warn. A nil logger (the default) is silent.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(o *options) error { o.logger = l; return nil })
}

// WithRoot reads the cgroup limits of the process whose /proc/self is under
// root instead of "/", for example another mount namespace's root or a
// fixture tree. "" means the default, "/".
func WithRoot(root string) Option {
	return optionFunc(func(o *options) error {
		if root == "" {
			return nil
		}
		o.root = root
		return nil
	})
}
