package gcguard

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gotune/gotune/internal/cgroup"
	"github.com/gotune/gotune/internal/owner"
)

// ErrNoTarget is returned by [Start] with [WithTargetRequired] when no
// memory target is known: no [WithMemoryTarget], no GOMEMLIMIT, and no
// cgroup memory limit. Without that option Start runs without a target.
// Start also returns it, wrapping the read error, when the cgroup's limits
// cannot be read and nothing else gives a target: an unreadable limit is
// not the same as none.
var ErrNoTarget = errors.New("gcguard: no memory target (no cgroup memory limit, GOMEMLIMIT unset; use WithMemoryTarget)")

// ErrRunning is returned by [Start] while another Guard that sets GOGC or
// GOMEMLIMIT runs in the process: two controllers of the same settings
// would fight (and the first Stop would pull the limit from under the
// second). Stop the running Guard first; dry-run guards are not counted.
var ErrRunning = errors.New("gcguard: a guard is already running in this process")

// MinTarget is the smallest memory target [Start] accepts, in bytes: the
// Go runtime's smallest heap goal (4 MiB at GOGC=100). Below it no GOGC can
// hold the heap to the target, and the guard would only make the runtime
// collect every few allocations.
const MinTarget = 4 << 20

// Source says where the memory target, GOGC or the memory limit came
// from, as reported in [Stats]. It marshals to JSON as its string.
type Source string

// Sources of the target and of the settings, as reported in [Stats].
const (
	SourceOption       Source = "option"        // the target came from WithMemoryTarget
	SourceCgroup       Source = "cgroup"        // the target came from the cgroup memory limit
	SourceEnv          Source = "env"           // the environment set it; the guard leaves it alone
	SourceCode         Source = "code"          // code ran before Start set it; the guard leaves it alone
	SourceTune         Source = "tune"          // tune (tune/auto) set it and owns it; the guard follows it
	SourceGuard        Source = "guard"         // the guard sets it
	SourceOverrideEnv  Source = "override-env"  // the guard sets it over the environment (WithOverride)
	SourceOverrideCode Source = "override-code" // the guard sets it over earlier code (WithOverride)
	SourceDryRun       Source = "dry-run"       // the guard only reports what it would set
	SourceNone         Source = "none"          // no target (see Start): the guard sets nothing
)

// readLimits returns the cgroup's hard memory limit (memory.max) and its
// throttling limit (memory.high), tightest over the ancestors, 0 for none.
// Tests replace it; a Guard keeps the one in force at Start.
var readLimits = cgroupLimits

// cgroupEvery is the least time between two reads of the cgroup limits
// after Start. The idle timer re-reads them to follow an in-place resize;
// GC cycles never do.
const cgroupEvery = 5 * time.Second

// setGCPercent sets GOGC; tests replace it to see every change the guard
// makes.
var setGCPercent = debug.SetGCPercent

// newSampler returns the function a Guard reads its samples with. Tests
// replace it to drive a real Guard with made-up samples.
var newSampler = func() func(time.Time) sample { return newReader().read }

