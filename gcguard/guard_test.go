package gcguard

import (
	"encoding/json"
	"errors"
	"math"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeLimits makes Start see the given cgroup limits.
func fakeLimits(t testing.TB, hard, high int64, err error) {
	t.Helper()
	old := readLimits
	readLimits = func(string) (int64, int64, error) { return hard, high, err }
	t.Cleanup(func() { readLimits = old })
}

// fakeSamples makes Guards started after it read *p instead of the runtime.
func fakeSamples(t *testing.T) *atomic.Pointer[sample] {
	t.Helper()
	p := new(atomic.Pointer[sample])
	s := steady(0, 0, 100, math.MaxInt64)
	p.Store(&s)
	old := newSampler
	newSampler = func() func(time.Time) sample {
		return func(at time.Time) sample { s := *p.Load(); s.at = at; return s }
	}
	t.Cleanup(func() { newSampler = old })
	return p
}

// settings returns the GOGC and memory limit in force, changing neither.
func settings() (int, int64) {
	return readGOGC(), debug.SetMemoryLimit(-1)
}

func TestStartRejectsBadOptions(t *testing.T) {
	fakeLimits(t, 0, 0, nil)
	tests := []struct {
		name string
		opt  Option
		want string
	}{
		{"target below the floor", WithMemoryTarget(1), "WithMemoryTarget(1)"},
		{"ratio above one", WithRatio(1.5), "WithRatio(1.5)"},
		{"ratio NaN", WithRatio(math.NaN()), "WithRatio(NaN)"},
		{"inverted GOGC range", WithGOGCRange(300, 100), "WithGOGCRange(300, 100)"},
		{"GOGC floor zero", WithGOGCRange(0, 100), "WithGOGCRange(0, 100)"},
		{"thresholds inverted", WithThresholds(0.9, 0.7), "WithThresholds(0.9, 0.7)"},
		{"CPU budget one", WithGCCPUBudget(1), "WithGCCPUBudget(1)"},
		{"negative window", WithWindow(-time.Second), "WithWindow(-1s)"},
		{"headroom without time", WithHeadroom(1<<30, 0, 0), "WithHeadroom(1073741824, 0s, 0s)"},
		{"pressure at no level", WithPressureAt(Level(7)), "WithPressureAt(Level(7))"},
		{"negative timer", WithInterval(-time.Second), "WithInterval(-1s)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Start(WithDryRun(), WithMemoryTarget(1<<30), tc.opt)
			if err == nil {
				g.Stop()
				t.Fatalf("Start(%s) error = nil, want an error", tc.want)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "gcguard: ") || !strings.Contains(msg, tc.want) {
				t.Errorf("Start(%s) error = %q, want it prefixed gcguard: and naming %s", tc.want, msg, tc.want)
			}
		})
	}
}

func TestStartTarget(t *testing.T) {
	readErr := errors.New("cgroup: bad file")
	tests := []struct {
		name       string
		hard, high int64
		err        error
		opts       []Option
		codeLimit  int64 // GOMEMLIMIT set in code before Start; 0 = none
		wantTarget int64
		wantSource Source
		wantErr    error
		wantErrMsg string
	}{
		{"cgroup max", 1000 << 20, 0, nil, nil, 0, 900 << 20, SourceCgroup, nil, ""},
		{"cgroup high tighter", 1000 << 20, 500 << 20, nil, nil, 0, 450 << 20, SourceCgroup, nil, ""},
		{"cgroup with ratio", 1000 << 20, 0, nil, []Option{WithRatio(0.5)}, 0, 500 << 20, SourceCgroup, nil, ""},
		{"option wins", 1000 << 20, 0, nil, []Option{WithMemoryTarget(300 << 20)}, 0, 300 << 20, SourceOption, nil, ""},
		{"limit set in code", 1000 << 20, 0, nil, nil, 700 << 20, 700 << 20, SourceCode, nil, ""},
		{"no limit anywhere", 0, 0, nil, nil, 0, 0, SourceNone, nil, ""},
		{"no limit, target required", 0, 0, nil, []Option{WithTargetRequired()}, 0, 0, "", ErrNoTarget, ""},
		{"no target asked for", 1000 << 20, 0, nil, []Option{WithMemoryTarget(NoTarget)}, 0, 0, SourceNone, nil, ""},
		{"cgroup unreadable", 0, 0, readErr, nil, 0, 0, "", readErr, ""},
		{"target above hard limit", 1000 << 20, 0, nil, []Option{WithMemoryTarget(2000 << 20)}, 0, 0, "", nil,
			"gcguard: memory target 2097152000 exceeds the hard limit 1048576000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fakeLimits(t, tc.hard, tc.high, tc.err)
			if tc.codeLimit > 0 {
				old := debug.SetMemoryLimit(tc.codeLimit)
				defer debug.SetMemoryLimit(old)
			}
			g, err := Start(append([]Option{WithDryRun()}, tc.opts...)...)
			switch {
			case tc.wantErr != nil || tc.wantErrMsg != "":
				if err == nil {
					g.Stop()
					t.Fatalf("Start() error = nil, want %v%s", tc.wantErr, tc.wantErrMsg)
				}
				if (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) || (tc.wantErrMsg != "" && err.Error() != tc.wantErrMsg) {
					t.Errorf("Start() error = %v, want %v%s", err, tc.wantErr, tc.wantErrMsg)
				}
				return
			case err != nil:
				t.Fatalf("Start() error = %v", err)
			}
			defer g.Stop()
			st := g.Stats()
			if st.Target != tc.wantTarget || st.TargetSource != tc.wantSource || st.HardLimit != tc.hard {
				t.Errorf("Start() target %d from %q hard %d, want %d from %q hard %d",
					st.Target, st.TargetSource, st.HardLimit, tc.wantTarget, tc.wantSource, tc.hard)
			}
		})
	}
}

