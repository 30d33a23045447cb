package tune_test

import (
	"fmt"
	"path/filepath"

	"github.com/gotune/gotune/tune"
)

// Detect reads a root (here a fixture of a container with a 1.5-CPU quota
// and a 512 MiB memory limit) and says what Apply would set, and why.
func ExampleDetect() {
	r, err := tune.Detect(tune.WithRoot(filepath.Join("..", "internal", "cgroup", "testdata", "v1-container")))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("cpus:", r.Limits.CPUs, "quota:", r.Limits.CPUQuota)
	fmt.Println("GOMEMLIMIT:", tune.FormatBytes(r.GOMEMLIMIT.After), "from", r.GOMEMLIMIT.Source, "-", r.GOMEMLIMIT.Reason)
	// Output:
	// cpus: 2 quota: 1.5
	// GOMEMLIMIT: 460.8MiB from cgroup - 0.9 × memory.max 512MiB
}

// ExampleApply sets the limits for this process with the floor policy and
// restores them.
func ExampleApply() {
	r, undo, err := tune.Apply(tune.WithMaxProcs(tune.MaxProcsFloor))
	if err != nil {
		fmt.Println("keeping the runtime's settings:", err)
		return
	}
	defer undo()
	fmt.Println(r.GOMAXPROCS.After > 0)
	// Output: true
}
