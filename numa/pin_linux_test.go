//go:build linux

package numa

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/sys/unix"

	"github.com/gotune/gotune/internal/cpulist"
	"github.com/gotune/gotune/internal/sysnode"
)

// threadMasks reads Cpus_allowed_list of every thread from
// /proc/self/task/*/status, independently of the code under test.
func threadMasks(t *testing.T) map[int][]int {
	t.Helper()
	tids, err := sysnode.Tasks("/")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int][]int{}
	for _, tid := range tids {
		st, err := sysnode.ReadStatus("/", filepath.Join("proc/self/task", strconv.Itoa(tid), "status"))
		if errors.Is(err, os.ErrNotExist) {
			continue // exited
		}
		if err != nil || !st.HasCPUs {
			t.Fatalf("thread %d status: %+v, %v", tid, st, err)
		}
		out[tid] = st.CPUs
	}
	return out
}

// threadComm returns thread tid's name from /proc/self/task/TID/comm, for
// failure messages: it tells a Go runtime thread from, say, the race
// detector's background thread.
func threadComm(tid int) string {
	b, err := os.ReadFile(filepath.Join("/proc/self/task", strconv.Itoa(tid), "comm"))
	if err != nil {
		return "exited"
	}
	return strings.TrimSpace(string(b))
}

// parkThreads starts n goroutines locked to their own threads, which forces
// the runtime to create threads, and returns a function that releases them.
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

// saveSys restores the system-call seams when the test ends.
func saveSys(t *testing.T) {
	t.Helper()
	saved := sys
	t.Cleanup(func() { sys = saved })
}

func realTopology(t *testing.T) *Topology {
	t.Helper()
	topo, err := Discover()
	if err != nil {
		t.Fatalf("Discover() on this host: %v", err)
	}
	return topo
}

// TestPinEveryThread pins the whole process to one CPU of the local node
// and checks every thread's Cpus_allowed_list, including threads created
// after the pin; undo must give each thread its previous mask back. It runs
// with the method the binary allows (AllThreadsSyscall without cgo) and
// with the /proc/self/task walk forced.
func TestPinEveryThread(t *testing.T) {
	for _, forceWalk := range []bool{false, true} {
		t.Run(fmt.Sprintf("forceWalk=%v", forceWalk), func(t *testing.T) {
			saveSys(t)
			if forceWalk {
				sys.setaffinityAll = func(mask) syscall.Errno { return unix.ENOTSUP }
			}
			topo := realTopology(t)
			local := topo.LocalNode()
			cpu := local.AllowedCPUs[len(local.AllowedCPUs)-1]

			releaseBefore := parkThreads(3)
			defer releaseBefore()
			before := threadMasks(t)

			var rep PinReport
			undo, err := Pin(local.ID, WithCPUs(cpu), WithoutGOMAXPROCS(), WithReport(&rep))
			if errors.Is(err, ErrUnavailable) {
				t.Skipf("pinning is unavailable here: %v", err)
			}
			if err != nil {
				t.Fatalf("Pin(%d, WithCPUs(%d)) error %v", local.ID, cpu, err)
			}
			wantMethod := MethodAllThreads
			if forceWalk || rep.Method == MethodTaskWalk {
				wantMethod = MethodTaskWalk // cgo binaries take the walk too
			}
			if rep.Method != wantMethod || !slices.Equal(rep.CPUs, []int{cpu}) || rep.Threads < len(before) {
				t.Errorf("report %+v, want method %s, cpus [%d], at least %d threads", rep, wantMethod, cpu, len(before))
			}
			if p, ok := Pinned(); !ok || p.Node != local.ID || !slices.Equal(p.CPUs, []int{cpu}) {
				t.Errorf("Pinned() = %+v, %v, want node %d cpus [%d]", p, ok, local.ID, cpu)
			}
			if v := testutil.ToFloat64(NewCollector(&Topology{Root: t.TempDir()}, "").pinnedGauge()); v != float64(local.ID) {
				t.Errorf("gotune_numa_pinned_node = %v while pinned, want %d", v, local.ID)
			}
			releaseAfter := parkThreads(3) // threads born after the pin
			pinnedMasks := threadMasks(t)
			for tid, m := range pinnedMasks {
				if !slices.Equal(m, []int{cpu}) {
					t.Errorf("after Pin: thread %d (%s) Cpus_allowed_list = %s, want %d", tid, threadComm(tid), cpulist.Format(m), cpu)
				}
			}
			releaseAfter()
			if c, _, err := Getcpu(); err != nil || c != cpu {
				t.Errorf("Getcpu() while pinned = %d, %v, want %d", c, err, cpu)
			}

			if err := undo(); err != nil {
				t.Fatalf("undo() error %v", err)
			}
			if err := undo(); err != nil {
				t.Errorf("second undo() error %v", err)
			}
			if p, ok := Pinned(); ok {
				t.Errorf("Pinned() after undo = %+v, want not pinned", p)
			}
			after := threadMasks(t)
			for tid, m := range after {
				want, ok := before[tid]
				if !ok {
					want = before[os.Getpid()] // born since: the process's mask
				}
				if !slices.Equal(m, want) {
					_, existed := before[tid]
					_, seenPinned := pinnedMasks[tid]
					t.Errorf("after undo: thread %d (%s, existed before Pin: %v, listed while pinned: %v) Cpus_allowed_list = %s, want %s",
						tid, threadComm(tid), existed, seenPinned, cpulist.Format(m), cpulist.Format(want))
				}
			}
		})
	}
}

