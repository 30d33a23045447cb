package gcguard

import (
	"bytes"
	"errors"
	"log/slog"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gotune/gotune/internal/owner"
)

// A second guard that sets GOGC or GOMEMLIMIT is refused while the first
// runs: before, both set GOGC (500 → 172 → 96 → 500) and the first Stop
// removed the memory limit the second still relied on. Dry-run guards are
// not counted; after Stop a new guard starts.
func TestStartTwice(t *testing.T) {
	ownsSettings(t)
	fakeLimits(t, 0, 0, nil)
	fakeSamples(t)
	g, err := Start(WithMemoryTarget(1<<30), WithInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	for _, opts := range [][]Option{
		{WithMemoryTarget(1 << 30)},
		{WithMemoryTarget(512 << 20), WithOverride()},
	} {
		g2, err := Start(append(opts, WithInterval(time.Hour))...)
		if !errors.Is(err, ErrRunning) {
			g2.Stop()
			t.Fatalf("second Start error = %v, want ErrRunning", err)
		}
	}
	if _, l := settings(); l != 1<<30 {
		t.Errorf("memory limit %d after the refused Start, want the first guard's %d", l, 1<<30)
	}
	dry, err := Start(WithDryRun(), WithMemoryTarget(1<<30), WithInterval(time.Hour))
	if err != nil {
		t.Fatalf("dry-run Start beside a running guard: %v", err)
	}
	dry.Stop()
	if who, _, _ := owner.Holder(owner.GOGC); who != owner.GCGuard {
		t.Errorf("GOGC held by %q while the guard runs, want gcguard", who)
	}
	g.Stop()
	if _, _, ok := owner.Holder(owner.GOGC); ok {
		t.Errorf("GOGC still held after Stop")
	}
	g3, err := Start(WithMemoryTarget(1<<30), WithInterval(time.Hour))
	if err != nil {
		t.Fatalf("Start after Stop: %v", err)
	}
	g3.Stop()
	if gogc, l := settings(); gogc != 100 || l != math.MaxInt64 {
		t.Errorf("after the last Stop: GOGC %d limit %d, want the defaults", gogc, l)
	}
}

// Concurrent Starts: exactly one wins.
func TestStartConcurrent(t *testing.T) {
	ownsSettings(t)
	fakeLimits(t, 0, 0, nil)
	fakeSamples(t)
	var wg sync.WaitGroup
	guards := make(chan *Guard, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g, err := Start(WithMemoryTarget(1<<30), WithInterval(time.Hour))
			if err == nil {
				guards <- g
			} else if !errors.Is(err, ErrRunning) {
				t.Errorf("concurrent Start error = %v, want nil or ErrRunning", err)
			}
		}()
	}
	wg.Wait()
	close(guards)
	n := 0
	for g := range guards {
		n++
		g.Stop()
	}
	if n != 1 {
		t.Errorf("%d of 8 concurrent Starts succeeded, want 1", n)
	}
}

