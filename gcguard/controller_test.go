package gcguard

import (
	"math"
	"slices"
	"testing"
	"time"
)

const mib = 1 << 20

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// testConfig is the default policy with a 460 MiB target (90% of 512 MiB)
// under a 512 MiB hard limit, for a guard that owns the memory limit.
func testConfig() config {
	c := defaultConfig()
	c.target = 460 * mib
	c.hard = 512 * mib
	c.ownsLimit = true
	return c
}

// steady is a sample of a heap with the given live size, GOGC and limit in
// force, and its goal where GOGC puts it.
func steady(at time.Duration, live int64, gogc int, limit int64) sample {
	s := sample{
		at:      t0.Add(at),
		cycles:  uint64(at / time.Millisecond),
		live:    live,
		stacks:  64 << 10,
		globals: 32 << 10,
		nonHeap: 8 * mib,
		gogc:    gogc,
		limit:   limit,
	}
	s.goal = live + (live+s.stacks+s.globals)*int64(max(gogc, 0))/100
	if s.goal > limit-s.nonHeap {
		s.goal = limit - s.nonHeap
	}
	return s
}

func TestControllerGOGC(t *testing.T) {
	cfg := testConfig()
	type step struct {
		at       time.Duration
		live     int64
		wantGOGC int
		wantAdj  []string
	}
	tests := []struct {
		name  string
		start int  // GOGC in force at the first sample
		noNet bool // the guard does not set the memory limit (environment's GOMEMLIMIT, or dry run)
		steps []step
		limit int64 // the limit in force in the samples; 0: none
	}{
		// Netted (the guard's limit at the target is the net, live heap
		// under elevatedAt/2 of the target: 161 MiB), GOGC aims past the
		// room and the limit sets the goal; otherwise GOGC aims inside it,
		// less markSlack of the live heap.
		{"small heap raises to max", 100, false, []step{
			{0, 64 * mib, 500, []string{reasonRaise, reasonLimit}},
		}, 0},
		{"no live heap yet changes nothing", 100, false, []step{
			{0, 0, 100, []string{reasonLimit}},
		}, 0},
		{"netted, GOGC aims past the room while the heap is small", 100, false, []step{
			{0, 150 * mib, 329, []string{reasonRaise, reasonLimit}},         // inside would be 169
			{100 * time.Millisecond, 170 * mib, 278, []string{reasonLower}}, // 0.37: within the hysteresis
			{200 * time.Millisecond, 190 * mib, 109, []string{reasonLower}}, // 0.41: inside
			{300 * time.Millisecond, 165 * mib, 143, []string{reasonRaise}}, // 0.36: not yet back
			{400 * time.Millisecond, 150 * mib, 329, []string{reasonRaise}}, // 0.33: past again
		}, 0},
		{"without the net, GOGC aims inside the room", 100, true, []step{
			{0, 150 * mib, 169, []string{reasonRaise, reasonLimit}},
		}, 0},
		// A limit at the target that the guard follows (tune/auto's, the
		// environment's) is a net too.
		{"a followed limit at the target is a net", 100, true, []step{
			{0, 150 * mib, 329, []string{reasonRaise}},
			{100 * time.Millisecond, 100 * mib, 500, []string{reasonRaise}}, // not rate limited
		}, 460 * mib},
		// A followed limit below the target bases the net aim on it, so
		// that GOGC bounds the heap should the runtime let it past that
		// limit; the inside aim stays on the target.
		{"a followed limit below the target is the base of the net aim", 100, true, []step{
			{0, 100 * mib, 315, []string{reasonRaise, reasonLimit}}, // on the target: 500
			{100 * time.Millisecond, 150 * mib, 169, []string{reasonLower}},
		}, 300 * mib},
		{"a followed limit above the target is no net", 100, true, []step{
			{0, 150 * mib, 169, []string{reasonRaise, reasonLimit}},
			{100 * time.Millisecond, 100 * mib, 169, nil}, // wants 312: rate limited
		}, 600 * mib},
		{"with the limit as a net, a raise follows the next cycle", 100, false, []step{
			{0, 300 * mib, 26, []string{reasonLower, reasonLimit}},
			{100 * time.Millisecond, 200 * mib, 97, []string{reasonRaise}},
		}, 0},
		// Without the net raises wait minInterval; lowerings do not.
		{"without the limit as a net, a raise is rate limited", 25, true, []step{
			{0, 200 * mib, 97, []string{reasonRaise, reasonLimit}},
			{100 * time.Millisecond, 100 * mib, 97, nil}, // wants 312
			{200 * time.Millisecond, 300 * mib, 26, []string{reasonLower}},
			{300 * time.Millisecond, 100 * mib, 26, nil},
			{time.Second, 100 * mib, 312, []string{reasonRaise}},
		}, 0},
		{"lowering is never rate limited", 100, false, []step{
			{0, 64 * mib, 500, []string{reasonRaise, reasonLimit}},
			{10 * time.Millisecond, 300 * mib, 26, []string{reasonLower}},
			{20 * time.Millisecond, 380 * mib, 10, []string{reasonLower}},
		}, 0},
		{"changes inside the deadband are not applied", 50, false, []step{
			{0, 200 * mib, 97, []string{reasonRaise, reasonLimit}},
			{2 * time.Second, 195 * mib, 97, nil}, // wants 103: +6%
			{4 * time.Second, 205 * mib, 97, nil}, // wants 92: -5%
		}, 0},
		{"live heap over the target clamps to min", 100, false, []step{
			{0, 500 * mib, 10, []string{reasonLower, reasonLimit}},
		}, 0},
		{"GOGC off is brought down", -1, false, []step{
			{0, 64 * mib, 500, []string{reasonLower, reasonLimit}},
		}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cfg
			cfg.ownsLimit = !tc.noNet
			c := newController(cfg, &ledger{})
			gogc := tc.start
			for i, st := range tc.steps {
				limit := tc.limit
				if limit == 0 {
					limit = math.MaxInt64
				}
				d := c.step(steady(st.at, st.live, gogc, limit))
				if d.gogc != st.wantGOGC || !slices.Equal(d.adjust, st.wantAdj) {
					t.Errorf("step %d (live %d MiB): gogc = %d adjust %v, want %d adjust %v",
						i, st.live/mib, d.gogc, d.adjust, st.wantGOGC, st.wantAdj)
				}
				gogc = d.gogc
			}
		})
	}
}