// rawSetMempolicy calls set_mempolicy with an explicit maxnode.
func rawSetMempolicy(mode int, m mask, maxnode uintptr) syscall.Errno {
	_, _, e := unix.Syscall(unix.SYS_SET_MEMPOLICY, uintptr(mode), uintptr(unsafe.Pointer(&m[0])), maxnode)
	return e
}

// TestMaxnodeEdge shows the off-by-one on this kernel: a mask of n bits
// passed with maxnode n loses its top bit, so binding to node 0 with a
// one-bit mask (maxnode 1, as lrita/numa does) is an empty bind (EINVAL);
// with maxnode = bits + 1, as mask.maxnode computes, it binds to node 0.
func TestMaxnodeEdge(t *testing.T) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		// The thread's policy is changed below; if it cannot be put back,
		// exit locked so the runtime discards the thread.
		m := maskOf([]int{0})
		if e := rawSetMempolicy(mpolBind, m, 1); e != unix.EINVAL {
			if unavailable(e) {
				t.Logf("set_mempolicy unavailable: %v", e)
				runtime.UnlockOSThread()
				return
			}
			t.Errorf("set_mempolicy(MPOL_BIND, {0}, maxnode=1) = %v, want EINVAL (the top bit is dropped)", e)
		}
		if got := m.maxnode(); got != wordBits+1 {
			t.Errorf("maxnode of a one-word mask = %d, want %d", got, wordBits+1)
		}
		// The smallest correct maxnode for node 0 is 2 (one bit + 1).
		if e := rawSetMempolicy(mpolBind, m, 2); e != 0 {
			t.Errorf("set_mempolicy(MPOL_BIND, {0}, maxnode=2) = %v, want success", e)
		}
		if e := sys.setmempolicy(mpolBind, m); e != 0 {
			t.Errorf("setmempolicy(MPOL_BIND, {0}) = %v, want success", e)
		}
		mode, nodes, err := getMempolicy()
		if err != nil || mode != mpolBind || !slices.Equal(nodes, []int{0}) {
			t.Errorf("get_mempolicy = %d %v %v, want MPOL_BIND [0]", mode, nodes, err)
		}
		if e := sys.setmempolicy(mpolDefault, nil); e != 0 {
			t.Errorf("restoring MPOL_DEFAULT: %v", e)
			return // exit locked
		}
		runtime.UnlockOSThread()
	}()
	<-done
}

func TestPinErrors(t *testing.T) {
	topo := realTopology(t)
	if _, err := Pin(-1); !errors.Is(err, ErrNoNode) || !strings.Contains(err.Error(), "node -1") {
		t.Errorf("Pin(-1) error %v, want ErrNoNode naming node -1", err)
	}
	local := topo.LocalNode()
	if _, err := Pin(local.ID, WithCPUs(cpulist.MaxID-1)); !errors.Is(err, ErrNoCPUs) {
		t.Errorf("Pin(%d, WithCPUs(outside)) error %v, want ErrNoCPUs", local.ID, err)
	}
	if _, err := Pin(local.ID, WithCPUs(cpulist.MaxID+5)); err == nil || !strings.Contains(err.Error(), "WithCPUs") {
		t.Errorf("Pin(%d, WithCPUs(too large)) error %v, want one naming WithCPUs", local.ID, err)
	}
	if _, err := Pin(0, WithRoot(t.TempDir())); err == nil {
		t.Errorf("Pin(0, WithRoot(empty)) succeeded")
	}
}

