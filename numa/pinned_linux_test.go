//go:build linux

package numa

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gotune/gotune/internal/cpulist"
)

// TestPinNested checks that a second Pin while one is in effect fails with
// ErrPinned, naming the node already pinned, and changes nothing: before,
// Pin(A), Pin(B), undoA() restored the masks saved before A while B still
// counted as the pin in effect.
func TestPinNested(t *testing.T) {
	topo := realTopology(t)
	local := topo.LocalNode()
	first := local.AllowedCPUs[0]
	second := local.AllowedCPUs[len(local.AllowedCPUs)-1]

	undo, err := Pin(local.ID, WithCPUs(first), WithoutGOMAXPROCS(), WithMemPolicy(MemLeave))
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("pinning is unavailable here: %v", err)
	}
	if err != nil {
		t.Fatalf("Pin(%d, WithCPUs(%d)) error %v", local.ID, first, err)
	}
	defer func() { _ = undo() }()
	pinnedMasks := threadMasks(t)

	undo2, err := Pin(local.ID, WithCPUs(second), WithoutGOMAXPROCS(), WithMemPolicy(MemLeave))
	if err == nil {
		_ = undo2()
		t.Fatalf("second Pin(%d, WithCPUs(%d)) while pinned: nil error, want ErrPinned", local.ID, second)
	}
	if !errors.Is(err, ErrPinned) || !strings.Contains(err.Error(), fmt.Sprintf("node %d", local.ID)) {
		t.Errorf("second Pin error %q, want ErrPinned naming node %d", err, local.ID)
	}
	if undo2 != nil {
		t.Errorf("second Pin returned a non-nil undo with error %v", err)
	}
	if p, ok := Pinned(); !ok || !slices.Equal(p.CPUs, []int{first}) {
		t.Errorf("Pinned() after a refused Pin = %+v, %v, want the first pin (cpus [%d])", p, ok, first)
	}
	for tid, m := range threadMasks(t) {
		if _, ok := pinnedMasks[tid]; ok && !slices.Equal(m, []int{first}) {
			t.Errorf("after a refused Pin: thread %d Cpus_allowed_list = %v, want [%d]", tid, m, first)
		}
	}

	if err := undo(); err != nil {
		t.Fatalf("undo() error %v", err)
	}
	if err := undo(); err != nil {
		t.Errorf("second undo() error %v", err)
	}
	// Undone: pinning is allowed again.
	undo3, err := Pin(local.ID, WithCPUs(second), WithoutGOMAXPROCS(), WithMemPolicy(MemLeave))
	if err != nil {
		t.Fatalf("Pin after undo: %v", err)
	}
	if err := undo3(); err != nil {
		t.Errorf("undo() of the pin after undo: %v", err)
	}
}

// checkMasks fails for each thread whose Cpus_allowed_list is not want
// (exact) or, with subset, not within want.
func checkMasks(t *testing.T, when string, want []int, subset bool) {
	t.Helper()
	for tid, m := range threadMasks(t) {
		ok := slices.Equal(m, want)
		if subset {
			ok = len(m) > 0 && slices.Equal(cpulist.Intersect(m, want), m)
		}
		if !ok {
			rel := "="
			if subset {
				rel = "within"
			}
			t.Errorf("%s: thread %d (%s) Cpus_allowed_list = %s, want %s %s",
				when, tid, threadComm(tid), cpulist.Format(m), rel, cpulist.Format(want))
		}
	}
}

