package numa

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/gotune/gotune/internal/cpulist"
)

// A Method is how [Pin] reached every thread, reported in
// [PinReport].Method.
type Method string

// The methods [Pin] uses.
const (
	// MethodAllThreads is syscall.AllThreadsSyscall: every thread of the
	// Go runtime changes at once, while the world is stopped, followed by
	// the /proc/self/task walk for threads the runtime does not reach.
	// Binaries without cgo only.
	MethodAllThreads Method = "all-threads-syscall"
	// MethodTaskWalk is sched_setaffinity on each thread listed in
	// /proc/self/task, repeated until two passes in a row change nothing.
	// Used alone where the binary uses cgo, or while pinned workers run
	// (see [Pin]).
	MethodTaskWalk Method = "task-walk"
)

// PinReport says what [Pin] did and why, including what it could not do.
// It marshals to JSON and prints as one line.
type PinReport struct {
	// Node is the node pinned to.
	Node int `json:"node"`
	// CPUs are the CPUs every thread may now run on.
	CPUs []int `json:"cpus"`
	// Method is [MethodAllThreads] or [MethodTaskWalk].
	Method Method `json:"method"`
	// Threads is the number of threads the /proc/self/task walk saw, with
	// either method (the walk follows the all-threads syscall too).
	Threads int `json:"threads"`
	// MemPolicy is the policy set: "preferred", "bind", or "none" when it
	// was left as it was or could not be set (see Notes).
	MemPolicy string `json:"mem_policy"`
	// MemNodes are the nodes the memory policy names.
	MemNodes []int `json:"mem_nodes,omitempty"`
	// GOMAXPROCSBefore and GOMAXPROCSAfter are runtime.GOMAXPROCS(0)
	// around the pin.
	GOMAXPROCSBefore int `json:"gomaxprocs_before"`
	GOMAXPROCSAfter  int `json:"gomaxprocs_after"`
	// Notes explains each decision and each part that was unavailable.
	Notes []string `json:"notes,omitempty"`
}

// String formats the report on one line.
func (r PinReport) String() string {
	s := fmt.Sprintf("pinned to node %d: cpus %s via %s (%d threads), memory policy %s",
		r.Node, cpulist.Format(r.CPUs), r.Method, r.Threads, r.MemPolicy)
	if len(r.MemNodes) > 0 {
		s += " on nodes " + cpulist.Format(r.MemNodes)
	}
	s += fmt.Sprintf(", GOMAXPROCS %d -> %d", r.GOMAXPROCSBefore, r.GOMAXPROCSAfter)
	if len(r.Notes) > 0 {
		s += "; " + strings.Join(r.Notes, "; ")
	}
	return s
}

// pinCPUs picks the CPUs Pin restricts threads to: the node's allowed CPUs,
// narrowed by WithCPUs. It never adds a CPU.
func pinCPUs(t *Topology, node int, c *pinConfig) ([]int, error) {
	n, ok := t.Node(node)
	if !ok {
		ids := make([]int, len(t.Nodes))
		for i, n := range t.Nodes {
			ids[i] = n.ID
		}
		return nil, fmt.Errorf("%w: node %d (online: %s)", ErrNoNode, node, cpulist.Format(ids))
	}
	cpus := n.AllowedCPUs
	if len(c.cpus) > 0 {
		want := append([]int(nil), c.cpus...)
		want = sortCompact(want)
		cpus = cpulist.Intersect(cpus, want)
		if len(cpus) == 0 {
			return nil, fmt.Errorf("%w: cpus %q are not among node %d's allowed cpus %q",
				ErrNoCPUs, cpulist.Format(want), node, cpulist.Format(n.AllowedCPUs))
		}
	}
	if len(cpus) == 0 {
		return nil, fmt.Errorf("%w: node %d has cpus %q, none of them allowed (allowed: %q)",
			ErrNoCPUs, node, cpulist.Format(n.CPUs), cpulist.Format(t.AllowedCPUs))
	}
	return cpus, nil
}

// pinned is the report of the pin in effect, for Pinned and the collector.
var pinned struct {
	sync.Mutex
	cur *PinReport
}

func setPinned(r *PinReport) {
	pinned.Lock()
	defer pinned.Unlock()
	pinned.cur = r
}

// unsetPinned clears the pin in effect if it is still r.
func unsetPinned(r *PinReport) {
	pinned.Lock()
	defer pinned.Unlock()
	if pinned.cur == r {
		pinned.cur = nil
	}
}

// Pinned returns the report of the [Pin] in effect (made and not yet
// undone), and false when the process is not pinned by this package. It is
// safe for concurrent use.
func Pinned() (PinReport, bool) {
	pinned.Lock()
	defer pinned.Unlock()
	if pinned.cur == nil {
		return PinReport{}, false
	}
	r := *pinned.cur
	r.CPUs = slices.Clone(r.CPUs)
	r.MemNodes = slices.Clone(r.MemNodes)
	r.Notes = slices.Clone(r.Notes)
	return r, true
}