// Absurd targets and limits are refused with an error naming them. (A
// negative hard limit or hold means off: see TestNegativeOptionMeansOff.)
func TestStartRejectsAbsurdSizes(t *testing.T) {
	fakeLimits(t, 0, 0, nil)
	fakeSamples(t)
	old := machineMemory
	machineMemory = func() int64 { return 8 << 30 }
	defer func() { machineMemory = old }()
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"one byte", []Option{WithMemoryTarget(1)}, "WithMemoryTarget(1)"},
		{"below the floor", []Option{WithMemoryTarget(MinTarget - 1)}, "WithMemoryTarget(4194303)"},
		{"above the machine", []Option{WithMemoryTarget(16 << 30)}, "WithMemoryTarget(17179869184): above the machine's memory"},
		{"hard limit above the machine", []Option{WithMemoryTarget(1 << 30), WithHardLimit(1 << 40)}, "WithHardLimit(1099511627776): above the machine's memory"},
		{"negative window", []Option{WithWindow(-time.Second)}, "WithWindow(-1s)"},
		{"negative timer", []Option{WithInterval(-time.Second)}, "WithInterval(-1s)"},
		{"negative headroom time", []Option{WithHeadroom(1<<30, -time.Second, 0)}, "WithHeadroom(1073741824, -1s, 0s)"},
		{"negative cooldown", []Option{WithHeadroom(1<<30, time.Second, -time.Second)}, "WithHeadroom(1073741824, 1s, -1s)"},
		{"negative headroom limit", []Option{WithHeadroom(-1, time.Second, 0)}, "WithHeadroom(-1, 1s, 0s)"},
	}
	if strconv.IntSize == 64 { // an int past int32 exists only there (CI vets 386 too)
		past := int64(1)
		past <<= 40
		tests = append(tests, struct {
			name string
			opts []Option
			want string
		}{"GOGC past int32", []Option{WithGOGCRange(10, int(past))}, "WithGOGCRange(10, 1099511627776)"})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Start(append([]Option{WithDryRun(), WithMemoryTarget(1 << 30)}, tc.opts...)...)
			if err == nil {
				g.Stop()
				t.Fatalf("Start(%s) error = nil, want one naming it", tc.want)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "gcguard: ") || !strings.Contains(msg, tc.want) {
				t.Errorf("Start(%s) error = %q, want it prefixed gcguard: and naming %s", tc.want, msg, tc.want)
			}
		})
	}
	// A target derived from a cgroup limit of 2 bytes is refused too.
	fakeLimits(t, 2, 0, nil)
	if g, err := Start(WithDryRun()); err == nil || !strings.Contains(err.Error(), "below the floor") {
		g.Stop()
		t.Errorf("Start under memory.max=2: error = %v, want the floor named", err)
	}
	// Nil options are skipped.
	fakeLimits(t, 0, 0, nil)
	g, err := Start(nil, WithDryRun(), WithMemoryTarget(1<<30), WithInterval(time.Hour))
	if err != nil {
		t.Fatalf("Start with a nil option: %v", err)
	}
	g.Stop()
}

// Stop is safe on nil and zero Guards and more than once; the other
// methods of a nil or zero Guard answer without panicking.
func TestStopNilZeroTwice(t *testing.T) {
	var nilGuard *Guard
	nilGuard.Stop()
	nilGuard.Stop()
	if st := nilGuard.Stats(); st.Target != 0 {
		t.Errorf("nil Guard's Stats: target %d, want the zero Stats", st.Target)
	}
	if n := testutil.CollectAndCount(NewCollector(nilGuard, "")); n == 0 {
		t.Errorf("collector of a nil Guard exports nothing, want zeros")
	}
	if nilGuard.Level() != LevelOK || nilGuard.Pressure() {
		t.Errorf("nil Guard: level %v pressure %v, want ok and false", nilGuard.Level(), nilGuard.Pressure())
	}
	var zero Guard
	zero.Stop()
	zero.Stop()
	cancel := zero.OnLevel(func(Level) {})
	cancel()
	cancel()
	_ = zero.Stats()

	fakeLimits(t, 0, 0, nil)
	fakeSamples(t)
	g, err := Start(WithDryRun(), WithMemoryTarget(1<<30), WithInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); g.Stop() }()
	}
	wg.Wait()
	g.Stop()
	g.run(false) // a run after Stop changes nothing
	g.OnLevel(func(Level) {})()
}

// levelFlip makes the next run see a live heap at 0.95 of the target, so
// the level goes critical and the callbacks run.
func levelFlip(t *testing.T) (*Guard, func()) {
	t.Helper()
	ownsSettings(t)
	fakeLimits(t, 0, 0, nil)
	p := fakeSamples(t)
	s := steady(0, 64*mib, 100, math.MaxInt64)
	p.Store(&s)
	var logs bytes.Buffer
	var logMu sync.Mutex
	lg := slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil))
	g, err := Start(WithMemoryTarget(1<<30), WithInterval(time.Millisecond), WithLogger(lg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Stop)
	t.Cleanup(func() {
		logMu.Lock()
		defer logMu.Unlock()
		if t.Failed() {
			t.Logf("guard log:\n%s", logs.String())
		}
	})
	return g, func() {
		c := steady(time.Second, 1<<30*95/100, 100, 1<<30)
		p.Store(&c)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// awaitClosed fails the test when ch is not closed in a long time: a deadlock
// detector, not a speed assertion.
func awaitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: still waiting after 30s (deadlock?)", what)
	}
}