func TestControllerWantGOGCFormula(t *testing.T) {
	cfg := testConfig()
	c := newController(cfg, &ledger{})
	s := steady(0, 200*mib, 100, cfg.target)
	// The goal the runtime would compute from it must land at frac of the
	// room the target leaves for the heap, less slack × the live heap.
	for _, tc := range []struct{ frac, slack float64 }{{cfg.goalFrac, 0}, {cfg.goalFrac, markSlack}, {cfg.goalFrac * netAim, 0}} {
		got := c.wantGOGC(s, cfg.target, tc.frac, tc.slack)
		goal := float64(s.live) + float64(s.live+s.stacks+s.globals)*float64(got)/100
		room := float64(cfg.target-s.nonHeap)*tc.frac - tc.slack*float64(s.live)
		if goal > room || goal < room-float64(s.live+s.stacks+s.globals)/100 {
			t.Errorf("wantGOGC(live 200 MiB, %v, %v) = %d: goal %.0f MiB, want just under %.0f MiB", tc.frac, tc.slack, got, goal/mib, room/mib)
		}
	}
}

func TestControllerGCCPUWindow(t *testing.T) {
	cfg := testConfig()
	cfg.window = 10 * time.Second
	c := newController(cfg, &ledger{})
	// cpu builds a sample with cumulative CPU seconds: total, idle, gc and
	// idle mark.
	cpu := func(at time.Duration, total, idle, gc, markIdle float64) sample {
		s := steady(at, 64*mib, 100, math.MaxInt64)
		s.cycles++ // every one after the guard's first cycle
		s.totalCPU, s.idleCPU, s.gcCPU, s.markIdle = total, idle, gc, markIdle
		return s
	}
	c.step(steady(0, 64*mib, 100, math.MaxInt64)) // Start: before any cycle of the guard's
	steps := []struct {
		s    sample
		want float64
	}{
		{cpu(0, 0, 0, 0, 0), 0},
		// 10 busy seconds, 2 of them GC; 1s of idle mark work is neither.
		{cpu(time.Second, 21, 10, 3, 1), 0.2},
		// Same accounting again (timer run between GCs): unchanged.
		{cpu(2*time.Second, 21, 10, 3, 1), 0.2},
		// 10 more busy seconds with no GC: 2/20.
		{cpu(5*time.Second, 31, 10, 3, 1), 0.1},
		// 12s: the window starts at 2s, so the base is the point at 2s... the
		// 0s point is dropped and the 1s/2s point (merged) is the base.
		{cpu(12*time.Second, 41, 10, 3, 1), 0},
	}
	for i, st := range steps {
		d := c.step(st.s)
		if math.Abs(d.gcCPU-st.want) > 1e-9 {
			t.Errorf("step %d: gc CPU share = %v, want %v", i, d.gcCPU, st.want)
		}
	}
}

