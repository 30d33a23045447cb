//go:build linux

package numa

import (
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gotune/gotune/internal/cpulist"
	"github.com/gotune/gotune/internal/sysnode"
)

const defaultRoot = "/"

// Memory policy modes from <linux/mempolicy.h>; x/sys/unix does not define
// them.
const (
	mpolDefault   = 0
	mpolPreferred = 1
	mpolBind      = 2
)

// sys holds the system calls this package makes, as variables so that
// tests can inject EPERM, ENOSYS and ENOTSUP (to force the /proc/self/task
// walk). Each default converts its pointers to uintptr inside the call
// expression, the one form in which the runtime keeps the memory alive and
// in place for the duration of the call.
var sys = struct {
	getaffinity  func(tid int, m mask) syscall.Errno
	setaffinity  func(tid int, m mask) syscall.Errno
	getmempolicy func(mode *int32, m mask) syscall.Errno
	setmempolicy func(mode int, m mask) syscall.Errno
	getcpu       func(cpu, node *uint32) syscall.Errno
	// The AllThreadsSyscall forms: every thread of the Go runtime at once,
	// ENOTSUP in binaries that use cgo.
	setaffinityAll  func(m mask) syscall.Errno
	setmempolicyAll func(mode int, m mask) syscall.Errno
	tasks           func() ([]int, error)
	// setDefaultGOMAXPROCS is runtime.SetDefaultGOMAXPROCS (Go 1.25+).
	setDefaultGOMAXPROCS func()
}{
	getaffinity: func(tid int, m mask) syscall.Errno {
		_, _, e := unix.Syscall(unix.SYS_SCHED_GETAFFINITY, uintptr(tid), m.bytes(), uintptr(unsafe.Pointer(&m[0])))
		return e
	},
	setaffinity: func(tid int, m mask) syscall.Errno {
		_, _, e := unix.Syscall(unix.SYS_SCHED_SETAFFINITY, uintptr(tid), m.bytes(), uintptr(unsafe.Pointer(&m[0])))
		return e
	},
	getmempolicy: func(mode *int32, m mask) syscall.Errno {
		_, _, e := unix.Syscall6(unix.SYS_GET_MEMPOLICY, uintptr(unsafe.Pointer(mode)), uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)*wordBits), 0, 0, 0)
		return e
	},
	setmempolicy: func(mode int, m mask) syscall.Errno {
		if len(m) == 0 {
			_, _, e := unix.Syscall(unix.SYS_SET_MEMPOLICY, uintptr(mode), 0, 0)
			return e
		}
		_, _, e := unix.Syscall(unix.SYS_SET_MEMPOLICY, uintptr(mode), uintptr(unsafe.Pointer(&m[0])), m.maxnode())
		return e
	},
	getcpu: func(cpu, node *uint32) syscall.Errno {
		_, _, e := unix.Syscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(cpu)), uintptr(unsafe.Pointer(node)), 0)
		return e
	},
	setaffinityAll: func(m mask) syscall.Errno {
		_, _, e := syscall.AllThreadsSyscall(unix.SYS_SCHED_SETAFFINITY, 0, m.bytes(), uintptr(unsafe.Pointer(&m[0])))
		return e
	},
	setmempolicyAll: func(mode int, m mask) syscall.Errno {
		if len(m) == 0 {
			_, _, e := syscall.AllThreadsSyscall(unix.SYS_SET_MEMPOLICY, uintptr(mode), 0, 0)
			return e
		}
		_, _, e := syscall.AllThreadsSyscall(unix.SYS_SET_MEMPOLICY, uintptr(mode), uintptr(unsafe.Pointer(&m[0])), m.maxnode())
		return e
	},
	tasks:                func() ([]int, error) { return sysnode.Tasks("/") },
	setDefaultGOMAXPROCS: runtime.SetDefaultGOMAXPROCS,
}

// unavailable reports whether errno means "not here" rather than "broken".
func unavailable(e syscall.Errno) bool { return e == unix.EPERM || e == unix.ENOSYS }

// wrapErrno turns an errno into an error, wrapping ErrUnavailable where it
// applies.
func wrapErrno(what string, e syscall.Errno) error {
	if unavailable(e) {
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, e)
	}
	return fmt.Errorf("numa: %s: %w", what, e)
}

// mask is a kernel bitmap (cpumask or nodemask) in unsigned longs.
type mask []uint

// wordBits is the width of the kernel's unsigned long, which bitmaps are
// made of; Go's uint has the same width on every Linux port, so the layout
// is right on 32-bit big-endian machines too.
const wordBits = bits.UintSize

