package gcguard

import (
	"math"
	"sort"
	"sync"
	"time"
)

// sample is one reading of the runtime/metrics the controller needs. It is
// filled by readSample in the real Guard and by hand in tests, so every
// policy edge can be driven without a real GC.
type sample struct {
	at          time.Time
	cycles      uint64  // /gc/cycles/total:gc-cycles
	live        int64   // /gc/heap/live:bytes (0 before the first cycle ends)
	goal        int64   // /gc/heap/goal:bytes
	stacks      int64   // /gc/scan/stack:bytes
	globals     int64   // /gc/scan/globals:bytes
	nonHeap     int64   // runtime memory counted by GOMEMLIMIT that is not heap
	gogc        int     // /gc/gogc:percent, -1 when off
	limit       int64   // /gc/gomemlimit:bytes
	gcCPU       float64 // /cpu/classes/gc/total:cpu-seconds
	markIdle    float64 // /cpu/classes/gc/mark/idle:cpu-seconds
	totalCPU    float64 // /cpu/classes/total:cpu-seconds
	idleCPU     float64 // /cpu/classes/idle:cpu-seconds
	limiterLast uint64  // /gc/limiter/last-enabled:gc-cycle
}

// config is the resolved, validated policy. Fractions are of the memory
// target.
type config struct {
	target      int64   // memory target in bytes
	hard        int64   // hard ceiling (cgroup memory.max or WithHardLimit); 0 = unknown
	minGOGC     int     // floor for the GOGC the guard sets
	maxGOGC     int     // ceiling for the GOGC the guard sets
	goalFrac    float64 // aim the GOGC heap goal at this fraction of the room under the target
	elevatedAt  float64 // live/target at which the level becomes elevated
	criticalAt  float64 // live/target at which the level becomes critical
	hysteresis  float64 // how far below a threshold the level must fall to drop
	cpuBudget   float64 // GC CPU share (window) that counts as over budget
	spiralGOGC  int     // effective GOGC below which, near the target, the GC is spiralling
	window      time.Duration
	minInterval time.Duration // least time between two raises of GOGC; also the level hold time
	deadband    float64       // relative GOGC change smaller than this is not applied
	headroom    int64         // limit the escape may lift GOMEMLIMIT to; 0 = keep the limit and shed
	headroomFor time.Duration // how long one escape lasts
	cooldown    time.Duration // least time between the end of one escape and the next
	ownsLimit   bool          // the guard sets GOMEMLIMIT; without it no escape is granted or inherited
	noTarget    bool          // no memory target: levels from GC CPU alone, GOGC and the limit as in force
}

func defaultConfig() config {
	return config{
		minGOGC:     10, // low enough for markSlack to hold; see there
		maxGOGC:     500,
		goalFrac:    0.95,
		elevatedAt:  0.70,
		criticalAt:  0.90,
		hysteresis:  0.05,
		cpuBudget:   0.15,
		spiralGOGC:  10,
		window:      5 * time.Second,
		minInterval: time.Second,
		deadband:    0.10,
		headroomFor: 30 * time.Second,
		cooldown:    5 * time.Minute,
	}
}

// Reasons for an adjustment, the bounded label set of the adjustments
// counter and the keys of [Stats.Adjustments].
const (
	reasonRaise       = "raise"        // GOGC raised: live heap far below the target
	reasonLower       = "lower"        // GOGC lowered: live heap approaching the target
	reasonLimit       = "limit"        // GOMEMLIMIT set to the target (the safety net)
	reasonHeadroom    = "headroom"     // GOMEMLIMIT lifted to escape a death spiral
	reasonHeadroomEnd = "headroom_end" // the escape expired; GOMEMLIMIT back at the target
)

// refusedNotOwned is why a guard that does not set the memory limit takes
// no escape.
const refusedNotOwned = "limit not owned by the guard"

// ledger remembers escapes across Guards in one process, so that stopping
// and starting a Guard (a configuration reload) neither forgets an escape in
// progress nor grants a fresh one before the cooldown has passed.
type ledger struct {
	mu        sync.Mutex
	until     time.Time // end of the current or last escape
	limit     int64     // the lifted limit of the current or last escape
	hasEscape bool
}

// processLedger is shared by every Guard in the process.
var processLedger ledger

