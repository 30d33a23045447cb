//go:build linux

package numa

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/gotune/gotune/internal/owner"
)

// fakePinSys fakes every system call Pin makes.
func fakePinSys(t *testing.T) {
	t.Helper()
	saveSys(t)
	t.Setenv("GOMAXPROCS", "")
	f := fakeThreads([]int{0, 1})
	sys.setaffinityAll = f.all
	sys.setmempolicyAll = func(int, mask) syscall.Errno { return 0 }
	sys.setDefaultGOMAXPROCS = func() {}
}

// A pin that lowers GOMAXPROCS owns it while it stands: tune hands it
// over, and gets it back at undo. undo is safe twice and concurrently.
func TestPinOwnsGOMAXPROCS(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS >= 2 for a one-CPU pin to lower it")
	}
	fakePinSys(t)
	tune, err := owner.Take(owner.GOMAXPROCS, owner.Tune)
	if err != nil {
		t.Fatal(err)
	}
	defer tune.Release()
	undo, err := Pin(0, WithRoot("testdata/2socket"), WithCPUs(0))
	if err != nil {
		t.Fatal(err)
	}
	if who, _, _ := owner.Holder(owner.GOMAXPROCS); who != owner.NUMA || tune.Owns() {
		t.Errorf("GOMAXPROCS held by %q while pinned (tune owns: %v), want numa", who, tune.Owns())
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = undo() }()
	}
	wg.Wait()
	if err := errors.Join(append(errs, undo())...); err != nil {
		t.Errorf("undo: %v", err)
	}
	if !tune.Owns() {
		t.Errorf("tune does not own GOMAXPROCS again after undo")
	}
	if _, ok := Pinned(); ok {
		t.Errorf("Pinned() reports a pin after undo")
	}
}

// Misuse of Pin: absurd nodes and CPUs are errors naming them, a second
// pin is refused, and nothing is left claimed after any of them.
func TestPinMisuse(t *testing.T) {
	fakePinSys(t)
	for _, tc := range []struct {
		name string
		node int
		opts []PinOption
		want error
		text string // the error names the option and the value
	}{
		{"negative node", -1, nil, ErrNoNode, "node -1"},
		{"huge node", 1 << 30, nil, ErrNoNode, "node 1073741824"},
		{"cpus off the node", 0, []PinOption{WithCPUs(4000)}, ErrNoCPUs, "4000"},
		{"negative cpu", 0, []PinOption{WithCPUs(-5)}, nil, "WithCPUs([-5]): bad CPU id -5"},
		{"huge cpu", 0, []PinOption{WithCPUs(1 << 20)}, nil, "WithCPUs([1048576]): bad CPU id 1048576"},
		{"unknown policy", 0, []PinOption{WithMemPolicy(7)}, nil, "WithMemPolicy(7): unknown policy"},
		{"negative policy", 0, []PinOption{WithMemPolicy(-1)}, nil, "WithMemPolicy(-1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			undo, err := Pin(tc.node, append([]PinOption{WithRoot("testdata/2socket")}, tc.opts...)...)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.text) || undo != nil {
				t.Errorf("Pin(%d) = %v, %v; want an error wrapping %v naming %q, and no undo", tc.node, undo != nil, err, tc.want, tc.text)
			}
			if _, ok := Pinned(); ok {
				t.Errorf("Pinned() = true after a failed Pin")
			}
		})
	}
	// Zero values mean the defaults: no CPUs is all of the node's.
	undo0, err := Pin(0, WithRoot("testdata/2socket"), WithCPUs(), WithMemPolicy(0), WithRoot("testdata/2socket"))
	if err != nil {
		t.Fatalf("Pin(0, WithCPUs(), WithMemPolicy(0)) = %v, want the defaults", err)
	}
	if r, _ := Pinned(); len(r.CPUs) == 0 || r.MemPolicy == "" {
		t.Errorf("Pinned() = %+v, want the node's CPUs", r)
	}
	if err := undo0(); err != nil {
		t.Fatal(err)
	}
	undo, err := Pin(0, WithRoot("testdata/2socket"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Pin(1, WithRoot("testdata/2socket")); !errors.Is(err, ErrPinned) {
		t.Errorf("second Pin error %v, want ErrPinned", err)
	}
	if err := undo(); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := owner.Holder(owner.GOMAXPROCS); ok {
		t.Errorf("GOMAXPROCS still claimed after undo")
	}
}

// A GOMAXPROCS the program sets while pinned is the program's: undo
// leaves it.
func TestUndoLeavesGOMAXPROCSSetSince(t *testing.T) {
	procs := runtime.GOMAXPROCS(4) // above the pin's one CPU, so the pin takes it
	defer runtime.GOMAXPROCS(procs)
	fakePinSys(t)
	calls := 0
	sys.setDefaultGOMAXPROCS = func() { calls++ }
	undo, err := Pin(0, WithRoot("testdata/2socket"), WithCPUs(0))
	if err != nil {
		t.Fatal(err)
	}
	runtime.GOMAXPROCS(2) // the program's own choice
	if err := undo(); err != nil {
		t.Fatal(err)
	}
	if got := runtime.GOMAXPROCS(0); got != 2 || calls != 1 {
		t.Errorf("after undo: GOMAXPROCS %d, %d runtime-default calls; want the program's 2 and only the pin's call", got, calls)
	}
}
