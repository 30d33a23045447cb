package poolbench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotune/gotune/pool"
)

// The burst from the issue: 256 MiB of 64 KiB buffers, put back, then idle.
const (
	bufSize = 64 << 10
	total   = 256 << 20
	nbufs   = total / bufSize
	ttl     = 200 * time.Millisecond
	mib     = 1 << 20
)

func liveHeap() float64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return float64(s[0].Value.Uint64())
}

// rss returns the resident set in bytes, or -1 where /proc is missing.
func rss() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return -1
	}
	pages, err := strconv.ParseFloat(f[1], 64)
	if err != nil {
		return -1
	}
	return pages * float64(os.Getpagesize())
}

// burst allocates the 256 MiB of buffers and puts them all.
func burst(put func(*[]byte)) {
	bufs := make([]*[]byte, nbufs)
	for i := range bufs {
		b := make([]byte, bufSize)
		for j := 0; j < len(b); j += 512 { // used buffers are resident
			b[j] = 1
		}
		bufs[i] = &b
	}
	for _, b := range bufs {
		put(b)
	}
}

// result is heap (and RSS) held above the starting point, as a fraction
// of the burst.
type result struct {
	held1GC, held2GC float64 // after one and two forced GCs, no waiting
	heldTTL          float64 // gotune: after TTL + sweep + one GC
	rss1GC           float64 // RSS above start after one GC
	rssTTL           float64 // RSS above start at the end (sync.Pool: after two GCs)
}

func measureSyncPool() result {
	runtime.GC()
	base, baseRSS := liveHeap(), rss()
	var p sync.Pool
	burst(func(b *[]byte) { p.Put(b) })
	runtime.GC()
	r := result{held1GC: (liveHeap() - base) / total, rss1GC: (rss() - baseRSS) / total}
	runtime.GC()
	r.held2GC = (liveHeap() - base) / total
	r.rssTTL = (rss() - baseRSS) / total
	runtime.KeepAlive(&p)
	return r
}

func measureGotune(tb testing.TB, opts ...pool.Option) result {
	runtime.GC()
	base, baseRSS := liveHeap(), rss()
	opts = append([]pool.Option{pool.WithTTL(ttl), pool.WithMaxIdle(2 * nbufs),
		pool.WithSize(func(b *[]byte) int { return cap(*b) })}, opts...)
	p := pool.New[*[]byte](nil, opts...)
	defer p.Close()
	burst(p.Put)
	if st := p.Stats(); st.Idle != nbufs {
		tb.Fatalf("gotune pool kept %d of %d buffers, want all (Stats %v)", st.Idle, nbufs, st)
	}
	runtime.GC()
	r := result{held1GC: (liveHeap() - base) / total, rss1GC: (rss() - baseRSS) / total}
	// No call on the pool from here on: only its sweep timer runs.
	deadline := time.Now().Add(20 * ttl)
	time.Sleep(ttl + ttl/8)
	for p.Stats().Idle > 0 && time.Now().Before(deadline) {
		time.Sleep(ttl / 16)
	}
	runtime.GC()
	r.heldTTL = (liveHeap() - base) / total
	r.rssTTL = (rss() - baseRSS) / total
	return r
}

// TestIdleHeapReleased is the memory target: after TTL + one sweep
// + one GC at least 95% of the idle bytes are freed, while sync.Pool still
// holds them after one GC.
func TestIdleHeapReleased(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 256 MiB")
	}
	s := measureSyncPool()
	g := measureGotune(t)
	t.Logf("sync.Pool: held after 1 GC %.1f%%, after 2 GCs %.1f%%", 100*s.held1GC, 100*s.held2GC)
	t.Logf("gotune:    held after 1 GC %.1f%% (before TTL), after TTL+sweep+1 GC %.1f%%", 100*g.held1GC, 100*g.heldTTL)
	if g.heldTTL > 0.05 {
		t.Errorf("gotune pool holds %.1f%% of the burst after TTL+sweep+GC, want <= 5%%", 100*g.heldTTL)
	}
	if s.held1GC < 0.5 {
		t.Logf("sync.Pool released the burst after one GC (%.1f%% held): the baseline changed", 100*s.held1GC)
	}
}

