package numa

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/gotune/gotune/internal/cpulist"
)

func init() {
	// Keep the main goroutine on the main thread, so no test goroutine runs
	// there: a goroutine that exits locked (RunOn's answer to a failed
	// restore) wedges the main thread instead of ending it, and the main
	// thread's mask is what /proc/self/status reports for the process.
	runtime.LockOSThread()
}

// childEnv marks a re-executed test binary (see runChild).
const childEnv = "GOTUNE_NUMA_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		// A re-executed test binary (see runChild) runs only its child test
		// and must not print goleak's report into the parent's output.
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}

func list(s string) []int {
	ids, err := cpulist.Parse(s)
	if err != nil {
		panic(err)
	}
	return ids
}

type wantNode struct {
	id        int
	cpus      string
	allowed   string
	hasMemory bool
	memTotal  uint64 // bytes
}

func TestDiscoverFixtures(t *testing.T) {
	const kib = 1024
	tests := []struct {
		name      string
		root      string
		nodes     []wantNode
		allowed   string
		mems      string
		local     int
		spans     bool
		numa      bool
		distances [][3]int // from, to, want
		cpuset    string
	}{
		{
			name: "2socket", root: "testdata/2socket",
			nodes: []wantNode{
				{0, "0-15", "0-15", true, 65842220 * kib},
				{1, "16-31", "16-31", true, 66060144 * kib},
			},
			allowed: "0-31", mems: "0-1", local: 0, spans: true, numa: true,
			distances: [][3]int{{0, 0, 10}, {0, 1, 21}, {1, 0, 21}, {1, 1, 10}, {0, 2, -1}},
			cpuset:    "/sys/fs/cgroup/system.slice/svc.service/cpuset.cpus.effective",
		},
		{
			// SMT siblings interleaved: node 0 is 0-27 plus their
			// hyperthreads 56-83. Status has masks only (no *_list).
			name: "2socket-smt", root: "testdata/2socket-smt",
			nodes: []wantNode{
				{0, "0-27,56-83", "", true, 196608000 * kib},
				{1, "28-55,84-111", "28-31,84-87", true, 196608000 * kib},
			},
			allowed: "28-31,84-87", mems: "0-1", local: 1, numa: true,
			distances: [][3]int{{0, 1, 21}, {1, 0, 21}, {1, 1, 10}},
		},
		{
			// Online nodes 0,2,4: distance files are in online order, so
			// node 2's third entry is its distance to node 4.
			name: "sparse-memoryless", root: "testdata/sparse-memoryless",
			nodes: []wantNode{
				{0, "0-3", "", true, 16000000 * kib},
				{2, "4-7", "4-7", false, 0},
				{4, "", "", true, 32000000 * kib},
			},
			allowed: "4-7", mems: "0,4", local: 2, numa: true,
			distances: [][3]int{{0, 2, 20}, {0, 4, 30}, {2, 4, 25}, {4, 2, 25}, {4, 4, 10}, {2, 1, -1}, {3, 3, -1}},
		},
		{
			name: "no-numa", root: "testdata/no-numa",
			nodes:   []wantNode{{0, "0-3", "0-3", true, 8041524 * kib}},
			allowed: "0-3", mems: "0", local: 0, numa: false,
			distances: [][3]int{{0, 0, 10}, {0, 1, -1}},
		},
		{
			name: "k8s-static-cpu", root: "testdata/k8s-static-cpu",
			nodes: []wantNode{
				{0, "0-27,56-83", "2-5,58-61", true, 196608000 * kib},
				{1, "28-55,84-111", "", true, 196608000 * kib},
			},
			allowed: "2-5,58-61", mems: "0-1", local: 0, numa: true,
			distances: [][3]int{{0, 1, 21}},
			cpuset:    "/sys/fs/cgroup/cpuset.cpus.effective",
		},
		{
			// The affinity says 0-31; the v1 cpuset says 13-19 and wins.
			// 13-15 are on node 0, 16-19 on node 1: local is node 1.
			name: "cpuset-spans", root: "testdata/cpuset-spans",
			nodes: []wantNode{
				{0, "0-15", "13-15", true, 65842220 * kib},
				{1, "16-31", "16-19", true, 66060144 * kib},
			},
			allowed: "13-19", mems: "0-1", local: 1, spans: true, numa: true,
			distances: [][3]int{{0, 1, 21}},
			cpuset:    "/sys/fs/cgroup/cpuset/docker/abc123/cpuset.effective_cpus",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			topo, err := Discover(WithRoot(tc.root))
			if err != nil {
				t.Fatalf("Discover(WithRoot(%q)) error %v", tc.root, err)
			}
			checkTopology(t, topo, tc.nodes, tc.allowed, tc.mems, tc.local, tc.spans, tc.numa)
			for _, d := range tc.distances {
				if got := topo.Distance(d[0], d[1]); got != d[2] {
					t.Errorf("Distance(%d, %d) = %d, want %d", d[0], d[1], got, d[2])
				}
			}
			if topo.Cpuset != tc.cpuset {
				t.Errorf("Cpuset = %q, want %q", topo.Cpuset, tc.cpuset)
			}
			if tc.spans && !slices.ContainsFunc(topo.Notes, func(s string) bool { return strings.Contains(s, "span") }) {
				t.Errorf("Notes = %q, want one that says the allowed CPUs span nodes", topo.Notes)
			}
			// The report marshals and names its fields.
			b, err := json.Marshal(topo)
			if err != nil || !strings.Contains(string(b), `"local_node":`) {
				t.Errorf("json.Marshal(topology) = %s, %v", b, err)
			}
			if s := topo.String(); !strings.Contains(s, "local node") {
				t.Errorf("String() = %q, want it to name the local node", s)
			}
		})
	}
}

