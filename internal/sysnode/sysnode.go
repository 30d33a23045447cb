// Package sysnode reads the Linux NUMA description of a host and of the
// current process from a root directory: /sys/devices/system/node (online
// nodes, CPU lists, distances, per-node meminfo and numastat),
// /proc/self/status (Cpus_allowed, Mems_allowed), /proc/self/task and
// /proc/self/numa_maps. It only reads files; package numa makes the
// decisions. The cgroup cpuset comes from internal/cgroup.
//
// Every file and directory is read through internal/fsread (regular files
// only, without blocking, at most 64 KiB, numa_maps streamed up to 16 MiB,
// within a deadline, symlinks kept inside the root), so a FIFO, a device or
// an oversized file is an error naming it. Node ids and counts are bounded
// by the kernel's: at most [MaxNodes] online nodes, CPU ids below
// cpulist.MaxID, and at most [MaxTasks] threads.
package sysnode

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gotune/gotune/internal/cpulist"
	"github.com/gotune/gotune/internal/fsread"
)

// NodeDir is the sysfs directory that describes NUMA nodes, relative to a root.
const NodeDir = "sys/devices/system/node"

// maxFile bounds how much of a sysfs or proc file is read: fsread's cap.
// The largest file read here in full (a node's vmstat is not read) is a few
// KiB, or a CPU list of some 40 KiB on the largest NR_CPUS.
const maxFile = fsread.MaxSize

// maxNodeDirEntries bounds the node directory: MAX_NUMNODES is at most
// 1024, and the directory holds a few files beside the nodes.
const maxNodeDirEntries = 4096

// MaxNodes bounds the online nodes: the kernel's MAX_NUMNODES is at most
// 1024 (NODES_SHIFT 10).
const MaxNodes = 1024

// MaxTasks bounds the threads [Tasks] lists. A Go service has tens to
// hundreds; a process with more than this is refused rather than walked.
const MaxTasks = 1 << 16

// Node is one online node as sysfs describes it.
type Node struct {
	ID        int
	CPUs      []int
	Distances []int // one per online node, in online-node order; nil if unknown
	Mem       NodeMem
	HasMem    bool // in has_memory, or MemTotal > 0 where has_memory is absent
}

// Nodes is the node directory of a host.
type Nodes struct {
	Present bool  // false when the node directory does not exist
	Online  []int // online node ids, ascending: the order of distance files
	Nodes   []Node
}

// ReadFile reads root/rel through fsread's bounded reader, as a string:
// a regular file of at most [fsread.MaxSize] bytes, symlinks resolved
// inside the root. Errors name the path.
func ReadFile(root, rel string) (string, error) {
	b, err := fsread.ReadFile(root, rel)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// ReadNodes reads root/sys/devices/system/node. A missing directory is not an
// error: the result has Present false.
func ReadNodes(root string) (Nodes, error) {
	var out Nodes
	if _, err := fsread.Stat(root, NodeDir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return out, nil
		}
		return out, fmt.Errorf("sysnode: %w", err)
	}
	out.Present = true
	online, err := readList(root, NodeDir+"/online")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if online, err = listNodeDirs(root); err != nil {
			return out, err
		}
	case err != nil:
		return out, err
	}
	if len(online) > MaxNodes {
		return out, fmt.Errorf("sysnode: %s lists %d nodes, more than the kernel's %d", filepath.Join(root, NodeDir, "online"), len(online), MaxNodes)
	}
	out.Online = online
	hasMem, err := readList(root, NodeDir+"/has_memory")
	haveHasMem := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return out, err
	}
	for _, id := range online {
		n, err := readNode(root, id, len(online))
		if err != nil {
			return out, err
		}
		if haveHasMem {
			_, n.HasMem = slices.BinarySearch(hasMem, id)
		} else {
			n.HasMem = n.Mem.Total > 0
		}
		out.Nodes = append(out.Nodes, n)
	}
	return out, nil
}

