//go:build linux

package numa

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gotune/gotune/internal/cpulist"
	"github.com/gotune/gotune/internal/owner"
)

// pinMu serializes Pin, undo and the start and end of pinned workers: each
// changes the masks of threads the others track.
var pinMu sync.Mutex

// Guarded by pinMu.
var (
	// pinTarget is the CPUs of the pin in effect, nil when none.
	pinTarget []int
	// workerThreads are the threads of running workers ([RunOn], [Worker])
	// by thread id.
	workerThreads = map[int]*workerThread{}
)

// workerThread is a thread a worker has restricted.
type workerThread struct {
	// cpus are the worker's CPUs: those asked for, within the thread's
	// mask at the worker's start.
	cpus []int
	// base is the mask the thread returns to when the worker ends and no
	// pin is in effect: its mask before the worker, as an undo since has
	// restored it.
	base []int
}

// workerWant is the mask a worker thread gets under a mask that applies to
// the whole process: the worker's CPUs within it, or all of it where they
// share none (the process restriction wins).
func workerWant(w *workerThread, all []int) []int {
	if x := cpulist.Intersect(w.cpus, all); len(x) > 0 {
		return x
	}
	return all
}

// Pin restricts every thread of the process, existing and future, to the
// allowed CPUs of node, sets the memory policy to that node (or, for a
// memoryless node, to the nearest nodes with memory), and lets GOMAXPROCS
// follow the new CPU count. The returned undo restores all three (a
// GOMAXPROCS the program set since the pin stays); it is safe to call more
// than once and from any goroutine.
//
// EPERM or ENOSYS from sched_setaffinity fail Pin with an error wrapping
// [ErrUnavailable] and change nothing; the same errors from the memory
// policy calls are reported in the [PinReport] (see [WithReport]) and the
// pin stands. Pin never widens the CPUs the process may use.
//
// Running pinned workers ([RunOn], [Worker]) keep their own CPUs within
// the pin: their threads get the worker's CPUs that the pin allows (where
// they share none, the pin's CPUs, said in the report's Notes), and with
// such workers running Pin moves threads one by one ([MethodTaskWalk]).
// A worker that ends while the pin is in effect leaves its thread on the
// pin's CPUs; undo gives a running worker's thread its CPUs within the
// restored mask, and the thread returns to that mask when the worker ends.
//
// A pin that lowers GOMAXPROCS owns it while it stands, through the
// registry that tune and gcguard claim settings in: tune hands it over,
// its refresh leaves it alone and reports numa as the owner, and undo
// gives it back.
//
// Pins do not nest: while a pin is in effect (made and not yet undone),
// Pin fails with an error wrapping [ErrPinned] that names the node pinned,
// and changes nothing. Undo the pin in effect before pinning again.
//
// Pin is safe for concurrent use; concurrent calls are serialized, and of
// calls that overlap only the first succeeds.
func Pin(node int, opts ...PinOption) (undo func() error, err error) {
	c := newPinConfig(opts)
	if c.report != nil {
		*c.report = PinReport{}
	}
	if c.err != nil {
		return nil, c.err
	}
	pinMu.Lock()
	defer pinMu.Unlock()
	// Checked first: while pinned, discovery sees the pinned CPUs only.
	if cur, ok := Pinned(); ok {
		return nil, fmt.Errorf("%w to node %d (cpus %s); undo that pin before pinning to node %d",
			ErrPinned, cur.Node, cpulist.Format(cur.CPUs), node)
	}
	t, err := discover(rootOr(c.root))
	if err != nil {
		return nil, err
	}
	cpus, err := pinCPUs(t, node, &c)
	if err != nil {
		return nil, err
	}
	rep := &PinReport{Node: node, CPUs: cpus, MemPolicy: "none"}
	if c.report != nil {
		defer func() { *c.report = *rep }()
	}

	restoreCPUs, err := pinThreads(cpus, rep)
	if err != nil {
		return nil, err
	}
	restoreMem, err := pinMemory(t, node, c.policy, rep)
	if err != nil {
		// Roll back: a half-applied pin is worse than none.
		return nil, errors.Join(err, restoreCPUs())
	}
	restoreProcs := followGOMAXPROCS(len(cpus), !c.noMaxProcs, rep)
	if c.logger != nil {
		c.logger.Info("numa: pinned", slog.Int("node", node), slog.String("cpus", cpulist.Format(cpus)),
			slog.String("method", string(rep.Method)), slog.Int("threads", rep.Threads),
			slog.String("mem_policy", rep.MemPolicy), slog.Int("gomaxprocs", rep.GOMAXPROCSAfter),
			slog.Any("notes", rep.Notes))
	}
	pinTarget = cpus
	state := *rep
	setPinned(&state)
	var once sync.Once
	var undoErr error
	return func() error {
		once.Do(func() {
			pinMu.Lock()
			defer pinMu.Unlock()
			unsetPinned(&state)
			pinTarget = nil
			undoErr = errors.Join(restoreMem(), restoreCPUs())
			restoreProcs()
			if c.logger != nil {
				c.logger.Info("numa: unpinned", slog.Int("node", node), slog.Any("error", undoErr))
			}
		})
		return undoErr
	}, nil
}