// active reports the lifted limit if an escape is in progress at now.
func (l *ledger) active(now time.Time) (int64, time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hasEscape && now.Before(l.until) {
		return l.limit, l.until, true
	}
	return 0, time.Time{}, false
}

// grant starts an escape unless one ran within cooldown of now.
func (l *ledger) grant(now time.Time, limit int64, d, cooldown time.Duration) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hasEscape && now.Before(l.until.Add(cooldown)) {
		return time.Time{}, false
	}
	l.hasEscape, l.limit, l.until = true, limit, now.Add(d)
	return l.until, true
}

// cpuPoint is one point of the GC CPU window.
type cpuPoint struct {
	at   time.Time
	gc   float64 // GC CPU seconds excluding idle mark work
	busy float64 // non-idle CPU seconds excluding idle mark work
}

// decision is what one controller step wants.
type decision struct {
	gogc        int   // GOGC the policy wants in force
	limit       int64 // GOMEMLIMIT the policy wants in force
	level       Level
	gcCPU       float64 // GC CPU share over the window
	effGOGC     int     // effective GOGC the runtime is running at
	limiterHit  bool    // the GC CPU limiter engaged since the last step
	adjust      []string
	headroomEnd time.Time // end of an escape in progress; zero if none
	refused     string    // why the escape was not taken, if it was wanted
}

// controller is the pure policy: it turns samples into decisions and keeps
// the state that rate limits and hysteresis need. It is not safe for
// concurrent use; the Guard serialises calls.
type controller struct {
	cfg     config
	ledger  *ledger
	started bool

	gogc      int   // GOGC last decided
	limit     int64 // GOMEMLIMIT last decided
	lastRaise time.Time
	level     Level
	seen      [3]time.Time // last time the raw level was at least each level
	prevLim   uint64
	points    []cpuPoint
	escaping  bool
	// aimingPast: the last GOGC aimed past the room (see netAim).
	aimingPast bool
	// startCycles is the GC cycle count at the first sample. The runtime
	// updates the CPU classes only when a cycle ends, so the first sample's
	// CPU reading is from the last cycle before the guard; the window
	// starts at the first cycle that ends after it, so that it measures
	// the GC under the guard's own GOGC and not the one it replaced.
	startCycles uint64
}

func newController(cfg config, l *ledger) *controller {
	return &controller{cfg: cfg, ledger: l}
}

