package pool

import "github.com/prometheus/client_golang/prometheus"

// A StatsSource is anything with a Stats snapshot: [*Pool] and [*Buffers].
type StatsSource interface {
	Stats() Stats
}

type collector struct {
	src                                    StatsSource
	gets, hits, news, puts, drops, expired *prometheus.Desc
	hookPanics                             *prometheus.Desc
	idle, idleBytes, maxIdle               *prometheus.Desc
}

// NewCollector returns a Prometheus collector for src, reading
// src.Stats() on each scrape. name becomes the constant label name=name,
// as in every gotune collector, so several pools can be registered side
// by side; the caller registers it. The metrics:
//
//	gotune_pool_gets_total          counter  Get calls
//	gotune_pool_hits_total          counter  Gets served from idle objects
//	gotune_pool_news_total          counter  Gets that called the constructor
//	gotune_pool_puts_total          counter  Put calls
//	gotune_pool_drops_total         counter  objects let go, by reason: full, oversized, closed, pressure
//	gotune_pool_expired_total       counter  idle objects dropped by the TTL sweep
//	gotune_pool_hook_panics_total   counter  hook calls (reset, destroy, size, pressure) that panicked, recovered
//	gotune_pool_idle_objects        gauge    objects idle now
//	gotune_pool_idle_bytes          gauge    their size (needs WithSize; Buffers sets it)
//	gotune_pool_max_idle_objects    gauge    the idle bound
func NewCollector(src StatsSource, name string) prometheus.Collector {
	labels := prometheus.Labels{"name": name}
	d := func(n, help string, varLabels ...string) *prometheus.Desc {
		return prometheus.NewDesc("gotune_pool_"+n, help, varLabels, labels)
	}
	return &collector{
		src:        src,
		gets:       d("gets_total", "Get calls."),
		hits:       d("hits_total", "Get calls served from an idle object."),
		news:       d("news_total", "Get calls that called the constructor."),
		puts:       d("puts_total", "Put calls."),
		drops:      d("drops_total", "Objects the pool let go of, by reason (full, oversized, closed, pressure).", "reason"),
		expired:    d("expired_total", "Idle objects dropped by the TTL sweep."),
		hookPanics: d("hook_panics_total", "Hook calls (reset, destroy, size, pressure) that panicked; each was recovered."),
		idle:       d("idle_objects", "Objects idle in the pool."),
		idleBytes:  d("idle_bytes", "Size of the idle objects, as reported by the size function."),
		maxIdle:    d("max_idle_objects", "The bound on idle objects."),
	}
}

// Describe implements [prometheus.Collector].
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.gets, c.hits, c.news, c.puts, c.drops, c.expired, c.hookPanics, c.idle, c.idleBytes, c.maxIdle} {
		ch <- d
	}
}

// Collect implements [prometheus.Collector].
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Stats()
	counter := func(d *prometheus.Desc, v uint64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), lv...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter(c.gets, s.Gets)
	counter(c.hits, s.Hits)
	counter(c.news, s.News)
	counter(c.puts, s.Puts)
	counter(c.drops, s.DropsFull, "full")
	counter(c.drops, s.DropsOversized, "oversized")
	counter(c.drops, s.DropsClosed, "closed")
	counter(c.drops, s.DropsPressure, "pressure")
	counter(c.expired, s.Expired)
	counter(c.hookPanics, s.HookPanics)
	gauge(c.idle, float64(s.Idle))
	gauge(c.idleBytes, float64(s.IdleBytes))
	gauge(c.maxIdle, float64(s.MaxIdle))
}