// Stats is a snapshot of a [Guard]. It marshals to JSON.
type Stats struct {
	Level        Level  `json:"level"`
	Target       int64  `json:"target_bytes"` // 0 without a target
	TargetSource Source `json:"target_source"`
	HardLimit    int64  `json:"hard_limit_bytes"` // 0 when unknown
	DryRun       bool   `json:"dry_run"`

	// GOGC and MemoryLimit are what the guard chose: the values in force
	// where it controls them, what it would set otherwise.
	GOGC        int    `json:"gogc"` // -1 means off
	GOGCSource  Source `json:"gogc_source"`
	MemoryLimit int64  `json:"memory_limit_bytes"`
	LimitSource Source `json:"limit_source"`

	LiveHeap      int64     `json:"live_heap_bytes"`
	HeapGoal      int64     `json:"heap_goal_bytes"`
	EffectiveGOGC int       `json:"effective_gogc"` // where the heap goal sits, in GOGC units; 0 while LiveHeap is 0 (no GC cycle yet: unknown)
	GCCPU         float64   `json:"gc_cpu_share"`   // GC share of non-idle CPU over the window
	Window        string    `json:"gc_cpu_window"`  // the window, as a duration string
	Cycles        uint64    `json:"gc_runs"`        // controller runs triggered by a GC cycle
	TimerRuns     uint64    `json:"timer_runs"`     // controller runs triggered by the idle timer
	LastRun       time.Time `json:"last_run"`

	// TargetChanges counts changes of Target or HardLimit after Start: an
	// in-place resize of the cgroup, or whoever owns the memory limit
	// moving it.
	TargetChanges uint64 `json:"target_changes"`

	// Adjustments counts changes by reason: "raise" and "lower" (GOGC),
	// "limit" (GOMEMLIMIT set to the target), "headroom" and "headroom_end"
	// (the death-spiral escape started and ended).
	Adjustments        map[string]uint64 `json:"adjustments"`
	LimiterActivations uint64            `json:"limiter_activations"`
	LevelChanges       uint64            `json:"level_changes"`

	Headroom      bool      `json:"headroom"` // an escape is in progress
	HeadroomUntil time.Time `json:"headroom_until"`
	EscapeRefused string    `json:"escape_refused,omitempty"` // why the last wanted escape was not taken

	// CallbackPanics counts OnLevel callbacks that panicked; each was
	// recovered and logged, and the others still ran.
	CallbackPanics uint64 `json:"callback_panics"`

	// KernelLevel is the level the kernel's view of the cgroup's memory
	// gives (see [WithoutKernelPressure]); Level is the higher of it and
	// the heap's. KernelReason says what raised it.
	KernelLevel  Level  `json:"kernel_level"`
	KernelReason string `json:"kernel_reason,omitempty"`
}

// Guard is a running GC controller. Its methods are safe for concurrent
// use; Level and Pressure take no locks.
type Guard struct {
	opts     options
	noTarget bool // no memory target: the guard sets nothing, levels from GC CPU and the kernel
	applyGC  bool // the guard sets GOGC
	applyLim bool // the guard sets GOMEMLIMIT

	// How the target and the hard limit are re-derived after Start.
	readLims   func(root string) (hard, high int64, err error)
	kernel     kernel    // the cgroup's memory pressure and events
	follow     bool      // the target is the memory limit someone else set: follow it
	cgTarget   bool      // the target is ratio × the cgroup limit: re-read it
	cgHard     bool      // the hard limit is the cgroup's memory.max: re-read it
	lastCgroup time.Time // last read of the cgroup limits

	level    atomic.Int32
	pressure atomic.Bool

	mu    sync.Mutex // serialises controller runs and guards the fields below
	ctl   *controller
	read  func(time.Time) sample
	stats Stats
	gogc  int   // GOGC in force as the guard last set it
	limit int64 // GOMEMLIMIT in force as the guard last set it

	origGOGC  int
	origLimit int64
	setGOGC   bool // the guard changed GOGC and must restore it
	setLimit  bool
	stopped   bool // Stop has restored the settings: runs change nothing
	// A value of GOGC or of the limit the guard did not set, seen on the
	// last run (see yield).
	otherGC, otherLim foreign

	// The guard's claims on the settings it sets (internal/owner), nil
	// for those it leaves alone.
	gcClaim, limClaim *owner.Claim

	cbMu   sync.Mutex
	cbs    map[uint64]func(Level)
	nextCB uint64

	cbPanics atomic.Uint64
	inNotify atomic.Bool   // callbacks are running on the notifier goroutine
	note     chan Level    // the latest level change not yet told to the callbacks
	noteDone chan struct{} // closed when the notifier goroutine ends

	trig        *trigger
	stop        chan struct{}
	done        chan struct{}
	stopOnce    sync.Once
	restoreOnce sync.Once
}