// A panicking OnLevel callback is recovered on the guard's goroutine,
// counted and logged; the callbacks after it still run and the controller
// goes on.
func TestOnLevelCallbackPanics(t *testing.T) {
	g, flip := levelFlip(t)
	called := make(chan struct{})
	var once sync.Once
	g.OnLevel(func(Level) { panic("callback boom") })
	g.OnLevel(func(l Level) {
		if l == LevelCritical {
			once.Do(func() { close(called) })
		}
	})
	flip()
	awaitClosed(t, called, "the callback after a panicking one")
	st := g.Stats()
	if st.CallbackPanics == 0 {
		t.Errorf("Stats().CallbackPanics = 0 after a callback panicked, want it counted")
	}
	runs := st.TimerRuns
	for i := 0; g.Stats().TimerRuns == runs; i++ {
		if i > 30000 {
			t.Fatalf("the controller stopped running after a callback panicked")
		}
		time.Sleep(time.Millisecond)
	}
}

// OnLevel callbacks that call back into the guard: Stats, Level, OnLevel,
// and Stop, which restores the settings at once and does not wait for the
// goroutine it runs on.
func TestOnLevelCallbackCallsIntoGuard(t *testing.T) {
	g, flip := levelFlip(t)
	stopped := make(chan struct{})
	var once sync.Once
	g.OnLevel(func(l Level) {
		_ = g.Stats()
		_ = g.Level()
		g.OnLevel(func(Level) {})()
		g.Stop()
		once.Do(func() { close(stopped) })
	})
	flip()
	awaitClosed(t, stopped, "Stop called from an OnLevel callback")
	if gogc, l := settings(); gogc != 100 || l != math.MaxInt64 {
		t.Errorf("after Stop from a callback: GOGC %d limit %d, want the defaults restored", gogc, l)
	}
	done := make(chan struct{})
	go func() { g.Stop(); close(done) }()
	awaitClosed(t, done, "Stop after Stop from a callback")
}

