package pool_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gotune/gotune/pool"
)

// awaitClosed fails the test when ch is not closed in a long time: a
// deadlock detector, not a speed assertion.
func awaitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: still blocked after 30s (a lock left held?)", what)
	}
}

// A destroy hook that panics during Close: Close used to panic with the
// pool's lock held, and Stats and DropIdle then blocked forever. Now the
// panic is recovered and counted, every object still goes to the hook,
// and the pool answers.
func TestDestroyPanicDuringClose(t *testing.T) {
	destroyed := 0
	p := pool.New(func() *obj { return new(obj) }, pool.WithTTL(pool.NoTTL),
		pool.WithDestroy(func(*obj) { destroyed++; panic("destroy boom") }))
	for i := range 10 {
		p.Put(&obj{id: i})
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("Close panicked: %v", r)
			}
		}()
		p.Close()
	}()
	done := make(chan struct{})
	var st pool.Stats
	go func() {
		defer close(done)
		st = p.Stats()
		p.DropIdle()
		p.Close()
	}()
	awaitClosed(t, done, "Stats, DropIdle and Close after a destroy hook panicked in Close")
	if destroyed != 10 || st.HookPanics != 10 {
		t.Errorf("destroy hook ran %d times, %d panics counted; want 10 and 10", destroyed, st.HookPanics)
	}
}

// Reset and size hooks that panic on Put: the caller's Put returns, the
// object (in a state no one knows) is dropped to the destroy hook, and the
// panic is counted and logged.
func TestPutHookPanics(t *testing.T) {
	for _, hook := range []string{"reset", "size"} {
		t.Run(hook, func(t *testing.T) {
			var logs bytes.Buffer
			var destroyed []*obj
			opts := []pool.Option{pool.WithTTL(pool.NoTTL), pool.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
				pool.WithDestroy(func(o *obj) { destroyed = append(destroyed, o) })}
			boom := func(o *obj) {
				if o.id == 13 {
					panic(hook + " boom")
				}
			}
			if hook == "reset" {
				opts = append(opts, pool.WithReset(boom))
			} else {
				opts = append(opts, pool.WithSize(func(o *obj) int { boom(o); return 1 }))
			}
			p := pool.New(func() *obj { return &obj{id: -1} }, opts...)
			defer p.Close()
			bad := &obj{id: 13}
			p.Put(bad)
			p.Put(&obj{id: 1})
			if len(destroyed) != 1 || destroyed[0] != bad {
				t.Errorf("destroyed %v, want the object whose %s hook panicked", destroyed, hook)
			}
			if got := p.Get(); got == bad {
				t.Errorf("Get returned the object whose %s hook panicked", hook)
			}
			st := p.Stats()
			if st.HookPanics != 1 || st.Puts != 2 {
				t.Errorf("Stats: hook panics %d, puts %d; want 1 and 2", st.HookPanics, st.Puts)
			}
			if !strings.Contains(logs.String(), "hook panicked") || !strings.Contains(logs.String(), "hook="+hook) {
				t.Errorf("log %q, want a line naming the %s hook's panic", logs.String(), hook)
			}
			if n := testutil.CollectAndCount(pool.NewCollector(p, "p"), "gotune_pool_hook_panics_total"); n != 1 {
				t.Errorf("collector: %d hook_panics series, want 1", n)
			}
		})
	}
}

// A pressure signal that panics is read as no pressure; the sweep goes on.
func TestPressureHookPanics(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.WithTTL(time.Hour),
		pool.WithPressure(func() int { panic("pressure boom") }, 1))
	defer p.Close()
	p.Put(new(obj))
	if left := p.SweepAt(time.Now().UnixNano()); left != 1 {
		t.Errorf("sweep with a panicking pressure signal left %d objects, want 1 (no pressure)", left)
	}
	if st := p.Stats(); st.HookPanics != 1 {
		t.Errorf("HookPanics = %d, want 1", st.HookPanics)
	}
}

