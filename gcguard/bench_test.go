package gcguard

import (
	"math"
	"runtime"
	"testing"
	"time"
)

// BenchmarkSample compares the guard's per-cycle read of runtime/metrics
// with runtime.ReadMemStats, which tuners such as ByteDance's gctuner call
// each cycle and which stops the world. Run with -cpu 1,2,4,8,16: the
// stop-the-world cost grows with GOMAXPROCS and with busy goroutines.
func BenchmarkSample(b *testing.B) {
	// Background goroutines that allocate, as in a service: a stop-the-world
	// must preempt them.
	stop := make(chan struct{})
	done := make(chan struct{})
	n := runtime.GOMAXPROCS(0) - 1
	for range n {
		go func() {
			defer func() { done <- struct{}{} }()
			var sink []byte
			for {
				select {
				case <-stop:
					_ = sink
					return
				default:
					sink = make([]byte, 64)
				}
			}
		}()
	}
	defer func() {
		close(stop)
		for range n {
			<-done
		}
	}()
	b.Run("impl=metrics", func(b *testing.B) {
		r := newReader()
		now := time.Now()
		for b.Loop() {
			_ = r.read(now)
		}
	})
	b.Run("impl=ReadMemStats", func(b *testing.B) {
		var ms runtime.MemStats
		for b.Loop() {
			runtime.ReadMemStats(&ms)
		}
	})
}

// BenchmarkStep is the controller's own cost per GC cycle.
func BenchmarkStep(b *testing.B) {
	c := newController(testConfig(), &ledger{})
	s := steady(0, 64*mib, 100, math.MaxInt64)
	for b.Loop() {
		s.at = s.at.Add(10 * time.Millisecond)
		s.totalCPU += 0.01
		s.gcCPU += 0.001
		c.step(s)
	}
}

// BenchmarkPressure compares the lock-free Pressure check a load shedder
// makes on every request with reading the level from a Stats snapshot.
func BenchmarkPressure(b *testing.B) {
	fakeLimits(b, 0, 0, nil)
	g, err := Start(WithDryRun(), WithMemoryTarget(1<<30))
	if err != nil {
		b.Fatal(err)
	}
	defer g.Stop()
	b.Run("impl=Pressure", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if g.Pressure() {
					b.Error("pressure")
				}
			}
		})
	})
	b.Run("impl=Stats", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if g.Stats().Level >= LevelCritical {
					b.Error("pressure")
				}
			}
		})
	})
}
