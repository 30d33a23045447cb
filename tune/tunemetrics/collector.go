package tunemetrics

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gotune/gotune/tune"
)

// NewCollector returns a Prometheus collector for t: the limits read, the
// values applied with their source, and the refresh counters. It exports
// nothing that client_golang's Go collector already does: the live
// GOMAXPROCS, GOGC and GOMEMLIMIT are go_sched_gomaxprocs_threads,
// go_gc_gogc_percent and go_gc_gomemlimit_bytes there; here they are the
// values gotune decided, labelled with where they came from.
//
//	gotune_tune_cpu_quota_cpus          gauge   tightest CPU quota over the cgroup's ancestors (0: none)
//	gotune_tune_cpus                    gauge   CPUs the process may run on (affinity ∩ cpuset)
//	gotune_tune_memory_max_bytes        gauge   tightest memory.max (0: none)
//	gotune_tune_memory_high_bytes       gauge   tightest memory.high (0: none)
//	gotune_tune_gomaxprocs_decided{source}         gauge   GOMAXPROCS gotune decided, and where it came from
//	gotune_tune_gomemlimit_decided_bytes{source}   gauge   GOMEMLIMIT decided (absent while there is no limit)
//	gotune_tune_gogc_decided_percent{source}       gauge   GOGC decided (-1: off)
//	gotune_tune_refreshes_total         counter reads of the limits
//	gotune_tune_changes_total           counter applies that changed a setting
//	gotune_tune_refresh_errors_total    counter reads that failed (settings kept)
//
// A non-empty name becomes the constant label name="…" on every series, as
// in the other packages' collectors. A nil t (auto.Tuner() under
// GOTUNE=off) gives a collector that exports nothing, so the one line
//
//	prometheus.MustRegister(tunemetrics.NewCollector(auto.Tuner(), ""))
//
// is safe whatever the environment says. The collector reads t's Report and
// Stats on each scrape and is safe for concurrent use.
func NewCollector(t *tune.Tuner, name string) prometheus.Collector {
	var cl prometheus.Labels
	if name != "" {
		cl = prometheus.Labels{"name": name}
	}
	d := func(n, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("gotune_tune_"+n, help, labels, cl)
	}
	c := &collector{t: t,
		quota:   d("cpu_quota_cpus", "Tightest CPU bandwidth quota over the cgroup and its ancestors, in CPUs; 0 means none."),
		cpus:    d("cpus", "CPUs the process may run on: affinity mask intersected with the cpuset."),
		memMax:  d("memory_max_bytes", "Tightest memory.max over the cgroup and its ancestors; 0 means none."),
		memHigh: d("memory_high_bytes", "Tightest memory.high over the cgroup and its ancestors; 0 means none."),
		procs:   d("gomaxprocs_decided", "GOMAXPROCS gotune decided, labelled with its source (env, code, runtime, cgroup, policy, default).", "source"),
		limit:   d("gomemlimit_decided_bytes", "GOMEMLIMIT gotune decided, labelled with its source; absent while there is no limit.", "source"),
		gogc:    d("gogc_decided_percent", "GOGC gotune decided, labelled with its source; -1 means off.", "source"),
		refresh: d("refreshes_total", "Reads of the limits, the first apply included."),
		changes: d("changes_total", "Applies that changed a runtime setting."),
		refErrs: d("refresh_errors_total", "Reads of the limits that failed; the settings were kept."),
	}
	c.descs = []*prometheus.Desc{c.quota, c.cpus, c.memMax, c.memHigh, c.procs, c.limit, c.gogc, c.refresh, c.changes, c.refErrs}
	return c
}

type collector struct {
	t                            *tune.Tuner
	quota, cpus, memMax, memHigh *prometheus.Desc
	procs, limit, gogc           *prometheus.Desc
	refresh, changes, refErrs    *prometheus.Desc
	descs                        []*prometheus.Desc
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	if c.t == nil {
		return
	}
	r, s := c.t.Report(), c.t.Stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(c.quota, r.Limits.CPUQuota)
	gauge(c.cpus, float64(r.Limits.CPUs))
	gauge(c.memMax, float64(r.Limits.MemoryMax))
	gauge(c.memHigh, float64(r.Limits.MemoryHigh))
	if r.GOMAXPROCS.Source != "" {
		gauge(c.procs, float64(r.GOMAXPROCS.After), string(r.GOMAXPROCS.Source))
		if r.GOMEMLIMIT.After != math.MaxInt64 {
			gauge(c.limit, float64(r.GOMEMLIMIT.After), string(r.GOMEMLIMIT.Source))
		}
		gauge(c.gogc, float64(r.GOGC.After), string(r.GOGC.Source))
	}
	counter(c.refresh, s.Refreshes)
	counter(c.changes, s.Changes)
	counter(c.refErrs, s.Errors)
}