// workerMask returns the mask of w's thread, read on that thread.
func workerMask(t *testing.T, w *Worker) []int {
	t.Helper()
	var m []int
	var err error
	if e := w.Do(context.Background(), func() { m, err = getAffinity(0) }); e != nil {
		t.Fatalf("Do: %v", e)
	}
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPinWithWorkers checks that Pin and running pinned workers do not
// undo each other: every thread stays within the pin while it is in effect,
// whether a worker started before or after it, and every thread is back on
// the process's mask once the pin is undone and the workers are closed.
func TestPinWithWorkers(t *testing.T) {
	topo := realTopology(t)
	local := topo.LocalNode()
	if len(local.AllowedCPUs) < 2 {
		t.Skipf("node %d has one allowed CPU (%v): workers and pins cannot differ", local.ID, local.AllowedCPUs)
	}
	a, b := local.AllowedCPUs[0], local.AllowedCPUs[len(local.AllowedCPUs)-1]
	orig := mainMask(t)
	pin := func(t *testing.T, opts ...PinOption) func() error {
		t.Helper()
		undo, err := Pin(local.ID, append(opts, WithoutGOMAXPROCS(), WithMemPolicy(MemLeave))...)
		if errors.Is(err, ErrUnavailable) {
			t.Skipf("pinning is unavailable here: %v", err)
		}
		if err != nil {
			t.Fatalf("Pin(%d): %v", local.ID, err)
		}
		return undo
	}
	start := func(t *testing.T, cpus ...int) *Worker {
		t.Helper()
		w, err := NewWorker(cpus)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Start(); errors.Is(err, ErrUnavailable) {
			t.Skipf("thread affinity is unavailable here: %v", err)
		} else if err != nil {
			t.Fatalf("Start: %v", err)
		}
		return w
	}

	// A worker outside the pin, then Pin, then the worker closes while
	// pinned: its thread must not go back to its wider pre-pin mask.
	t.Run("worker-outside-pin-closes-while-pinned", func(t *testing.T) {
		w := start(t, a)
		defer w.Close()
		var rep PinReport
		undo := pin(t, WithCPUs(b), WithReport(&rep))
		defer undo()
		if rep.Method != MethodTaskWalk || !strings.Contains(strings.Join(rep.Notes, "; "), "outside the pin") {
			t.Errorf("Pin with a worker outside it: report %v, want method %s and a note on the worker", rep, MethodTaskWalk)
		}
		if m := workerMask(t, w); !slices.Equal(m, []int{b}) {
			t.Errorf("worker outside the pin: thread mask %v while pinned, want [%d] (the pin's)", m, b)
		}
		checkMasks(t, "pinned with a worker running", []int{b}, true)
		if err := w.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		checkMasks(t, "pinned, worker closed", []int{b}, true)
		if err := undo(); err != nil {
			t.Fatalf("undo: %v", err)
		}
		checkMasks(t, "after undo", orig, false)
	})

	// A worker inside the pin keeps its own CPUs through the pin; once it
	// closes, undo must not give its (now generic) thread the worker's mask.
	t.Run("worker-inside-pin-closes-before-undo", func(t *testing.T) {
		w := start(t, a)
		defer w.Close()
		undo := pin(t)
		defer undo()
		if m := workerMask(t, w); !slices.Equal(m, []int{a}) {
			t.Errorf("worker thread mask while pinned = %v, want [%d] (the worker's)", m, a)
		}
		checkMasks(t, "pinned with a worker running", local.AllowedCPUs, true)
		if err := w.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		checkMasks(t, "pinned, worker closed", local.AllowedCPUs, true)
		if err := undo(); err != nil {
			t.Fatalf("undo: %v", err)
		}
		checkMasks(t, "after undo", orig, false)
	})

	// Pin, then a worker starts; undo while it runs keeps the worker on its
	// CPUs, and its thread goes back to the process's mask when it closes,
	// not to the pinned mask it started on.
	t.Run("worker-starts-while-pinned-closes-after-undo", func(t *testing.T) {
		undo := pin(t, WithCPUs(b))
		defer undo()
		w := start(t, a, b)
		defer w.Close()
		if m := workerMask(t, w); !slices.Equal(m, []int{b}) {
			t.Errorf("worker started while pinned: thread mask %v, want [%d]", m, b)
		}
		if err := undo(); err != nil {
			t.Fatalf("undo: %v", err)
		}
		if m := workerMask(t, w); !slices.Equal(m, []int{b}) {
			t.Errorf("worker after undo: thread mask %v, want [%d] (never wider than at its start)", m, b)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		checkMasks(t, "after undo and Close", orig, false)
	})

	// RunOn while pinned, outside the pin: its thread returns within the pin.
	t.Run("runon-while-pinned", func(t *testing.T) {
		undo := pin(t, WithCPUs(b))
		defer undo()
		if err := RunOn([]int{a, b}, func() {}); err != nil {
			t.Fatalf("RunOn: %v", err)
		}
		checkMasks(t, "pinned, after RunOn", []int{b}, true)
	})
}

// TestPinWorkersConcurrent pins and unpins while workers start, run and
// close on other goroutines; while a pin is in effect no thread may be
// outside it, and at the end every thread is back on the process's mask.
func TestPinWorkersConcurrent(t *testing.T) {
	topo := realTopology(t)
	local := topo.LocalNode()
	if len(local.AllowedCPUs) < 2 {
		t.Skipf("node %d has one allowed CPU (%v)", local.ID, local.AllowedCPUs)
	}
	a, b := local.AllowedCPUs[0], local.AllowedCPUs[len(local.AllowedCPUs)-1]
	orig := mainMask(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if i == 0 {
					_ = RunOn([]int{a}, func() {})
					continue
				}
				w, err := NewWorker([]int{a, b}[:i])
				if err != nil {
					t.Error(err)
					return
				}
				if err := w.Start(); errors.Is(err, ErrNoCPUs) {
					continue // pinned away from the worker's CPUs
				} else if err != nil {
					t.Errorf("Start: %v", err)
					return
				}
				_ = w.Do(context.Background(), func() {})
				if err := w.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}
		}()
	}
	for range 20 {
		undo, err := Pin(local.ID, WithCPUs(b), WithoutGOMAXPROCS(), WithMemPolicy(MemLeave))
		if errors.Is(err, ErrUnavailable) {
			close(stop)
			wg.Wait()
			t.Skipf("pinning is unavailable here: %v", err)
		}
		if err != nil {
			t.Fatalf("Pin: %v", err)
		}
		checkMasks(t, "pinned, workers coming and going", []int{b}, true)
		if err := undo(); err != nil {
			t.Fatalf("undo: %v", err)
		}
	}
	close(stop)
	wg.Wait()
	checkMasks(t, "after the last undo and every worker closed", orig, false)
}