// step runs the policy on one sample.
func (c *controller) step(s sample) decision {
	var d decision
	if !c.started {
		c.started = true
		c.gogc = s.gogc
		c.limit = s.limit
		c.prevLim = s.limiterLast
		c.startCycles = s.cycles
		_, _, c.escaping = c.activeEscape(s.at) // a Guard before us lifted the limit
	}

	// GC CPU over the window.
	var recent float64
	d.gcCPU, recent = c.window(s)

	// GC CPU limiter: the runtime records the last cycle in which it was on.
	if s.limiterLast > c.prevLim {
		d.limiterHit = true
	}
	c.prevLim = s.limiterLast

	// Effective GOGC: where the heap goal in force sits above the live heap,
	// in the units the runtime uses (live heap plus stacks plus globals).
	// Before the first cycle ends there is no live heap: 0, unknown.
	d.effGOGC = 0
	if s.live > 0 {
		if s.goal <= s.live {
			d.effGOGC = 0
		} else {
			d.effGOGC = int(min(float64(s.goal-s.live)*100/float64(s.live+s.stacks+s.globals), math.MaxInt32))
		}
	}

	if c.cfg.noTarget {
		// Nothing to steer toward: report what is in force, and the level
		// the GC's CPU share (and the limiter, where some limit engages it)
		// gives on its own.
		d.level = c.levelFor(s.at, signals{share: max(d.gcCPU, recent), limiter: d.limiterHit})
		d.gogc, d.limit = s.gogc, s.limit
		c.gogc, c.limit = d.gogc, d.limit
		return d
	}
	frac := float64(s.live) / float64(c.cfg.target)
	// A spiral is the limit, not GOGC, holding the goal this close to the
	// live heap: a GOGC at the floor puts the goal there too (the effective
	// GOGC reads one under it, rounded down) and is no spiral.
	limitHolds := s.gogc < 0 || d.effGOGC < s.gogc-1
	spiral := s.live > 0 && d.effGOGC < c.cfg.spiralGOGC && limitHolds && frac >= c.cfg.elevatedAt

	// The target binds once holding it takes a GOGC below the runtime's
	// default: the GC now runs more often than it would unguarded, because
	// of memory. At the GOGC floor, GOGC alone can no longer hold it.
	//
	// The signals read the GOGC that puts the goal inside the room (need);
	// the GOGC set (want) aims past it while a limit at or below the target
	// is the net and the live heap is small: see netAim. Once aiming past, the
	// live heap must pass the boundary by the hysteresis to stop, so that a
	// heap at the boundary does not flip GOGC between the two aims every
	// cycle.
	want := c.gogc
	var sig signals
	base, netted := c.netted(s)
	if s.live > 0 {
		need := c.wantGOGC(s, c.cfg.target, c.cfg.goalFrac, 0)
		sig.binds, sig.floor = need < 100, need <= c.cfg.minGOGC
		sig.tight = need < 2*100
		bound := c.cfg.elevatedAt / 2
		if c.aimingPast {
			bound += c.cfg.hysteresis
		}
		small := float64(s.live)/float64(base) < bound
		c.aimingPast = netted && small
		if c.aimingPast {
			want = c.wantGOGC(s, base, c.cfg.goalFrac*netAim, 0)
		} else {
			want = c.wantGOGC(s, c.cfg.target, c.cfg.goalFrac, markSlack)
		}
	}
	sig.frac, sig.share, sig.limiter, sig.spiral = frac, max(d.gcCPU, recent), d.limiterHit, spiral
	d.level = c.levelFor(s.at, sig)

	// Heap-target policy: let the heap grow toward the target while the live
	// heap is small, pull it back as the live heap approaches.
	d.gogc = c.gogc
	if s.live > 0 {
		switch {
		case want > c.gogc && c.gogc >= 0:
			// With a memory limit at the target as a net under the heap, a
			// raise cannot overshoot the target, so it follows every cycle;
			// without it (no limit or one above the target, the guard only
			// advises, or an escape lifted it) raises are rate limited.
			big := float64(want-c.gogc) >= c.cfg.deadband*float64(max(c.gogc, 1)) || want == c.cfg.maxGOGC
			free := netted || c.lastRaise.IsZero() || s.at.Sub(c.lastRaise) >= c.cfg.minInterval
			if big && free {
				d.gogc, c.lastRaise = want, s.at
				d.adjust = append(d.adjust, reasonRaise)
			}
		case want < c.gogc || c.gogc < 0:
			// Lowering is never rate limited: it is the safe direction.
			if c.gogc < 0 || float64(c.gogc-want) >= c.cfg.deadband*float64(c.gogc) || want == c.cfg.minGOGC {
				d.gogc = want
				d.adjust = append(d.adjust, reasonLower)
			}
		}
	}
	c.gogc = d.gogc

	// Safety net: GOMEMLIMIT at the target, or lifted for a bounded escape.
	d.limit = c.cfg.target
	if lim, until, ok := c.activeEscape(s.at); ok {
		d.limit, d.headroomEnd = lim, until
	} else if (spiral || d.limiterHit) && frac >= c.cfg.criticalAt-c.cfg.hysteresis {
		d.limit, d.headroomEnd, d.refused = c.escape(s.at)
	}
	switch {
	case d.limit > c.cfg.target && c.limit != d.limit:
		d.adjust = append(d.adjust, reasonHeadroom)
		c.escaping = true
	case d.limit == c.cfg.target && c.limit != d.limit:
		if c.escaping {
			d.adjust = append(d.adjust, reasonHeadroomEnd)
		} else {
			d.adjust = append(d.adjust, reasonLimit)
		}
		c.escaping = false
	}
	c.limit = d.limit
	return d
}

// netted reports whether a memory limit at or below the target bounds the
// heap, and the limit to aim past: the guard's own at the target, or one in
// force that it follows (tune/auto's, the environment's), and no escape has
// lifted it. A followed limit below the target is the base of the net aim,
// so that GOGC never aims past the lower of the two.
func (c *controller) netted(s sample) (int64, bool) {
	switch {
	case c.escaping:
		return c.cfg.target, false
	case c.cfg.ownsLimit:
		return c.cfg.target, true
	case s.limit > 0 && s.limit <= c.cfg.target:
		return s.limit, true
	}
	return c.cfg.target, false
}

