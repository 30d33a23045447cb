package numa

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// setClock replaces time.Now for c's rate limit.
func (c *Collector) setClock(now func() time.Time) { c.now = now }

// pinnedGauge exposes only gotune_numa_pinned_node of c, for testutil.ToFloat64.
func (c *Collector) pinnedGauge() prometheus.Collector {
	return prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
		all := make(chan prometheus.Metric, 64)
		c.Collect(all)
		close(all)
		for m := range all {
			if m.Desc() == c.pinnedNode {
				ch <- m
			}
		}
	})
}
