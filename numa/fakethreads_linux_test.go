//go:build linux

package numa

import (
	"errors"
	"maps"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gotune/gotune/internal/cpulist"
)

// fakeProc is an in-memory thread table standing in for /proc/self/task and
// the per-thread affinity calls, so that Pin's logic runs against fixture
// topologies, and against thread births and runtime blind spots that a real
// process produces only by chance, without touching this process.
type fakeProc struct {
	mu    sync.Mutex
	masks map[int][]int // tid -> mask
	// onSet, if set, runs after each per-thread setaffinity (mu held).
	onSet func(tid int, m []int)
	// hidden are threads the all-threads call does not reach, as
	// syscall.AllThreadsSyscall does not reach a thread that is not (or no
	// longer) one of the runtime's Ms.
	hidden map[int]bool
}

// fakeThreads installs a fakeProc with the main thread and two more, all on
// start. The all-threads call changes every thread not hidden; tests that
// record it wrap f.all. Call saveSys first.
func fakeThreads(start []int) *fakeProc {
	pid := os.Getpid()
	f := &fakeProc{masks: map[int][]int{pid: start, pid + 1: start, pid + 2: start}, hidden: map[int]bool{}}
	sys.tasks = func() ([]int, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		return slices.Sorted(maps.Keys(f.masks)), nil
	}
	sys.getaffinity = func(tid int, m mask) syscall.Errno {
		f.mu.Lock()
		defer f.mu.Unlock()
		if tid == 0 {
			tid = pid
		}
		cur, ok := f.masks[tid]
		if !ok {
			return unix.ESRCH
		}
		clear(m)
		copy(m, maskOf(cur))
		return 0
	}
	sys.setaffinity = func(tid int, m mask) syscall.Errno {
		f.mu.Lock()
		defer f.mu.Unlock()
		if tid == 0 {
			tid = pid
		}
		if _, ok := f.masks[tid]; !ok {
			return unix.ESRCH
		}
		f.masks[tid] = m.ids()
		if f.onSet != nil {
			f.onSet(tid, m.ids())
		}
		return 0
	}
	sys.setaffinityAll = f.all
	return f
}

// all is the fake all-threads call.
func (f *fakeProc) all(m mask) syscall.Errno {
	f.mu.Lock()
	defer f.mu.Unlock()
	for tid := range f.masks {
		if !f.hidden[tid] {
			f.masks[tid] = m.ids()
		}
	}
	return 0
}

// check reports every thread whose mask is not want.
func (f *fakeProc) check(t *testing.T, when string, want []int) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, tid := range slices.Sorted(maps.Keys(f.masks)) {
		if m := f.masks[tid]; !slices.Equal(m, want) {
			t.Errorf("%s: thread %d mask %s, want %s", when, tid, cpulist.Format(m), cpulist.Format(want))
		}
	}
}

// TestPinThreadBornDuringPin: a thread cloned from an already pinned thread
// while Pin walks /proc/self/task inherits the pinned mask. That mask is no
// record of the thread's mask before the pin: undo must give the thread the
// process's original mask, not "restore" it to the pinned one (as it did
// when the walk recorded a newborn's mask as its saved mask).
func TestPinThreadBornDuringPin(t *testing.T) {
	for _, allThreads := range []bool{false, true} {
		name := map[bool]string{false: "task walk", true: "all-threads call"}[allThreads]
		t.Run(name, func(t *testing.T) {
			saveSys(t)
			orig := []int{0, 1}
			f := fakeThreads(orig)
			pid := os.Getpid()
			born := pid + 100
			birth := func() {
				if _, ok := f.masks[born]; !ok {
					f.masks[born] = []int{1} // cloned from a pinned parent
				}
			}
			if allThreads {
				sys.setaffinityAll = func(m mask) syscall.Errno {
					e := f.all(m)
					f.mu.Lock()
					birth()
					f.mu.Unlock()
					return e
				}
			} else {
				sys.setaffinityAll = func(mask) syscall.Errno { return unix.ENOTSUP }
				f.onSet = func(int, []int) { birth() }
			}
			undo, err := Pin(0, WithRoot("testdata/no-numa"), WithCPUs(1), WithoutGOMAXPROCS(), WithMemPolicy(MemLeave))
			if err != nil {
				t.Fatalf("Pin: %v", err)
			}
			f.check(t, "after Pin", []int{1})
			f.onSet = nil
			if err := undo(); err != nil {
				t.Fatalf("undo: %v", err)
			}
			f.check(t, "after undo", orig)
		})
	}
}

// TestPinAllThreadsStragglers: syscall.AllThreadsSyscall reaches only the
// runtime's Ms; a thread it misses (one that left the runtime's list but has
// not exited yet, or one the runtime does not manage) must still be pinned
// and restored, by the /proc/self/task walk that follows the call.
func TestPinAllThreadsStragglers(t *testing.T) {
	saveSys(t)
	orig := []int{0, 1}
	f := fakeThreads(orig)
	f.hidden[os.Getpid()+2] = true
	var rep PinReport
	undo, err := Pin(0, WithRoot("testdata/no-numa"), WithCPUs(1), WithoutGOMAXPROCS(), WithMemPolicy(MemLeave), WithReport(&rep))
	if err != nil {
		t.Fatalf("Pin: %v", err)
	}
	if rep.Method != MethodAllThreads || rep.Threads != 3 {
		t.Errorf("report %+v, want method %s and 3 threads", rep, MethodAllThreads)
	}
	f.check(t, "after Pin", []int{1})
	if err := undo(); err != nil {
		t.Fatalf("undo: %v", err)
	}
	f.check(t, "after undo", orig)
}

// TestPinWalkFails: a thread that refuses the new mask midway fails Pin, and
// the threads already moved get their masks back.
func TestPinWalkFails(t *testing.T) {
	saveSys(t)
	orig := []int{0, 1}
	f := fakeThreads(orig)
	sys.setaffinityAll = func(mask) syscall.Errno { return unix.ENOTSUP }
	set := sys.setaffinity
	bad := os.Getpid() + 2
	sys.setaffinity = func(tid int, m mask) syscall.Errno {
		if tid == bad && slices.Equal(m.ids(), []int{1}) {
			return unix.EPERM
		}
		return set(tid, m)
	}
	undo, err := Pin(0, WithRoot("testdata/no-numa"), WithCPUs(1), WithoutGOMAXPROCS(), WithMemPolicy(MemLeave))
	if !errors.Is(err, ErrUnavailable) || undo != nil {
		t.Fatalf("Pin with thread %d refusing: %v, %v; want ErrUnavailable and no undo", bad, undo != nil, err)
	}
	f.check(t, "after the failed Pin", orig)
}