// running is the Guard that sets GOGC or GOMEMLIMIT, if any: one a process.
var running struct {
	sync.Mutex
	g *Guard
}

// Start resolves the memory target, sets GOMEMLIMIT to it as a safety net
// (unless the environment or earlier code set one, or dry run), and starts
// the controller: it runs once after every GC cycle, and on a coarse timer
// while no GC runs. Call [Guard.Stop] to stop it and restore the settings.
//
// The guard claims the settings it sets in the process-wide registry that
// tune and numa use too. A GOGC that tune set by policy is handed over to
// the guard while it runs (tune reports it as gcguard's and its refresh
// leaves it alone) and back at Stop; a GOMEMLIMIT that tune set stays
// tune's, and the guard takes it as its target and follows it as tune
// moves it, unless [WithOverride] hands it over too.
//
// Where no memory target is known (no [WithMemoryTarget], no GOMEMLIMIT,
// no cgroup memory limit: a laptop, a VM, a container without a limit) or
// [NoTarget] asks for none, the guard runs without one: it sets neither
// GOGC nor GOMEMLIMIT, and its level comes from the GC's CPU share
// ([WithGCCPUBudget]: elevated above it) and the kernel's memory pressure
// on the cgroup. Without a limit the memory is shared with whatever else
// runs on the machine, whose share the guard cannot know: raising GOGC
// toward a fraction of the machine's memory would take memory from its
// neighbours, and a GOMEMLIMIT there would make the GC fight for memory
// the process does not need. The runtime's defaults are the safe choice,
// and the pressure signal still works for pools and load shedders. Stats
// then reports the target as 0 from [SourceNone]. The choice is made at
// Start: a limit that appears later is not picked up.
//
// Start returns an error for a bad option, [ErrRunning] while another
// guard that sets GOGC or GOMEMLIMIT runs, [ErrNoTarget] when no memory
// target is known and [WithTargetRequired] was given, and an error when
// the target is below [MinTarget], above the machine's memory, or above the
// hard limit.
func Start(opts ...Option) (g *Guard, err error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt.apply(&o); err != nil {
			return nil, err
		}
	}
	if total := machineMemory(); total > 0 {
		if o.target > total {
			return nil, fmt.Errorf("gcguard: WithMemoryTarget(%d): above the machine's memory, %d bytes", o.target, total)
		}
		if o.cfg.hard > total {
			return nil, fmt.Errorf("gcguard: WithHardLimit(%d): above the machine's memory, %d bytes", o.cfg.hard, total)
		}
	}

	g = &Guard{opts: o, cbs: map[uint64]func(Level){}, readLims: readLimits, kernel: kernel{root: o.root}}
	// The cgroup's limits, read before the claims: whether there is a
	// target decides whether the guard claims anything.
	hard, high, lerr := g.readLims(o.root)
	if o.target == 0 && !o.noTarget && debug.SetMemoryLimit(-1) == math.MaxInt64 && cgroup.Tightest(hard, high) <= 0 {
		if lerr != nil {
			// An unreadable cgroup is not the same as no limit: say so
			// rather than run without a target that may exist.
			return nil, fmt.Errorf("%w: %w", ErrNoTarget, lerr)
		}
		if o.needTarget {
			return nil, ErrNoTarget
		}
		g.noTarget = true
	}
	if o.noTarget {
		if o.needTarget {
			return nil, fmt.Errorf("gcguard: WithMemoryTarget(%d) together with WithTargetRequired", NoTarget)
		}
		g.noTarget = true
	}
	if !o.dryRun && !g.noTarget {
		running.Lock()
		defer running.Unlock()
		if running.g != nil {
			return nil, ErrRunning
		}
		gg := g // the error returns below set g to nil
		defer func() {
			if err != nil {
				gg.gcClaim.Release()
				gg.limClaim.Release()
				return
			}
			running.g = gg
		}()
	}
	cfg := o.cfg
	st := &g.stats

	// Who owns each setting: the environment and earlier code win unless
	// the caller hands control over; tune hands GOGC over, and GOMEMLIMIT
	// with WithOverride.
	if st.GOGCSource, g.gcClaim, err = g.claim(owner.GOGC, "GOGC", 100, true); err != nil {
		return nil, err
	}
	who, last, cur, _ := owner.Held(owner.GOMEMLIMIT)
	tunesLimit := who == owner.Tune && cur == last
	if st.LimitSource, g.limClaim, err = g.claim(owner.GOMEMLIMIT, "GOMEMLIMIT", math.MaxInt64, o.override); err != nil {
		return nil, err
	}
	g.applyGC, g.applyLim = g.gcClaim != nil, g.limClaim != nil
	// What was in force when the guard took over, read after the claims
	// so that tune cannot move it in between.
	origGOGC, origLimit := readGOGC(), debug.SetMemoryLimit(-1)
	g.origGOGC, g.origLimit = origGOGC, origLimit

	// The target: the option, else a limit already set, else the cgroup,
	// else none.
	g.lastCgroup = o.now()
	if cfg.hard == 0 && !o.noHard {
		cfg.hard, g.cgHard = hard, true
	}
	switch {
	case g.noTarget:
		cfg.target, cfg.noTarget, st.TargetSource = 0, true, SourceNone
	case o.target > 0:
		cfg.target, st.TargetSource = o.target, SourceOption
	case origLimit != math.MaxInt64:
		// A limit already in force (the environment's, or tune/auto's set
		// at init) is the target. Where it is not the guard's to set, the
		// guard follows it as its owner moves it.
		cfg.target, g.follow = origLimit, !g.applyLim
		st.TargetSource = SourceCode
		if os.Getenv("GOMEMLIMIT") != "" {
			st.TargetSource = SourceEnv
		} else if tunesLimit {
			st.TargetSource = SourceTune
		}
	default:
		lim := cgroup.Tightest(hard, high)
		g.cgTarget = true
		if lim <= 0 {
			if lerr != nil {
				return nil, fmt.Errorf("%w: %w", ErrNoTarget, lerr)
			}
			return nil, ErrNoTarget
		}
		cfg.target, st.TargetSource = cgroup.Share(lim, o.ratio), SourceCgroup
	}
	if !g.noTarget && cfg.target < MinTarget {
		return nil, fmt.Errorf("gcguard: memory target %d (from %s) is below the floor of %d bytes (MinTarget)", cfg.target, st.TargetSource, MinTarget)
	}
	if cfg.hard > 0 && cfg.target > cfg.hard {
		return nil, fmt.Errorf("gcguard: memory target %d exceeds the hard limit %d", cfg.target, cfg.hard)
	}
	st.Target, st.HardLimit, st.DryRun = cfg.target, cfg.hard, o.dryRun
	st.Window = cfg.window.String()
	st.Adjustments = map[string]uint64{}

	cfg.ownsLimit = g.applyLim
	g.ctl = newController(cfg, &processLedger)
	g.read = newSampler()
	g.gogc, g.limit = origGOGC, origLimit
	g.level.Store(int32(LevelOK))
	g.run(false) // the safety net is in place before Start returns

	g.trig = &trigger{kick: make(chan struct{}, 1)}
	g.trig.arm()
	g.stop, g.done = make(chan struct{}), make(chan struct{})
	g.note, g.noteDone = make(chan Level, 1), make(chan struct{})
	go g.loop()
	go g.notifier()
	return g, nil
}

