package lru_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gotune/gotune/internal/lru"
)

// model is the obvious LRU: keys most recent first.
type model struct {
	keys []int
	vals map[int]int
	cap  int
}

func (m *model) touch(k int) {
	m.keys = slices.DeleteFunc(m.keys, func(x int) bool { return x == k })
	m.keys = slices.Insert(m.keys, 0, k)
}

func TestAgainstModel(t *testing.T) {
	for _, capacity := range []int{1, 2, 3, 8} {
		t.Run(fmt.Sprintf("cap=%d", capacity), func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(capacity)))
			c := lru.New[int, int](capacity)
			m := &model{vals: map[int]int{}, cap: capacity}
			for step := range 5000 {
				k := r.IntN(2*capacity + 1)
				switch op := r.IntN(10); {
				case op < 4:
					v, ok := c.Get(k)
					mv, mok := m.vals[k]
					if ok != mok || v != mv {
						t.Fatalf("step %d: Get(%d) = %d, %v, want %d, %v", step, k, v, ok, mv, mok)
					}
					if ok {
						m.touch(k)
					}
				case op < 8:
					v := r.Int()
					ek, ev, evicted := c.Add(k, v)
					_, present := m.vals[k]
					wantEvict := !present && len(m.keys) == capacity
					if evicted != wantEvict {
						t.Fatalf("step %d: Add(%d) evicted = %v, want %v", step, k, evicted, wantEvict)
					}
					if wantEvict {
						old := m.keys[len(m.keys)-1]
						if ek != old || ev != m.vals[old] {
							t.Fatalf("step %d: Add(%d) evicted %d=%d, want %d=%d", step, k, ek, ev, old, m.vals[old])
						}
						m.keys = m.keys[:len(m.keys)-1]
						delete(m.vals, old)
					}
					m.vals[k] = v
					m.touch(k)
				case op < 9:
					_, present := m.vals[k]
					if got := c.Remove(k); got != present {
						t.Fatalf("step %d: Remove(%d) = %v, want %v", step, k, got, present)
					}
					delete(m.vals, k)
					m.keys = slices.DeleteFunc(m.keys, func(x int) bool { return x == k })
				default:
					v, ok := c.Peek(k)
					if mv, mok := m.vals[k]; ok != mok || v != mv {
						t.Fatalf("step %d: Peek(%d) = %d, %v, want %d, %v", step, k, v, ok, mv, mok)
					}
				}
				var order []int
				for k, v := range c.All() {
					order = append(order, k)
					if v != m.vals[k] {
						t.Fatalf("step %d: All yielded %d=%d, want %d", step, k, v, m.vals[k])
					}
				}
				if !slices.Equal(order, m.keys) || c.Len() != len(m.keys) {
					t.Fatalf("step %d: order %v (Len %d), want %v", step, order, c.Len(), m.keys)
				}
				if k, _, ok := c.Oldest(); ok != (len(m.keys) > 0) || ok && k != m.keys[len(m.keys)-1] {
					t.Fatalf("step %d: Oldest() = %d, %v, want the last of %v", step, k, ok, m.keys)
				}
			}
			c.Clear()
			if c.Len() != 0 || c.Cap() != capacity {
				t.Errorf("after Clear: Len = %d, Cap = %d, want 0 and %d", c.Len(), c.Cap(), capacity)
			}
			if _, _, evicted := c.Add(1, 1); evicted {
				t.Error("Add after Clear evicted")
			}
		})
	}
}

func TestNewPanicsOnBadCapacity(t *testing.T) {
	for _, n := range []int{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%d) did not panic", n)
				}
			}()
			lru.New[string, int](n)
		}()
	}
}

// TestAllocs: hits allocate nothing, and neither does an insertion that
// evicts once the cache is full (container/list allocates two objects).
func TestAllocs(t *testing.T) {
	keys := make([]string, 128)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i)
	}
	c := lru.New[string, *int](64)
	v := new(int)
	for _, k := range keys {
		c.Add(k, v)
	}
	i := 0
	if n := testing.AllocsPerRun(1000, func() { c.Get(keys[64+i%64]); i++ }); n != 0 {
		t.Errorf("Get allocs = %v, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { c.Add(keys[i%128], v); i++ }); n > 0.1 {
		t.Errorf("Add with eviction allocs = %v, want 0", n)
	}
}

func BenchmarkAdd(b *testing.B) {
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("host%d:443", i)
	}
	b.Run("impl=lru", func(b *testing.B) {
		c := lru.New[string, *int](64)
		v := new(int)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			c.Add(keys[i%len(keys)], v)
			i++
		}
	})
}