// activeEscape returns an escape in progress, granted by this controller or
// by one before it in the process, if this controller's policy allows one:
// a Guard without the headroom policy, with a lower hard limit, or that does
// not own the limit does not inherit a lifted limit.
func (c *controller) activeEscape(now time.Time) (int64, time.Time, bool) {
	if c.cfg.headroom <= c.cfg.target || c.cfg.hard <= 0 || !c.cfg.ownsLimit {
		return 0, time.Time{}, false
	}
	lim, until, ok := c.ledger.active(now)
	lim = min(lim, c.cfg.headroom, c.cfg.hard)
	if !ok || lim <= c.cfg.target {
		return 0, time.Time{}, false
	}
	return lim, until, true
}

// escape decides on lifting the memory limit during a death spiral. Only a
// guard that sets the limit may take an escape: one that cannot apply it
// (the environment's or earlier code's limit, dry run) must not report one
// in progress, nor spend the process's escape and cooldown.
func (c *controller) escape(now time.Time) (int64, time.Time, string) {
	switch {
	case c.cfg.headroom <= c.cfg.target:
		return c.cfg.target, time.Time{}, "" // policy: keep the limit, shed load
	case !c.cfg.ownsLimit:
		return c.cfg.target, time.Time{}, refusedNotOwned
	case c.cfg.hard <= 0:
		return c.cfg.target, time.Time{}, "hard limit unknown"
	}
	lim := min(c.cfg.headroom, c.cfg.hard)
	if lim <= c.cfg.target {
		return c.cfg.target, time.Time{}, "no room under the hard limit"
	}
	until, ok := c.ledger.grant(now, lim, c.cfg.headroomFor, c.cfg.cooldown)
	if !ok {
		return c.cfg.target, time.Time{}, "cooling down"
	}
	return lim, until, ""
}

// netAim is how far past the room the GOGC goal aims while a memory limit
// at or below the target is the net under the heap (see netted) and the
// live heap is under half the elevated threshold.
//
// GOGC puts the goal at a multiple of the heap marked in the cycle that is
// about to end, not of the one the guard measured, and on an
// allocation-heavy service the marked heap swings by a third from cycle to
// cycle with what is allocated while marking (bench/peers/gcguard: 85-153 MB on a
// 64 MiB live set). A GOGC aimed at the room therefore landed the goal
// anywhere from 77% to 100% of it, and every cycle that ended short was a
// cycle the memory did not ask for (11 cycles where GOGC=off under the same
// limit took 9-10). The limit's goal does not swing, and the runtime uses
// the lower of the two goals: aiming GOGC's goal half as far again past the
// room leaves the limit setting the goal unless the marked heap falls by a
// third, and the limit still holds the heap at the target. Without the net
// (no limit or one above the target, an escape that lifted it) GOGC alone
// bounds the heap and aims inside the room; so it does once the live heap
// is large enough that what is allocated while marking needs room of its
// own (see markSlack).
const netAim = 1.5

// markSlack is the part of the live heap that the GOGC goal leaves free
// under the room when GOGC, not the limit, sets the goal: the heap
// allocated while a cycle marks lands past the goal, and marking takes time
// in proportion to the live heap. On bench/peers/gcguard's step (256 MiB live in
// a 460.8 MiB target, allocating 3 GB/s on 2 cores) cycles ended 20-100 MB
// past a goal at 95% of the room and peak RSS reached 470-478 MiB. The
// slack only holds where the GOGC floor lets it: at the floor of 25 the
// goal sat at 1.25× a marked heap of 340 MB, above the slack's aim, and 3
// of 16 runs still went over the target (up to 478 MiB); with the floor at
// 10, 3 of 23 (463-468 MiB). The rest of the overshoot comes from the
// step itself, 192 MiB allocated within a cycle, which no per-cycle
// control can answer.
const markSlack = 1.0 / 6

// wantGOGC is the GOGC that puts the heap goal at frac of the room that
// target leaves for the heap less slack × the live heap, clamped to
// [minGOGC, maxGOGC]. The runtime's goal is live + (live + stacks +
// globals) × GOGC/100.
func (c *controller) wantGOGC(s sample, target int64, frac, slack float64) int {
	room := float64(target-s.nonHeap)*frac - slack*float64(s.live)
	g := (room - float64(s.live)) * 100 / float64(s.live+s.stacks+s.globals)
	switch {
	case g <= float64(c.cfg.minGOGC):
		return c.cfg.minGOGC
	case g >= float64(c.cfg.maxGOGC):
		return c.cfg.maxGOGC
	}
	return int(g)
}