// claim decides who owns one setting at Start and, where it is the
// guard's to set, claims it. def is the runtime's default; fromTune says
// whether a value tune set is handed over to the guard (GOGC always,
// GOMEMLIMIT with WithOverride) rather than followed.
func (g *Guard) claim(s owner.Setting, env string, def int64, fromTune bool) (Source, *owner.Claim, error) {
	o := g.opts
	take := func(src Source) (Source, *owner.Claim, error) {
		c, err := owner.Take(s, owner.GCGuard, owner.Tune)
		if err != nil {
			return "", nil, fmt.Errorf("%w: %w", ErrRunning, err)
		}
		return src, c, nil
	}
	if g.noTarget {
		return SourceNone, nil, nil
	}
	if o.dryRun {
		return SourceDryRun, nil, nil
	}
	if os.Getenv(env) != "" {
		if o.override {
			return take(SourceOverrideEnv)
		}
		return SourceEnv, nil, nil
	}
	who, last, cur, held := owner.Held(s)
	switch {
	case held && who == owner.GCGuard:
		return "", nil, fmt.Errorf("%w: it holds %v", ErrRunning, s)
	case held && who == owner.Tune && cur == last:
		if fromTune {
			return take(SourceGuard)
		}
		return SourceTune, nil, nil
	case held && cur != last, !held && cur != def:
		// The program set it, before or since its owner did.
		if o.override {
			return take(SourceOverrideCode)
		}
		return SourceCode, nil, nil
	}
	return take(SourceGuard)
}

