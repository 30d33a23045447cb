package histogram_test

import (
	"sync"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/histogram"
)

func TestObserveAndSnapshot(t *testing.T) {
	h := histogram.New(time.Millisecond, 10*time.Millisecond, time.Second)
	for _, d := range []time.Duration{0, time.Millisecond, 2 * time.Millisecond, 10 * time.Millisecond, time.Second, time.Hour} {
		h.Observe(d)
	}
	s := h.Snapshot()
	if want := []uint64{2, 4, 5}; len(s.Cumulative) != 3 || s.Cumulative[0] != want[0] || s.Cumulative[1] != want[1] || s.Cumulative[2] != want[2] {
		t.Errorf("Cumulative = %v, want %v (a bound is inclusive)", s.Cumulative, want)
	}
	if s.Count != 6 || s.Sum != time.Hour+time.Second+13*time.Millisecond {
		t.Errorf("Count, Sum = %d, %v", s.Count, s.Sum)
	}
	if b := s.Buckets(); b[0.001] != 2 || b[1] != 5 || len(b) != 3 {
		t.Errorf("Buckets() = %v", b)
	}
}

func TestConcurrent(t *testing.T) {
	h := histogram.New(time.Microsecond)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				h.Observe(time.Nanosecond)
			}
		}()
	}
	wg.Wait()
	if s := h.Snapshot(); s.Count != 8000 || s.Cumulative[0] != 8000 {
		t.Errorf("after 8000 concurrent observations: %+v", s)
	}
}

func TestNewPanicsOnBadBounds(t *testing.T) {
	for _, bounds := range [][]time.Duration{{0}, {2, 1}, {1, 1}, {-1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%v) did not panic", bounds)
				}
			}()
			histogram.New(bounds...)
		}()
	}
}

func BenchmarkObserve(b *testing.B) {
	h := histogram.New(50*time.Microsecond, time.Millisecond, 10*time.Millisecond, 100*time.Millisecond, time.Second)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.Observe(3 * time.Millisecond)
		}
	})
}
