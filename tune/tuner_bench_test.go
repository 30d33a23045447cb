package tune_test

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/gotune/gotune/tune"
)

// BenchmarkRefreshTick is one tick of tune/auto's refresh loop when nothing
// changed: what a running service pays every 10 seconds.
//
//	go test -run '^$' -bench RefreshTick ./tune
func BenchmarkRefreshTick(b *testing.B) {
	procs, limit := runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1)
	defer func() { runtime.GOMAXPROCS(procs); debug.SetMemoryLimit(limit) }()
	t := tune.NewTuner(-1) // no loop: the ticks run here
	if err := t.Start(); err != nil {
		b.Fatal(err)
	}
	defer t.Stop()
	b.ReportAllocs()
	for b.Loop() {
		t.Refresh()
	}
}
