//go:build linux

package numabench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/gotune/gotune/numa"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func local(b *testing.B) numa.Node {
	b.Helper()
	topo, err := numa.Discover()
	if err != nil {
		b.Skipf("numa.Discover: %v", err)
	}
	return topo.LocalNode()
}

// parkThreads makes the runtime hold n extra OS threads, as a service with
// blocking syscalls or cgo calls does.
func parkThreads(n int) (release func()) {
	var started, done sync.WaitGroup
	stop := make(chan struct{})
	for range n {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			started.Done()
			<-stop
		}()
	}
	started.Wait()
	return func() { close(stop); done.Wait() }
}

// BenchmarkPin measures numa.Pin plus undo of every thread of the process
// to one CPU, against the baseline of what single-thread libraries do:
// sched_setaffinity on the calling thread and back. The ratio is the price
// of covering every thread; it grows with the thread count. Built without
// cgo (CGO_ENABLED=0) Pin uses syscall.AllThreadsSyscall, with cgo the
// /proc/self/task walk.
func BenchmarkPin(b *testing.B) {
	n := local(b)
	cpu := n.AllowedCPUs[0]
	for _, threads := range []int{0, 16, 64} {
		release := parkThreads(threads)
		b.Run(fmt.Sprintf("threads=%d/impl=calling-thread", threads), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var old, one unix.CPUSet
			if err := unix.SchedGetaffinity(0, &old); err != nil {
				b.Fatal(err)
			}
			one.Set(cpu)
			for b.Loop() {
				if err := unix.SchedSetaffinity(0, &one); err != nil {
					b.Fatal(err)
				}
				if err := unix.SchedSetaffinity(0, &old); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("threads=%d/impl=numa.Pin", threads), func(b *testing.B) {
			var rep numa.PinReport
			for b.Loop() {
				undo, err := numa.Pin(n.ID, numa.WithCPUs(cpu), numa.WithMemPolicy(numa.MemLeave),
					numa.WithoutGOMAXPROCS(), numa.WithReport(&rep))
				if err != nil {
					b.Skipf("numa.Pin: %v", err)
				}
				if err := undo(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rep.Threads), "threads")
			b.Log(rep.Method)
		})
		release()
	}
}

var sink int

func work() {
	s := 0
	for i := range 64 {
		s += i * i
	}
	sink += s
}

// BenchmarkCall measures handing a small function to a pinned thread:
// a numa.Worker (a locked, restricted thread fed through a channel) and
// numa.RunOn (a fresh locked thread per call), against a plain goroutine
// and a direct call.
func BenchmarkCall(b *testing.B) {
	n := local(b)
	cpus := n.AllowedCPUs
	ctx := context.Background()
	b.Run("impl=direct", func(b *testing.B) {
		for b.Loop() {
			work()
		}
	})
	b.Run("impl=goroutine", func(b *testing.B) {
		for b.Loop() {
			done := make(chan struct{})
			go func() { work(); close(done) }()
			<-done
		}
	})
	b.Run("impl=numa.Worker", func(b *testing.B) {
		w, err := numa.NewWorker(cpus)
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Start(); err != nil {
			b.Skipf("Worker.Start: %v", err)
		}
		defer w.Close()
		for b.Loop() {
			if err := w.Do(ctx, work); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=numa.RunOn", func(b *testing.B) {
		for b.Loop() {
			if err := numa.RunOn(cpus, work); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCallParallel runs callers on every P: goroutines scale with
// GOMAXPROCS; one Worker serializes its callers, and a Worker per allowed
// CPU spreads them.
func BenchmarkCallParallel(b *testing.B) {
	n := local(b)
	ctx := context.Background()
	b.Run("impl=goroutine", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				done := make(chan struct{})
				go func() { work(); close(done) }()
				<-done
			}
		})
	})
	b.Run("impl=numa.Worker-per-cpu", func(b *testing.B) {
		var ws []*numa.Worker
		for _, c := range n.AllowedCPUs {
			w, err := numa.NewWorker([]int{c})
			if err != nil {
				b.Fatal(err)
			}
			if err := w.Start(); err != nil {
				b.Skipf("Worker.Start: %v", err)
			}
			ws = append(ws, w)
		}
		defer func() {
			for _, w := range ws {
				w.Close()
			}
		}()
		var next sync.Mutex
		i := 0
		b.RunParallel(func(pb *testing.PB) {
			next.Lock()
			w := ws[i%len(ws)]
			i++
			next.Unlock()
			for pb.Next() {
				if err := w.Do(ctx, work); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkGetcpu(b *testing.B) {
	b.Run("impl=numa.Getcpu", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := numa.Getcpu(); err != nil {
				b.Skip(err)
			}
		}
	})
	b.Run("impl=unix.Gettid", func(b *testing.B) {
		// The cheapest system call, for scale.
		for b.Loop() {
			unix.Gettid()
		}
	})
}
