//go:build !linux

package cgroup

import (
	"errors"
	"runtime"
)

// Affinity returns 0..runtime.NumCPU()-1 and an error saying that the
// affinity mask cannot be read on this system.
func Affinity() ([]int, error) {
	out := make([]int, runtime.NumCPU())
	for i := range out {
		out[i] = i
	}
	return out, errors.New("cgroup: affinity is not supported on " + runtime.GOOS)
}
