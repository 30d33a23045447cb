package tune_test

import (
	"math"
	"runtime/debug"
	"sync"
	"testing"

	"github.com/gotune/gotune/internal/owner"
	"github.com/gotune/gotune/tune"
)

// settings returns GOGC and the memory limit in force.
func settings() (int64, int64) {
	return owner.Current(owner.GOGC), debug.SetMemoryLimit(-1)
}

// A GOGC that gcguard took over from tune is gcguard's while it holds it:
// a refresh reports it as gcguard's and sets nothing, and once gcguard
// gives it back (restoring tune's value) tune owns it again.
func TestRefreshLeavesSettingsToTheirOwner(t *testing.T) {
	tune.ResetState()
	defer tune.ResetState()
	gogc, limit := settings()
	defer debug.SetGCPercent(int(gogc))
	defer debug.SetMemoryLimit(limit)
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)

	tuner := tune.NewTuner(0, noEnv, tune.WithRoot(fixture("v1-container")), tune.WithGOGC(150))
	r, err := tuner.ApplyOnce()
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := settings(); g != 150 || r.GOGC.Source != tune.SourcePolicy {
		t.Fatalf("after Apply: GOGC %d (%s), want 150 (policy)", g, r.GOGC.Source)
	}
	tuneLimit := r.GOMEMLIMIT.After

	// gcguard takes GOGC and GOMEMLIMIT over, as its Start does.
	gc, err := owner.Take(owner.GOGC, owner.GCGuard, owner.Tune)
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Release()
	lim, err := owner.Take(owner.GOMEMLIMIT, owner.GCGuard, owner.Tune)
	if err != nil {
		t.Fatal(err)
	}
	defer lim.Release()
	gc.Set(300, func() { debug.SetGCPercent(300) })
	lim.Set(300*mib, func() { debug.SetMemoryLimit(300 * mib) })

	for i := range 3 { // refreshes
		r, err = tuner.ApplyOnce()
		if err != nil {
			t.Fatal(err)
		}
		if g, l := settings(); g != 300 || l != 300*mib {
			t.Fatalf("refresh %d overrode gcguard: GOGC %d, limit %d; want 300 and %d", i, g, l, 300*mib)
		}
	}
	if r.GOGC.Source != tune.SourceGCGuard || r.GOGC.Set || r.GOMEMLIMIT.Source != tune.SourceGCGuard || r.GOMEMLIMIT.Set {
		t.Errorf("report while gcguard runs: GOGC %s (%q) set %v, GOMEMLIMIT %s (%q) set %v; want gcguard's, not set",
			r.GOGC.Source, r.GOGC.Reason, r.GOGC.Set, r.GOMEMLIMIT.Source, r.GOMEMLIMIT.Reason, r.GOMEMLIMIT.Set)
	}
	if tuner.Report().GOGC.Source != tune.SourceGCGuard {
		t.Errorf("Tuner.Report().GOGC.Source = %s, want gcguard", tuner.Report().GOGC.Source)
	}

	// The program moves GOGC under gcguard: the value is the program's.
	debug.SetGCPercent(80)
	r, _ = tuner.ApplyOnce()
	if g, _ := settings(); g != 80 || r.GOGC.Source != tune.SourceCode {
		t.Errorf("GOGC set in code under gcguard: GOGC %d (%s), want 80 kept as code", g, r.GOGC.Source)
	}

	// gcguard stops: it restores what it found and releases.
	gc.Set(150, func() { debug.SetGCPercent(150) })
	gc.Release()
	lim.Set(0, func() { debug.SetMemoryLimit(tuneLimit) })
	lim.Release()
	r, _ = tuner.ApplyOnce()
	if r.GOGC.Source != tune.SourcePolicy || r.GOMEMLIMIT.Source != tune.SourceCgroup {
		t.Errorf("after gcguard released: GOGC %s (%s), GOMEMLIMIT %s (%s); want tune's again", r.GOGC.Source, r.GOGC.Reason, r.GOMEMLIMIT.Source, r.GOMEMLIMIT.Reason)
	}
	tuner.Restore()
	tuner.Restore() // twice is fine
	if g, l := settings(); g != 100 || l != math.MaxInt64 {
		t.Errorf("after Undo: GOGC %d limit %d, want 100 and none", g, l)
	}
	if who, _, ok := owner.Holder(owner.GOGC); ok {
		t.Errorf("GOGC still held by %s after Undo", who)
	}
}

// Undo acts once per applied report, whichever copy it is called on: a
// second Undo does not undo what the program set after the first.
func TestReportUndoTwice(t *testing.T) {
	tune.ResetState()
	defer tune.ResetState()
	gogc, _ := settings()
	defer debug.SetGCPercent(int(gogc))
	debug.SetGCPercent(100)
	_, undo, err := tune.Apply(noEnv, tune.WithRoot(fixture("v1-container")), tune.WithGOGC(150), tune.WithoutMemoryLimit(), tune.WithMaxProcs(tune.MaxProcsOff))
	if err != nil {
		t.Fatal(err)
	}
	undo()
	if g, _ := settings(); g != 100 {
		t.Fatalf("after undo: GOGC %d, want 100", g)
	}
	debug.SetGCPercent(120)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(undo)
	}
	wg.Wait()
	if g, _ := settings(); g != 120 {
		t.Errorf("a second undo changed GOGC to %d, want the program's 120 left", g)
	}
	var nilTuner *tune.Tuner
	nilTuner.Stop()
	var zeroTuner tune.Tuner
	zeroTuner.Stop()
	zeroTuner.Stop()
}

// Undo leaves a setting that gcguard took over since to gcguard.
func TestUndoLeavesTakenSetting(t *testing.T) {
	tune.ResetState()
	defer tune.ResetState()
	gogc, _ := settings()
	defer debug.SetGCPercent(int(gogc))
	debug.SetGCPercent(100)
	_, undo, err := tune.Apply(noEnv, tune.WithRoot(fixture("v1-container")), tune.WithGOGC(150), tune.WithoutMemoryLimit(), tune.WithMaxProcs(tune.MaxProcsOff))
	if err != nil {
		t.Fatal(err)
	}
	gc, err := owner.Take(owner.GOGC, owner.GCGuard, owner.Tune)
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Release()
	gc.Set(250, func() { debug.SetGCPercent(250) })
	undo()
	if g, _ := settings(); g != 250 {
		t.Errorf("Undo while gcguard owns GOGC set it to %d, want gcguard's 250 left", g)
	}
}

// Undo leaves a setting the program changed since Apply.
func TestUndoLeavesProgramChange(t *testing.T) {
	tune.ResetState()
	defer tune.ResetState()
	gogc, _ := settings()
	defer debug.SetGCPercent(int(gogc))
	debug.SetGCPercent(100)
	_, undo, err := tune.Apply(noEnv, tune.WithRoot(fixture("v1-container")), tune.WithGOGC(150), tune.WithoutMemoryLimit(), tune.WithMaxProcs(tune.MaxProcsOff))
	if err != nil {
		t.Fatal(err)
	}
	debug.SetGCPercent(130) // the program's own choice
	undo()
	if g, _ := settings(); g != 130 {
		t.Errorf("Undo after the program set GOGC 130: GOGC %d, want 130 left", g)
	}
	if _, _, ok := owner.Holder(owner.GOGC); ok {
		t.Errorf("GOGC still claimed after Undo")
	}
}
