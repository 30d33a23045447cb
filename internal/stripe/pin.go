//go:build !gotune_nolinkname

package stripe

import _ "unsafe" // for go:linkname

//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

// index returns the id of the P the goroutine runs on.
func index() int {
	p := procPin()
	procUnpin()
	return p
}
