//go:build linux

package gcguard

import "golang.org/x/sys/unix"

// machineMemory returns the machine's RAM in bytes, 0 where unknown. It
// asks sysinfo(2), which reads no file. Tests replace it.
var machineMemory = func() int64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}