// GOGC that tune set is handed over to the guard and back at Stop, and a
// memory limit that tune set stays tune's: the guard follows it, and says
// so, unless WithOverride hands it over too.
func TestOwnershipWithTune(t *testing.T) {
	ownsSettings(t)
	fakeLimits(t, 0, 0, nil)
	p := fakeSamples(t)
	s := steady(0, 64*mib, 100, math.MaxInt64)
	p.Store(&s)
	tuneLimit := int64(900 * mib)
	// tune's Apply, as it claims and sets.
	gc, err := owner.Take(owner.GOGC, owner.Tune)
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Release()
	lim, err := owner.Take(owner.GOMEMLIMIT, owner.Tune)
	if err != nil {
		t.Fatal(err)
	}
	defer lim.Release()
	defer debug.SetGCPercent(100)
	defer debug.SetMemoryLimit(math.MaxInt64)
	gc.Set(150, func() { debug.SetGCPercent(150) })
	lim.Set(tuneLimit, func() { debug.SetMemoryLimit(tuneLimit) })

	for _, override := range []bool{false, true} {
		opts := []Option{WithInterval(time.Hour)}
		if override {
			opts = append(opts, WithOverride())
		}
		g, err := Start(opts...)
		if err != nil {
			t.Fatal(err)
		}
		st := g.Stats()
		wantLim, wantTarget := SourceTune, SourceTune
		if override {
			wantLim = SourceGuard
		}
		if st.GOGCSource != SourceGuard || st.LimitSource != wantLim || st.TargetSource != wantTarget || st.Target != tuneLimit {
			t.Errorf("override %v: GOGC from %q, limit from %q, target %d from %q; want guard, %s, %d from %s",
				override, st.GOGCSource, st.LimitSource, st.Target, st.TargetSource, wantLim, tuneLimit, wantTarget)
		}
		if who, _, _ := owner.Holder(owner.GOGC); who != owner.GCGuard {
			t.Errorf("override %v: GOGC owned by %q while the guard runs, want gcguard", override, who)
		}
		wantOwner := owner.Tune
		if override {
			wantOwner = owner.GCGuard
		}
		if who, _, _ := owner.Holder(owner.GOMEMLIMIT); who != wantOwner {
			t.Errorf("override %v: GOMEMLIMIT owned by %q, want %s", override, who, wantOwner)
		}
		if gogc, _ := settings(); gogc == 150 || gogc != st.GOGC {
			t.Errorf("override %v: GOGC in force %d, want the guard's %d", override, gogc, st.GOGC)
		}
		if gc.Set(120, func() { t.Error("tune set GOGC while the guard owns it") }) {
			t.Errorf("tune's claim still sets GOGC under the guard")
		}
		g.Stop()
		if gogc, l := settings(); gogc != 150 || l != tuneLimit {
			t.Errorf("override %v: after Stop GOGC %d limit %d, want tune's 150 and %d", override, gogc, l, tuneLimit)
		}
		if !gc.Owns() || !lim.Owns() {
			t.Errorf("override %v: tune does not own GOGC (%v) and GOMEMLIMIT (%v) again after Stop", override, gc.Owns(), lim.Owns())
		}
	}

	// A GOGC the program moved after tune set it is the program's.
	debug.SetGCPercent(90)
	g, err := Start(WithInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	if st := g.Stats(); st.GOGCSource != SourceCode {
		t.Errorf("GOGC moved by the program after tune: source %q, want code", st.GOGCSource)
	}
}

// A callback that blocks does not stop the controller, and Stop restores
// the settings and returns while it is still blocked.
func TestOnLevelCallbackBlocks(t *testing.T) {
	g, flip := levelFlip(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	g.OnLevel(func(Level) {
		once.Do(func() { close(entered) })
		<-release
	})
	defer close(release)
	flip()
	awaitClosed(t, entered, "the blocking callback")
	runs := g.Stats().TimerRuns
	for i := 0; g.Stats().TimerRuns < runs+3; i++ {
		if i > 30000 {
			t.Fatalf("the controller stopped running while a callback blocks")
		}
		time.Sleep(time.Millisecond)
	}
	if g.Level() != LevelCritical {
		t.Errorf("Level() = %v while a callback blocks, want critical", g.Level())
	}
	stopped := make(chan struct{})
	go func() { g.Stop(); close(stopped) }()
	awaitClosed(t, stopped, "Stop while a callback blocks")
	if gogc, l := settings(); gogc != 100 || l != math.MaxInt64 {
		t.Errorf("after Stop: GOGC %d limit %d, want the defaults restored", gogc, l)
	}
}

// A Start that fails after claiming the settings gives them back: the
// next Start succeeds, and nothing is left claimed.
func TestFailedStartReleases(t *testing.T) {
	ownsSettings(t)
	fakeSamples(t)
	for _, tc := range []struct {
		name       string
		hard, high int64
		opts       []Option
		want       error
	}{
		{"no target", 0, 0, []Option{WithTargetRequired()}, ErrNoTarget},
		{"target above the hard limit", 1 << 30, 0, []Option{WithMemoryTarget(2 << 30)}, nil},
		{"cgroup limit below the floor", 2, 0, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fakeLimits(t, tc.hard, tc.high, nil)
			g, err := Start(append(tc.opts, WithInterval(time.Hour))...)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				g.Stop()
				t.Fatalf("Start = %v, want an error (%v)", err, tc.want)
			}
			for _, s := range []owner.Setting{owner.GOGC, owner.GOMEMLIMIT} {
				if who, _, ok := owner.Holder(s); ok {
					t.Errorf("%v still held by %s after a failed Start", s, who)
				}
			}
			fakeLimits(t, 0, 0, nil)
			g, err = Start(WithMemoryTarget(1<<30), WithInterval(time.Hour))
			if err != nil {
				t.Fatalf("Start after a failed one: %v", err)
			}
			g.Stop()
		})
	}
}

