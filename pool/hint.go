//go:build !gotune_nolinkname

package pool

import _ "unsafe" // for go:linkname

// procPin and procUnpin are the runtime functions sync.Pool uses to find
// the current P. The runtime keeps them reachable by linkname on purpose
// (go.dev/issue/67401, "Do not remove or change the type signature"). We
// only read the P's id and unpin at once: the id picks a shard whose mutex
// then provides all the safety, so a goroutine that moves to another P in
// between only costs a little contention, never correctness. Build with
// -tags gotune_nolinkname to use a goroutine-stack hash instead.
//
//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

// procHint returns the id of the P running the caller.
func procHint() int {
	id := procPin()
	procUnpin()
	return id
}
