// Package tune_test measures what tune/auto costs at init and per refresh,
// next to the anchors a service would otherwise import: automaxprocs'
// maxprocs.Set plus automemlimit's memlimit.Set, in the same run.
//
//	go test -run '^$' -bench . -count 6 ./bench/tune | tee /tmp/tune.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /impl /tmp/tune.txt
package tune_test

import (
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"go.uber.org/automaxprocs/maxprocs"

	"github.com/gotune/gotune/tune"
)

// restore puts GOMAXPROCS and the memory limit back after each iteration,
// so every iteration starts from the runtime's defaults as init does.
func restore(procs int, limit int64) {
	runtime.GOMAXPROCS(procs)
	debug.SetMemoryLimit(limit)
}

func BenchmarkInit(b *testing.B) {
	procs, limit := runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1)
	defer restore(procs, limit)
	quiet := maxprocs.Logger(func(string, ...any) {})

	b.Run("impl=anchors", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			undo, _ := maxprocs.Set(quiet)
			memlimit.Set() //nolint:errcheck // no limit on most hosts: ErrNoLimit handled inside
			undo()
			restore(procs, limit)
		}
	})
	b.Run("impl=gotune", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, undo, err := tune.Apply(); err == nil {
				undo()
			}
			restore(procs, limit)
		}
	})
}

// BenchmarkDetect is the read-only part, on this host and on a fixture
// with limits at several levels.
func BenchmarkDetect(b *testing.B) {
	fixture := filepath.Join("..", "..", "internal", "cgroup", "testdata", "v1-nested")
	b.Run("root=host", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tune.Detect(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("root=fixture-v1-nested", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tune.Detect(tune.WithRoot(fixture)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRefreshTick, one tick of tune/auto's refresh loop, is in
// tune/tuner_bench_test.go: the tick is unexported since Tuner.Start runs
// the loop.