// childEnv selects the variant a re-executed test binary measures. Each
// variant runs in a fresh process so one variant's heap growth does not
// hide the next one's RSS.
const childEnv = "POOLBENCH_IDLE_CHILD"

// TestIdleChild is the child side of BenchmarkIdleHeap; it does nothing
// unless childEnv is set.
func TestIdleChild(t *testing.T) {
	var r result
	switch os.Getenv(childEnv) {
	case "":
		t.Skip("only runs as BenchmarkIdleHeap's child process")
	case "syncpool":
		r = measureSyncPool()
	case "gotune":
		r = measureGotune(t)
	case "gotune-releaseos":
		r = measureGotune(t, pool.WithReleaseOS(1<<20))
	default:
		t.Fatalf("%s=%q: unknown variant", childEnv, os.Getenv(childEnv))
	}
	fmt.Printf("RESULT %g %g %g %g %g\n", r.held1GC, r.held2GC, r.heldTTL, r.rss1GC, r.rssTTL)
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
		if _, err := fmt.Sscanf(line, "RESULT %g %g %g %g %g", &r.held1GC, &r.held2GC, &r.heldTTL, &r.rss1GC, &r.rssTTL); err == nil {
			return r
		}
	}
	b.Fatalf("child %s printed no RESULT line:\n%s", variant, out)
	return r
}

// BenchmarkIdleHeap reports the memory target as metrics for benchstat,
// one fresh process per measurement: held-% is the share of the 256 MiB
// burst still on the heap, rss-held-% the share still resident.
func BenchmarkIdleHeap(b *testing.B) {
	report := func(b *testing.B, variant string, pick func(result) (heap, rss float64)) {
		var held, rssHeld float64
		for range b.N {
			h, r := pick(runChild(b, variant))
			held += h
			rssHeld += r
		}
		b.ReportMetric(100*held/float64(b.N), "held-%")
		b.ReportMetric(100*rssHeld/float64(b.N), "rss-held-%")
	}
	b.Run("impl=syncpool/after=1gc", func(b *testing.B) {
		report(b, "syncpool", func(r result) (float64, float64) { return r.held1GC, r.rss1GC })
	})
	b.Run("impl=syncpool/after=2gc", func(b *testing.B) {
		report(b, "syncpool", func(r result) (float64, float64) { return r.held2GC, r.rssTTL })
	})
	b.Run("impl=gotune/after=1gc", func(b *testing.B) {
		report(b, "gotune", func(r result) (float64, float64) { return r.held1GC, r.rss1GC })
	})
	b.Run("impl=gotune/after=ttl+1gc", func(b *testing.B) {
		report(b, "gotune", func(r result) (float64, float64) { return r.heldTTL, r.rssTTL })
	})
	b.Run("impl=gotune-releaseos/after=ttl+1gc", func(b *testing.B) {
		report(b, "gotune-releaseos", func(r result) (float64, float64) { return r.heldTTL, r.rssTTL })
	})
}

// BenchmarkHandlerBuffers is the hot path of an HTTP handler that renders
// a ~3 KiB body into a buffer: a *bytes.Buffer from sync.Pool against
// pool.Buffers (GetBuffer) and a sized []byte from pool.Buffers (Get).
func BenchmarkHandlerBuffers(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 3000)
	b.Run("impl=syncpool-buffer", func(b *testing.B) {
		p := sync.Pool{New: func() any { return new(bytes.Buffer) }}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				buf := p.Get().(*bytes.Buffer)
				buf.Write(body)
				buf.Reset()
				p.Put(buf)
			}
		})
	})
	b.Run("impl=gotune-buffer", func(b *testing.B) {
		p := pool.NewBuffers()
		defer p.Close()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				buf := p.GetBuffer()
				buf.Write(body)
				p.PutBuffer(buf)
			}
		})
	})
	b.Run("impl=gotune-slice", func(b *testing.B) {
		p := pool.NewBuffers()
		defer p.Close()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s := p.Get(len(body))
				copy(*s, body)
				p.Put(s)
			}
		})
	})
}