// TestPinUnavailable injects EPERM and ENOSYS: from sched_setaffinity they
// fail Pin with ErrUnavailable and leave every thread as it was; from the
// memory-policy calls they are reported and the pin stands.
func TestPinUnavailable(t *testing.T) {
	topo := realTopology(t)
	local := topo.LocalNode()
	for _, errno := range []syscall.Errno{unix.EPERM, unix.ENOSYS} {
		t.Run("affinity "+errno.Error(), func(t *testing.T) {
			saveSys(t)
			sys.setaffinityAll = func(mask) syscall.Errno { return unix.ENOTSUP }
			sys.setaffinity = func(int, mask) syscall.Errno { return errno }
			before := threadMasks(t)
			// One CPU, so that every thread needs changing.
			undo, err := Pin(local.ID, WithCPUs(local.AllowedCPUs[0]))
			if !errors.Is(err, ErrUnavailable) || !errors.Is(err, errno) || undo != nil {
				t.Errorf("Pin with %v = %v, %v, want ErrUnavailable wrapping %v and no undo", errno, undo != nil, err, errno)
			}
			for tid, m := range threadMasks(t) {
				if w, ok := before[tid]; ok && !slices.Equal(m, w) {
					t.Errorf("thread %d mask changed to %v by a failed Pin", tid, m)
				}
			}
			sys.setaffinityAll = func(mask) syscall.Errno { return errno }
			if _, err := Pin(local.ID, WithCPUs(local.AllowedCPUs[0])); !errors.Is(err, ErrUnavailable) {
				t.Errorf("Pin with AllThreadsSyscall %v: error %v, want ErrUnavailable", errno, err)
			}
		})
		t.Run("mempolicy "+errno.Error(), func(t *testing.T) {
			saveSys(t)
			// Pretend the binary has no cgo and record the calls; the
			// threads are fakes, so a leftover real thread with another
			// mask cannot turn undo's one call into a walk.
			orig := mainMask(t)
			f := fakeThreads(orig)
			var calls []string
			sys.setaffinityAll = func(m mask) syscall.Errno {
				calls = append(calls, "affinity "+cpulist.Format(m.ids()))
				return f.all(m)
			}
			sys.setmempolicyAll = func(mode int, m mask) syscall.Errno { return errno }
			var rep PinReport
			undo, err := Pin(local.ID, WithReport(&rep), WithoutGOMAXPROCS())
			if err != nil {
				t.Fatalf("Pin with set_mempolicy %v: error %v, want success", errno, err)
			}
			if rep.MemPolicy != "none" || !slices.ContainsFunc(rep.Notes, func(s string) bool { return strings.Contains(s, "unavailable") }) {
				t.Errorf("report %+v, want mem policy none and an 'unavailable' note", rep)
			}
			if err := undo(); err != nil {
				t.Errorf("undo: %v", err)
			}
			want := []string{"affinity " + cpulist.Format(local.AllowedCPUs), "affinity " + cpulist.Format(orig)}
			if !slices.Equal(calls, want) {
				t.Errorf("affinity calls %q, want %q", calls, want)
			}
			f.check(t, "after undo", orig)
		})
	}
	t.Run("getcpu ENOSYS", func(t *testing.T) {
		saveSys(t)
		sys.getcpu = func(*uint32, *uint32) syscall.Errno { return unix.ENOSYS }
		if _, _, err := Getcpu(); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Getcpu with ENOSYS: %v, want ErrUnavailable", err)
		}
	})
}