// loop runs the controller after each GC cycle and on the idle timer.
func (g *Guard) loop() {
	defer close(g.done)
	t := time.NewTicker(g.opts.interval)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-g.trig.kick:
			g.run(true)
		case <-t.C:
			g.run(false)
		}
	}
}

// run reads the metrics, runs the controller, applies its decision and
// tells the callbacks about a level change.
func (g *Guard) run(gc bool) {
	g.mu.Lock()
	if g.stopped {
		g.mu.Unlock()
		return
	}
	holdGC, holdLim := g.yield()
	s := g.read(g.opts.now())
	g.retarget(s, gc)
	d := g.ctl.step(s)
	st := &g.stats
	if !g.opts.noKernel {
		kl := g.kernel.read(s.at)
		st.KernelLevel, st.KernelReason = kl, g.kernel.why
		d.level = max(d.level, kl)
	}
	if gc {
		st.Cycles++
	} else {
		st.TimerRuns++
	}
	applyGC := func() {
		if !holdGC && d.gogc != g.gogc && g.applyGC && g.gcClaim.Set(int64(d.gogc), func() { setGCPercent(d.gogc) }) {
			g.gogc, g.setGOGC = d.gogc, true
		}
	}
	applyLim := func() {
		if !holdLim && d.limit != g.limit && g.applyLim && g.limClaim.Set(d.limit, func() { debug.SetMemoryLimit(d.limit) }) {
			g.limit, g.setLimit = d.limit, true
		}
	}
	// Tighten first: a GOGC raised past the room (see netAim) relies on the
	// limit being in place, so a raise follows the limit, a lowering
	// precedes it.
	if raise := g.gogc >= 0 && (d.gogc < 0 || d.gogc > g.gogc); raise {
		applyLim()
		applyGC()
	} else {
		applyGC()
		applyLim()
	}
	for _, r := range d.adjust {
		st.Adjustments[r]++
	}
	if d.limiterHit {
		st.LimiterActivations++
	}
	prev := st.Level
	st.Level, st.GOGC, st.MemoryLimit = d.level, d.gogc, d.limit
	st.LiveHeap, st.HeapGoal, st.EffectiveGOGC, st.GCCPU = s.live, s.goal, d.effGOGC, d.gcCPU
	st.LastRun = s.at
	st.Headroom, st.HeadroomUntil = !d.headroomEnd.IsZero(), d.headroomEnd
	if d.refused != "" {
		st.EscapeRefused = d.refused
	}
	if d.level != prev {
		st.LevelChanges++
	}
	g.level.Store(int32(d.level))
	g.pressure.Store(d.level >= g.opts.pressureAt)
	g.mu.Unlock()

	if l := g.opts.logger; l != nil {
		if len(d.adjust) > 0 {
			l.Info("gcguard: adjusted", "reasons", d.adjust, "gogc", d.gogc, "memory_limit", d.limit,
				"live_heap", s.live, "target", g.ctl.cfg.target, "applied_gogc", g.applyGC, "applied_limit", g.applyLim)
		}
		if d.level != prev {
			l.Warn("gcguard: pressure level changed", "from", prev, "to", d.level,
				"live_heap", s.live, "gc_cpu_share", d.gcCPU, "effective_gogc", d.effGOGC, "limiter", d.limiterHit)
		}
	}
	if d.level != prev {
		g.post(d.level)
	}
}

