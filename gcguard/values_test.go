package gcguard

import (
	"math"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/owner"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The zero value of every option means its documented default, the same
// rule as in every gotune package.
func TestZeroOptionMeansDefault(t *testing.T) {
	fakeLimits(t, 0, 0, nil)
	start := func(opts ...Option) *Guard {
		t.Helper()
		g, err := Start(append([]Option{WithDryRun(), WithMemoryTarget(1 << 30), WithInterval(time.Hour)}, opts...)...)
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		t.Cleanup(g.Stop)
		return g
	}
	base := start()
	tests := []struct {
		name string
		opt  Option
	}{
		{"WithMemoryTarget(0)", WithMemoryTarget(0)},
		{"WithRatio(0)", WithRatio(0)},
		{"WithGOGCRange(0, 0)", WithGOGCRange(0, 0)},
		{"WithThresholds(0, 0)", WithThresholds(0, 0)},
		{"WithGCCPUBudget(0)", WithGCCPUBudget(0)},
		{"WithWindow(0)", WithWindow(0)},
		{"WithMinInterval(0)", WithMinInterval(0)},
		{"WithHardLimit(0)", WithHardLimit(0)},
		{"WithPressureAt(LevelOK)", WithPressureAt(LevelOK)},
		{"WithRoot(\"\")", WithRoot("")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := start(tc.opt)
			if g.ctl.cfg != base.ctl.cfg {
				t.Errorf("Start(%s) policy = %+v, want the default %+v", tc.name, g.ctl.cfg, base.ctl.cfg)
			}
			o, b := g.opts, base.opts
			if o.ratio != b.ratio || o.root != b.root || o.pressureAt != b.pressureAt || o.interval != b.interval ||
				o.noHard != b.noHard || o.noTarget != b.noTarget || o.target != b.target {
				t.Errorf("Start(%s) options differ from the defaults", tc.name)
			}
		})
	}
	// WithInterval(0): the default idle timer.
	g, err := Start(WithDryRun(), WithMemoryTarget(1<<30), WithInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	if g.opts.interval != defaultOptions().interval {
		t.Errorf("Start(WithInterval(0)) interval = %v, want the default %v", g.opts.interval, defaultOptions().interval)
	}
}

// A negative value means off: no hard limit, no hold, no GC CPU budget.
func TestNegativeOptionMeansOff(t *testing.T) {
	fakeLimits(t, 2<<30, 0, nil)
	g, err := Start(WithDryRun(), WithMemoryTarget(1<<30), WithInterval(time.Hour),
		WithHardLimit(-1), WithMinInterval(-1), WithGCCPUBudget(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	cfg := g.ctl.cfg
	if cfg.hard != 0 || g.cgHard || g.Stats().HardLimit != 0 {
		t.Errorf("WithHardLimit(-1): hard limit %d (re-read %v), want none", cfg.hard, g.cgHard)
	}
	if cfg.minInterval != 0 {
		t.Errorf("WithMinInterval(-1): hold %v, want 0", cfg.minInterval)
	}
	if !math.IsInf(cfg.cpuBudget, 1) {
		t.Errorf("WithGCCPUBudget(-1): budget %v, want none (+Inf)", cfg.cpuBudget)
	}
}

// Without a memory limit anywhere the guard runs without a target: it
// claims and sets nothing, does not count as the running guard, and its
// level follows the GC's CPU share.
func TestNoTargetSetsNothing(t *testing.T) {
	ownsSettings(t)
	fakeLimits(t, 0, 0, nil)
	clk := newFakeClock()
	p := fakeSamples(t)
	// cpu is a sample after cycles GC cycles with cumulative CPU seconds.
	cpu := func(cycles uint64, total, gc float64) *sample {
		s := steady(0, 16*mib, 100, math.MaxInt64)
		s.cycles, s.totalCPU, s.gcCPU = cycles, total, gc
		return &s
	}
	p.Store(cpu(10, 5, 1))
	g, err := Start(withClock(clk.now), WithInterval(time.Hour), WithoutKernelPressure())
	if err != nil {
		t.Fatalf("Start() without any limit: %v, want a guard without a target", err)
	}
	defer g.Stop()
	st := g.Stats()
	if st.Target != 0 || st.TargetSource != SourceNone || st.GOGCSource != SourceNone || st.LimitSource != SourceNone {
		t.Errorf("Stats: target %d from %q, GOGC from %q, limit from %q; want 0 from none everywhere",
			st.Target, st.TargetSource, st.GOGCSource, st.LimitSource)
	}
	for _, s := range []owner.Setting{owner.GOGC, owner.GOMEMLIMIT} {
		if who, _, ok := owner.Holder(s); ok {
			t.Errorf("%v held by %s; a guard without a target claims nothing", s, who)
		}
	}
	// Another guard, with a target, may start beside it.
	g2, err := Start(WithMemoryTarget(1<<30), WithInterval(time.Hour))
	if err != nil {
		t.Fatalf("Start with a target beside a guard without one: %v", err)
	}
	g2.Stop()

	clk.advance(300 * time.Millisecond)
	p.Store(cpu(11, 6, 1.5)) // the first cycle under the guard: the window's base
	g.run(true)
	clk.advance(300 * time.Millisecond)
	p.Store(cpu(12, 8, 2.0)) // 0.5 s of GC in 2 s: over the 15% budget
	g.run(true)
	if l := g.Level(); l != LevelElevated {
		t.Errorf("level with GC CPU over budget and no target = %v, want elevated", l)
	}
	if gogc, l := settings(); gogc != 100 || l != math.MaxInt64 {
		t.Errorf("after runs: GOGC %d limit %d, want the runtime's defaults untouched", gogc, l)
	}
	if st := g.Stats(); st.GOGC != 100 || st.MemoryLimit != math.MaxInt64 || len(st.Adjustments) != 0 && st.Adjustments["raise"]+st.Adjustments["lower"]+st.Adjustments["limit"] != 0 {
		t.Errorf("Stats: GOGC %d limit %d adjustments %v; want what is in force and no adjustments", st.GOGC, st.MemoryLimit, st.Adjustments)
	}
}

// A non-empty name is the constant label name, as in every collector.
func TestCollectorName(t *testing.T) {
	fakeLimits(t, 0, 0, nil)
	fakeSamples(t)
	g, err := Start(WithDryRun(), WithMemoryTarget(1<<30), WithInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(g, "main"))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "name" && lp.GetValue() == "main" {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: no label name=\"main\" in %v", mf.GetName(), m.GetLabel())
			}
		}
	}
	if n := testutil.CollectAndCount(NewCollector(g, "main")); n == 0 {
		t.Errorf("CollectAndCount = 0")
	}
}