// mainMask returns the main thread's current mask.
func mainMask(t *testing.T) []int {
	m, err := getAffinity(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPinFixtureLogic runs Pin against fixture topologies with every system
// call faked: which CPUs, which memory policy on which nodes, and the
// GOMAXPROCS decision.
func TestPinFixtureLogic(t *testing.T) {
	type rec struct {
		affinity []int
		mode     int
		nodes    []int
		procs    int
	}
	tests := []struct {
		name     string
		root     string
		node     int
		opts     []PinOption
		env      string
		want     rec
		wantErr  error
		wantNote string
	}{
		{name: "2socket node 1 preferred", root: "testdata/2socket", node: 1,
			want: rec{affinity: list("16-31"), mode: mpolPreferred, nodes: []int{1}, procs: 1}},
		{name: "2socket node 0 bind, 2 cpus", root: "testdata/2socket", node: 0, opts: []PinOption{WithMemPolicy(MemBind), WithCPUs(3, 2, 99)},
			want: rec{affinity: []int{2, 3}, mode: mpolBind, nodes: []int{0}, procs: 1}},
		{name: "memoryless node prefers nearest memory", root: "testdata/sparse-memoryless", node: 2,
			want: rec{affinity: list("4-7"), mode: mpolPreferred, nodes: []int{0}, procs: 1}, wantNote: "nearest"},
		{name: "memory policy left", root: "testdata/2socket", node: 0, opts: []PinOption{WithMemPolicy(MemLeave)},
			want: rec{affinity: list("0-15"), mode: -1, procs: 1}, wantNote: "MemLeave"},
		{name: "GOMAXPROCS env wins", root: "testdata/2socket", node: 0, env: "7",
			want: rec{affinity: list("0-15"), mode: mpolPreferred, nodes: []int{0}}, wantNote: "GOMAXPROCS"},
		{name: "k8s node 1 has no allowed CPUs", root: "testdata/k8s-static-cpu", node: 1, wantErr: ErrNoCPUs},
		{name: "sparse node 1 is not online", root: "testdata/sparse-memoryless", node: 1, wantErr: ErrNoNode},
		{name: "CPU-less node", root: "testdata/sparse-memoryless", node: 4, wantErr: ErrNoCPUs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			saveSys(t)
			t.Setenv("GOMAXPROCS", tc.env)
			got := rec{mode: -1}
			f := fakeThreads([]int{0, 1})
			sys.setaffinityAll = func(m mask) syscall.Errno {
				if got.affinity == nil {
					got.affinity = m.ids()
				}
				return f.all(m)
			}
			sys.setmempolicyAll = func(mode int, m mask) syscall.Errno {
				if got.mode == -1 {
					got.mode, got.nodes = mode, m.ids()
				}
				return 0
			}
			// GOMAXPROCS is not really changed: the fake records the call.
			sys.setDefaultGOMAXPROCS = func() { got.procs++ }
			var rep PinReport
			opts := append([]PinOption{WithRoot(tc.root), WithReport(&rep)}, tc.opts...)
			undo, err := Pin(tc.node, opts...)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Pin(%d) error %v, want %v", tc.node, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Pin(%d) error %v", tc.node, err)
			}
			if runtime.GOMAXPROCS(0) <= len(tc.want.affinity) && tc.env == "" {
				tc.want.procs = 0 // nothing to follow on a host this small
			}
			if !slices.Equal(got.affinity, tc.want.affinity) || got.mode != tc.want.mode ||
				!slices.Equal(got.nodes, tc.want.nodes) || got.procs != tc.want.procs {
				t.Errorf("Pin(%d) did affinity %s, mempolicy %d on %v, %d GOMAXPROCS updates; want %s, %d on %v, %d",
					tc.node, cpulist.Format(got.affinity), got.mode, got.nodes, got.procs,
					cpulist.Format(tc.want.affinity), tc.want.mode, tc.want.nodes, tc.want.procs)
			}
			if tc.wantNote != "" && !strings.Contains(rep.String(), tc.wantNote) {
				t.Errorf("report %q lacks %q", rep.String(), tc.wantNote)
			}
			if err := undo(); err != nil {
				t.Errorf("undo: %v", err)
			}
		})
	}
}

// TestGOMAXPROCSFollows checks in a child process (go test sets GOMAXPROCS
// itself, and a pin changes the whole process) that pinning to one CPU
// lowers GOMAXPROCS to 1 and undo restores it, and that a GOMAXPROCS
// environment variable is left alone.
func TestGOMAXPROCSFollows(t *testing.T) {
	topo := realTopology(t)
	if len(topo.LocalNode().AllowedCPUs) < 2 {
		t.Skipf("needs a node with at least 2 allowed CPUs; local node has %v", topo.LocalNode().AllowedCPUs)
	}
	n := len(topo.LocalNode().AllowedCPUs)
	for _, tc := range []struct {
		env                       string
		before, pinned, afterUndo int
	}{
		{"", n, 1, n},
		{strconv.Itoa(n), n, n, n},
	} {
		t.Run("GOMAXPROCS="+tc.env, func(t *testing.T) {
			out := runChild(t, "TestChildGOMAXPROCS", "GOMAXPROCS="+tc.env)
			var got struct {
				Before, Pinned, AfterUndo int
				Unavailable               string
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("child output %q: %v", out, err)
			}
			if got.Unavailable != "" {
				t.Skipf("pinning is unavailable here: %s", got.Unavailable)
			}
			if got.Before != tc.before || got.Pinned != tc.pinned || got.AfterUndo != tc.afterUndo {
				t.Errorf("GOMAXPROCS before/pinned/after undo = %d/%d/%d, want %d/%d/%d",
					got.Before, got.Pinned, got.AfterUndo, tc.before, tc.pinned, tc.afterUndo)
			}
		})
	}
}

