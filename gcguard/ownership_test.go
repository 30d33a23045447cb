package gcguard

import (
	"math"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cgroupFake is a cgroup whose limits a test changes while a Guard runs (an
// in-place resize), counting the reads.
type cgroupFake struct {
	hard, high atomic.Int64
	reads      atomic.Int64
}

// fakeResizable makes Guards started after it read their cgroup limits from
// the returned fake.
func fakeResizable(t *testing.T, hard, high int64) *cgroupFake {
	t.Helper()
	f := new(cgroupFake)
	f.hard.Store(hard)
	f.high.Store(high)
	old := readLimits
	readLimits = func(string) (int64, int64, error) {
		f.reads.Add(1)
		return f.hard.Load(), f.high.Load(), nil
	}
	t.Cleanup(func() { readLimits = old })
	return f
}

// fakeClock is a clock a test moves by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := new(fakeClock)
	c.ns.Store(t0.UnixNano())
	return c
}

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// ownsSettings skips the test unless the test process runs with the
// runtime's defaults, which a guard without WithOverride takes over.
func ownsSettings(t *testing.T) {
	t.Helper()
	if gogc, limit := settings(); gogc != 100 || limit != math.MaxInt64 {
		t.Skipf("test process runs with GOGC %d, limit %d; the guard would not own them", gogc, limit)
	}
}

// A limit already in force at Start (tune/auto's) is reported as set in
// code and followed: after an in-place resize moves memory.max from 1 GiB
// to 512 MiB and tune sets 0.9 × 512 MiB, the guard's target, hard limit
// and thresholds move with it, and it still leaves the limit alone.
func TestFollowsLimitSetInCodeAcrossResize(t *testing.T) {
	ownsSettings(t)
	cg := fakeResizable(t, 1<<30, 0)
	clk := newFakeClock()
	p := fakeSamples(t)
	before := int64(1<<30) * 9 / 10
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(before)) // tune/auto at init
	s := steady(0, 64*mib, 100, before)
	p.Store(&s)
	g, err := Start(withClock(clk.now), WithInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	st := g.Stats()
	if st.Target != before || st.TargetSource != SourceCode || st.LimitSource != SourceCode || st.HardLimit != 1<<30 {
		t.Fatalf("at Start: target %d from %q, limit source %q, hard %d; want %d from code, code, %d",
			st.Target, st.TargetSource, st.LimitSource, st.HardLimit, before, 1<<30)
	}

	// The resize: memory.max 1 GiB → 512 MiB; tune re-sets GOMEMLIMIT.
	after := int64(512*mib) * 9 / 10
	cg.hard.Store(512 * mib)
	debug.SetMemoryLimit(after)
	s = steady(0, 440*mib, 100, after) // 0.95 of the new limit
	p.Store(&s)
	clk.advance(10 * time.Second)
	g.run(false)

	st = g.Stats()
	if st.Target != after || st.HardLimit != 512*mib || st.TargetSource != SourceCode {
		t.Errorf("after the resize: target %d (%s) hard %d, want %d (code) hard %d",
			st.Target, st.TargetSource, st.HardLimit, after, 512*mib)
	}
	if st.Level != LevelCritical || st.MemoryLimit != after {
		t.Errorf("live heap 440 MiB under a %d MiB limit: level %v, chosen limit %d; want critical, %d",
			after>>20, st.Level, st.MemoryLimit, after)
	}
	if _, l := settings(); l != after {
		t.Errorf("memory limit in force %d, want tune's %d left alone", l, after)
	}
	if st.Adjustments[reasonLimit] != 0 {
		t.Errorf("following the limit counted %d limit adjustments, want 0 (the guard sets nothing)", st.Adjustments[reasonLimit])
	}
}

// A limit tune/auto set at init is as good a net as the guard's own: with a
// live heap at 0.27 of it, the guard aims GOGC's goal past the room and
// lets that limit set the goal, as it would under its own limit.
func TestFollowedLimitIsANet(t *testing.T) {
	ownsSettings(t)
	fakeLimits(t, 1<<30, 0, nil)
	p := fakeSamples(t)
	limit := int64(1<<30) * 9 / 10
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(limit)) // tune/auto at init
	s := steady(0, 250*mib, 100, limit)
	p.Store(&s)
	g, err := Start(WithInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	c := newController(g.ctl.cfg, &ledger{})
	past := c.wantGOGC(s, limit, c.cfg.goalFrac*netAim, 0)
	inside := c.wantGOGC(s, limit, c.cfg.goalFrac, markSlack)
	st := g.Stats()
	if st.LimitSource != SourceCode || st.GOGC != past || past <= inside {
		t.Errorf("live 250 MiB under tune's %d MiB limit: GOGC %d (limit from %q); want %d, past the room (inside would be %d), limit from code",
			limit>>20, st.GOGC, st.LimitSource, past, inside)
	}
	if gogc, l := settings(); gogc != st.GOGC || l != limit {
		t.Errorf("in force: GOGC %d, limit %d; want %d and tune's %d", gogc, l, st.GOGC, limit)
	}
}

// A target from the cgroup is re-derived on the idle timer, at most every
// cgroupEvery, and the guard moves the limit it owns with it.
func TestCgroupResizeMovesOwnedTarget(t *testing.T) {
	ownsSettings(t)
	cg := fakeResizable(t, 1<<30, 0)
	clk := newFakeClock()
	p := fakeSamples(t)
	s := steady(0, 64*mib, 100, math.MaxInt64)
	p.Store(&s)
	g, err := Start(withClock(clk.now), WithInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	ratio := 0.9 // WithRatio's default
	before := int64(float64(1<<30) * ratio)
	if _, l := settings(); l != before {
		t.Fatalf("after Start: limit %d, want %d", l, before)
	}
	reads := cg.reads.Load()

	cg.hard.Store(512 * mib)
	after := int64(float64(512*mib) * ratio)
	clk.advance(time.Second)
	g.run(false) // too soon after Start's read
	g.run(true)  // GC cycles never read the cgroup
	if n := cg.reads.Load() - reads; n != 0 {
		t.Errorf("cgroup read %d times within a second of Start, want 0 (rate limited)", n)
	}
	clk.advance(10 * time.Second)
	g.run(true)
	if st := g.Stats(); st.Target != before {
		t.Errorf("after a GC run: target %d, want %d until the idle timer re-reads", st.Target, before)
	}
	g.run(false)
	g.run(false)
	if n := cg.reads.Load() - reads; n != 1 {
		t.Errorf("cgroup read %d times by two timer runs in the same instant, want 1", n)
	}
	st := g.Stats()
	if st.Target != after || st.HardLimit != 512*mib || st.TargetSource != SourceCgroup {
		t.Errorf("after the resize: target %d (%s) hard %d, want %d (cgroup) hard %d",
			st.Target, st.TargetSource, st.HardLimit, after, 512*mib)
	}
	if _, l := settings(); l != after {
		t.Errorf("memory limit in force %d, want the new target %d", l, after)
	}
	g.Stop()
	if _, l := settings(); l != math.MaxInt64 {
		t.Errorf("after Stop: limit %d, want none", l)
	}
}

// Stop restores a setting only while it is still the one the guard set:
// whoever changed it since owns it now.
func TestStopLeavesSettingsChangedByOthers(t *testing.T) {
	ownsSettings(t)
	fakeLimits(t, 0, 0, nil)
	p := fakeSamples(t)
	s := steady(0, 64*mib, 100, math.MaxInt64)
	p.Store(&s)
	g, err := Start(WithMemoryTarget(1<<30), WithInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if gogc, l := settings(); gogc != 500 || l != 1<<30 {
		g.Stop()
		t.Fatalf("after Start: GOGC %d limit %d, want 500 and %d", gogc, l, 1<<30)
	}
	// Someone else moves both; the test puts back what it found.
	defer debug.SetGCPercent(100)
	defer debug.SetMemoryLimit(math.MaxInt64)
	debug.SetGCPercent(120)
	debug.SetMemoryLimit(700 * mib)
	g.Stop()
	if gogc, l := settings(); gogc != 120 || l != 700*mib {
		t.Errorf("after Stop: GOGC %d limit %d, want the values set since, 120 and %d", gogc, l, 700*mib)
	}
}

// A guard that does not own the memory limit cannot lift it, so it grants
// no escape: nothing in Stats says one is in progress, and the process's
// ledger and cooldown stay free for a guard that can.
func TestEscapeRefusedWhenLimitNotOwned(t *testing.T) {
	cfg := testConfig()
	tests := []struct {
		name      string
		env       string
		codeLimit int64
		opts      []Option
	}{
		{"environment", "1GiB", 0, nil},
		{"code", "", 700 * mib, nil},
		{"dry run", "", 0, []Option{WithDryRun()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fakeLimits(t, 0, 0, nil)
			processLedger = ledger{}
			t.Cleanup(func() { processLedger = ledger{} })
			t.Setenv("GOMEMLIMIT", tc.env)
			if tc.codeLimit > 0 {
				defer debug.SetMemoryLimit(debug.SetMemoryLimit(tc.codeLimit))
			}
			_, limit := settings()
			p := fakeSamples(t)
			s := spiralling(0, cfg, cfg.target)
			p.Store(&s)
			opts := append([]Option{WithMemoryTarget(cfg.target), WithHardLimit(cfg.hard),
				WithHeadroom(600*mib, time.Hour, time.Hour), WithInterval(time.Hour)}, tc.opts...)
			g, err := Start(opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Stop()
			st := g.Stats()
			if st.Headroom || st.Adjustments[reasonHeadroom] != 0 || st.MemoryLimit != cfg.target ||
				st.EscapeRefused != "limit not owned by the guard" || st.Level != LevelCritical {
				t.Errorf("spiral with the limit owned by %s: headroom %v (%d adjustments), chosen limit %d MiB, refused %q, level %v; "+
					"want no headroom, %d MiB, %q, critical", st.LimitSource, st.Headroom, st.Adjustments[reasonHeadroom],
					st.MemoryLimit>>20, st.EscapeRefused, st.Level, cfg.target>>20, "limit not owned by the guard")
			}
			if _, _, ok := processLedger.active(s.at); ok {
				t.Errorf("the process ledger holds an escape no one applied")
			}
			if _, l := settings(); l != limit {
				t.Errorf("memory limit %d, want %d left alone", l, limit)
			}
		})
	}
}

// Start reads GOGC without setting it: goroutines reading GOGC while guards
// start and stop for half a second never see anything but the value set in
// code. (A debug.SetGCPercent round trip shows through within a few
// hundred starts when any watcher shares the CPU with it.)
func TestStartDoesNotChangeGOGCToReadIt(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs to watch GOGC while Start runs")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	fakeLimits(t, 0, 0, nil)
	fakeSamples(t)
	defer debug.SetGCPercent(debug.SetGCPercent(150))
	var seen atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if v := readGOGC(); v != 150 {
					seen.Store(int64(v))
					return
				}
			}
		}()
	}
	for end := time.Now().Add(500 * time.Millisecond); time.Now().Before(end) && seen.Load() == 0; {
		g, err := Start(WithDryRun(), WithMemoryTarget(1<<30), WithInterval(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		g.Stop()
	}
	close(stop)
	wg.Wait()
	if v := seen.Load(); v != 0 {
		t.Errorf("GOGC read %d while guards started, want 150 throughout", v)
	}
}

// Start and Stop of a guard that sets nothing call debug.SetGCPercent
// zero times.
func TestDryRunNeverCallsSetGCPercent(t *testing.T) {
	fakeLimits(t, 0, 0, nil)
	fakeSamples(t)
	var calls atomic.Int64
	old := setGCPercent
	setGCPercent = func(p int) int { calls.Add(1); return old(p) }
	defer func() { setGCPercent = old }()
	g, err := Start(WithDryRun(), WithMemoryTarget(1<<30), WithInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	g.run(false)
	g.Stop()
	if n := calls.Load(); n != 0 {
		t.Errorf("dry-run Start, run and Stop called debug.SetGCPercent %d times, want 0", n)
	}
}

func TestReadGOGC(t *testing.T) {
	for _, in := range []int{150, 30, -1, 100} {
		old := debug.SetGCPercent(in)
		got := readGOGC()
		debug.SetGCPercent(old)
		if got != in {
			t.Errorf("readGOGC() after SetGCPercent(%d) = %d, want %d", in, got, in)
		}
	}
}
