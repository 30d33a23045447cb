package netxbench

import (
	"io"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/gotune/gotune/gcguard"
	"github.com/gotune/gotune/netx"
	"github.com/gotune/gotune/pool"
)

// TestPressureEpisodeGCGuard is issue #14's pressure episode with a real
// cause: the test holds memory until gcguard reports critical, checks that
// netx sheds a share of the work but never /metrics or /debug/gotune, then
// lets the memory go and requires every request to be served again within
// 10s, the operator's endpoints answering 200 throughout.
func TestPressureEpisodeGCGuard(t *testing.T) {
	if testing.Short() {
		t.Skip("holds 120 MiB")
	}
	const target = 128 << 20
	g, err := gcguard.Start(gcguard.WithMemoryTarget(target), gcguard.WithThresholds(0.5, 0.7),
		gcguard.WithInterval(100*time.Millisecond), gcguard.WithoutKernelPressure())
	if err != nil {
		t.Skipf("gcguard.Start: %v", err)
	}
	defer g.Stop()

	mux := http.NewServeMux()
	for _, p := range []string{"/", "/metrics", "/debug/gotune"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	}
	// The cheap remedy: idle buffers a service keeps, dropped before any
	// request is shed.
	bufs := pool.NewBuffers(pool.WithTTL(time.Hour))
	defer bufs.Close()
	var idle []*[]byte
	for range 64 {
		idle = append(idle, bufs.Get(64<<10))
	}
	for _, b := range idle {
		bufs.Put(b)
	}
	if st := bufs.Stats(); st.Idle == 0 {
		t.Fatalf("pool: %d idle before the episode, want some", st.Idle)
	}
	url, stop := start(t, "netx", mux, netx.WithPressure(g.Level, gcguard.LevelCritical, func() { bufs.DropIdle() }))
	defer stop()
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	served := func(path string, n int) int {
		ok := 0
		for range n {
			resp, err := c.Get(url + path)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				ok++
			}
		}
		return ok
	}
	operatorOK := func(when string) {
		for _, p := range []string{"/metrics", "/debug/gotune"} {
			if got := served(p, 20); got != 20 {
				t.Errorf("%s: %s %d/20 served, want all", when, p, got)
			}
		}
	}

	// The cause: a live heap at 94% of the target, past the critical
	// threshold of 70% set above.
	held = make([][]byte, 0, 120)
	for range 120 {
		held = append(held, make([]byte, 1<<20))
	}
	runtime.GC()
	deadline := time.Now().Add(10 * time.Second)
	for g.Level() != gcguard.LevelCritical {
		if testing.Verbose() {
			st := g.Stats()
			t.Logf("level %v live %d MiB goal %d MiB target %d MiB effGOGC %d", st.Level, st.LiveHeap>>20, st.HeapGoal>>20, st.Target>>20, st.EffectiveGOGC)
		}
		if time.Now().After(deadline) {
			t.Skipf("gcguard level %v with %d MiB held of a %d MiB target; the episode needs critical", g.Level(), len(held), target>>20)
		}
		runtime.GC()
		time.Sleep(50 * time.Millisecond)
	}
	served("/", 1) // notices the rise: remedies run
	if st := bufs.Stats(); st.Idle != 0 || st.DropsPressure == 0 {
		t.Errorf("pool after the rise: %d idle, %d dropped for pressure; want the remedy to have dropped them all", st.Idle, st.DropsPressure)
	}
	time.Sleep(1100 * time.Millisecond) // the remedies' grace
	if testing.Verbose() {
		st := g.Stats()
		t.Logf("after grace: level %v live %d MiB goal %d MiB target %d MiB effGOGC %d kernel %v %s", st.Level, st.LiveHeap>>20, st.HeapGoal>>20, st.Target>>20, st.EffectiveGOGC, st.KernelLevel, st.KernelReason)
	}
	// gcguard's level may move while the test runs; judge the share on the
	// requests sent while it read critical.
	var crit, critServed int
	for range 400 {
		if g.Level() != gcguard.LevelCritical {
			runtime.GC()
			continue
		}
		crit++
		critServed += served("/", 1)
	}
	t.Logf("critical: %d/%d served", critServed, crit)
	if crit < 50 {
		t.Skipf("gcguard stayed critical for only %d requests", crit)
	}
	if share := float64(critServed) / float64(crit); share < 0.25 || share > 0.75 {
		t.Errorf("critical: %d/%d of the work served, want about half shed", critServed, crit)
	}
	operatorOK("critical")

	// The cause goes away.
	held = nil
	runtime.GC()
	released := time.Now()
	for {
		if served("/", 20) == 20 && g.Level() != gcguard.LevelCritical {
			break
		}
		operatorOK("recovering")
		if time.Since(released) > 10*time.Second {
			t.Fatalf("10s after the memory went: level %v, not every request served", g.Level())
		}
		runtime.GC()
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("all served again %v after the memory went (level %v)", time.Since(released).Round(time.Millisecond), g.Level())
	if got := served("/", 100); got != 100 {
		t.Errorf("after the episode: %d/100 served, want all", got)
	}
	operatorOK("after")
}

// held is the memory of the pressure episode, in a package variable so
// that the compiler cannot see it dead before the test lets it go.
var held [][]byte
