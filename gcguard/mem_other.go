//go:build !linux

package gcguard

// machineMemory returns the machine's RAM in bytes; 0, unknown, outside
// Linux. Tests replace it.
var machineMemory = func() int64 { return 0 }
