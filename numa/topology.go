package numa

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/gotune/gotune/internal/cgroup"
	"github.com/gotune/gotune/internal/cpulist"
	"github.com/gotune/gotune/internal/sysnode"
)

// localDistance is the kernel's LOCAL_DISTANCE, the distance of a node to
// itself; remote distances are relative to it (21 ≈ 2.1× the latency).
const localDistance = 10

// Node is one online NUMA node.
type Node struct {
	// ID is the kernel's node id. Ids may be sparse (0, 2, 4).
	ID int `json:"id"`
	// CPUs are the node's online CPUs, ascending; empty for a CPU-less
	// node (CXL or HBM memory).
	CPUs []int `json:"cpus"`
	// AllowedCPUs are the CPUs of the node this process may run on.
	AllowedCPUs []int `json:"allowed_cpus"`
	// HasMemory is false for a memoryless node, whose CPUs allocate from
	// the nearest node that has memory.
	HasMemory bool `json:"has_memory"`
	// MemAllowed says whether this process may allocate from the node
	// (Mems_allowed and the cgroup's cpuset.mems).
	MemAllowed bool `json:"mem_allowed"`
	// MemTotal and MemFree are the node's memory in bytes when it was read.
	MemTotal uint64 `json:"mem_total_bytes"`
	MemFree  uint64 `json:"mem_free_bytes"`
	// Distances holds the node's distance to each node of
	// [Topology].Nodes, in the same order; nil when unknown.
	Distances []int `json:"distances,omitempty"`
}

// Topology is the NUMA layout of the host as this process sees it. It is a
// snapshot: safe for concurrent reads, never updated.
type Topology struct {
	// Nodes are the online nodes, by ascending id. Never empty: a host
	// without NUMA support is reported as one node 0.
	Nodes []Node `json:"nodes"`
	// AllowedCPUs are the CPUs this process may run on: its affinity
	// (Cpus_allowed) ∩ its cgroup cpuset ∩ the online CPUs.
	AllowedCPUs []int `json:"allowed_cpus"`
	// AllowedMems are the nodes this process may allocate memory from:
	// Mems_allowed ∩ the cgroup's cpuset.mems.
	AllowedMems []int `json:"allowed_mems"`
	// Local is the id of the node that holds most of AllowedCPUs.
	Local int `json:"local_node"`
	// SpansNodes is true when AllowedCPUs lie on more than one node.
	SpansNodes bool `json:"spans_nodes"`
	// NUMA is false when the host has no /sys/devices/system/node
	// (a kernel without CONFIG_NUMA, some sandboxes).
	NUMA bool `json:"numa"`
	// Root is the directory the topology was read from.
	Root string `json:"root"`
	// Cpuset names the cgroup cpuset file that bounds AllowedCPUs, if any.
	Cpuset string `json:"cpuset,omitempty"`
	// Notes explains decisions a reader might not expect.
	Notes []string `json:"notes,omitempty"`
}

// Discover reads the NUMA topology and this process's allowed CPUs and
// memory nodes. Without [WithRoot] it reads / and works on Linux only
// ([ErrUnsupported] elsewhere). It is safe for concurrent use.
func Discover(opts ...DiscoverOption) (*Topology, error) {
	c := newDiscoverConfig(opts)
	root := c.root
	if root == "" {
		if defaultRoot == "" {
			return nil, ErrUnsupported
		}
		root = defaultRoot
	}
	return discover(root)
}

func discover(root string) (*Topology, error) {
	t := &Topology{Root: root}
	raw, err := sysnode.ReadNodes(root)
	if err != nil {
		return nil, fmt.Errorf("numa: %w", err)
	}
	t.NUMA = raw.Present
	if raw.Present && len(raw.Nodes) == 0 {
		return nil, fmt.Errorf("numa: %s/%s/online lists no online node", root, sysnode.NodeDir)
	}
	if !raw.Present {
		n, err := syntheticNode(root)
		if err != nil {
			return nil, err
		}
		raw.Nodes = []sysnode.Node{n}
		t.Notes = append(t.Notes, "no "+sysnode.NodeDir+": one node 0 holds every CPU")
	}
	var online []int
	for _, n := range raw.Nodes {
		online = append(online, n.CPUs...)
	}
	slices.Sort(online)
	online = slices.Compact(online)

	allowed, mems, err := t.allowed(root, online, raw.Nodes)
	if err != nil {
		return nil, err
	}
	t.AllowedCPUs, t.AllowedMems = allowed, mems

	spanned := 0
	for _, rn := range raw.Nodes {
		n := Node{
			ID:          rn.ID,
			CPUs:        rn.CPUs,
			AllowedCPUs: cpulist.Intersect(rn.CPUs, allowed),
			HasMemory:   rn.HasMem,
			MemTotal:    rn.Mem.Total,
			MemFree:     rn.Mem.Free,
			Distances:   rn.Distances,
		}
		_, n.MemAllowed = slices.BinarySearch(mems, rn.ID)
		if len(n.AllowedCPUs) > 0 {
			spanned++
		}
		t.Nodes = append(t.Nodes, n)
	}
	t.Local = pickLocal(t.Nodes)
	if spanned > 1 {
		t.SpansNodes = true
		var parts []string
		for _, n := range t.Nodes {
			if len(n.AllowedCPUs) > 0 {
				parts = append(parts, fmt.Sprintf("node %d has %d", n.ID, len(n.AllowedCPUs)))
			}
		}
		t.Notes = append(t.Notes, fmt.Sprintf("allowed CPUs %s span %d nodes (%s); local node %d holds the most",
			cpulist.Format(allowed), spanned, strings.Join(parts, ", "), t.Local))
	}
	return t, nil
}

