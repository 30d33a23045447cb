package pool_test

import (
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/gotune/gotune/pool"
)

// TestExpiredUnreachable checks that once Stats reports the idle objects
// gone, the pool keeps no reference to them: the next GC frees every one.
// Before, a sweep lent its victims to a slice it cleared only after
// letting go of the pool's lock, and a GC run in between (a caller that
// polls Stats and then collects, as bench/pool's memory target does) kept
// the whole batch alive for another cycle; it failed under -race.
func TestExpiredUnreachable(t *testing.T) {
	for _, drop := range []string{"sweep", "DropIdle", "Close"} {
		t.Run(drop, func(t *testing.T) {
			ttl := time.Hour // DropIdle and Close: no sweep drops anything first
			if drop == "sweep" {
				ttl = 20 * time.Millisecond
			}
			p := pool.New[*[]byte](nil, pool.WithTTL(ttl), pool.WithMaxIdle(1<<17))
			defer p.Close()
			const n = 1 << 16
			ptrs := make([]weak.Pointer[[]byte], n)
			for i := range ptrs {
				b := make([]byte, 64)
				ptrs[i] = weak.Make(&b)
				p.Put(&b)
			}
			switch drop {
			case "sweep":
				for deadline := time.Now().Add(10 * time.Second); p.Stats().Idle > 0; runtime.Gosched() {
					if time.Now().After(deadline) {
						t.Fatalf("idle objects not expired after 10s: %v", p.Stats())
					}
				}
			case "DropIdle":
				if got := p.DropIdle(); got != n {
					t.Fatalf("DropIdle = %d, want %d", got, n)
				}
			case "Close":
				p.Close()
			}
			if st := p.Stats(); st.Idle != 0 {
				t.Fatalf("Stats after %s: %v, want no idle objects", drop, st)
			}
			runtime.GC()
			live := 0
			for _, w := range ptrs {
				if w.Value() != nil {
					live++
				}
			}
			if live > 0 {
				t.Errorf("after %s and one GC, %d of %d dropped objects are still reachable", drop, live, n)
			}
		})
	}
}