// yield gives up a setting that the program changed since the guard last
// set it: a value other than its owner's last is the program's, and the
// guard no longer sets it (nor restores it at Stop); it is reported as set
// in code. A foreign value must be there on two runs in a row: a
// debug.SetGCPercent round trip that some code uses to read GOGC shows a
// foreign value for an instant. On the first sighting the guard holds off
// (hold) rather than overwrite it. g.mu is held.
func (g *Guard) yield() (holdGC, holdLim bool) {
	if g.applyGC {
		switch cur := int64(readGOGC()); {
		case cur == int64(g.gogc):
			g.otherGC = foreign{}
		case !g.otherGC.seen || g.otherGC.v != cur:
			g.otherGC, holdGC = foreign{v: cur, seen: true}, true
		default:
			g.applyGC, g.setGOGC = false, false
			g.gcClaim.Release()
			g.stats.GOGCSource = SourceCode
			if l := g.opts.logger; l != nil {
				l.Info("gcguard: GOGC changed by someone else; leaving it to them", "gogc", cur, "guard_set", g.gogc)
			}
		}
	}
	if g.applyLim {
		switch cur := debug.SetMemoryLimit(-1); {
		case cur == g.limit:
			g.otherLim = foreign{}
		case !g.otherLim.seen || g.otherLim.v != cur:
			g.otherLim, holdLim = foreign{v: cur, seen: true}, true
		default:
			g.applyLim, g.setLimit = false, false
			g.ctl.cfg.ownsLimit = false
			g.limClaim.Release()
			g.stats.LimitSource = SourceCode
			if l := g.opts.logger; l != nil {
				l.Info("gcguard: memory limit changed by someone else; leaving it to them", "memory_limit", cur, "guard_set", g.limit)
			}
		}
	}
	return holdGC, holdLim
}

// foreign is a value of a setting the guard owns that it did not set.
type foreign struct {
	v    int64
	seen bool
}

// post hands a level change to the notifier goroutine, replacing one it
// has not taken yet: the controller never waits for the callbacks, and a
// slow callback sees the latest level rather than a backlog.
func (g *Guard) post(l Level) {
	if g.note == nil {
		return // Start's first run: no callback can be registered yet
	}
	for {
		select {
		case g.note <- l:
			return
		default:
			select {
			case <-g.note: // stale: the callbacks get l instead
			default:
			}
		}
	}
}

// notifier calls the callbacks with each level change until Stop.
func (g *Guard) notifier() {
	defer close(g.noteDone)
	for {
		select {
		case <-g.stop:
			return
		case l := <-g.note:
			g.notify(l)
		}
	}
}