// The first sample's CPU reading dates from the last cycle before the
// guard (the runtime updates the CPU classes when a cycle ends): the window
// must start at the first cycle that ends after it, not measure the GC the
// guard replaced.
func TestControllerGCCPUWindowSkipsStart(t *testing.T) {
	c := newController(testConfig(), &ledger{})
	cpu := func(at time.Duration, cycles uint64, total, gc float64) sample {
		s := steady(at, 150*mib, 100, math.MaxInt64)
		s.cycles, s.totalCPU, s.gcCPU = cycles, total, gc
		return s
	}
	steps := []struct {
		s    sample
		want float64
	}{
		{cpu(0, 10, 5, 4), 0},                        // Start: GC-heavy before the guard
		{cpu(100*time.Millisecond, 10, 5, 4), 0},     // timer run, no cycle ended
		{cpu(300*time.Millisecond, 11, 6, 4.5), 0},   // first cycle ended: the base
		{cpu(600*time.Millisecond, 12, 8, 4.7), 0.1}, // 0.2 s of GC in 2 s
	}
	for i, st := range steps {
		if d := c.step(st.s); math.Abs(d.gcCPU-st.want) > 1e-9 || d.level != LevelOK {
			t.Errorf("step %d: gc CPU share = %v, level %v; want %v, ok", i, d.gcCPU, d.level, st.want)
		}
	}
}

func TestControllerLevels(t *testing.T) {
	cfg := testConfig()
	frac := func(f float64) int64 { return int64(f * float64(cfg.target)) }
	type step struct {
		at   time.Duration
		live int64
		want Level
	}
	tests := []struct {
		name  string
		steps []step
	}{
		// With 8 MiB of non-heap memory the target binds (GOGC below 100)
		// from a live heap of about 0.47 of the target.
		{"thresholds", []step{
			{0, frac(0.3), LevelOK},
			{time.Second, frac(0.5), LevelElevated}, // the target binds
			{2 * time.Second, frac(0.71), LevelElevated},
			{3 * time.Second, frac(0.91), LevelCritical},
		}},
		{"rises at once, falls only past the hysteresis", []step{
			{0, frac(0.91), LevelCritical},
			{5 * time.Second, frac(0.87), LevelCritical},  // above 0.90-0.05
			{10 * time.Second, frac(0.72), LevelElevated}, // under the critical threshold and the GOGC floor
			{15 * time.Second, frac(0.45), LevelOK},
		}},
		{"falls only after the hold time", []step{
			{0, frac(0.95), LevelCritical},
			{500 * time.Millisecond, frac(0.3), LevelCritical},
			{time.Second, frac(0.3), LevelOK},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newController(cfg, &ledger{})
			for i, st := range tc.steps {
				if d := c.step(steady(st.at, st.live, 100, cfg.target)); d.level != st.want {
					t.Errorf("step %d: live %.2f of target: level = %v, want %v", i, float64(st.live)/float64(cfg.target), d.level, st.want)
				}
			}
		})
	}
}

