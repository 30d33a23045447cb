package poolpeers

import (
	"context"
	"sync"
	"testing"

	"github.com/gotune/gotune/pool"
	"github.com/jackc/puddle/v2"
)

type payload struct{ b [64]byte }

func newPayload() *payload { return new(payload) }

// newPuddle is puddle as a service configures it: a constructor, a bound
// (the same as gotune's default idle bound) and no destructor work.
func newPuddle(tb testing.TB, max int32) *puddle.Pool[*payload] {
	p, err := puddle.NewPool(&puddle.Config[*payload]{
		Constructor: func(context.Context) (*payload, error) { return newPayload(), nil },
		Destructor:  func(*payload) {},
		MaxSize:     max,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// BenchmarkGetPut is one Get and one Put of a 64-byte object per op, from
// GOMAXPROCS goroutines (b.RunParallel, so -cpu 1,2 gives 1 and 2 threads),
// in the same run for gotune, puddle (Acquire + Release) and sync.Pool.
func BenchmarkGetPut(b *testing.B) {
	b.Run("impl=syncpool", func(b *testing.B) {
		p := sync.Pool{New: func() any { return newPayload() }}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				v := p.Get().(*payload)
				v.b[0]++
				p.Put(v)
			}
		})
	})
	b.Run("impl=gotune", func(b *testing.B) {
		p := pool.New(newPayload)
		defer p.Close()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				v := p.Get()
				v.b[0]++
				p.Put(v)
			}
		})
	})
	b.Run("impl=puddle", func(b *testing.B) {
		p := newPuddle(b, pool.DefaultMaxIdle)
		defer p.Close()
		ctx := context.Background()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r, err := p.Acquire(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				r.Value().b[0]++
				r.Release()
			}
		})
	})
}

// TestGetPutAllImpls checks that every variant of BenchmarkGetPut works and
// reuses objects, so a broken peer setup fails here rather than in a
// benchmark nobody runs.
func TestGetPutAllImpls(t *testing.T) {
	g := pool.New(newPayload)
	defer g.Close()
	v := g.Get()
	g.Put(v)
	if w := g.Get(); w != v {
		t.Errorf("gotune pool: Get after Put = %p, want the object put (%p)", w, v)
	}
	p := newPuddle(t, 4)
	defer p.Close()
	r, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pv := r.Value()
	r.Release()
	r, err = p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Value() != pv {
		t.Errorf("puddle: Acquire after Release = %p, want the released object (%p)", r.Value(), pv)
	}
	r.Release()
}
