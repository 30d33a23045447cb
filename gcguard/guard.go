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
)

// ErrNoTarget is returned by [Start] when no memory target is known: no
// [WithMemoryTarget], no GOMEMLIMIT, and no cgroup memory limit.
var ErrNoTarget = errors.New("gcguard: no memory target (no cgroup memory limit, GOMEMLIMIT unset; use WithMemoryTarget)")

// Sources of the target and of the settings, as reported in [Stats].
const (
	SourceOption       = "option"        // the target came from WithMemoryTarget
	SourceCgroup       = "cgroup"        // the target came from the cgroup memory limit
	SourceEnv          = "env"           // the environment set it; the guard leaves it alone
	SourceCode         = "code"          // code ran before Start set it (tune/auto does); the guard leaves it alone
	SourceGuard        = "guard"         // the guard sets it
	SourceOverrideEnv  = "override-env"  // the guard sets it over the environment (WithOverride)
	SourceOverrideCode = "override-code" // the guard sets it over earlier code (WithOverride)
	SourceDryRun       = "dry-run"       // the guard only reports what it would set
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
	Target       int64  `json:"target_bytes"`
	TargetSource string `json:"target_source"`
	HardLimit    int64  `json:"hard_limit_bytes"` // 0 when unknown
	DryRun       bool   `json:"dry_run"`

	// GOGC and MemoryLimit are what the guard chose: the values in force
	// where it controls them, what it would set otherwise.
	GOGC        int    `json:"gogc"` // -1 means off
	GOGCSource  string `json:"gogc_source"`
	MemoryLimit int64  `json:"memory_limit_bytes"`
	LimitSource string `json:"limit_source"`

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
}

// Guard is a running GC controller. Its methods are safe for concurrent
// use; Level and Pressure take no locks.
type Guard struct {
	opts     options
	applyGC  bool // the guard sets GOGC
	applyLim bool // the guard sets GOMEMLIMIT

	// How the target and the hard limit are re-derived after Start.
	readLims   func(root string) (hard, high int64, err error)
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

	cbMu   sync.Mutex
	cbs    map[uint64]func(Level)
	nextCB uint64

	trig     *trigger
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// Start resolves the memory target, sets GOMEMLIMIT to it as a safety net
// (unless the environment or earlier code set one, or dry run), and starts
// the controller: it runs once after every GC cycle, and on a coarse timer
// while no GC runs. Call [Guard.Stop] to stop it and restore the settings.
//
// Start returns an error for a bad option, [ErrNoTarget] when no memory
// target is known, and an error when the target exceeds the hard limit.
func Start(opts ...Option) (*Guard, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt.apply(&o); err != nil {
			return nil, err
		}
	}

	origGOGC := readGOGC()
	origLimit := debug.SetMemoryLimit(-1) // a negative input only reads it

	g := &Guard{opts: o, origGOGC: origGOGC, origLimit: origLimit, cbs: map[uint64]func(Level){}, readLims: readLimits}
	cfg := o.cfg
	st := &g.stats

	// Who owns each setting: the environment and earlier code win unless
	// the caller hands control over.
	owner := func(env string, setInCode bool) (string, bool) {
		switch {
		case o.dryRun:
			return SourceDryRun, false
		case os.Getenv(env) != "" && o.override:
			return SourceOverrideEnv, true
		case os.Getenv(env) != "":
			return SourceEnv, false
		case setInCode && o.override:
			return SourceOverrideCode, true
		case setInCode:
			return SourceCode, false
		}
		return SourceGuard, true
	}
	st.GOGCSource, g.applyGC = owner("GOGC", origGOGC != 100)
	st.LimitSource, g.applyLim = owner("GOMEMLIMIT", origLimit != math.MaxInt64)

	// The target: the option, else a limit already set, else the cgroup.
	hard, high, lerr := g.readLims(o.root)
	g.lastCgroup = o.now()
	if cfg.hard == 0 {
		cfg.hard, g.cgHard = hard, true
	}
	switch {
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
		}
	default:
		lim := tightest(hard, high)
		g.cgTarget = true
		if lim <= 0 {
			if lerr != nil {
				return nil, fmt.Errorf("%w: %w", ErrNoTarget, lerr)
			}
			return nil, ErrNoTarget
		}
		cfg.target, st.TargetSource = int64(float64(lim)*o.ratio), SourceCgroup
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
	go g.loop()
	return g, nil
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
	s := g.read(g.opts.now())
	g.retarget(s, gc)
	d := g.ctl.step(s)
	st := &g.stats
	if gc {
		st.Cycles++
	} else {
		st.TimerRuns++
	}
	applyGC := func() {
		if d.gogc != g.gogc && g.applyGC {
			setGCPercent(d.gogc)
			g.gogc, g.setGOGC = d.gogc, true
		}
	}
	applyLim := func() {
		if d.limit != g.limit && g.applyLim {
			debug.SetMemoryLimit(d.limit)
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
		g.notify(d.level)
	}
}

// tightest returns the lower of two limits, 0 meaning none.
func tightest(hard, high int64) int64 {
	if high > 0 && (hard <= 0 || high < hard) {
		return high
	}
	return max(hard, 0)
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
			if lim := tightest(h, hi); g.cgTarget && lim > 0 {
				target = int64(float64(lim) * g.opts.ratio)
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
	for _, fn := range fns {
		fn(l)
	}
}

// Stop stops the controller, waits for it, and restores the GOGC and memory
// limit that were in force at Start where the guard changed them. A setting
// that no longer has the value the guard last gave it was changed since by
// someone else, who owns it now: Stop leaves it alone. It is safe to call
// more than once and from several goroutines.
func (g *Guard) Stop() {
	g.stopOnce.Do(func() {
		g.trig.stopped.Store(true)
		close(g.stop)
		<-g.done
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.setGOGC {
			if cur := readGOGC(); cur == g.gogc {
				setGCPercent(g.origGOGC)
				g.gogc = g.origGOGC
			} else if l := g.opts.logger; l != nil {
				l.Info("gcguard: GOGC changed by someone else; not restored", "gogc", cur, "guard_set", g.gogc)
			}
			g.setGOGC = false
		}
		if g.setLimit {
			if cur := debug.SetMemoryLimit(-1); cur == g.limit {
				debug.SetMemoryLimit(g.origLimit)
				g.limit = g.origLimit
			} else if l := g.opts.logger; l != nil {
				l.Info("gcguard: memory limit changed by someone else; not restored", "memory_limit", cur, "guard_set", g.limit)
			}
			g.setLimit = false
		}
	})
}

// Stats returns a snapshot of what the guard saw and decided.
func (g *Guard) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.stats
	s.Adjustments = maps.Clone(s.Adjustments)
	return s
}

// Level returns the current pressure level without taking a lock; it is
// cheap enough for every request.
func (g *Guard) Level() Level { return Level(g.level.Load()) }

// Pressure reports, without taking a lock, whether the level is at or above
// the level set by [WithPressureAt] (critical by default). The method value
// g.Pressure is a func() bool that a load shedder can take.
func (g *Guard) Pressure() bool { return g.pressure.Load() }

// OnLevel registers fn to be called with the new level each time the level
// changes, until cancel is called. Calls come one at a time, in registration
// order, from the guard's goroutine: fn must return quickly and must not
// call Stop. fn is not called for the level in force when it is registered;
// read [Guard.Level] for that. cancel is idempotent.
func (g *Guard) OnLevel(fn func(Level)) (cancel func()) {
	if fn == nil {
		panic("gcguard: OnLevel(nil)")
	}
	g.cbMu.Lock()
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