// runChild re-executes the test binary to run one test with extra
// environment, and returns the line the child printed after "RESULT ".
func runChild(t *testing.T, test string, env ...string) []byte {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	// GORACE: a race-enabled child otherwise sleeps a second at exit.
	cmd.Env = append(os.Environ(), childEnv+"=1", "GORACE=atexit_sleep_ms=0")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child %s: %v\n%s", test, err, out)
	}
	for line := range strings.Lines(string(out)) {
		if rest, ok := strings.CutPrefix(line, "RESULT "); ok {
			return []byte(rest)
		}
	}
	t.Fatalf("child %s printed no RESULT line:\n%s", test, out)
	return nil
}

func TestChildGOMAXPROCS(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("runs only as a child of TestGOMAXPROCSFollows")
	}
	if os.Getenv("GOMAXPROCS") == "" {
		os.Unsetenv("GOMAXPROCS") // set but empty counts as unset; be explicit
	}
	// The testing package set GOMAXPROCS explicitly; start from the
	// runtime's default as a service would.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.SetDefaultGOMAXPROCS()
	}
	topo := realTopology(t)
	local := topo.LocalNode()
	var res struct{ Before, Pinned, AfterUndo int }
	res.Before = runtime.GOMAXPROCS(0)
	undo, err := Pin(local.ID, WithCPUs(local.AllowedCPUs[0]))
	if errors.Is(err, ErrUnavailable) {
		fmt.Printf("RESULT {\"Unavailable\": %q}\n", err.Error())
		return
	}
	if err != nil {
		t.Fatalf("Pin: %v", err)
	}
	res.Pinned = runtime.GOMAXPROCS(0)
	if err := undo(); err != nil {
		t.Fatalf("undo: %v", err)
	}
	res.AfterUndo = runtime.GOMAXPROCS(0)
	b, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", b)
}

// TestPinAllThreadsSyscall builds testdata/allthreads with CGO_ENABLED=0 and
// runs it: this test binary links cgo (through net), where
// AllThreadsSyscall returns ENOTSUP, so the no-cgo path, memory policy
// included, is only reachable from a separate binary.
func TestPinAllThreadsSyscall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool on PATH to build the cgo-free helper: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "allthreads")
	build := exec.Command(goTool, "build", "-o", bin, "./testdata/allthreads")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./testdata/allthreads: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil {
		t.Fatalf("allthreads: %v\n%s", err, out)
	}
	line, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "RESULT ")
	if !ok {
		if strings.Contains(string(out), "unavailable") {
			t.Skipf("pinning unavailable here: %s", out)
		}
		t.Fatalf("allthreads printed %q", out)
	}
	type state struct {
		Masks     map[string]string
		MemMode   int
		MemNodes  uint64
		GoMaxProc int
	}
	var res struct {
		CPU                   int
		Before, Pinned, After state
		Report                PinReport
	}
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		t.Fatalf("allthreads output %q: %v", line, err)
	}
	if res.Report.Method != MethodAllThreads {
		t.Errorf("method %q, want %q (report %v)", res.Report.Method, MethodAllThreads, res.Report)
	}
	cpu := strconv.Itoa(res.CPU)
	for tid, m := range res.Pinned.Masks {
		if m != cpu {
			t.Errorf("pinned: thread %s Cpus_allowed_list %q, want %q", tid, m, cpu)
		}
	}
	if len(res.Pinned.Masks) == 0 {
		t.Errorf("pinned: no threads listed")
	}
	if res.Pinned.MemMode != mpolBind || res.Pinned.MemNodes != 1<<res.Report.Node {
		t.Errorf("pinned: a new thread's memory policy is mode %d nodes %#x, want MPOL_BIND on node %d",
			res.Pinned.MemMode, res.Pinned.MemNodes, res.Report.Node)
	}
	if res.Pinned.GoMaxProc != 1 && res.Before.GoMaxProc > 1 {
		t.Errorf("pinned: GOMAXPROCS %d, want 1 (one CPU)", res.Pinned.GoMaxProc)
	}
	var want string
	for _, m := range res.Before.Masks {
		want = m // all threads start alike
	}
	for tid, m := range res.After.Masks {
		if m != want {
			t.Errorf("after undo: thread %s Cpus_allowed_list %q, want %q", tid, m, want)
		}
	}
	if res.After.MemMode != res.Before.MemMode || res.After.GoMaxProc != res.Before.GoMaxProc {
		t.Errorf("after undo: mem mode %d GOMAXPROCS %d, want %d and %d as before",
			res.After.MemMode, res.After.GoMaxProc, res.Before.MemMode, res.Before.GoMaxProc)
	}
}