func TestControllerCriticalSignals(t *testing.T) {
	cfg := testConfig()
	base := func(live int64) sample { return steady(time.Second, live, 100, cfg.target) }
	tests := []struct {
		name        string
		s           func() sample
		wantLevel   Level
		wantLimiter bool
	}{
		{"limiter engaged", func() sample {
			s := base(64 * mib)
			s.limiterLast = 7
			return s
		}, LevelCritical, true},
		{"effective GOGC collapsed near the target", func() sample {
			s := base(350 * mib) // 0.76 of the target
			s.goal = s.live + 5*mib
			return s
		}, LevelCritical, false},
		{"effective GOGC low far from the target is not a spiral", func() sample {
			s := base(64 * mib)
			s.goal = s.live + 1*mib
			return s
		}, LevelOK, false},
		{"GC CPU over budget while the target binds", func() sample {
			s := base(250 * mib) // 0.54 of the target: GOGC 71 would hold it
			s.totalCPU, s.gcCPU = 10, 3
			return s
		}, LevelCritical, false},
		{"target binds, GC CPU in budget", func() sample {
			s := base(250 * mib)
			s.totalCPU, s.gcCPU = 10, 1
			return s
		}, LevelElevated, false},
		{"GOGC floor reached", func() sample {
			return base(395 * mib) // 0.86: wants GOGC 8
		}, LevelCritical, false},
		{"GC CPU over budget with less room than twice the live heap", func() sample {
			s := base(170 * mib) // 0.37 of the target: GOGC 152 would hold it
			s.totalCPU, s.gcCPU = 10, 2
			return s
		}, LevelCritical, false},
		{"less room than twice the live heap, GC CPU in budget", func() sample {
			s := base(170 * mib)
			s.totalCPU, s.gcCPU = 10, 1
			return s
		}, LevelOK, false},
		{"GC CPU over budget with room to spare is allocation, not memory", func() sample {
			s := base(138 * mib) // 0.30 of the target: GOGC 211 would hold it
			s.totalCPU, s.gcCPU = 10, 2
			return s
		}, LevelElevated, false},
		{"GC CPU over budget alone", func() sample {
			s := base(64 * mib)
			s.totalCPU, s.gcCPU = 10, 3
			return s
		}, LevelElevated, false},
		{"GC CPU over budget near the target", func() sample {
			s := base(330 * mib) // 0.72 of the target
			s.totalCPU, s.gcCPU = 10, 3
			return s
		}, LevelCritical, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newController(cfg, &ledger{})
			c.step(steady(0, 64*mib, 100, cfg.target))                    // Start
			c.step(steady(500*time.Millisecond, 64*mib, 100, cfg.target)) // the guard's first cycle ends
			d := c.step(tc.s())
			if d.level != tc.wantLevel || d.limiterHit != tc.wantLimiter {
				t.Errorf("level, limiter = %v, %v; want %v, %v", d.level, d.limiterHit, tc.wantLevel, tc.wantLimiter)
			}
		})
	}
}

func TestControllerLimiterCountsOncePerActivation(t *testing.T) {
	cfg := testConfig()
	c := newController(cfg, &ledger{})
	hits := 0
	for i, last := range []uint64{3, 3, 5, 5, 5, 9} { // 3 was before the guard
		s := steady(time.Duration(i)*time.Second, 64*mib, 100, cfg.target)
		s.limiterLast = last
		if c.step(s).limiterHit {
			hits++
		}
	}
	if hits != 2 {
		t.Errorf("limiter activations = %d, want 2", hits)
	}
}

// spiralling is a sample near the target whose heap goal has collapsed.
func spiralling(at time.Duration, cfg config, limit int64) sample {
	s := steady(at, cfg.target*93/100, 25, limit)
	s.goal = s.live + mib
	return s
}

