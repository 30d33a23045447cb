package tune_test

import (
	"context"
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

	var zero tune.Tuner
	if err := zero.Run(context.Background()); err != nil {
		t.Errorf("zero Tuner's Run = %v, want nil after one apply", err)
	}
	if n := zero.Stats().Refreshes; n != 1 {
		t.Errorf("zero Tuner's Run made %d reads, want 1", n)
	}
	zero.Undo()

	neg := tune.NewTuner(-time.Second, noEnv, tune.WithRoot(fixture("v1-container")))
	if err := neg.Run(context.Background()); err != nil {
		t.Errorf("Run with a negative interval = %v, want nil at once", err)
	}
	neg.Undo()

	tuner := tune.NewTuner(time.Millisecond, noEnv, tune.WithRoot(fixture("v1-container")), tune.WithGOGC(150))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); tuner.Run(ctx) }()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if _, err := tuner.Apply(); err != nil {
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
	cancel()
	wg.Wait()
	if r := tuner.Report(); r.GOGC.After != 150 || r.GOGC.Source != tune.SourcePolicy {
		t.Errorf("after concurrent applies: GOGC %d (%s), want 150 (policy)", r.GOGC.After, r.GOGC.Source)
	}
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); tuner.Undo() }()
	}
	wg.Wait()
	if g := debug.SetGCPercent(-1); g != 100 {
		t.Errorf("after Undo: GOGC %d, want 100", g)
	}
	debug.SetGCPercent(100)
}