func TestSources(t *testing.T) {
	fakeLimits(t, 0, 0, nil)
	tests := []struct {
		name               string
		gogcEnv, limitEnv  string
		opts               []Option
		wantGOGC, wantLim  Source
		wantApplyGOGC, lim bool
	}{
		{"guard owns both", "", "", nil, SourceGuard, SourceGuard, true, true},
		{"environment wins", "150", "1GiB", nil, SourceEnv, SourceEnv, false, false},
		{"override hands control over", "150", "", []Option{WithOverride()}, SourceOverrideEnv, SourceGuard, true, true},
		{"dry run sets nothing", "", "", []Option{WithDryRun()}, SourceDryRun, SourceDryRun, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOGC", tc.gogcEnv)
			t.Setenv("GOMEMLIMIT", tc.limitEnv)
			fakeSamples(t)
			g, err := Start(append([]Option{WithMemoryTarget(1 << 30)}, tc.opts...)...)
			if err != nil {
				t.Fatalf("Start() error = %v", err)
			}
			defer g.Stop()
			st := g.Stats()
			if st.GOGCSource != tc.wantGOGC || st.LimitSource != tc.wantLim || g.applyGC != tc.wantApplyGOGC || g.applyLim != tc.lim {
				t.Errorf("sources GOGC %q (applied %v), limit %q (applied %v); want %q (%v), %q (%v)",
					st.GOGCSource, g.applyGC, st.LimitSource, g.applyLim, tc.wantGOGC, tc.wantApplyGOGC, tc.wantLim, tc.lim)
			}
		})
	}
}

// waitFor calls runtime.GC until cond holds, for at most 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDryRunSetsNothing(t *testing.T) {
	fakeLimits(t, 0, 0, nil)
	p := fakeSamples(t)
	s := steady(0, 64*mib, 100, math.MaxInt64)
	p.Store(&s)
	gogc, limit := settings()
	g, err := Start(WithDryRun(), WithMemoryTarget(460*mib))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	st := g.Stats()
	if st.GOGC != 500 || st.MemoryLimit != 460*mib || !st.DryRun {
		t.Errorf("dry run Stats: GOGC %d limit %d dry %v, want 500 %d true", st.GOGC, st.MemoryLimit, st.DryRun, 460*mib)
	}
	if g2, l2 := settings(); g2 != gogc || l2 != limit {
		t.Errorf("dry run changed settings: GOGC %d→%d, limit %d→%d", gogc, g2, limit, l2)
	}
}

