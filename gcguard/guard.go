package gcguard

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"runtime"
	"runtime/debug"
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
	SourceCode         = "code"          // code ran before Start set it; the guard leaves it alone
	SourceGuard        = "guard"         // the guard sets it
	SourceOverrideEnv  = "override-env"  // the guard sets it over the environment (WithOverride)
	SourceOverrideCode = "override-code" // the guard sets it over earlier code (WithOverride)
	SourceDryRun       = "dry-run"       // the guard only reports what it would set
)

// readLimits returns the cgroup's hard memory limit (memory.max) and its
// throttling limit (memory.high), tightest over the ancestors, 0 for none.
// Tests replace it.
var readLimits = cgroupLimits

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
	EffectiveGOGC int       `json:"effective_gogc"` // where the heap goal sits, in GOGC units
	GCCPU         float64   `json:"gc_cpu_share"`   // GC share of non-idle CPU over the window
	Window        string    `json:"gc_cpu_window"`  // the window, as a duration string
	Cycles        uint64    `json:"gc_runs"`        // controller runs triggered by a GC cycle
	TimerRuns     uint64    `json:"timer_runs"`     // controller runs triggered by the idle timer
	LastRun       time.Time `json:"last_run"`

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

	origGOGC := debug.SetGCPercent(100)
	debug.SetGCPercent(origGOGC)
	origLimit := debug.SetMemoryLimit(-1)

	g := &Guard{opts: o, origGOGC: origGOGC, origLimit: origLimit, cbs: map[uint64]func(Level){}}
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
	hard, high, lerr := readLimits(o.root)
	if cfg.hard == 0 {
		cfg.hard = hard
	}
	switch {
	case o.target > 0:
		cfg.target, st.TargetSource = o.target, SourceOption
	case origLimit != math.MaxInt64:
		cfg.target = origLimit
		st.TargetSource = SourceCode
		if os.Getenv("GOMEMLIMIT") != "" {
			st.TargetSource = SourceEnv
		}
	default:
		lim := hard
		if high > 0 && (lim == 0 || high < lim) {
			lim = high
		}
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
	d := g.ctl.step(s)
	st := &g.stats
	if gc {
		st.Cycles++
	} else {
		st.TimerRuns++
	}
	if d.gogc != g.gogc && g.applyGC {
		debug.SetGCPercent(d.gogc)
		g.gogc, g.setGOGC = d.gogc, true
	}
	if d.limit != g.limit && g.applyLim {
		debug.SetMemoryLimit(d.limit)
		g.limit, g.setLimit = d.limit, true
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
// limit that were in force at Start where the guard changed them. It is safe
// to call more than once and from several goroutines.
func (g *Guard) Stop() {
	g.stopOnce.Do(func() {
		g.trig.stopped.Store(true)
		close(g.stop)
		<-g.done
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.setGOGC {
			debug.SetGCPercent(g.origGOGC)
			g.gogc, g.setGOGC = g.origGOGC, false
		}
		if g.setLimit {
			debug.SetMemoryLimit(g.origLimit)
			g.limit, g.setLimit = g.origLimit, false
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
