//go:build linux

package cgroup

import "golang.org/x/sys/unix"

// Affinity returns the CPUs this process may run on, from
// sched_getaffinity(2).
func Affinity() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, err
	}
	var out []int
	for i := range len(set) * 64 {
		if set.IsSet(i) {
			out = append(out, i)
		}
	}
	return out, nil
}
