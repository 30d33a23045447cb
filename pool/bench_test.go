package pool_test

import (
	"sync"
	"testing"
	"time"

	"github.com/gotune/gotune/pool"
)

// The baselines a user would otherwise reach for, measured in the same run:
// sync.Pool itself, a typed generic wrapper over it, a mutex-guarded slice
// and a buffered channel. Every variant does one Get and one Put per
// iteration of an object of the same type.

type payload struct{ b [64]byte }

func newPayload() *payload { return new(payload) }

type typedSyncPool[T any] struct{ p sync.Pool }

func (t *typedSyncPool[T]) Get() T  { return t.p.Get().(T) }
func (t *typedSyncPool[T]) Put(v T) { t.p.Put(v) }

type mutexPool[T any] struct {
	mu    sync.Mutex
	items []T
	max   int
	newFn func() T
}

func (m *mutexPool[T]) Get() T {
	m.mu.Lock()
	if n := len(m.items); n > 0 {
		v := m.items[n-1]
		var zero T
		m.items[n-1] = zero
		m.items = m.items[:n-1]
		m.mu.Unlock()
		return v
	}
	m.mu.Unlock()
	return m.newFn()
}

func (m *mutexPool[T]) Put(v T) {
	m.mu.Lock()
	if len(m.items) < m.max {
		m.items = append(m.items, v)
	}
	m.mu.Unlock()
}

type chanPool[T any] struct {
	c     chan T
	newFn func() T
}

func (c *chanPool[T]) Get() T {
	select {
	case v := <-c.c:
		return v
	default:
		return c.newFn()
	}
}

func (c *chanPool[T]) Put(v T) {
	select {
	case c.c <- v:
	default:
	}
}

type getPutter interface {
	Get() *payload
	Put(*payload)
}

func BenchmarkGetPut(b *testing.B) {
	run := func(b *testing.B, p getPutter) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				p.Put(p.Get())
			}
		})
	}
	b.Run("impl=syncpool", func(b *testing.B) {
		// sync.Pool used directly, as most code does.
		p := sync.Pool{New: func() any { return newPayload() }}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				x := p.Get().(*payload)
				p.Put(x)
			}
		})
	})
	b.Run("impl=typedsyncpool", func(b *testing.B) {
		p := &typedSyncPool[*payload]{p: sync.Pool{New: func() any { return newPayload() }}}
		run(b, p)
	})
	b.Run("impl=gotune", func(b *testing.B) {
		p := pool.New(newPayload, pool.WithTTL(time.Minute), pool.WithMaxIdle(1024))
		defer p.Close()
		run(b, p)
	})
	b.Run("impl=gotune-hooks", func(b *testing.B) {
		// With reset and size hooks, as a buffer pool uses them.
		p := pool.New(newPayload, pool.WithTTL(time.Minute), pool.WithMaxIdle(1024),
			pool.WithReset(func(x *payload) { x.b[0] = 0 }),
			pool.WithSize(func(*payload) int { return 64 }), pool.WithMaxSize(1<<20))
		defer p.Close()
		run(b, p)
	})
	b.Run("impl=mutexslice", func(b *testing.B) {
		run(b, &mutexPool[*payload]{max: 1024, newFn: newPayload})
	})
	b.Run("impl=channel", func(b *testing.B) {
		run(b, &chanPool[*payload]{c: make(chan *payload, 1024), newFn: newPayload})
	})
}

// BenchmarkBurst gets 32 objects then puts them back, so the shard
// overflows into the depot and refills from it: the slow path's cost.
func BenchmarkBurst(b *testing.B) {
	const burst = 32
	b.Run("impl=syncpool", func(b *testing.B) {
		p := sync.Pool{New: func() any { return newPayload() }}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var held [burst]*payload
			for pb.Next() {
				for i := range held {
					held[i] = p.Get().(*payload)
				}
				for _, x := range held {
					p.Put(x)
				}
			}
		})
	})
	b.Run("impl=gotune", func(b *testing.B) {
		p := pool.New(newPayload, pool.WithMaxIdle(1024))
		defer p.Close()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var held [burst]*payload
			for pb.Next() {
				for i := range held {
					held[i] = p.Get()
				}
				for _, x := range held {
					p.Put(x)
				}
			}
		})
	})
}
