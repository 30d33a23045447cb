package pool_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gotune/gotune/pool"
)

func TestCollector(t *testing.T) {
	p := pool.New(func() []byte { return make([]byte, 0, 128) },
		pool.WithMaxIdle(2), pool.WithSize(func(b []byte) int { return cap(b) }), pool.WithMaxSize(256))
	defer p.Close()
	a, b, c := p.Get(), p.Get(), p.Get()
	p.Put(a)
	p.Put(b)
	p.Put(c) // full
	p.Put(make([]byte, 0, 1024))
	p.Put(p.Get())

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(pool.NewCollector(p, "frames"))
	reg.MustRegister(pool.NewCollector(pool.New(func() int { return 0 }), "other"))
	want := `
# HELP gotune_pool_drops_total Objects the pool let go of, by reason (full, oversized, closed, pressure).
# TYPE gotune_pool_drops_total counter
gotune_pool_drops_total{name="frames",reason="closed"} 0
gotune_pool_drops_total{name="frames",reason="full"} 1
gotune_pool_drops_total{name="frames",reason="oversized"} 1
gotune_pool_drops_total{name="frames",reason="pressure"} 0
gotune_pool_drops_total{name="other",reason="closed"} 0
gotune_pool_drops_total{name="other",reason="full"} 0
gotune_pool_drops_total{name="other",reason="oversized"} 0
gotune_pool_drops_total{name="other",reason="pressure"} 0
# HELP gotune_pool_gets_total Get calls.
# TYPE gotune_pool_gets_total counter
gotune_pool_gets_total{name="frames"} 4
gotune_pool_gets_total{name="other"} 0
# HELP gotune_pool_hits_total Get calls served from an idle object.
# TYPE gotune_pool_hits_total counter
gotune_pool_hits_total{name="frames"} 1
gotune_pool_hits_total{name="other"} 0
# HELP gotune_pool_idle_bytes Size of the idle objects, as reported by the size function.
# TYPE gotune_pool_idle_bytes gauge
gotune_pool_idle_bytes{name="frames"} 256
gotune_pool_idle_bytes{name="other"} 0
# HELP gotune_pool_idle_objects Objects idle in the pool.
# TYPE gotune_pool_idle_objects gauge
gotune_pool_idle_objects{name="frames"} 2
gotune_pool_idle_objects{name="other"} 0
# HELP gotune_pool_news_total Get calls that called the constructor.
# TYPE gotune_pool_news_total counter
gotune_pool_news_total{name="frames"} 3
gotune_pool_news_total{name="other"} 0
# HELP gotune_pool_puts_total Put calls.
# TYPE gotune_pool_puts_total counter
gotune_pool_puts_total{name="frames"} 5
gotune_pool_puts_total{name="other"} 0
`
	names := []string{"gotune_pool_drops_total", "gotune_pool_gets_total", "gotune_pool_hits_total",
		"gotune_pool_idle_bytes", "gotune_pool_idle_objects", "gotune_pool_news_total", "gotune_pool_puts_total"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Errorf("metrics mismatch: %v", err)
	}
	if n, err := testutil.GatherAndCount(reg, "gotune_pool_expired_total", "gotune_pool_max_idle_objects"); err != nil || n != 4 {
		t.Errorf("GatherAndCount(expired, max_idle) = %d, %v; want 4, nil", n, err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("GatherAndLint = %v, %v; want no problems", problems, err)
	}
}