// Hooks that call back into the pool: a destroy hook calling Stats,
// DropIdle and Get while Close, DropIdle or a sweep destroys; a reset
// hook that Puts another object; a pressure signal that calls DropIdle.
// Before, the destroy hook and the signal ran under the pool's sweep lock
// and deadlocked. (A destroy hook that Puts into its own closed pool
// recurses without end, as documented at WithDestroy.)
func TestHooksCallBackIntoPool(t *testing.T) {
	var p *pool.Pool[*obj]
	var calls int
	p = pool.New(func() *obj { return new(obj) }, pool.WithTTL(time.Minute),
		pool.WithDestroy(func(*obj) {
			calls++
			_ = p.Stats()
			p.DropIdle()
			_ = p.Get()
		}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Put(new(obj))
		p.DropIdle()
		p.Put(new(obj))
		now := time.Now().UnixNano()
		p.SweepAt(now)
		p.SweepAt(now + int64(2*time.Minute))
		p.SweepAt(now + int64(4*time.Minute))
		p.Close()
	}()
	awaitClosed(t, done, "destroy hook calling Stats, DropIdle, Get and Put")
	if calls == 0 {
		t.Errorf("destroy hook never ran")
	}

	var q *pool.Pool[*obj]
	spare := &obj{id: 99}
	q = pool.New(func() *obj { return new(obj) }, pool.WithTTL(pool.NoTTL),
		pool.WithReset(func(o *obj) {
			if o.id == 1 {
				q.Put(spare)
			}
		}),
		pool.WithPressure(func() int { q.DropIdle(); return 0 }, 1))
	done = make(chan struct{})
	go func() {
		defer close(done)
		q.Put(&obj{id: 1})
		q.SweepAt(time.Now().UnixNano())
	}()
	awaitClosed(t, done, "reset hook calling Put, pressure signal calling DropIdle")
	q.Close()
}

// Close on a nil, zero or closed pool, twice and concurrently; Put and Get
// after Close.
func TestCloseNilZeroTwice(t *testing.T) {
	var nilPool *pool.Pool[*obj]
	nilPool.Close()
	var zero pool.Pool[*obj]
	zero.Close()
	zero.Close()
	var nilBufs *pool.Buffers
	nilBufs.Close()
	var zeroBufs pool.Buffers
	zeroBufs.Close()

	var destroyed int
	var mu sync.Mutex
	p := pool.New(func() *obj { return new(obj) }, pool.WithDestroy(func(*obj) { mu.Lock(); destroyed++; mu.Unlock() }))
	p.Put(new(obj))
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); p.Close() }()
	}
	wg.Wait()
	p.Close()
	p.Put(new(obj))
	if o := p.Get(); o == nil {
		t.Errorf("Get after Close = nil, want a new object")
	}
	if st := p.Stats(); !st.Closed || destroyed != 2 || st.DropsClosed != 2 {
		t.Errorf("after Close: closed %v, destroyed %d, drops closed %d; want true, 2, 2", st.Closed, destroyed, st.DropsClosed)
	}
	b := pool.NewBuffers()
	b.Close()
	b.Close()
}

// A destroy hook run by the TTL sweep, on the timer's goroutine, may call
// Close and Stats: the sweep runs it after letting go of the pool's lock.
func TestSweepDestroyHookCallsClose(t *testing.T) {
	var p *pool.Pool[*obj]
	closed := make(chan struct{})
	var once sync.Once
	p = pool.New(func() *obj { return new(obj) }, pool.WithTTL(8*time.Millisecond),
		pool.WithDestroy(func(*obj) {
			_ = p.Stats()
			p.Close()
			once.Do(func() { close(closed) })
		}))
	p.Put(new(obj))
	awaitClosed(t, closed, "a sweep's destroy hook calling Close")
	if st := p.Stats(); !st.Closed || st.Expired != 1 {
		t.Errorf("after the hook closed the pool: closed %v, expired %d; want true, 1", st.Closed, st.Expired)
	}
}

// Hooks that panic now and then, under Gets, Puts, DropIdle, Stats and a
// Close from many goroutines: no panic escapes, no lock is left held.
func TestHookPanicsUnderLoad(t *testing.T) {
	var n atomic.Int64
	flaky := func(*obj) {
		if n.Add(1)%7 == 0 {
			panic("flaky hook")
		}
	}
	p := pool.New(func() *obj { return new(obj) }, pool.WithTTL(time.Millisecond), pool.WithMaxIdle(8),
		pool.WithReset(flaky), pool.WithDestroy(flaky),
		pool.WithPressure(func() int {
			if n.Load()%5 == 0 {
				panic("flaky pressure")
			}
			return 0
		}, 1))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 500 {
				p.Put(p.Get())
				switch {
				case j%50 == 0:
					p.DropIdle()
				case j%70 == 0:
					_ = p.Stats()
				case i == 0 && j == 400:
					p.Close()
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	awaitClosed(t, done, "hooks panicking under load")
	p.Close()
	if st := p.Stats(); st.HookPanics == 0 || !st.Closed {
		t.Errorf("Stats after the run: %d hook panics, closed %v; want some, true", st.HookPanics, st.Closed)
	}
}