func checkTopology(t *testing.T, topo *Topology, nodes []wantNode, allowed, mems string, local int, spans, numa bool) {
	t.Helper()
	if len(topo.Nodes) != len(nodes) {
		t.Fatalf("Nodes = %+v, want %d nodes", topo.Nodes, len(nodes))
	}
	for i, w := range nodes {
		n := topo.Nodes[i]
		if n.ID != w.id || !slices.Equal(n.CPUs, list(w.cpus)) || !slices.Equal(n.AllowedCPUs, list(w.allowed)) ||
			n.HasMemory != w.hasMemory || n.MemTotal != w.memTotal {
			t.Errorf("Nodes[%d] = id %d cpus %s allowed %s memory %v %d, want id %d cpus %s allowed %s memory %v %d",
				i, n.ID, cpulist.Format(n.CPUs), cpulist.Format(n.AllowedCPUs), n.HasMemory, n.MemTotal,
				w.id, w.cpus, w.allowed, w.hasMemory, w.memTotal)
		}
	}
	if !slices.Equal(topo.AllowedCPUs, list(allowed)) {
		t.Errorf("AllowedCPUs = %s, want %s", cpulist.Format(topo.AllowedCPUs), allowed)
	}
	if !slices.Equal(topo.AllowedMems, list(mems)) {
		t.Errorf("AllowedMems = %s, want %s", cpulist.Format(topo.AllowedMems), mems)
	}
	if topo.Local != local || topo.LocalNode().ID != local {
		t.Errorf("Local = %d, LocalNode().ID = %d, want %d", topo.Local, topo.LocalNode().ID, local)
	}
	if topo.SpansNodes != spans {
		t.Errorf("SpansNodes = %v, want %v", topo.SpansNodes, spans)
	}
	if topo.NUMA != numa {
		t.Errorf("NUMA = %v, want %v", topo.NUMA, numa)
	}
	// Never widens: every allowed CPU is on some node and in the list.
	for _, n := range topo.Nodes {
		for _, c := range n.AllowedCPUs {
			if _, ok := slices.BinarySearch(topo.AllowedCPUs, c); !ok {
				t.Errorf("node %d allows cpu %d, which is not in AllowedCPUs %v", n.ID, c, topo.AllowedCPUs)
			}
		}
	}
}

// TestDiscoverSharedCapture reads the real capture of a 16-CPU KVM guest:
// one node, cpuset 0-15 from a nested cgroup v2, 4.4 GB on node 0.
func TestDiscoverSharedCapture(t *testing.T) {
	root := filepath.Join("testdata", "cgroup2-nested-16cpu") // a copy of shared/fixtures/cgroup2-nested-16cpu
	topo, err := Discover(WithRoot(root))
	if err != nil {
		t.Fatalf("Discover(WithRoot(%q)) error %v", root, err)
	}
	checkTopology(t, topo, []wantNode{{0, "0-15", "0-15", true, 4550128 * 1024}}, "0-15", "0", 0, false, true)
	if got := topo.Distance(0, 0); got != 10 {
		t.Errorf("Distance(0, 0) = %d, want 10", got)
	}
	if want := "/sys/fs/cgroup/cpuset.cpus.effective"; topo.Cpuset != want {
		t.Errorf("Cpuset = %q, want %q", topo.Cpuset, want)
	}
}

