//go:build linux

package numa

import (
	"fmt"

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
func lockAffinity(cpus []int) (eff []int, restore func() error, err error) {
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
	return eff, func() error {
		if e := sys.setaffinity(0, maskOf(old)); e != 0 {
			return wrapErrno("restore this thread's affinity", e)
		}
		return nil
	}, nil
}