// window adds s to the GC CPU window and returns the share of non-idle CPU
// time spent on GC over it, and over its last fifth or last few cycles (so
// the level can rise before the average catches up). Idle mark work runs on otherwise idle Ps,
// so it is left out of both sides.
func (c *controller) window(s sample) (share, recent float64) {
	if s.cycles == c.startCycles {
		return 0, 0
	}
	p := cpuPoint{at: s.at, gc: s.gcCPU - s.markIdle, busy: s.totalCPU - s.idleCPU - s.markIdle}
	if n := len(c.points); n > 0 && p.busy == c.points[n-1].busy {
		// No new CPU accounting since the last point (the runtime updates
		// these at GC time): keep the window as it was.
		c.points[n-1].at = p.at
	} else {
		c.points = append(c.points, p)
	}
	// Keep one point at or before the window's start as the base.
	base := func(d time.Duration) int {
		start := s.at.Add(-d)
		// The first point after the start, less one; points are in time order.
		i := sort.Search(len(c.points), func(j int) bool { return c.points[j].at.After(start) })
		return max(i-1, 0)
	}
	c.points = c.points[base(c.cfg.window):]
	last := c.points[len(c.points)-1]
	between := func(first cpuPoint) float64 {
		if last.busy <= first.busy {
			return 0
		}
		return min(max((last.gc-first.gc)/(last.busy-first.busy), 0), 1)
	}
	// The recent share spans the window's last fifth or the last
	// recentCycles cycles, whichever is shorter: a point is added only when
	// a cycle has ended, and under a fast leak a fifth of the window holds
	// dozens of cycles and lags the GC's cost by as much.
	return between(c.points[0]), between(c.points[max(base(c.cfg.window/5), len(c.points)-1-recentCycles)])
}

// recentCycles is the most GC cycles the recent share spans.
const recentCycles = 3

// signals are the inputs of the level.
type signals struct {
	frac    float64 // live heap / target
	share   float64 // GC CPU share over the window or its recent part, whichever is higher
	limiter bool    // the GC CPU limiter engaged
	spiral  bool    // the effective GOGC collapsed near the target
	binds   bool    // holding the target takes a GOGC below 100
	floor   bool    // holding the target takes the GOGC floor
	tight   bool    // holding the target takes a GOGC below 200: less room than twice the live heap
}

// levelFor applies the thresholds, rising at once and falling only past the
// hysteresis and after the higher level has not been seen for minInterval.
//
// Critical: the live heap is past the critical threshold, the limiter
// engaged, the GC is spiralling, the GOGC floor is reached, or GC CPU is
// over budget while memory is what drives it: the heap past the elevated
// threshold, or the target leaving the heap less room to grow than twice
// the live heap (GOGC under 200). Elevated: the heap past the elevated
// threshold, GC CPU over budget, or the target binding (GOGC under 100).
//
// The memory test for critical GC CPU is GOGC 200 rather than binding
// (GOGC under 100) because of how a leak looks from here: the GC's share
// grows as live/(room − live), so by the time the target binds it has
// already passed a 25% share on an allocation-heavy service (bench/peers/gcguard,
// leak phase). A service whose GC is over budget with more room than that
// is allocation-bound, not memory-bound: elevated, not critical.
func (c *controller) levelFor(now time.Time, sg signals) Level {
	raw := func(h float64) Level {
		cpu := c.cfg.cpuBudget * (1 - h)
		memory := sg.frac >= c.cfg.elevatedAt-h || sg.binds
		switch {
		case sg.frac >= c.cfg.criticalAt-h, sg.limiter, sg.spiral, sg.floor,
			sg.share >= cpu && (memory || sg.tight):
			return LevelCritical
		case memory, sg.share >= cpu:
			return LevelElevated
		}
		return LevelOK
	}
	up := raw(0)
	for l := LevelOK; l <= up; l++ {
		c.seen[l] = now
	}
	switch {
	case up >= c.level:
		c.level = up
	default:
		down := raw(c.cfg.hysteresis)
		if down < c.level && now.Sub(c.seen[c.level]) >= c.cfg.minInterval {
			c.level = down
		}
	}
	return c.level
}
