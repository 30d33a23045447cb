package tune_test

import (
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/gotune/gotune/tune"
)

// The careless caller: nil options, a zero Tuner, a negative interval,
// Run and Apply called concurrently, Undo from several goroutines.
func TestTunerMisuse(t *testing.T) {
	tune.ResetState()
	defer tune.ResetState()
	gogc, limit, procs := debug.SetGCPercent(100), debug.SetMemoryLimit(-1), runtime.GOMAXPROCS(0)
	defer func() {
		debug.SetGCPercent(gogc)
		debug.SetMemoryLimit(limit)
		runtime.GOMAXPROCS(procs)
	}()

	if _, err := tune.Detect(nil, noEnv, nil); err != nil {
		t.Errorf("Detect with nil options: %v", err)
	}

	// The zero Tuner is NewTuner(0): it applies once and refreshes every
	// DefaultRefresh until Stop.
	var zero tune.Tuner
	if err := zero.Start(); err != nil {
		t.Errorf("zero Tuner's Start = %v, want nil", err)
	}
	if n := zero.Stats().Refreshes; n != 1 {
		t.Errorf("zero Tuner's Start made %d reads, want 1", n)
	}
	if err := zero.Start(); err == nil {
		t.Errorf("a second Start = nil, want an error")
	}
	zero.Stop()
	if err := zero.Start(); err == nil {
		t.Errorf("Start after Stop = nil, want an error")
	}

	neg := tune.NewTuner(-time.Second, noEnv, tune.WithRoot(fixture("v1-container")))
	if err := neg.Start(); err != nil {
		t.Errorf("Start with a negative interval = %v, want nil after one apply", err)
	}
	neg.Stop()
	if n := neg.Stats().Refreshes; n != 1 {
		t.Errorf("a negative interval made %d reads, want 1 (no refresh)", n)
	}

	tuner := tune.NewTuner(time.Millisecond, noEnv, tune.WithRoot(fixture("v1-container")), tune.WithGOGC(150))
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { tuner.Start() }) //nolint:errcheck // one of them is refused
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if _, err := tuner.ApplyOnce(); err != nil {
					t.Error(err)
				}
				_ = tuner.Report().String()
			}
		}()
	}
	for i := 0; tuner.Stats().Refreshes < 60; i++ {
		if i > 30000 {
			t.Fatalf("only %d refreshes", tuner.Stats().Refreshes)
		}
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	if r := tuner.Report(); r.GOGC.After != 150 || r.GOGC.Source != tune.SourcePolicy {
		t.Errorf("after concurrent applies: GOGC %d (%s), want 150 (policy)", r.GOGC.After, r.GOGC.Source)
	}
	for range 3 {
		wg.Go(tuner.Stop)
	}
	wg.Wait()
	if g := debug.SetGCPercent(-1); g != 100 {
		t.Errorf("after Undo: GOGC %d, want 100", g)
	}
	debug.SetGCPercent(100)
}
