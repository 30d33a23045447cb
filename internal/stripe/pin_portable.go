//go:build gotune_nolinkname

package stripe

import "unsafe"

// index spreads goroutines over the stripes by a hash of their stack
// address, stable per goroutine until its stack moves: the portable stand-in
// for the P's id where linkname is not wanted.
func index() int {
	var x byte
	h := uint64(uintptr(unsafe.Pointer(&x))>>12) * 0x9E3779B97F4A7C15
	return int(h >> 40)
}