// syntheticNode describes a host without a node directory as one node.
func syntheticNode(root string) (sysnode.Node, error) {
	n := sysnode.Node{ID: 0, HasMem: true, Distances: []int{localDistance}}
	cpus, err := sysnode.OnlineCPUs(root)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		// Fall back to the process's own affinity below.
		st, serr := sysnode.ReadStatus(root, "proc/self/status")
		if serr != nil || !st.HasCPUs {
			return n, fmt.Errorf("numa: %s has neither %s nor sys/devices/system/cpu/online nor a readable proc/self/status", root, sysnode.NodeDir)
		}
		cpus = st.CPUs
	default:
		return n, fmt.Errorf("numa: %w", err)
	}
	n.CPUs = cpus
	if m, err := sysnode.ReadMeminfo(root); err == nil {
		n.Mem = m
	} else if !errors.Is(err, fs.ErrNotExist) {
		return n, fmt.Errorf("numa: %w", err)
	}
	return n, nil
}

// allowed computes the allowed CPUs and memory nodes: affinity ∩ cpuset ∩
// online. It only ever narrows.
func (t *Topology) allowed(root string, online []int, nodes []sysnode.Node) (cpus, mems []int, err error) {
	nodeIDs := make([]int, 0, len(nodes))
	for _, n := range nodes {
		nodeIDs = append(nodeIDs, n.ID)
	}
	cpus, mems = online, nodeIDs
	st, err := sysnode.ReadStatus(root, "proc/self/status")
	switch {
	case err == nil:
		if st.HasCPUs {
			cpus = cpulist.Intersect(cpus, st.CPUs)
		}
		if st.HasMems {
			mems = cpulist.Intersect(mems, st.Mems)
		}
	case errors.Is(err, fs.ErrNotExist):
		t.Notes = append(t.Notes, "no proc/self/status: assuming every online CPU and node is allowed")
	default:
		return nil, nil, fmt.Errorf("numa: %w", err)
	}
	// The kernel already keeps each thread's affinity within its cpuset;
	// intersecting again covers captures and other mount namespaces.
	cg, err := cgroup.Read(root)
	if err != nil {
		// Malformed cgroup files (the reader names them) leave the
		// affinity as the bound, which the kernel keeps within the cpuset.
		t.Notes = append(t.Notes, "cgroup files not fully readable, affinity alone bounds the CPUs: "+err.Error())
	}
	if cg.CPUSet != nil {
		t.Cpuset = "/" + cg.CPUSetFile
		before := len(cpus)
		cpus = cpulist.Intersect(cpus, cg.CPUSet)
		if len(cpus) < before {
			t.Notes = append(t.Notes, fmt.Sprintf("cgroup cpuset %s (%s) narrows the affinity to %s",
				t.Cpuset, cpulist.Format(cg.CPUSet), cpulist.Format(cpus)))
		}
	}
	if cg.MemSet != nil {
		mems = cpulist.Intersect(mems, cg.MemSet)
	}
	if len(cpus) == 0 {
		return nil, nil, fmt.Errorf("%w: affinity %s ∩ cpuset %s (%s) ∩ online %s (%s) is empty (root %s)",
			ErrNoCPUs, short(st.CPUs), short(cg.CPUSet), t.Cpuset, short(online), onlineFrom(t.NUMA, nodes), root)
	}
	return cpus, mems, nil
}

// short formats ids for an error, quoted and cut to 64 bytes: the lists come
// from files a broken host may fill with anything.
func short(ids []int) string {
	s := cpulist.Format(ids)
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "…"
	}
	return strconv.Quote(s)
}

