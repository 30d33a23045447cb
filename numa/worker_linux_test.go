//go:build linux

package numa

import (
	"context"
	"errors"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gotune/gotune/internal/cpulist"
)

func TestRunOn(t *testing.T) {
	topo := realTopology(t)
	cpu := topo.AllowedCPUs[len(topo.AllowedCPUs)-1]
	before := threadMasks(t)
	for range 20 {
		var mask []int
		var onCPU int
		err := RunOn([]int{cpu, cpulist.MaxID + 1}, func() {
			mask, _ = getAffinity(0)
			onCPU, _, _ = Getcpu()
		})
		if errors.Is(err, ErrUnavailable) {
			t.Skipf("setting thread affinity is unavailable here: %v", err)
		}
		if err != nil {
			t.Fatalf("RunOn([%d]) error %v", cpu, err)
		}
		if !slices.Equal(mask, []int{cpu}) || onCPU != cpu {
			t.Fatalf("inside RunOn([%d]): thread mask %v, Getcpu %d; want [%d] and %d", cpu, mask, onCPU, cpu, cpu)
		}
	}
	// Every thread the runtime kept has its mask back.
	for tid, m := range threadMasks(t) {
		if w, ok := before[tid]; ok && !slices.Equal(m, w) {
			t.Errorf("after RunOn: thread %d mask %s, want %s", tid, cpulist.Format(m), cpulist.Format(w))
		}
	}
	if err := RunOn([]int{cpulist.MaxID + 1}, func() { t.Error("fn ran without allowed CPUs") }); !errors.Is(err, ErrNoCPUs) {
		t.Errorf("RunOn(no allowed CPU) error %v, want ErrNoCPUs", err)
	}
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("RunOn panic = %v, want boom re-raised", r)
			}
		}()
		_ = RunOn([]int{cpu}, func() { panic("boom") })
	}()
}

// TestRunOnRestoreFails checks that a thread whose mask cannot be restored
// is not handed back to the runtime: RunOn reports the error, and the
// narrowed thread is gone.
func TestRunOnRestoreFails(t *testing.T) {
	saveSys(t)
	topo := realTopology(t)
	cpu := topo.AllowedCPUs[0]
	real := sys.setaffinity
	var mu sync.Mutex
	calls := 0
	sys.setaffinity = func(tid int, m mask) syscall.Errno {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 2 {
			return unix.EPERM // the restore
		}
		return real(tid, m)
	}
	var tid int
	err := RunOn([]int{cpu}, func() { tid = unix.Gettid() })
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("RunOn with a failing restore: %v, want ErrUnavailable", err)
	}
	if len(topo.AllowedCPUs) == 1 {
		return // every mask is that one CPU; nothing to tell apart
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := threadMasks(t)[tid]; !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d with a narrowed mask is still alive", tid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWorker(t *testing.T) {
	topo := realTopology(t)
	cpu := topo.AllowedCPUs[0]
	w, err := NewWorker([]int{cpu})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.Do(ctx, func() {}); err == nil {
		t.Errorf("Do before Start succeeded")
	}
	if err := w.Start(); errors.Is(err, ErrUnavailable) {
		t.Skipf("setting thread affinity is unavailable here: %v", err)
	} else if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := w.Start(); err == nil {
		t.Errorf("second Start succeeded")
	}
	var tids []int
	for range 50 {
		if err := w.Do(ctx, func() {
			m, _ := getAffinity(0)
			if !slices.Equal(m, []int{cpu}) {
				t.Errorf("worker thread mask %v, want [%d]", m, cpu)
			}
			tids = append(tids, unix.Gettid())
		}); err != nil {
			t.Fatalf("Do: %v", err)
		}
	}
	if distinct := slices.Compact(slices.Clone(tids)); len(distinct) != 1 {
		t.Errorf("calls ran on threads %v, want one thread", distinct)
	}
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("Do panic = %v, want boom re-raised", r)
			}
		}()
		_ = w.Do(ctx, func() { panic("boom") })
	}()

	// A busy worker: a second call waits, and its context bounds the wait.
	release := make(chan struct{})
	started := make(chan struct{})
	go func() { _ = w.Do(ctx, func() { close(started); <-release }) }()
	<-started
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	if err := w.Do(cctx, func() { t.Error("ran after its context expired") }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Do on a busy worker with an expiring context: %v, want DeadlineExceeded", err)
	}
	cancel()
	close(release)

	st := w.Stats()
	if !st.Running || !slices.Equal(st.CPUs, []int{cpu}) || st.Panics != 1 {
		t.Errorf("Stats() = %+v, want running on [%d] with 1 panic", st, cpu)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if st := w.Stats(); st.Calls != 52 || st.Running {
		t.Errorf("Stats() after Close = %+v, want 52 calls, not running", st)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.Do(ctx, func() {}); !errors.Is(err, ErrClosed) {
		t.Errorf("Do after Close: %v, want ErrClosed", err)
	}
	if err := w.Start(); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close: %v, want ErrClosed", err)
	}
	// The worker's thread, if the runtime kept it, has its mask back.
	main := mainMask(t)
	if m, ok := threadMasks(t)[tids[0]]; ok && !slices.Equal(m, main) {
		t.Errorf("worker thread %d after Close has mask %v, want %v", tids[0], m, main)
	}
}

func TestWorkerErrors(t *testing.T) {
	if _, err := NewWorker(nil); !errors.Is(err, ErrNoCPUs) {
		t.Errorf("NewWorker(nil) error %v, want ErrNoCPUs", err)
	}
	if _, err := NewWorker([]int{-1}); err == nil {
		t.Errorf("NewWorker([-1]) succeeded")
	}
	w, err := NewWorker([]int{cpulist.MaxID - 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); !errors.Is(err, ErrNoCPUs) {
		t.Errorf("Start on a CPU outside the mask: %v, want ErrNoCPUs", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close after failed Start: %v", err)
	}
	// Close without Start waits for nothing.
	w2, _ := NewWorker([]int{0})
	if err := w2.Close(); err != nil {
		t.Errorf("Close without Start: %v", err)
	}
}

func TestGetcpu(t *testing.T) {
	topo := realTopology(t)
	cpu, node, err := Getcpu()
	if err != nil {
		t.Fatalf("Getcpu: %v", err)
	}
	if _, ok := slices.BinarySearch(topo.AllowedCPUs, cpu); !ok {
		t.Errorf("Getcpu() cpu %d not among allowed %v", cpu, topo.AllowedCPUs)
	}
	if want, ok := topo.NodeOf(cpu); !ok || node != want {
		t.Errorf("Getcpu() node %d, want %d (node of cpu %d)", node, want, cpu)
	}
}
