//go:build linux

package numa

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/gotune/gotune/internal/cpulist"
)

// Getcpu returns the CPU and the node the calling thread is running on,
// through the getcpu system call. The answer can be stale as soon as it
// returns, unless the goroutine is locked to a thread whose affinity is one
// CPU (see [RunOn] and [Worker]); use it to observe placement, not to
// decide it. It is safe for concurrent use.
func Getcpu() (cpu, node int, err error) {
	return getcpu()
}

// lockAffinity restricts the calling thread, which the caller has locked
// with runtime.LockOSThread, to the CPUs of cpus it may already use, and
// returns them and how to restore the thread's mask.
//
// The thread is registered as a worker thread under pinMu, so that [Pin]
// and its undo keep it within the worker's CPUs (see pinThreads). restore
// unregisters it and gives it the mask every other thread has: the CPUs of
// the pin in effect, if any, else its mask from before (as updated by an
// undo since), never the wider mask from before a pin still in effect.
func lockAffinity(cpus []int) (eff []int, restore func() error, err error) {
	pinMu.Lock()
	defer pinMu.Unlock()
	old, err := getAffinity(0)
	if err != nil {
		return nil, nil, err
	}
	eff = cpulist.Intersect(cpus, old)
	if len(eff) == 0 {
		return nil, nil, fmt.Errorf("%w: cpus %q share none with this thread's %q", ErrNoCPUs, cpulist.Format(cpus), cpulist.Format(old))
	}
	if e := sys.setaffinity(0, maskOf(eff)); e != 0 {
		return nil, nil, wrapErrno("sched_setaffinity(this thread)", e)
	}
	tid := unix.Gettid()
	wt := &workerThread{cpus: eff, base: old}
	workerThreads[tid] = wt
	return eff, func() error {
		pinMu.Lock()
		defer pinMu.Unlock()
		delete(workerThreads, tid)
		want := wt.base
		if pinTarget != nil {
			want = pinTarget
		}
		if e := sys.setaffinity(0, maskOf(want)); e != 0 {
			return wrapErrno("restore this thread's affinity", e)
		}
		return nil
	}, nil
}
