//go:build gotune_nolinkname || race

package pool

import (
	"runtime"
	"sync"
	"unsafe"
)

// pinState makes a shard exclusive with a mutex instead of P pinning. It
// is used with -tags gotune_nolinkname and in race builds, where the
// mutex gives the race detector the ordering that pinning gives for real.
type pinState struct{ mu sync.Mutex }

// shardCount is a power of two at least GOMAXPROCS.
func shardCount() int {
	n := 1
	for n < runtime.GOMAXPROCS(0) {
		n <<= 1
	}
	return n
}

// pin locks the shard chosen by a hash of the goroutine's stack address:
// stable per goroutine (until its stack moves) and spread across them.
func (p *Pool[T]) pin() *shard[T] {
	s := p.homeShard()
	s.pinState.mu.Lock()
	return s
}

// homeShard returns the calling goroutine's shard without locking it.
func (p *Pool[T]) homeShard() *shard[T] {
	var x byte
	h := uint64(uintptr(unsafe.Pointer(&x))>>12) * 0x9E3779B97F4A7C15
	return &p.shards[int(h>>40)&(len(p.shards)-1)]
}

func (p *Pool[T]) unpin(s *shard[T]) {
	if s != nil {
		s.pinState.mu.Unlock()
	}
}