func TestMemoryNodes(t *testing.T) {
	topo, err := Discover(WithRoot("testdata/sparse-memoryless"))
	if err != nil {
		t.Fatal(err)
	}
	// Node 2 has no memory; node 0 (distance 20) is nearer than node 4 (25).
	for _, tc := range []struct {
		node int
		want []int
	}{{2, []int{0}}, {0, []int{0}}, {4, []int{4}}, {9, nil}} {
		if got := topo.MemoryNodes(tc.node); !slices.Equal(got, tc.want) {
			t.Errorf("MemoryNodes(%d) = %v, want %v", tc.node, got, tc.want)
		}
	}
	if id, ok := topo.NodeOf(5); !ok || id != 2 {
		t.Errorf("NodeOf(5) = %d, %v, want 2, true", id, ok)
	}
	if _, ok := topo.NodeOf(99); ok {
		t.Errorf("NodeOf(99) found a node")
	}
}

// copyTree copies a fixture so a test can damage one file.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestDiscoverErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content string
		is      error
		mention string
	}{
		{"distance count", "sys/devices/system/node/node1/distance", "21 10 10\n", nil, "distance"},
		{"bad cpulist", "sys/devices/system/node/node0/cpulist", "0-x\n", nil, "cpulist"},
		{"bad status", "proc/self/status", "Cpus_allowed_list:\t9-1\n", nil, "9-1"},
		{"cpuset disjoint from affinity", "sys/fs/cgroup/system.slice/svc.service/cpuset.cpus.effective", "40-47\n", ErrNoCPUs, "svc.service"},
		{"no online node", "sys/devices/system/node/online", "\n", nil, "no online node"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := copyTree(t, "testdata/2socket")
			if err := os.WriteFile(filepath.Join(root, tc.file), []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			topo, err := Discover(WithRoot(root))
			if err == nil {
				t.Fatalf("Discover(%s) = %v, want error", tc.name, topo)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Discover(%s) error %v, want errors.Is %v", tc.name, err, tc.is)
			}
			if !strings.HasPrefix(err.Error(), "numa: ") || !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("Discover(%s) error %q, want the numa prefix and %q", tc.name, err, tc.mention)
			}
		})
	}
}

func TestDiscoverMissingFiles(t *testing.T) {
	// No status and no cgroup files: everything online is allowed, and
	// the topology says so.
	root := copyTree(t, "testdata/2socket-smt")
	if err := os.Remove(filepath.Join(root, "proc/self/status")); err != nil {
		t.Fatal(err)
	}
	topo, err := Discover(WithRoot(root))
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if len(topo.AllowedCPUs) != 112 || !slices.ContainsFunc(topo.Notes, func(s string) bool { return strings.Contains(s, "proc/self/status") }) {
		t.Errorf("Discover without status: %d allowed CPUs, notes %q; want 112 and a note", len(topo.AllowedCPUs), topo.Notes)
	}
	// A bare root has nothing to go on.
	if topo, err := Discover(WithRoot(t.TempDir())); err == nil {
		t.Errorf("Discover(empty root) = %v, want error", topo)
	}
}

// TestDiscoverBadCgroupFile: a malformed cgroup file is noted, and the
// affinity (which the kernel keeps within the cpuset) still bounds the CPUs.
func TestDiscoverBadCgroupFile(t *testing.T) {
	root := copyTree(t, "testdata/cpuset-spans")
	if err := os.WriteFile(filepath.Join(root, "sys/fs/cgroup/cpuset/docker/abc123/cpuset.effective_cpus"), []byte("19-13\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	topo, err := Discover(WithRoot(root))
	if err != nil {
		t.Fatalf("Discover with a malformed cpuset file: %v", err)
	}
	if !slices.ContainsFunc(topo.Notes, func(s string) bool { return strings.Contains(s, "19-13") }) {
		t.Errorf("Notes = %q, want one quoting the malformed list", topo.Notes)
	}
	if len(topo.AllowedCPUs) > 32 {
		t.Errorf("AllowedCPUs = %v, wider than the affinity", topo.AllowedCPUs)
	}
}
