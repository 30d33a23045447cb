// Package numa provides the NUMA topology of the host as this process sees
// it, pinning of the whole process to one node, pinned workers, the current
// CPU and node, and Prometheus metrics for per-node memory, allocations and
// this process's residency. It is pure Go: no cgo, no libnuma.
//
// # Topology
//
// [Discover] reads /sys/devices/system/node (online nodes, their CPU lists,
// distances, memory) and intersects it with the CPUs and memory nodes this
// process may use: its affinity and Mems_allowed from /proc/self/status and
// its cgroup cpuset (v1 or v2, found through /proc/self/cgroup and
// mountinfo). The result never allows more than any of those sources. The
// local node ([Topology.LocalNode]) is the node that holds most of the
// allowed CPUs; when they span nodes, [Topology].SpansNodes says so. Node
// ids may be sparse, nodes may have no memory or no CPUs, and a host
// without /sys/devices/system/node is one node 0. Distances are read in
// online-node order, as the kernel writes them, not indexed by node id.
//
// [WithRoot] points every read at another directory: a fixture tree, or a
// host root mounted elsewhere. Under WithRoot nothing comes from system
// calls.
//
// # Options and values
//
// Each function takes its own option type ([DiscoverOption], [PinOption],
// [CollectorOption]), so an option that does not apply to a function does
// not compile there; [WithRoot] and [WithLogger] apply to the two functions
// each names. One rule for values holds here as in every gotune package:
// the zero value of an option's argument means the documented default, an
// explicit "off" has its own name ([WithoutGOMAXPROCS], [MemLeave]) or is
// negative ([WithMinInterval](-1)), and an invalid value (a negative CPU id,
// an unknown [MemPolicy]) is an error from [Pin] that names the option and
// the value. [ErrUnsupported] wraps [errors.ErrUnsupported].
//
// # Undo and Close
//
// What changes process-wide or thread state is undone by what it returns
// or by Close, as everywhere in gotune: [Pin] returns an undo function
// (idempotent, safe from any goroutine) that restores the CPUs, memory
// policy and GOMAXPROCS it changed; [Worker.Close] ends what
// [Worker.Start] began and restores the thread's mask. numa runs no
// background loop.
//
// # Pinning
//
// [Pin] restricts every thread of the process, existing and future, to a
// node's allowed CPUs, sets the memory policy (preferred by default,
// [MemBind] on request; for a memoryless node, the nearest nodes with
// memory), lets GOMAXPROCS follow the new CPU count, and returns an undo
// function. In a binary without cgo it first uses syscall.AllThreadsSyscall,
// which changes every runtime thread at once; in every binary it then walks
// /proc/self/task until two passes in a row change nothing, which reaches
// the threads the runtime does not manage (cgo's, the race detector's, an
// exiting M) and threads born meanwhile. With cgo it leaves the memory
// policy alone, because set_mempolicy only acts on the calling thread
// (first-touch allocation then follows the pinned CPUs anyway). EPERM and
// ENOSYS, as under seccomp or on kernels without NUMA, wrap
// [ErrUnavailable]. [WithReport] returns a [PinReport] of what was done and
// why; [Pinned] returns the pin in effect. Pins do not nest: while one is
// in effect, Pin fails with [ErrPinned]; undo it first.
//
// # When pinning helps, and when numactl is better
//
// Pinning helps a service that runs on a multi-socket host and fits on one
// node: its threads stop migrating across sockets and its new memory comes
// from the local node (on common two-socket servers remote memory has about
// 1.5 to 2 times the latency of local memory, and less bandwidth). It also
// helps when the process is already confined to one node's CPUs by a
// cpuset, but not its memory.
//
// It does not help on a single-node host (most VMs and containers), for a
// service that needs more CPUs or memory than one node has, or when an
// orchestrator already aligns CPUs and memory (the Kubernetes topology
// manager with the static CPU manager policy).
//
// Prefer numactl (numactl --cpunodebind=N --membind=N, or --preferred=N) at
// launch when you control the command line: it applies before the first
// allocation, so the heap, the runtime's own structures and the memory of
// cgo libraries start local, and the memory policy covers every thread
// whether or not the binary uses cgo. Pin acts at run time, after some
// memory is placed; it does not move pages already allocated. Use Pin
// where the launch command is out of reach, where the choice depends on
// what the program finds at run time, or to undo the restriction later.
//
// # Workers
//
// [RunOn] runs one function on a thread restricted to given CPUs;
// [Worker] keeps such a thread and runs functions on it one at a time. Both
// restore the thread's mask before unlocking it, and discard the thread
// when that fails. They work alongside [Pin]: a pin keeps running workers
// on their CPUs within it, and a worker that ends while the pin is in
// effect leaves its thread on the pinned CPUs, so the process stays
// pinned; undo keeps them on their CPUs too. [Getcpu] reports the CPU and node the calling thread is
// on.
//
// # Metrics
//
// [NewCollector](topo, name) returns a prometheus.Collector, registered by
// the caller, that reads per-node memory, numastat counters (both
// host-wide, named gotune_numa_host_*) and this process's resident bytes
// per node from /proc/self/numa_maps under topo.Root when scraped, at most
// once per [WithMinInterval], and the node [Pin] pinned the process to. A
// non-empty name is the constant label name on every series, as in every
// gotune collector; a nil topo exports nothing.
//
//	gotune_numa_host_numastat_pages_total{node,stat}  counter  numa_hit, numa_miss, numa_foreign, interleave_hit, local_node, other_node (host-wide)
//	gotune_numa_host_memory_total_bytes{node}         gauge    node MemTotal (host-wide)
//	gotune_numa_host_memory_free_bytes{node}          gauge    node MemFree (host-wide)
//	gotune_numa_process_resident_bytes{node}          gauge    this process's pages on the node, from numa_maps
//	gotune_numa_pinned_node                           gauge    node of the Pin in effect, -1 if none
//	gotune_numa_collector_reads_total                 counter  rereads of the files
//	gotune_numa_collector_read_errors_total           counter  rereads with an unreadable file
package numa