func readNode(root string, id, nOnline int) (Node, error) {
	n := Node{ID: id}
	base := NodeDir + "/node" + strconv.Itoa(id)
	cpus, err := readList(root, base+"/cpulist")
	if errors.Is(err, fs.ErrNotExist) {
		var s string
		if s, err = ReadFile(root, base+"/cpumap"); err == nil {
			cpus, err = cpulist.ParseMask(s)
			if err != nil {
				err = fmt.Errorf("sysnode: %s: %w", filepath.Join(root, base, "cpumap"), err)
			}
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		cpus = []int{}
	case err != nil:
		return n, err
	}
	n.CPUs = cpus
	if s, err := ReadFile(root, base+"/distance"); err == nil {
		d, err := ParseDistance(s)
		if err != nil {
			return n, fmt.Errorf("%w (in %s)", err, filepath.Join(root, base, "distance"))
		}
		if len(d) != nOnline {
			return n, fmt.Errorf("sysnode: %s has %d distances %q for %d online nodes", filepath.Join(root, base, "distance"), len(d), truncate(strings.TrimSpace(s)), nOnline)
		}
		n.Distances = d
	} else if !errors.Is(err, fs.ErrNotExist) {
		return n, fmt.Errorf("sysnode: %w", err)
	}
	if s, err := ReadFile(root, base+"/meminfo"); err == nil {
		m, err := ParseNodeMeminfo(s)
		if err != nil {
			return n, fmt.Errorf("%w (in %s)", err, filepath.Join(root, base, "meminfo"))
		}
		n.Mem = m
	} else if !errors.Is(err, fs.ErrNotExist) {
		return n, fmt.Errorf("sysnode: %w", err)
	}
	return n, nil
}

// ReadNodeMeminfo reads one node's meminfo.
func ReadNodeMeminfo(root string, id int) (NodeMem, error) {
	p := NodeDir + "/node" + strconv.Itoa(id) + "/meminfo"
	s, err := ReadFile(root, p)
	if err != nil {
		return NodeMem{}, fmt.Errorf("sysnode: %w", err)
	}
	m, err := ParseNodeMeminfo(s)
	if err != nil {
		return NodeMem{}, fmt.Errorf("%w (in %s)", err, filepath.Join(root, p))
	}
	return m, nil
}

// ReadNumastat reads one node's numastat.
func ReadNumastat(root string, id int) (Numastat, error) {
	p := NodeDir + "/node" + strconv.Itoa(id) + "/numastat"
	s, err := ReadFile(root, p)
	if err != nil {
		return Numastat{}, fmt.Errorf("sysnode: %w", err)
	}
	st, err := ParseNumastat(s)
	if err != nil {
		return Numastat{}, fmt.Errorf("%w (in %s)", err, filepath.Join(root, p))
	}
	return st, nil
}

// ReadStatus reads and parses root/proc/self/status (or another status file
// given by rel).
func ReadStatus(root, rel string) (Status, error) {
	s, err := ReadFile(root, rel)
	if err != nil {
		return Status{}, err
	}
	st, err := ParseStatus(s)
	if err != nil {
		return Status{}, fmt.Errorf("%w (in %s)", err, filepath.Join(root, rel))
	}
	return st, nil
}

// ReadMeminfo reads root/proc/meminfo.
func ReadMeminfo(root string) (NodeMem, error) {
	s, err := ReadFile(root, "proc/meminfo")
	if err != nil {
		return NodeMem{}, err
	}
	m, err := ParseMeminfo(s)
	if err != nil {
		return NodeMem{}, fmt.Errorf("%w (in %s)", err, filepath.Join(root, "proc/meminfo"))
	}
	return m, nil
}

// OnlineCPUs reads root/sys/devices/system/cpu/online.
func OnlineCPUs(root string) ([]int, error) {
	return readList(root, "sys/devices/system/cpu/online")
}

// readList reads a file holding a cpu or node list. A missing file returns an
// error that matches fs.ErrNotExist; a malformed one names the file.
func readList(root, rel string) ([]int, error) {
	s, err := ReadFile(root, rel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("sysnode: %w", err)
	}
	ids, err := cpulist.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("sysnode: %s: %w", filepath.Join(root, rel), err)
	}
	return ids, nil
}

func listNodeDirs(root string) ([]int, error) {
	names, err := fsread.ReadDirNames(root, NodeDir, maxNodeDirEntries)
	if err != nil {
		return nil, fmt.Errorf("sysnode: %w", err)
	}
	ids := []int{}
	for _, name := range names {
		rest, ok := strings.CutPrefix(name, "node")
		if !ok {
			continue
		}
		id, err := strconv.Atoi(rest)
		if err != nil || id < 0 || id >= cpulist.MaxID || strconv.Itoa(id) != rest {
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// Tasks lists the thread ids in root/proc/self/task, at most [MaxTasks].
func Tasks(root string) ([]int, error) {
	names, err := fsread.ReadDirNames(root, "proc/self/task", MaxTasks)
	if err != nil {
		return nil, fmt.Errorf("sysnode: %w", err)
	}
	tids := make([]int, 0, len(names))
	for _, name := range names {
		id, err := strconv.Atoi(name)
		if err != nil || id <= 0 {
			continue
		}
		tids = append(tids, id)
	}
	return tids, nil
}

// ReadNumaMaps reads root/proc/self/numa_maps as a stream (at most
// [fsread.MaxStream] bytes); see ParseNumaMaps.
func ReadNumaMaps(root string, maxLines int) (map[int]uint64, error) {
	f, err := fsread.Open(root, "proc/self/numa_maps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := ParseNumaMaps(f, maxLines)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, f.Name())
	}
	return m, nil
}
