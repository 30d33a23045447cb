package auto_test

import (
	"runtime"
	"runtime/debug"
	"testing"

	"go.uber.org/goleak"

	"github.com/gotune/gotune/tune/auto"
)

// cleanups run after all tests (the child binary's directory).
var cleanups []func()

func TestMain(m *testing.M) {
	// The import's refresh goroutine runs for the life of the process by
	// design; Stop ends it, and goleak then checks nothing else is left.
	code := m.Run()
	for _, f := range cleanups {
		f()
	}
	auto.Stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			println("goleak:", err.Error())
			code = 1
		}
	}
	exitCode(code)
}

func TestImportApplied(t *testing.T) {
	if auto.Err() != nil {
		t.Fatalf("auto.Err() = %v", auto.Err())
	}
	tu := auto.Tuner()
	if tu == nil {
		t.Fatal("auto.Tuner() = nil with GOTUNE unset")
	}
	if r := tu.Report(); !r.Applied || r.GOMAXPROCS.Source == "" {
		t.Errorf("Report = %+v, want an applied report", r)
	}
	auto.Stop()
	auto.Stop() // twice is fine
	// Stop restores what the import set to its value from before.
	r := tu.Report()
	if r.GOMAXPROCS.Set && int64(runtime.GOMAXPROCS(0)) != r.GOMAXPROCS.Before {
		t.Errorf("after Stop: GOMAXPROCS %d, want %d from before the import", runtime.GOMAXPROCS(0), r.GOMAXPROCS.Before)
	}
	if r.GOMEMLIMIT.Set && debug.SetMemoryLimit(-1) != r.GOMEMLIMIT.Before {
		t.Errorf("after Stop: GOMEMLIMIT %d, want %d from before the import", debug.SetMemoryLimit(-1), r.GOMEMLIMIT.Before)
	}
	if auto.Tuner() != tu {
		t.Errorf("auto.Tuner() after Stop = %p, want the stopped Tuner %p", auto.Tuner(), tu)
	}
}