func TestControllerEscape(t *testing.T) {
	base := testConfig()
	tests := []struct {
		name        string
		headroom    int64
		hard        int64
		wantLimit   int64
		wantRefused string
	}{
		{"shed policy keeps the limit", 0, 512 * mib, 460 * mib, ""},
		{"headroom granted", 500 * mib, 512 * mib, 500 * mib, ""},
		{"headroom capped at the hard limit", 600 * mib, 512 * mib, 512 * mib, ""},
		{"no hard limit known", 500 * mib, 0, 460 * mib, "hard limit unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			cfg.headroom, cfg.hard = tc.headroom, tc.hard
			c := newController(cfg, &ledger{})
			c.step(steady(0, 64*mib, 100, cfg.target))
			d := c.step(spiralling(time.Second, cfg, cfg.target))
			if d.limit != tc.wantLimit || d.refused != tc.wantRefused || d.level != LevelCritical {
				t.Errorf("limit %d MiB, refused %q, level %v; want %d MiB, %q, critical",
					d.limit/mib, d.refused, d.level, tc.wantLimit/mib, tc.wantRefused)
			}
		})
	}
}

func TestControllerEscapeIsBoundedAndSurvivesReload(t *testing.T) {
	cfg := testConfig()
	cfg.headroom, cfg.headroomFor, cfg.cooldown = 500*mib, 30*time.Second, time.Minute
	l := &ledger{}
	c := newController(cfg, l)
	c.step(steady(0, 64*mib, 100, cfg.target))

	d := c.step(spiralling(time.Second, cfg, cfg.target))
	if d.limit != 500*mib || !slices.Contains(d.adjust, reasonHeadroom) {
		t.Fatalf("spiral: limit %d MiB adjust %v, want 500 MiB with %q", d.limit/mib, d.adjust, reasonHeadroom)
	}

	// A reload: a new controller on the same ledger keeps the escape and its
	// end, rather than forgetting it or granting a fresh 30s.
	c2 := newController(cfg, l)
	d = c2.step(spiralling(20*time.Second, cfg, 500*mib))
	if d.limit != 500*mib || !d.headroomEnd.Equal(t0.Add(31*time.Second)) {
		t.Errorf("after reload: limit %d MiB until %v, want 500 MiB until %v", d.limit/mib, d.headroomEnd, t0.Add(31*time.Second))
	}

	// It ends on time even while the spiral goes on, and is not granted
	// again during the cooldown.
	d = c2.step(spiralling(32*time.Second, cfg, 500*mib))
	if d.limit != cfg.target || !slices.Contains(d.adjust, reasonHeadroomEnd) || d.refused != "cooling down" {
		t.Errorf("after expiry: limit %d MiB adjust %v refused %q, want target, %q, cooling down", d.limit/mib, d.adjust, d.refused, reasonHeadroomEnd)
	}
	// After the cooldown a new escape may start.
	d = c2.step(spiralling(92*time.Second, cfg, cfg.target))
	if d.limit != 500*mib {
		t.Errorf("after cooldown: limit %d MiB, want 500 MiB", d.limit/mib)
	}
}

// TestControllerEscapeAimsInside: while an escape lifts the limit the limit
// is no net at the target, so GOGC aims inside the room even for a small
// live heap.
func TestControllerEscapeAimsInside(t *testing.T) {
	cfg := testConfig()
	cfg.headroom, cfg.headroomFor, cfg.cooldown = 500*mib, 30*time.Second, time.Minute
	c := newController(cfg, &ledger{})
	c.step(steady(0, 64*mib, 100, cfg.target))
	d := c.step(spiralling(time.Second, cfg, cfg.target))
	if d.limit != 500*mib {
		t.Fatalf("spiral: limit %d MiB, want the 500 MiB escape", d.limit/mib)
	}
	d = c.step(steady(2*time.Second, 150*mib, d.gogc, d.limit))
	if d.gogc != 169 || d.limit != 500*mib {
		t.Errorf("150 MiB live during the escape: GOGC %d, limit %d MiB; want 169 (inside the room, not 329), 500 MiB", d.gogc, d.limit/mib)
	}
	// Once the escape has ended the limit is the net again.
	d = c.step(steady(32*time.Second, 150*mib, d.gogc, d.limit))
	if d.limit != cfg.target {
		t.Fatalf("after the escape: limit %d MiB, want the target", d.limit/mib)
	}
	d = c.step(steady(33*time.Second, 150*mib, d.gogc, d.limit))
	if d.gogc != 329 {
		t.Errorf("150 MiB live after the escape: GOGC %d, want 329 (past the room again)", d.gogc)
	}
}