func TestLevelDrivesCallbacks(t *testing.T) {
	fakeLimits(t, 0, 0, nil)
	p := fakeSamples(t)
	ok := steady(0, 64*mib, 100, 460*mib)
	p.Store(&ok)
	g, err := Start(WithDryRun(), WithMemoryTarget(460*mib), WithMinInterval(0), WithPressureAt(LevelElevated), WithInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	if g.Level() != LevelOK || g.Pressure() {
		t.Fatalf("at start: Level() = %v, Pressure() = %v, want ok, false", g.Level(), g.Pressure())
	}

	var mu sync.Mutex
	var got, gotCanceled []Level
	cancel := g.OnLevel(func(l Level) { mu.Lock(); got = append(got, l); mu.Unlock() })
	cancel2 := g.OnLevel(func(l Level) { mu.Lock(); gotCanceled = append(gotCanceled, l); mu.Unlock() })
	cancel2()
	cancel2() // idempotent
	seen := func(n int) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= n }
	}

	crit := steady(0, 440*mib, 100, 460*mib)
	p.Store(&crit)
	waitFor(t, "critical callback", seen(1)) // the GC cycle runs the controller
	if g.Level() != LevelCritical || !g.Pressure() {
		t.Errorf("at 440 of 460 MiB: Level() = %v, Pressure() = %v, want critical, true", g.Level(), g.Pressure())
	}
	elev := steady(0, 340*mib, 100, 460*mib)
	p.Store(&elev)
	waitFor(t, "elevated callback", seen(2))
	if !g.Pressure() {
		t.Errorf("elevated with WithPressureAt(elevated): Pressure() = false, want true")
	}
	cancel()
	p.Store(&ok)
	waitFor(t, "level ok", func() bool { return g.Level() == LevelOK })

	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] != LevelCritical || got[1] != LevelElevated {
		t.Errorf("callback saw %v, want [critical elevated]", got)
	}
	if len(gotCanceled) != 0 {
		t.Errorf("canceled callback saw %v, want nothing", gotCanceled)
	}
	if st := g.Stats(); st.LevelChanges != 3 || st.Cycles == 0 {
		t.Errorf("Stats: %d level changes, %d GC runs; want 3 and > 0", st.LevelChanges, st.Cycles)
	}
}

func TestStopRestoresInProcess(t *testing.T) {
	fakeLimits(t, 0, 0, nil)
	gogc, limit := settings()
	if gogc != 100 || limit != math.MaxInt64 {
		t.Skipf("test process runs with GOGC %d, limit %d; the guard would not own them", gogc, limit)
	}
	g, err := Start(WithMemoryTarget(1 << 30))
	if err != nil {
		t.Fatal(err)
	}
	if _, l := settings(); l != 1<<30 {
		t.Errorf("after Start: limit %d, want the target %d", l, 1<<30)
	}
	waitFor(t, "GOGC raised", func() bool { g, _ := settings(); return g > 100 })
	g.Stop()
	g.Stop() // idempotent
	if g2, l2 := settings(); g2 != gogc || l2 != limit {
		t.Errorf("after Stop: GOGC %d limit %d, want %d %d", g2, l2, gogc, limit)
	}
	st := g.Stats()
	if st.Adjustments[reasonRaise] == 0 || st.Adjustments[reasonLimit] != 1 {
		t.Errorf("Stats().Adjustments = %v, want a raise and one limit", st.Adjustments)
	}
	b, err := json.Marshal(st)
	if err != nil || !strings.Contains(string(b), `"level":"ok"`) {
		t.Errorf("json.Marshal(Stats) = %s, %v; want a level name", b, err)
	}
}

func TestGuardEscapeAppliesAndRestores(t *testing.T) {
	fakeLimits(t, 0, 0, nil)
	processLedger = ledger{}
	t.Cleanup(func() { processLedger = ledger{} })
	gogc, limit := settings()
	if gogc != 100 || limit != math.MaxInt64 {
		t.Skipf("test process runs with GOGC %d, limit %d; the guard would not own them", gogc, limit)
	}
	p := fakeSamples(t)
	cfg := testConfig()
	s := spiralling(0, cfg, cfg.target)
	p.Store(&s)
	g, err := Start(WithMemoryTarget(cfg.target), WithHardLimit(cfg.hard), WithHeadroom(600*mib, time.Hour, time.Hour),
		WithInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// The first run saw the spiral (the limiter hit needs a second sample).
	if _, l := settings(); l != cfg.hard {
		t.Errorf("spiral at Start: memory limit %d MiB, want the hard limit %d MiB", l>>20, cfg.hard>>20)
	}
	st := g.Stats()
	if !st.Headroom || st.Level != LevelCritical || st.Adjustments[reasonHeadroom] != 1 {
		t.Errorf("Stats: headroom %v level %v adjustments %v, want true, critical, one headroom", st.Headroom, st.Level, st.Adjustments)
	}
	g.Stop()
	if g2, l2 := settings(); g2 != gogc || l2 != limit {
		t.Errorf("after Stop: GOGC %d limit %d, want %d %d", g2, l2, gogc, limit)
	}
}
