package tune

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"
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
func NewCollector(t *Tuner) prometheus.Collector {
	return &collector{t: t}
}

var (
	descQuota    = prometheus.NewDesc("gotune_tune_cpu_quota_cpus", "Tightest CPU bandwidth quota over the cgroup and its ancestors, in CPUs; 0 means none.", nil, nil)
	descCPUs     = prometheus.NewDesc("gotune_tune_cpus", "CPUs the process may run on: affinity mask intersected with the cpuset.", nil, nil)
	descMemMax   = prometheus.NewDesc("gotune_tune_memory_max_bytes", "Tightest memory.max over the cgroup and its ancestors; 0 means none.", nil, nil)
	descMemHigh  = prometheus.NewDesc("gotune_tune_memory_high_bytes", "Tightest memory.high over the cgroup and its ancestors; 0 means none.", nil, nil)
	descProcs    = prometheus.NewDesc("gotune_tune_gomaxprocs_decided", "GOMAXPROCS gotune decided, labelled with its source (env, code, runtime, cgroup, policy, default).", []string{"source"}, nil)
	descLimit    = prometheus.NewDesc("gotune_tune_gomemlimit_decided_bytes", "GOMEMLIMIT gotune decided, labelled with its source; absent while there is no limit.", []string{"source"}, nil)
	descGOGC     = prometheus.NewDesc("gotune_tune_gogc_decided_percent", "GOGC gotune decided, labelled with its source; -1 means off.", []string{"source"}, nil)
	descRefresh  = prometheus.NewDesc("gotune_tune_refreshes_total", "Reads of the limits, the first apply included.", nil, nil)
	descChanges  = prometheus.NewDesc("gotune_tune_changes_total", "Applies that changed a runtime setting.", nil, nil)
	descRefErrs  = prometheus.NewDesc("gotune_tune_refresh_errors_total", "Reads of the limits that failed; the settings were kept.", nil, nil)
	collectDescs = []*prometheus.Desc{descQuota, descCPUs, descMemMax, descMemHigh, descProcs, descLimit, descGOGC, descRefresh, descChanges, descRefErrs}
)

type collector struct{ t *Tuner }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range collectDescs {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	r, s := c.t.Report(), c.t.Stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(descQuota, r.Limits.CPUQuota)
	gauge(descCPUs, float64(r.Limits.CPUs))
	gauge(descMemMax, float64(r.Limits.MemoryMax))
	gauge(descMemHigh, float64(r.Limits.MemoryHigh))
	if r.GOMAXPROCS.Source != "" {
		gauge(descProcs, float64(r.GOMAXPROCS.After), string(r.GOMAXPROCS.Source))
		if r.GOMEMLIMIT.After != math.MaxInt64 {
			gauge(descLimit, float64(r.GOMEMLIMIT.After), string(r.GOMEMLIMIT.Source))
		}
		gauge(descGOGC, float64(r.GOGC.After), string(r.GOGC.Source))
	}
	counter(descRefresh, s.Refreshes)
	counter(descChanges, s.Changes)
	counter(descRefErrs, s.Errors)
}