// TestControllerFloorIsNoSpiral: a goal that GOGC at its floor puts close to
// the live heap is the guard's own doing, not the limit holding it there, so
// it is neither a spiral nor a reason to lift the limit.
func TestControllerFloorIsNoSpiral(t *testing.T) {
	cfg := testConfig()
	cfg.headroom, cfg.headroomFor, cfg.cooldown = 500*mib, 30*time.Second, time.Minute
	c := newController(cfg, &ledger{})
	s := steady(0, cfg.target*8/10, cfg.minGOGC, cfg.target) // goal at 1.1× live
	d := c.step(s)
	if d.effGOGC >= cfg.spiralGOGC {
		t.Fatalf("effective GOGC %d: the case needs one under spiralGOGC %d", d.effGOGC, cfg.spiralGOGC)
	}
	if d.level != LevelElevated || d.limit != cfg.target || slices.Contains(d.adjust, reasonHeadroom) {
		t.Errorf("GOGC %d at 0.8 of the target: level %v, limit %d MiB, adjust %v; want elevated, the target, no escape",
			cfg.minGOGC, d.level, d.limit/mib, d.adjust)
	}
}

func TestLevelText(t *testing.T) {
	for _, l := range []Level{LevelOK, LevelElevated, LevelCritical} {
		b, err := l.MarshalText()
		if err != nil {
			t.Fatalf("%v.MarshalText() error %v", l, err)
		}
		var back Level
		if err := back.UnmarshalText(b); err != nil || back != l || string(b) != l.String() {
			t.Errorf("Level %d round trip: text %q, back %v, err %v", l, b, back, err)
		}
	}
	if _, err := Level(7).MarshalText(); err == nil {
		t.Errorf("Level(7).MarshalText() error = nil, want an error")
	}
	var l Level
	if err := l.UnmarshalText([]byte("high")); err == nil {
		t.Errorf("UnmarshalText(%q) error = nil, want an error", "high")
	}
}

func TestControllerRecentGCCPURaisesLevelFirst(t *testing.T) {
	cfg := testConfig()
	cfg.window = 10 * time.Second
	c := newController(cfg, &ledger{})
	at := func(d time.Duration, busy, gc float64) sample {
		s := steady(d, 250*mib, 100, cfg.target) // the target binds
		s.cycles++                               // every one after the guard's first cycle
		s.totalCPU, s.gcCPU = busy, gc
		return s
	}
	c.step(steady(0, 250*mib, 100, cfg.target)) // Start
	c.step(at(0, 0, 0))
	c.step(at(8*time.Second, 8, 0.4))
	if c.level != LevelElevated {
		t.Fatalf("GC at 5%% while the target binds: level %v, want elevated", c.level)
	}
	// 50% GC over the last 2s, 14% over the 10s window: the recent share is
	// over budget before the average is.
	d := c.step(at(10*time.Second, 10, 1.4))
	if math.Abs(d.gcCPU-0.14) > 1e-9 || d.level != LevelCritical {
		t.Errorf("GC at 50%% for 2s: window share %v, level %v; want 0.14, critical", d.gcCPU, d.level)
	}
}

// Under a fast leak cycles end every few tens of milliseconds, and a fifth
// of the window averages the GC's rising cost over dozens of them: the
// recent share spans the last few cycles instead.
func TestControllerRecentGCCPUFollowsFastCycles(t *testing.T) {
	cfg := testConfig()
	c := newController(cfg, &ledger{})
	c.step(steady(0, 170*mib, 100, cfg.target)) // Start; GOGC 152 holds the target: less room than twice live
	var busy, gc float64
	for i := 1; i <= 20; i++ {
		busy += 0.1
		gc += 0.002
		if i > 17 {
			gc += 0.038 // the last 3 cycles spend 40% on GC
		}
		s := steady(time.Duration(i)*100*time.Millisecond, 170*mib, 100, cfg.target)
		s.totalCPU, s.gcCPU = busy, gc
		d := c.step(s)
		switch {
		case i == 17 && d.level != LevelOK:
			t.Fatalf("cycle %d, GC at 2%%: level %v, want ok", i, d.level)
		case i == 20 && d.level != LevelCritical:
			// Over the last second the share is 13.4%, under the budget.
			t.Errorf("cycle %d, GC at 40%% for 3 cycles: level %v (window share %.3f), want critical", i, d.level, d.gcCPU)
		}
	}
}

