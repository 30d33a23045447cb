//go:build linux

package cgroup_test

import (
	"strings"
	"testing"

	"github.com/gotune/gotune/internal/cgroup"
	"github.com/gotune/gotune/internal/cpulist"
	"github.com/gotune/gotune/internal/hostile"
)

// TestHostileTree runs every reader of the package on trees in which one
// file is a FIFO, a device, an escaping link, oversized, repeated, or holds
// a nonsense value (issue 15): each returns within the deadline, allocates
// under 1 MiB, and either refuses the file with an error naming it or
// reads a sane value.
func TestHostileTree(t *testing.T) {
	files := []string{
		"proc/self/cgroup", "proc/self/mountinfo", "proc/self/status",
		"sys/devices/system/cpu/online",
		"sys/fs/cgroup/app/cpu.max", "sys/fs/cgroup/app/memory.max", "sys/fs/cgroup/app/memory.high",
		"sys/fs/cgroup/app/memory.swap.max", "sys/fs/cgroup/app/cpuset.cpus.effective", "sys/fs/cgroup/app/cpuset.mems.effective",
	}
	for _, c := range hostile.Cases(t, files...) {
		switch c.File {
		case "proc/self/status":
			hostile.Check(t, c, func() error {
				cpus, _, err := cgroup.AllowedCPUs(c.Root)
				saneIDs(t, c, cpus)
				return err
			})
		case "sys/devices/system/cpu/online":
			hostile.Check(t, c, func() error {
				cpus, _, err := cgroup.OnlineCPUs(c.Root)
				saneIDs(t, c, cpus)
				return err
			})
		default:
			hostile.Check(t, c, func() error {
				l, err := cgroup.Read(c.Root)
				saneLimits(t, c, l)
				return err
			})
		}
	}
}

func saneIDs(t *testing.T, c hostile.Case, ids []int) {
	t.Helper()
	if len(ids) > 0 && ids[len(ids)-1] >= cpulist.MaxID {
		t.Errorf("%s: id %d past MaxID", c.Name, ids[len(ids)-1])
	}
}

func saneLimits(t *testing.T, c hostile.Case, l cgroup.Limits) {
	t.Helper()
	for _, v := range []int64{l.MemoryMax, l.MemoryHigh} {
		if v != 0 && v < cgroup.MinMemory {
			t.Errorf("%s: memory limit %d below the floor", c.Name, v)
		}
	}
	if l.CPUQuota < 0 || l.CPUQuota != l.CPUQuota {
		t.Errorf("%s: CPUQuota %v", c.Name, l.CPUQuota)
	}
	saneIDs(t, c, l.CPUSet)
	saneIDs(t, c, l.MemSet)
}

// TestMemoryFloor: memory.max = 2 gave GOMEMLIMIT 1 byte (issue 15). A
// limit below 4 MiB is an error that names the file and the value, and the
// limit is not used; an ancestor's sane limit still is.
func TestMemoryFloor(t *testing.T) {
	for _, v := range []string{"0", "1", "2", "4194303"} {
		root := t.TempDir()
		files := map[string]string{}
		for k, c := range hostile.Base {
			files[k] = c
		}
		files["proc/self/cgroup"] = "0::/app/leaf\n"
		files["sys/fs/cgroup/app/leaf/memory.max"] = v + "\n"
		hostile.Write(t, root, files)
		l, err := cgroup.Read(root)
		if err == nil || !strings.Contains(err.Error(), "sys/fs/cgroup/app/leaf/memory.max") || !strings.Contains(err.Error(), v+" bytes") {
			t.Errorf("memory.max = %s: Read error = %v, want one naming the file and the value", v, err)
		}
		if l.MemoryMax != 512<<20 {
			t.Errorf("memory.max = %s: MemoryMax = %d, want the parent's 512 MiB", v, l.MemoryMax)
		}
	}
	root := t.TempDir()
	hostile.Write(t, root, hostile.Base)
	hostile.Write(t, root, map[string]string{"sys/fs/cgroup/app/memory.max": "4194304\n"})
	if l, err := cgroup.Read(root); err != nil || l.MemoryMax != cgroup.MinMemory {
		t.Errorf("memory.max = 4 MiB: Read = %d, %v, want the floor itself accepted", l.MemoryMax, err)
	}
}

// TestMountInfoRefusesPaths: a relative mount point led the reader out of
// the root (issue 15).
func TestMountInfoRefusesPaths(t *testing.T) {
	for _, line := range []string{
		"30 1 0:26 / sys/fs/cgroup rw - cgroup2 cgroup2 rw",
		"30 1 0:26 / /sys/fs/cgroup/../../etc rw - cgroup2 cgroup2 rw",
		"30 1 0:26 .. /sys/fs/cgroup rw - cgroup2 cgroup2 rw",
		"30 1 0:26 / /sys/fs/cgroup/ rw - cgroup cgroup rw,memory",
		"30 1 0:26 / . rw - cgroup cgroup rw,memory",
	} {
		if _, err := cgroup.ParseMountInfo([]byte(line)); err == nil {
			t.Errorf("ParseMountInfo(%q) error = nil, want the path refused", line)
		}
	}
	// Other file systems' roots are not paths (nsfs: "net:[4026531840]").
	ms, err := cgroup.ParseMountInfo([]byte("1 2 0:4 net:[4026531840] /run/netns/x rw - nsfs nsfs rw\n"))
	if err != nil || len(ms) != 0 {
		t.Errorf("ParseMountInfo(nsfs line) = %v, %v, want no mounts and no error", ms, err)
	}
}

// TestMountInfoOtherLinesAllocateNothing: a mountinfo of many non-cgroup
// lines (a Kubernetes node's) costs only the scanner's buffer, not an
// allocation per line.
func TestMountInfoOtherLinesAllocateNothing(t *testing.T) {
	other := "40 1 0:50 / /var/lib/kubelet/pods/0123/volumes/kubernetes.io~projected/kube-api-access rw - tmpfs tmpfs rw\n"
	data := []byte(strings.Repeat(other, 10000) + "30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
	allocs := testing.AllocsPerRun(5, func() {
		if ms, err := cgroup.ParseMountInfo(data); err != nil || len(ms) != 1 {
			t.Fatalf("ParseMountInfo = %v, %v", ms, err)
		}
	})
	if allocs > 20 {
		t.Errorf("ParseMountInfo over 10000 tmpfs lines: %v allocations, want a handful", allocs)
	}
}
