package stripe_test

import (
	"runtime"
	"sync"
	"testing"

	"github.com/gotune/gotune/internal/stripe"
)

func TestCounterCountsEveryAdd(t *testing.T) {
	c := stripe.New()
	if s := c.Stripes(); s < runtime.GOMAXPROCS(0) || s&(s-1) != 0 {
		t.Errorf("Stripes() = %d, want a power of two ≥ GOMAXPROCS %d", s, runtime.GOMAXPROCS(0))
	}
	const workers, each = 8, 10000
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				c.Inc()
			}
		}()
	}
	wg.Wait()
	if got := c.Load(); got != workers*each {
		t.Errorf("Load() = %d, want %d", got, workers*each)
	}
}

func TestIncReturnsStripeCount(t *testing.T) {
	c := stripe.New()
	// One goroutine, locked to its thread: its adds land on few stripes,
	// and the returned counts are each stripe's running total, so their
	// maximum cannot exceed the number of adds.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var top uint64
	for range 100 {
		top = max(top, c.Inc())
	}
	if top == 0 || top > 100 {
		t.Errorf("largest Inc() = %d, want in [1, 100]", top)
	}
}

func BenchmarkInc(b *testing.B) {
	c := stripe.New()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Inc()
		}
	})
}