func rootOr(root string) string {
	if root == "" {
		return defaultRoot
	}
	return root
}

// pinThreads restricts every thread to cpus and returns how to restore
// each thread's previous mask.
//
// Every thread means every entry of /proc/self/task, not only the Go
// runtime's threads: syscall.AllThreadsSyscall reaches the threads the
// runtime has in its list of Ms, which misses a thread that has left that
// list but not yet exited, and any thread the runtime does not manage. So
// the all-threads call is followed by the same /proc/self/task walk that
// cgo binaries use, which fixes the stragglers and repeats until a pass
// changes nothing.
func pinThreads(cpus []int, rep *PinReport) (func() error, error) {
	// Save every thread's mask first: threads may differ (a LockOSThread
	// worker with its own mask), and undo gives each its own back. Threads
	// born after this save are not recorded: they cloned from a thread
	// that may already be pinned, so what they hold is no record of the
	// mask before; undo gives them the process's (the main thread's).
	saved := map[int][]int{}
	if _, err := walkTasks(func(tid int) (bool, syscall.Errno) {
		if _, ok := saved[tid]; ok {
			return false, 0
		}
		m, e := affinityErrno(tid)
		if e == 0 {
			saved[tid] = m
		}
		return e == 0, e
	}); err != nil {
		return nil, fmt.Errorf("numa: save thread affinity: %w", err)
	}
	fallback, err := getAffinity(os.Getpid())
	if err != nil {
		return nil, err
	}
	if w, ok := workerThreads[os.Getpid()]; ok {
		fallback = w.base // the main thread runs a worker: not the process's mask
	}
	// A running worker's thread holds the worker's mask; what undo gives it
	// back is the mask it returns to when the worker ends. Its mask while
	// pinned is the worker's CPUs within the pin (workerWant).
	for tid, w := range workerThreads {
		if _, ok := saved[tid]; ok {
			saved[tid] = w.base
		}
		if len(cpulist.Intersect(w.cpus, cpus)) == 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("worker thread %d: its cpus %s are outside the pin: it runs on the pinned cpus until the pin is undone",
				tid, cpulist.Format(w.cpus)))
		}
	}

	target := maskOf(cpus)
	e := unix.ENOTSUP
	if len(workerThreads) == 0 {
		e = sys.setaffinityAll(target)
	} else {
		// The all-threads call would give worker threads the whole pin.
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d pinned worker thread(s) running: threads pinned one by one through /proc/self/task, so that workers keep their cpus", len(workerThreads)))
	}
	switch {
	case e == 0:
		rep.Method = MethodAllThreads
	case e == unix.ENOTSUP:
		rep.Method = MethodTaskWalk
	default:
		return nil, wrapErrno("sched_setaffinity(all threads, "+cpulist.Format(cpus)+")", e)
	}
	n, err := walkTasks(func(tid int) (bool, syscall.Errno) {
		cur, e := affinityErrno(tid)
		if e != 0 {
			return false, e
		}
		want, m := cpus, target
		if w, ok := workerThreads[tid]; ok {
			want = workerWant(w, cpus)
			m = maskOf(want)
		}
		if slices.Equal(cur, want) {
			return false, 0
		}
		return true, sys.setaffinity(tid, m)
	})
	rep.Threads = n
	if err != nil {
		// Put back the threads already moved.
		return nil, errors.Join(err, restoreThreads(saved, fallback))
	}
	return func() error {
		// One mask for all: restore at once where the runtime can, then
		// check every thread (and fix the ones the runtime cannot reach).
		if len(workerThreads) == 0 && same(saved, fallback) {
			_ = sys.setaffinityAll(maskOf(fallback))
		}
		return restoreThreads(saved, fallback)
	}, nil
}

func same(saved map[int][]int, m []int) bool {
	for _, v := range saved {
		if !slices.Equal(v, m) {
			return false
		}
	}
	return true
}

// restoreThreads gives each thread its saved mask; threads born since the
// pin get the process's (the main thread's) original mask. A running
// worker's thread gets the worker's CPUs within that mask, and returns to
// that mask when the worker ends. The caller holds pinMu.
func restoreThreads(saved map[int][]int, fallback []int) error {
	_, err := walkTasks(func(tid int) (bool, syscall.Errno) {
		want, ok := saved[tid]
		if !ok {
			want = fallback
		}
		if w, ok := workerThreads[tid]; ok {
			w.base = want
			want = workerWant(w, want)
		}
		cur, e := affinityErrno(tid)
		if e != 0 {
			return false, e
		}
		if slices.Equal(cur, want) {
			return false, 0
		}
		return true, sys.setaffinity(tid, maskOf(want))
	})
	if err != nil {
		return fmt.Errorf("numa: restore thread affinity: %w", err)
	}
	return nil
}