func TestControllerEscapeNotInheritedWithoutPolicy(t *testing.T) {
	cfg := testConfig()
	cfg.headroom, cfg.headroomFor, cfg.cooldown = 500*mib, 30*time.Second, time.Minute
	l := &ledger{}
	c := newController(cfg, l)
	c.step(steady(0, 64*mib, 100, cfg.target))
	if d := c.step(spiralling(time.Second, cfg, cfg.target)); d.limit != 500*mib {
		t.Fatalf("spiral: limit %d MiB, want 500 MiB", d.limit/mib)
	}
	tests := []struct {
		name      string
		headroom  int64
		hard      int64
		wantLimit int64
	}{
		{"shed policy keeps its target", 0, 512 * mib, 460 * mib},
		{"lower hard limit caps the inherited escape", 500 * mib, 480 * mib, 480 * mib},
		{"same policy inherits", 500 * mib, 512 * mib, 500 * mib},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg2 := cfg
			cfg2.headroom, cfg2.hard = tc.headroom, tc.hard
			d := newController(cfg2, l).step(steady(2*time.Second, 64*mib, 100, 500*mib))
			if d.limit != tc.wantLimit {
				t.Errorf("reloaded guard: limit %d MiB, want %d MiB", d.limit/mib, tc.wantLimit/mib)
			}
		})
	}
}

func TestControllerEscapeNeedsTheLimit(t *testing.T) {
	cfg := testConfig()
	cfg.headroom, cfg.headroomFor, cfg.cooldown = 500*mib, 30*time.Second, time.Minute
	l := &ledger{}
	shadow := cfg
	shadow.ownsLimit = false
	c := newController(shadow, l)
	c.step(steady(0, 64*mib, 100, cfg.target))
	d := c.step(spiralling(time.Second, cfg, cfg.target))
	if d.limit != cfg.target || !d.headroomEnd.IsZero() || d.refused != refusedNotOwned || slices.Contains(d.adjust, reasonHeadroom) {
		t.Errorf("spiral without the limit: limit %d MiB until %v refused %q adjust %v; want the target, no escape, %q",
			d.limit/mib, d.headroomEnd, d.refused, d.adjust, refusedNotOwned)
	}
	// The ledger and its cooldown are untouched: a guard that owns the
	// limit still gets its escape.
	if d := newController(cfg, l).step(spiralling(2*time.Second, cfg, cfg.target)); d.limit != 500*mib {
		t.Errorf("owning guard after a refused one: limit %d MiB, want 500 MiB", d.limit/mib)
	}
	// Nor does a guard without the limit inherit the escape in progress.
	if d := newController(shadow, l).step(spiralling(3*time.Second, cfg, 500*mib)); d.limit != cfg.target || !d.headroomEnd.IsZero() {
		t.Errorf("guard without the limit during an escape: limit %d MiB until %v, want the target and none", d.limit/mib, d.headroomEnd)
	}
}

func TestControllerEffectiveGOGC(t *testing.T) {
	cfg := testConfig()
	tests := []struct {
		name string
		s    sample
		want int
	}{
		{"before the first cycle", steady(0, 0, 100, math.MaxInt64), 0},
		{"GOGC 100", steady(0, 64*mib, 100, math.MaxInt64), 100},
		{"goal at the live heap", func() sample { s := steady(0, 64*mib, 100, math.MaxInt64); s.goal = s.live; return s }(), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := newController(cfg, &ledger{}).step(tc.s); d.effGOGC != tc.want {
				t.Errorf("effective GOGC at live %d MiB, goal %d MiB = %d, want %d", tc.s.live/mib, tc.s.goal/mib, d.effGOGC, tc.want)
			}
		})
	}
}
