package poolpeers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotune/gotune/pool"
	"github.com/jackc/puddle/v2"
)

// The burst of bench/pool's idle test: 256 MiB of 64 KiB buffers, put back,
// then idle with no call on the pool.
const (
	bufSize = 64 << 10
	total   = 256 << 20
	nbufs   = total / bufSize
	ttl     = 200 * time.Millisecond
)

func liveHeap() float64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return float64(s[0].Value.Uint64())
}

func newBuf() *[]byte {
	b := make([]byte, bufSize)
	for j := 0; j < len(b); j += 512 { // used buffers are resident
		b[j] = 1
	}
	return &b
}

// result is heap held above the starting point, as a share of the burst.
type result struct {
	held1GC float64 // right after the burst and one GC
	heldTTL float64 // after the TTL (+ sweep or reaper) and one GC
}

func measureSyncPool() result {
	runtime.GC()
	base := liveHeap()
	var p sync.Pool
	bufs := make([]*[]byte, nbufs)
	for i := range bufs {
		bufs[i] = newBuf()
	}
	for i, b := range bufs {
		p.Put(b)
		bufs[i] = nil
	}
	runtime.GC()
	r := result{held1GC: (liveHeap() - base) / total}
	time.Sleep(ttl + ttl/4)
	runtime.GC()
	r.heldTTL = (liveHeap() - base) / total
	runtime.KeepAlive(&p)
	return r
}

func measureGotune() result {
	runtime.GC()
	base := liveHeap()
	p := pool.New(newBuf, pool.WithTTL(ttl), pool.WithMaxIdle(2*nbufs),
		pool.WithSize(func(b *[]byte) int { return cap(*b) }))
	defer p.Close()
	bufs := make([]*[]byte, nbufs)
	for i := range bufs {
		bufs[i] = p.Get()
	}
	for i, b := range bufs {
		p.Put(b)
		bufs[i] = nil
	}
	runtime.GC()
	r := result{held1GC: (liveHeap() - base) / total}
	deadline := time.Now().Add(20 * ttl)
	time.Sleep(ttl + ttl/4)
	for p.Stats().Idle > 0 && time.Now().Before(deadline) {
		time.Sleep(ttl / 16)
	}
	runtime.GC()
	r.heldTTL = (liveHeap() - base) / total
	return r
}

// reap is what a puddle user writes for an idle timeout (pgxpool's
// MaxConnIdleTime does the same on its health-check tick): take every idle
// resource, destroy those idle longer than ttl, give back the others.
func reap(p *puddle.Pool[*[]byte]) {
	for _, r := range p.AcquireAllIdle() {
		if r.IdleDuration() > ttl {
			r.Destroy()
		} else {
			r.ReleaseUnused()
		}
	}
}

func measurePuddle(reaper bool) result {
	runtime.GC()
	base := liveHeap()
	p, err := puddle.NewPool(&puddle.Config[*[]byte]{
		Constructor: func(context.Context) (*[]byte, error) { return newBuf(), nil },
		Destructor:  func(*[]byte) {},
		MaxSize:     nbufs,
	})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	ctx := context.Background()
	res := make([]*puddle.Resource[*[]byte], nbufs)
	for i := range res {
		if res[i], err = p.Acquire(ctx); err != nil {
			panic(err)
		}
	}
	for i, r := range res {
		r.Release()
		res[i] = nil
	}
	runtime.GC()
	r := result{held1GC: (liveHeap() - base) / total}
	if reaper {
		// A reaper ticking at a quarter of the TTL: the same granularity as
		// gotune's sweep (idle objects go at 1 to 1.25 × TTL).
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			t := time.NewTicker(ttl / 4)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					reap(p)
				}
			}
		}()
		deadline := time.Now().Add(20 * ttl)
		time.Sleep(ttl + ttl/4)
		// TotalResources, not IdleResources: a reap in progress holds the
		// idle resources as acquired.
		for p.Stat().TotalResources() > 0 && time.Now().Before(deadline) {
			time.Sleep(ttl / 16)
		}
		close(stop)
		<-done
	} else {
		time.Sleep(ttl + ttl/4)
	}
	runtime.GC()
	r.heldTTL = (liveHeap() - base) / total
	return r
}

// childEnv selects the variant a re-executed test binary measures; each
// variant runs in a fresh process so heaps do not mix.
const childEnv = "POOLPEERS_IDLE_CHILD"

// TestIdleChild is the child side of BenchmarkIdleHeap; it does nothing
// unless childEnv is set.
func TestIdleChild(t *testing.T) {
	var r result
	switch v := os.Getenv(childEnv); v {
	case "":
		t.Skip("only runs as BenchmarkIdleHeap's child process")
	case "syncpool":
		r = measureSyncPool()
	case "gotune":
		r = measureGotune()
	case "puddle":
		r = measurePuddle(false)
	case "puddle-reaper":
		r = measurePuddle(true)
	default:
		t.Fatalf("%s=%q: unknown variant", childEnv, v)
	}
	fmt.Printf("RESULT %g %g\n", r.held1GC, r.heldTTL)
}

func runChild(b *testing.B, variant string) result {
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+variant)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child %s: %v\n%s", variant, err, out)
	}
	var r result
	for _, line := range strings.Split(string(out), "\n") {
		if _, err := fmt.Sscanf(line, "RESULT %g %g", &r.held1GC, &r.heldTTL); err == nil {
			return r
		}
	}
	b.Fatalf("child %s printed no RESULT line:\n%s", variant, out)
	return r
}

// BenchmarkIdleHeap reports, one fresh process per measurement, the share
// of a 256 MiB burst still on the heap after one GC (after=1gc) and after
// the TTL (200 ms), gotune's sweep or the reaper, and one GC (after=ttl+1gc).
// -benchtime 1x -count 6 gives six processes per row.
func BenchmarkIdleHeap(b *testing.B) {
	for _, v := range []string{"syncpool", "gotune", "puddle", "puddle-reaper"} {
		var r1, rt float64
		b.Run("impl="+v, func(b *testing.B) {
			r1, rt = 0, 0
			for range b.N {
				r := runChild(b, v)
				r1 += r.held1GC
				rt += r.heldTTL
			}
			b.ReportMetric(100*r1/float64(b.N), "held-1gc-%")
			b.ReportMetric(100*rt/float64(b.N), "held-ttl-%")
		})
	}
}
