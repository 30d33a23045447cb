//go:build linux || darwin

package netxbench

import (
	"syscall"
	"time"
)

// cpuTime returns the user plus system CPU time of this process. Client and
// server run in the same process, so its growth per request is the whole
// cost of a request, and it is less disturbed by other load on a shared
// machine than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