// Every method from many goroutines at once while the controller runs and
// the level moves, then Stop among them: no race, no deadlock, no leak.
func TestConcurrentUse(t *testing.T) {
	g, flip := levelFlip(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				_ = g.Stats()
				_ = g.Level()
				_ = g.Pressure()
				cancel := g.OnLevel(func(Level) { _ = g.Stats() })
				if j%2 == 0 {
					cancel()
				}
				if i == 0 && j == 100 {
					flip()
				}
				if i == 1 && j == 150 {
					g.Stop()
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	awaitClosed(t, done, "concurrent use")
	g.Stop()
	if gogc, l := settings(); gogc != 100 || l != math.MaxInt64 {
		t.Errorf("after Stop: GOGC %d limit %d, want the defaults", gogc, l)
	}
}

// A GOGC or memory limit the program changes while the guard runs is the
// program's from then on: the guard stops setting it, reports it as set
// in code, gives up its claim, and leaves it at Stop.
func TestYieldsToProgramChange(t *testing.T) {
	ownsSettings(t)
	fakeLimits(t, 0, 0, nil)
	p := fakeSamples(t)
	s := steady(0, 64*mib, 100, math.MaxInt64)
	p.Store(&s)
	g, err := Start(WithMemoryTarget(1<<30), WithInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	defer debug.SetGCPercent(100)
	defer debug.SetMemoryLimit(math.MaxInt64)
	debug.SetGCPercent(120)
	debug.SetMemoryLimit(700 * mib)
	crit := steady(time.Second, 1<<30*95/100, 120, 700*mib) // the guard would lower GOGC now
	p.Store(&crit)
	g.run(false) // first sighting: the guard holds off
	if gogc, l := settings(); gogc != 120 || l != 700*mib || g.Stats().GOGCSource != SourceGuard {
		t.Errorf("first run after the change: GOGC %d limit %d, source %q; want 120, %d left alone, still the guard's",
			gogc, l, g.Stats().GOGCSource, 700*mib)
	}
	g.run(true) // second: the values are the program's
	st := g.Stats()
	if st.GOGCSource != SourceCode || st.LimitSource != SourceCode {
		t.Errorf("after the program changed both: GOGC from %q, limit from %q; want code, code", st.GOGCSource, st.LimitSource)
	}
	for _, s := range []owner.Setting{owner.GOGC, owner.GOMEMLIMIT} {
		if who, _, ok := owner.Holder(s); ok {
			t.Errorf("%v still held by %s after the program changed it", s, who)
		}
	}
	if gogc, l := settings(); gogc != 120 || l != 700*mib {
		t.Errorf("in force: GOGC %d limit %d; want the program's 120 and %d", gogc, l, 700*mib)
	}
	g.Stop()
	if gogc, l := settings(); gogc != 120 || l != 700*mib {
		t.Errorf("after Stop: GOGC %d limit %d; want the program's 120 and %d left", gogc, l, 700*mib)
	}
}

// A debug.SetGCPercent round trip (read GOGC by setting it) between two
// runs is not a change: the guard keeps GOGC.
func TestRoundTripIsNoChange(t *testing.T) {
	ownsSettings(t)
	fakeLimits(t, 0, 0, nil)
	fakeSamples(t)
	g, err := Start(WithMemoryTarget(1<<30), WithInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	mine := g.Stats().GOGC
	old := debug.SetGCPercent(-1) // some code reads GOGC this way...
	g.run(false)                  // ...and a run lands in between
	debug.SetGCPercent(old)
	g.run(false)
	g.run(true)
	if st := g.Stats(); st.GOGCSource != SourceGuard || readGOGC() != mine {
		t.Errorf("after a round trip: GOGC %d from %q, want the guard's %d", readGOGC(), st.GOGCSource, mine)
	}
}
