package gcguard

import "github.com/gotune/gotune/internal/cgroup"

// cgroupLimits reads the memory limits of the process whose /proc/self is
// under root: memory.max (memory.limit_in_bytes on v1) and memory.high,
// tightest over the ancestors, 0 for none. Hosts without cgroups (and other
// operating systems) give zeros and no error.
func cgroupLimits(root string) (hard, high int64, err error) {
	l, err := cgroup.Read(root)
	return l.MemoryMax, l.MemoryHigh, err
}