// pinMemory sets the memory policy of every Go thread and returns how to
// restore it. Unavailability is reported, not returned.
func pinMemory(t *Topology, node int, policy MemPolicy, rep *PinReport) (func() error, error) {
	noop := func() error { return nil }
	if policy == MemLeave {
		rep.Notes = append(rep.Notes, "memory policy left as it was (MemLeave)")
		return noop, nil
	}
	nodes := t.MemoryNodes(node)
	if len(nodes) == 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("memory policy not set: node %d and its neighbours have no memory this process may use (allowed memory nodes %s)", node, cpulist.Format(t.AllowedMems)))
		return noop, nil
	}
	if nodes[0] != node {
		rep.Notes = append(rep.Notes, fmt.Sprintf("node %d has no usable memory: memory policy uses the nearest node(s) %s", node, cpulist.Format(nodes)))
	}
	mode := mpolPreferred
	if policy == MemBind {
		mode = mpolBind
	} else {
		nodes = nodes[:1] // MPOL_PREFERRED takes one node
	}
	// The policy before: read on this thread, which Pin's callers have not
	// changed on their own, and which all threads inherited.
	oldMode, oldNodes, err := getMempolicy()
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			rep.Notes = append(rep.Notes, "memory policy unavailable: "+err.Error())
			return noop, nil
		}
		return nil, err
	}
	e := sys.setmempolicyAll(mode, nodeMask(nodes))
	switch {
	case e == 0:
	case e == unix.ENOTSUP:
		// set_mempolicy acts on the calling thread only, and a cgo binary
		// gives no way to run it on every thread. CPU pinning alone still
		// makes first-touch allocations local.
		rep.Notes = append(rep.Notes, "memory policy not set: the binary uses cgo, so set_mempolicy cannot reach every thread; allocations follow the pinned CPUs (first touch); use numactl --preferred/--membind at launch for a strict policy")
		return noop, nil
	case unavailable(e):
		rep.Notes = append(rep.Notes, "memory policy unavailable: "+wrapErrno("set_mempolicy", e).Error())
		return noop, nil
	default:
		return nil, wrapErrno(fmt.Sprintf("set_mempolicy(%s, %s)", policy, cpulist.Format(nodes)), e)
	}
	rep.MemPolicy = policy.String()
	rep.MemNodes = nodes
	return func() error {
		restore := oldNodes
		if oldMode&0xff == mpolDefault {
			restore = nil
		}
		if e := sys.setmempolicyAll(oldMode, nodeMask(restore)); e != 0 {
			return wrapErrno("restore memory policy", e)
		}
		return nil
	}, nil
}

// followGOMAXPROCS lowers GOMAXPROCS to the runtime's default for the new
// affinity when it exceeds the pinned CPU count, unless the GOMAXPROCS
// environment variable is set (the user's setting wins). It returns how to
// put the old value back.
func followGOMAXPROCS(ncpu int, follow bool, rep *PinReport) func() {
	before := runtime.GOMAXPROCS(0)
	rep.GOMAXPROCSBefore, rep.GOMAXPROCSAfter = before, before
	noop := func() {}
	switch {
	case !follow:
		rep.Notes = append(rep.Notes, "GOMAXPROCS left as it was (WithoutGOMAXPROCS)")
		return noop
	case os.Getenv("GOMAXPROCS") != "":
		rep.Notes = append(rep.Notes, fmt.Sprintf("GOMAXPROCS=%q in the environment: left at %d", os.Getenv("GOMAXPROCS"), before))
		return noop
	case before <= ncpu:
		return noop
	}
	// The pin owns GOMAXPROCS while it stands (internal/owner): tune hands
	// it over, and its refresh leaves it alone and names numa as the owner.
	c, err := owner.Take(owner.GOMAXPROCS, owner.NUMA, owner.Tune)
	if err != nil {
		rep.Notes = append(rep.Notes, fmt.Sprintf("GOMAXPROCS left at %d: %v", before, err))
		return noop
	}
	c.Set(0, sys.setDefaultGOMAXPROCS)
	after := runtime.GOMAXPROCS(0)
	rep.GOMAXPROCSAfter = after
	c.Set(int64(after), nil)
	rep.Notes = append(rep.Notes, fmt.Sprintf("GOMAXPROCS %d exceeded the %d pinned CPUs: set to the runtime default %d", before, ncpu, rep.GOMAXPROCSAfter))
	return func() {
		// The runtime's default for the restored affinity is usually the
		// old value; where it is not, the old value was set on purpose.
		c.Set(int64(before), func() {
			if runtime.GOMAXPROCS(0) != after {
				return // the program set it since: its value stays
			}
			sys.setDefaultGOMAXPROCS()
			if runtime.GOMAXPROCS(0) != before {
				runtime.GOMAXPROCS(before)
			}
		})
		c.Release() // tune owns it again where it handed it over
	}
}
