//go:build !gotune_nolinkname && !race

package pool

import (
	"runtime"
	_ "unsafe" // for go:linkname
)

// procPin and procUnpin are the runtime functions sync.Pool uses to stay
// on one P. The runtime keeps them reachable by linkname on purpose
// (go.dev/issue/67401: "Do not remove or change the type signature").
// While pinned, the goroutine cannot be preempted or moved, so a shard
// indexed by the P's id has exactly one user at a time besides the
// sweeper, which coordinates with it through the shard's atomic word.
// Code between pin and unpin must not block, allocate much, or call user
// code. Build with -tags gotune_nolinkname to replace pinning by a
// per-shard mutex; race builds do so too, because the race detector
// cannot see that two pinned sections on one P never overlap.
//
//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

// pinState is empty: pinning needs no per-shard state.
//
//lint:ignore U1000 the gotune_nolinkname and race builds give it a mutex.
type pinState struct{}

// shardCount is one shard per P at New time. Ps added later (a raised
// GOMAXPROCS) have no cells and use the overflow stacks.
func shardCount() int { return runtime.GOMAXPROCS(0) }

// pin pins the goroutine and returns its P's shard, or nil when the P
// has none. Either way the caller must call unpin. Kept small enough to
// inline.
func (p *Pool[T]) pin() *shard[T] {
	if id := procPin(); id < len(p.shards) {
		return &p.shards[id]
	}
	return nil
}

func (p *Pool[T]) unpin(*shard[T]) { procUnpin() }

// homeShard returns the current P's shard (modulo the shard count) for
// the slow paths, without staying pinned.
func (p *Pool[T]) homeShard() *shard[T] {
	id := procPin()
	procUnpin()
	return &p.shards[id%len(p.shards)]
}