func maskOf(ids []int) mask {
	hi := 0
	for _, id := range ids {
		hi = max(hi, id)
	}
	m := make(mask, hi/wordBits+1)
	for _, id := range ids {
		m[id/wordBits] |= 1 << (id % wordBits)
	}
	return m
}

func (m mask) ids() []int {
	out := []int{}
	for w, v := range m {
		for v != 0 {
			b := bits.TrailingZeros(v)
			out = append(out, w*wordBits+b)
			v &^= 1 << b
		}
	}
	return out
}

// bytes is the size the affinity calls take.
func (m mask) bytes() uintptr { return uintptr(len(m) * wordBits / 8) }

// maxnode is what set_mempolicy and mbind take for m: the kernel decrements
// maxnode before using it (a historic off-by-one that glibc and libnuma
// compensate for), so a mask of n bits is passed as n + 1. Passing n drops
// the highest bit of every mask: for node 63 of a one-word mask the policy
// silently becomes "no nodes".
func (m mask) maxnode() uintptr { return uintptr(len(m)*wordBits + 1) }

// getAffinity returns the CPUs thread tid (0: the calling thread) may run
// on. The kernel rejects a buffer smaller than nr_cpu_ids bits with EINVAL,
// so the buffer grows until it fits.
func getAffinity(tid int) ([]int, error) {
	for words := 1024 / wordBits; words <= cpulist.MaxID/wordBits; words *= 2 {
		m := make(mask, words)
		e := sys.getaffinity(tid, m)
		if e == unix.EINVAL {
			continue
		}
		if e != 0 {
			return nil, wrapErrno(fmt.Sprintf("sched_getaffinity(%d)", tid), e)
		}
		return m.ids(), nil
	}
	return nil, fmt.Errorf("numa: sched_getaffinity(%d): mask larger than %d bits", tid, cpulist.MaxID)
}

// getMempolicy returns the calling thread's memory policy mode (with its
// flags) and nodes.
func getMempolicy() (int, []int, error) {
	var mode int32
	// MAX_NUMNODES is at most 1024; the kernel rejects a buffer larger
	// than a page.
	m := make(mask, 1024/wordBits)
	if e := sys.getmempolicy(&mode, m); e != 0 {
		return 0, nil, wrapErrno("get_mempolicy", e)
	}
	return int(mode), m.ids(), nil
}

// nodeMask is maskOf, except that no nodes means a NULL mask.
func nodeMask(nodes []int) mask {
	if len(nodes) == 0 {
		return nil
	}
	return maskOf(nodes)
}

// walkTasks applies fn to every thread of the process, rereading
// /proc/self/task until a whole pass in which fn changes nothing. fn must be
// idempotent and report whether it changed the thread. The final clean pass
// is the check: a thread cloned from one not yet changed (its mask copied
// before the change, itself not yet listed) shows up in a later listing
// with the old setting and is changed then; a second clean pass after a
// short pause leaves such a clone time to show up. Threads that exit meanwhile
// (ESRCH) are skipped. It returns the number of threads seen.
func walkTasks(fn func(tid int) (changed bool, e syscall.Errno)) (int, error) {
	seen := map[int]bool{}
	clean := 0
	for pass := 0; pass < 100; pass++ {
		tids, err := sys.tasks()
		if err != nil {
			return len(seen), fmt.Errorf("numa: %w", err)
		}
		changed := 0
		for _, tid := range tids {
			c, e := fn(tid)
			if e == unix.ESRCH {
				continue
			}
			if e != 0 {
				return len(seen), wrapErrno(fmt.Sprintf("thread %d", tid), e)
			}
			seen[tid] = true
			if c {
				changed++
			}
		}
		if changed > 0 {
			clean = 0
			continue
		}
		// Two clean passes with a pause between: a clone in flight during
		// the first (its mask copied from a thread not yet changed, itself
		// not yet listed) has time to appear in /proc/self/task.
		if clean++; clean == 2 {
			return len(seen), nil
		}
		time.Sleep(100 * time.Microsecond)
	}
	return len(seen), errors.New("numa: threads kept changing for 100 passes over /proc/self/task")
}

// affinityErrno is getAffinity for walkTasks callbacks.
func affinityErrno(tid int) ([]int, syscall.Errno) {
	m, err := getAffinity(tid)
	if err != nil {
		var e syscall.Errno
		if errors.As(err, &e) {
			return nil, e
		}
		return nil, unix.EIO
	}
	return m, 0
}

// getcpu returns the CPU and node the calling thread runs on.
func getcpu() (int, int, error) {
	var cpu, node uint32
	if e := sys.getcpu(&cpu, &node); e != 0 {
		return -1, -1, wrapErrno("getcpu", e)
	}
	return int(cpu), int(node), nil
}