// retarget re-derives the target and the hard limit where they were not
// given as options: from the memory limit in force where someone else owns
// it (each run), and from the cgroup on timer runs at most every
// cgroupEvery, so an in-place resize moves the thresholds with it. A limit
// that disappears leaves the last target in place. g.mu is held.
func (g *Guard) retarget(s sample, gc bool) {
	cfg := &g.ctl.cfg
	target, hard := cfg.target, cfg.hard
	if g.follow && s.limit > 0 && s.limit != math.MaxInt64 {
		target = s.limit
	}
	if !gc && (g.cgTarget || g.cgHard) && s.at.Sub(g.lastCgroup) >= cgroupEvery {
		g.lastCgroup = s.at
		h, hi, err := g.readLims(g.opts.root)
		switch {
		case err != nil:
			if l := g.opts.logger; l != nil {
				l.Warn("gcguard: re-reading the cgroup memory limits", "err", err)
			}
		default:
			if g.cgHard {
				hard = h
			}
			if lim := cgroup.Tightest(h, hi); g.cgTarget && lim > 0 {
				target = cgroup.Share(lim, g.opts.ratio)
			}
		}
	}
	if target == cfg.target && hard == cfg.hard {
		return
	}
	if l := g.opts.logger; l != nil {
		l.Info("gcguard: memory target changed", "target", target, "was", cfg.target,
			"hard_limit", hard, "hard_limit_was", cfg.hard, "source", g.stats.TargetSource)
		if hard > 0 && target > hard {
			l.Warn("gcguard: memory target above the hard limit", "target", target, "hard_limit", hard)
		}
	}
	cfg.target, cfg.hard = target, hard
	if g.follow {
		// The limit in force is already the target: nothing to set, nothing
		// to count.
		g.ctl.limit = target
	}
	g.stats.Target, g.stats.HardLimit = target, hard
	g.stats.TargetChanges++
}

func (g *Guard) notify(l Level) {
	g.cbMu.Lock()
	fns := make([]func(Level), 0, len(g.cbs))
	for id := uint64(0); id < g.nextCB; id++ { // in registration order
		if fn, ok := g.cbs[id]; ok {
			fns = append(fns, fn)
		}
	}
	g.cbMu.Unlock()
	g.inNotify.Store(true)
	defer g.inNotify.Store(false)
	for _, fn := range fns {
		g.call(fn, l)
	}
}

// call runs one OnLevel callback; a panic in it is recovered, counted in
// [Stats.CallbackPanics] and logged, so it neither kills the process from
// the guard's goroutine nor stops the controller.
func (g *Guard) call(fn func(Level), l Level) {
	defer func() {
		if p := recover(); p != nil {
			g.cbPanics.Add(1)
			if lg := g.opts.logger; lg != nil {
				lg.Error("gcguard: OnLevel callback panicked", "level", l, "panic", fmt.Sprint(p))
			}
		}
	}()
	fn(l)
}

// Stop stops the controller, waits for it, and restores the GOGC and memory
// limit that were in force at Start where the guard changed them. A setting
// that no longer has the value the guard last gave it was changed since by
// someone else, who owns it now: Stop leaves it alone. Then it gives up
// its claims on the settings (tune owns again what it handed over).
//
// Stop restores the settings before it waits for OnLevel callbacks in
// progress to return. It is safe to call more than once, from several
// goroutines, on a nil or zero Guard, and from an OnLevel callback, where
// it returns without waiting for the callbacks (nor does a Stop from
// another goroutine while they run): their goroutine ends when they
// return.
func (g *Guard) Stop() {
	if g == nil {
		return
	}
	g.stopOnce.Do(func() {
		if g.trig != nil {
			g.trig.stopped.Store(true)
		}
		if g.stop != nil {
			close(g.stop)
		}
	})
	if g.done != nil {
		<-g.done // the loop runs no user code: this never waits on a callback
	}
	g.restoreOnce.Do(g.restore)
	// Callbacks run on the notifier's goroutine: waiting for it from one
	// of them would wait forever.
	if g.noteDone != nil && !g.inNotify.Load() {
		<-g.noteDone
	}
}