// onlineFrom names the files the online CPUs came from, for errors.
func onlineFrom(numa bool, nodes []sysnode.Node) string {
	if !numa {
		return "sys/devices/system/cpu/online"
	}
	var files []string
	for i, n := range nodes {
		if i == 4 {
			files = append(files, "…")
			break
		}
		files = append(files, fmt.Sprintf("%s/node%d/cpulist", sysnode.NodeDir, n.ID))
	}
	return "the nodes in " + sysnode.NodeDir + "/online: " + strings.Join(files, ", ")
}

// pickLocal returns the id of the node with the most allowed CPUs; ties go
// to a node this process may allocate from, then to the lower id.
func pickLocal(nodes []Node) int {
	best := -1
	for i, n := range nodes {
		if best < 0 {
			best = i
			continue
		}
		b := nodes[best]
		switch {
		case len(n.AllowedCPUs) > len(b.AllowedCPUs):
			best = i
		case len(n.AllowedCPUs) == len(b.AllowedCPUs) && usable(n) && !usable(b):
			best = i
		}
	}
	return nodes[best].ID
}

func usable(n Node) bool { return n.HasMemory && n.MemAllowed }

// Node returns the node with the given id.
func (t *Topology) Node(id int) (Node, bool) {
	i := t.index(id)
	if i < 0 {
		return Node{}, false
	}
	return t.Nodes[i], true
}

func (t *Topology) index(id int) int {
	for i := range t.Nodes {
		if t.Nodes[i].ID == id {
			return i
		}
	}
	return -1
}

// LocalNode returns the node that holds most of the CPUs this process may
// run on. When those CPUs span nodes ([Topology].SpansNodes), it is the
// node with the most of them.
func (t *Topology) LocalNode() Node {
	n, _ := t.Node(t.Local)
	return n
}

// Distance returns the kernel's distance between two nodes (10 for a node
// to itself; 20 means about twice the latency), or -1 if either node is
// unknown.
func (t *Topology) Distance(from, to int) int {
	i, j := t.index(from), t.index(to)
	if i < 0 || j < 0 {
		return -1
	}
	d := t.Nodes[i].Distances
	if j >= len(d) {
		if i == j {
			return localDistance
		}
		return -1
	}
	return d[j]
}

// NodeOf returns the id of the node that holds cpu.
func (t *Topology) NodeOf(cpu int) (int, bool) {
	for _, n := range t.Nodes {
		if _, ok := slices.BinarySearch(n.CPUs, cpu); ok {
			return n.ID, true
		}
	}
	return 0, false
}

// MemoryNodes returns the nodes an allocation for node id should come from:
// the node itself when it has memory this process may use, otherwise the
// nearest allowed nodes with memory (several when they are equally near).
func (t *Topology) MemoryNodes(id int) []int {
	n, ok := t.Node(id)
	if !ok {
		return nil
	}
	if usable(n) {
		return []int{id}
	}
	best := -1
	var out []int
	for _, m := range t.Nodes {
		if !usable(m) {
			continue
		}
		d := t.Distance(id, m.ID)
		if d < 0 {
			continue
		}
		switch {
		case best < 0 || d < best:
			best, out = d, []int{m.ID}
		case d == best:
			out = append(out, m.ID)
		}
	}
	return out
}

// String describes the topology in a few lines, one per node.
func (t *Topology) String() string {
	var b strings.Builder
	for _, n := range t.Nodes {
		fmt.Fprintf(&b, "node %d: cpus %s (allowed %s)", n.ID, orNone(n.CPUs), orNone(n.AllowedCPUs))
		if n.HasMemory {
			fmt.Fprintf(&b, ", memory %s (free %s)", bytesString(n.MemTotal), bytesString(n.MemFree))
		} else {
			b.WriteString(", no memory")
		}
		if n.HasMemory && !n.MemAllowed {
			b.WriteString(" not allowed to this process")
		}
		if len(n.Distances) > 0 {
			d := make([]string, len(n.Distances))
			for i, v := range n.Distances {
				d[i] = strconv.Itoa(v)
			}
			fmt.Fprintf(&b, ", distances %s", strings.Join(d, " "))
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "local node %d; allowed cpus %s; allowed memory nodes %s", t.Local, orNone(t.AllowedCPUs), orNone(t.AllowedMems))
	if t.SpansNodes {
		b.WriteString("; allowed cpus span nodes")
	}
	return b.String()
}

func orNone(ids []int) string {
	if len(ids) == 0 {
		return "none"
	}
	return cpulist.Format(ids)
}

func bytesString(n uint64) string {
	const gib = 1 << 30
	const mib = 1 << 20
	if n >= gib {
		return strconv.FormatFloat(float64(n)/gib, 'f', 1, 64) + " GiB"
	}
	return strconv.FormatFloat(float64(n)/mib, 'f', 1, 64) + " MiB"
}
