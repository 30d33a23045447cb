//go:build gotune_nolinkname

package pool

import "unsafe"

// procHint hashes the address of a stack variable: stable for a goroutine
// (until its stack moves) and spread across goroutines. It gives shard
// affinity per goroutine rather than per P, which is as good in benchmarks
// with long-lived workers and worse for many short-lived goroutines.
func procHint() int {
	var x byte
	h := uint64(uintptr(unsafe.Pointer(&x))>>12) * 0x9E3779B97F4A7C15
	return int(h >> 40)
}
