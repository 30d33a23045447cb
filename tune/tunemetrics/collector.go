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
// And what the kernel measured about the limits biting, as of the last
// refresh ([tune.Tuner.Signals]); each series is absent where the kernel
// has no such file:
//
//	gotune_tune_cpu_periods_total{scope}            counter CFS bandwidth periods (scope: leaf, or tightest for the ancestor whose quota binds)
//	gotune_tune_cpu_throttled_periods_total{scope}  counter periods in which the group was throttled
//	gotune_tune_cpu_throttled_seconds_total{scope}  counter time the group's threads were throttled
//	gotune_tune_cpu_bursts_total{scope}             counter periods that used burst (cpu.max.burst)
//	gotune_tune_cpu_burst_seconds_total{scope}      counter time spent in burst
//	gotune_tune_memory_events_total{event}          counter memory.events high, max, oom, oom_kill (v1: max is memory.failcnt)
//	gotune_tune_memory_usage_bytes                  gauge   memory.current (v1: memory.usage_in_bytes)
//	gotune_tune_pressure_stall_seconds_total{resource,kind,scope}  counter PSI total (kind: some, full; scope: cgroup, host)
//	gotune_tune_pressure_avg10_ratio{resource,kind,scope}          gauge   PSI avg10 as a ratio (0 to 1)
//	gotune_tune_pressure_avg60_ratio{resource,kind,scope}          gauge   PSI avg60 as a ratio
//	gotune_tune_cpu_throttled_share_ratio           gauge   share of periods throttled over the last minute of refreshes
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
	c.periods = d("cpu_periods_total", "CFS bandwidth periods of the cgroup (scope leaf) or of the ancestor whose quota binds (scope tightest).", "scope")
	c.throttled = d("cpu_throttled_periods_total", "CFS periods in which the group was throttled.", "scope")
	c.throttledSec = d("cpu_throttled_seconds_total", "Time the group's threads were throttled.", "scope")
	c.bursts = d("cpu_bursts_total", "CFS periods that used burst capacity.", "scope")
	c.burstSec = d("cpu_burst_seconds_total", "Time spent in burst.", "scope")
	c.share = d("cpu_throttled_share_ratio", "Share of CFS periods throttled over the last minute of refreshes, where the binding quota is.")
	c.memEvents = d("memory_events_total", "Memory limit events of the cgroup: high, max (v1: memory.failcnt), oom, oom_kill.", "event")
	c.memUsage = d("memory_usage_bytes", "Memory charged to the cgroup: memory.current (v1: memory.usage_in_bytes).")
	c.psiTotal = d("pressure_stall_seconds_total", "Pressure stall time: some or all tasks stalled on the resource; scope host where the cgroup has no pressure files.", "resource", "kind", "scope")
	c.psi10 = d("pressure_avg10_ratio", "Pressure stall share over the last 10 s, as a ratio.", "resource", "kind", "scope")
	c.psi60 = d("pressure_avg60_ratio", "Pressure stall share over the last 60 s, as a ratio.", "resource", "kind", "scope")
	c.descs = []*prometheus.Desc{c.quota, c.cpus, c.memMax, c.memHigh, c.procs, c.limit, c.gogc, c.refresh, c.changes, c.refErrs,
		c.periods, c.throttled, c.throttledSec, c.bursts, c.burstSec, c.share, c.memEvents, c.memUsage, c.psiTotal, c.psi10, c.psi60}
	return c
}

type collector struct {
	t                            *tune.Tuner
	quota, cpus, memMax, memHigh *prometheus.Desc
	procs, limit, gogc           *prometheus.Desc
	refresh, changes, refErrs    *prometheus.Desc
	periods, throttled           *prometheus.Desc
	throttledSec, bursts         *prometheus.Desc
	burstSec, share              *prometheus.Desc
	memEvents, memUsage          *prometheus.Desc
	psiTotal, psi10, psi60       *prometheus.Desc
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
	c.collectSignals(ch, c.t.Signals())
}

func (c *collector) collectSignals(ch chan<- prometheus.Metric, sig tune.Signals) {
	metric := func(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, t, v, labels...)
	}
	for _, cs := range []struct {
		scope string
		st    *tune.CPUStat
	}{{"leaf", sig.CPU}, {"tightest", sig.CPUTightest}} {
		if cs.st == nil {
			continue
		}
		metric(c.periods, prometheus.CounterValue, float64(cs.st.Periods), cs.scope)
		metric(c.throttled, prometheus.CounterValue, float64(cs.st.Throttled), cs.scope)
		metric(c.throttledSec, prometheus.CounterValue, cs.st.ThrottledTime.Seconds(), cs.scope)
		metric(c.bursts, prometheus.CounterValue, float64(cs.st.Bursts), cs.scope)
		metric(c.burstSec, prometheus.CounterValue, cs.st.BurstTime.Seconds(), cs.scope)
	}
	if sig.CPU != nil || sig.CPUTightest != nil {
		metric(c.share, prometheus.GaugeValue, sig.ThrottledShare)
	}
	if m := sig.Memory; m != nil {
		for _, e := range []struct {
			name string
			n    uint64
		}{{"high", m.High}, {"max", m.Max}, {"oom", m.OOM}, {"oom_kill", m.OOMKill}} {
			metric(c.memEvents, prometheus.CounterValue, float64(e.n), e.name)
		}
		metric(c.memUsage, prometheus.GaugeValue, float64(m.Current))
	}
	if p := sig.Pressure; p != nil {
		scope := "cgroup"
		if p.HostWide {
			scope = "host"
		}
		for _, r := range []struct {
			name string
			psi  *tune.PSI
		}{{"cpu", p.CPU}, {"memory", p.Memory}, {"io", p.IO}} {
			if r.psi == nil {
				continue
			}
			lines := []struct {
				kind string
				l    *tune.PSILine
			}{{"some", &r.psi.Some}, {"full", r.psi.Full}}
			for _, l := range lines {
				if l.l == nil {
					continue
				}
				metric(c.psiTotal, prometheus.CounterValue, l.l.Total.Seconds(), r.name, l.kind, scope)
				metric(c.psi10, prometheus.GaugeValue, l.l.Avg10/100, r.name, l.kind, scope)
				metric(c.psi60, prometheus.GaugeValue, l.l.Avg60/100, r.name, l.kind, scope)
			}
		}
	}
}