func (g *Guard) restore() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	if g.setGOGC {
		orig := g.origGOGC
		if cur := readGOGC(); cur == g.gogc && g.gcClaim.Set(int64(orig), func() { setGCPercent(orig) }) {
			g.gogc = orig
		} else if l := g.opts.logger; l != nil {
			l.Info("gcguard: GOGC changed by someone else; not restored", "gogc", cur, "guard_set", g.gogc)
		}
		g.setGOGC = false
	}
	if g.setLimit {
		orig := g.origLimit
		if cur := debug.SetMemoryLimit(-1); cur == g.limit && g.limClaim.Set(orig, func() { debug.SetMemoryLimit(orig) }) {
			g.limit = orig
		} else if l := g.opts.logger; l != nil {
			l.Info("gcguard: memory limit changed by someone else; not restored", "memory_limit", cur, "guard_set", g.limit)
		}
		g.setLimit = false
	}
	g.gcClaim.Release()
	g.limClaim.Release()
	running.Lock()
	if running.g == g {
		running.g = nil
	}
	running.Unlock()
}

// Stats returns a snapshot of what the guard saw and decided; a nil
// Guard's is the zero Stats.
func (g *Guard) Stats() Stats {
	if g == nil {
		return Stats{}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.stats
	s.Adjustments = maps.Clone(s.Adjustments)
	s.CallbackPanics = g.cbPanics.Load()
	return s
}

// Level returns the current pressure level without taking a lock; it is
// cheap enough for every request.
// A nil Guard's level is ok.
func (g *Guard) Level() Level {
	if g == nil {
		return LevelOK
	}
	return Level(g.level.Load())
}

// Pressure reports, without taking a lock, whether the level is at or above
// the level set by [WithPressureAt] (critical by default). The method value
// g.Pressure is a func() bool that a load shedder can take.
// A nil Guard reports no pressure.
func (g *Guard) Pressure() bool { return g != nil && g.pressure.Load() }

// OnLevel registers fn to be called with the new level each time the level
// changes, until cancel is called. Calls come one at a time, in
// registration order, from a goroutine of the guard's own that the
// controller does not wait for: a slow or blocked fn delays only the other
// callbacks, and changes that happen meanwhile reach them as the latest
// level, not one by one. fn may call Stop and the guard's other methods; a
// panic in fn is recovered, counted in [Stats.CallbackPanics] and logged.
// fn is not called for the level in force when it is registered; read
// [Guard.Level] for that. cancel is idempotent.
func (g *Guard) OnLevel(fn func(Level)) (cancel func()) {
	if fn == nil {
		panic("gcguard: OnLevel(nil)")
	}
	g.cbMu.Lock()
	if g.cbs == nil { // a zero Guard: it never calls back
		g.cbs = map[uint64]func(Level){}
	}
	id := g.nextCB
	g.nextCB++
	g.cbs[id] = fn
	g.cbMu.Unlock()
	return func() {
		g.cbMu.Lock()
		delete(g.cbs, id)
		g.cbMu.Unlock()
	}
}

// trigger fires once per GC cycle: a cleanup attached to an unreachable
// sentinel runs after the cycle that frees it and attaches a new one.
type trigger struct {
	stopped atomic.Bool
	kick    chan struct{}
}

// sentinel is large enough and holds a pointer, so it is never a tiny
// allocation (cleanups on tiny objects may never run).
type sentinel struct {
	_ *int
	_ [48]byte
}

func (t *trigger) arm() {
	runtime.AddCleanup(new(sentinel), fired, t)
}

func fired(t *trigger) {
	if t.stopped.Load() {
		return
	}
	select {
	case t.kick <- struct{}{}:
	default: // a run is already pending; it will see this cycle
	}
	t.arm()
}

// readGOGC returns the GOGC in force, -1 for off. It reads runtime/metrics,
// so unlike a debug.SetGCPercent round trip it changes nothing, even for an
// instant, under other goroutines.
func readGOGC() int {
	s := [1]metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s[:])
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 100 // not on this runtime: assume the default
	}
	if v := s[0].Value.Uint64(); v <= math.MaxInt32 {
		return int(v)
	}
	return -1 // the runtime reports off as the largest uint64
}
