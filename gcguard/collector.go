package gcguard

import (
	"github.com/prometheus/client_golang/prometheus"
)

// reasons is the bounded label set of the adjustments counter.
var reasons = [...]string{reasonRaise, reasonLower, reasonLimit, reasonHeadroom, reasonHeadroomEnd}

type collector struct {
	g *Guard

	target, hard, gogc, limit, gcCPU, level, effGOGC, headroom *prometheus.Desc
	adjustments, limiter, runs, cbPanics, kernelLevel          *prometheus.Desc
}

// NewCollector returns a Prometheus collector that exports g's [Stats] on
// each scrape as gotune_gcguard_* metrics; the effective GOGC only once the
// first GC cycle has ended. A non-empty name becomes the constant label
// name=name on every metric, as in every gotune collector; a process runs
// one guard, so "" (no label) is the usual choice. The caller registers it. It repeats nothing that
// client_golang's Go collector exports: the GOGC and memory limit it reports
// are the ones the guard chose, which differ from the ones in force in dry
// run or where the environment wins. It is safe for concurrent use.
func NewCollector(g *Guard, name string) prometheus.Collector {
	var constLabels prometheus.Labels
	if name != "" {
		constLabels = prometheus.Labels{"name": name}
	}
	d := func(metric, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("gotune_gcguard_"+metric, help, labels, constLabels)
	}
	return &collector{
		g:           g,
		target:      d("memory_target_bytes", "Memory target the guard steers the heap toward."),
		hard:        d("hard_limit_bytes", "Hard memory ceiling (cgroup memory.max); 0 when unknown."),
		gogc:        d("gogc_chosen_percent", "GOGC the guard chose (set, or would set in dry run or where the environment wins); -1 is off."),
		limit:       d("memory_limit_chosen_bytes", "Memory limit the guard chose: the target, or the lifted limit during a death-spiral escape."),
		gcCPU:       d("gc_cpu_ratio", "GC share of non-idle CPU time over the sliding window, idle mark work excluded."),
		level:       d("pressure_level", "Pressure level: 0 ok, 1 elevated, 2 critical."),
		effGOGC:     d("effective_gogc_percent", "Where the heap goal in force sits above the live heap, in GOGC units; absent until the first GC cycle."),
		headroom:    d("headroom_active", "1 while a death-spiral escape has lifted the memory limit."),
		adjustments: d("adjustments_total", "Changes the guard made (or would make), by reason.", "reason"),
		limiter:     d("limiter_activations_total", "GC CPU limiter activations seen by the guard."),
		runs:        d("runs_total", "Controller runs, by trigger (gc cycle or idle timer).", "trigger"),
		cbPanics:    d("callback_panics_total", "OnLevel callbacks that panicked (recovered)."),
		kernelLevel: d("kernel_pressure_level", "Level the cgroup's memory pressure and limit events give: 0 ok, 1 elevated, 2 critical; the pressure level is the higher of it and the heap's."),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.target, c.hard, c.gogc, c.limit, c.gcCPU, c.level, c.effGOGC, c.headroom, c.adjustments, c.limiter, c.runs, c.cbPanics, c.kernelLevel} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.g.Stats()
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	gauge(c.target, float64(s.Target))
	gauge(c.hard, float64(s.HardLimit))
	gauge(c.gogc, float64(s.GOGC))
	gauge(c.limit, float64(s.MemoryLimit))
	gauge(c.gcCPU, s.GCCPU)
	gauge(c.level, float64(s.Level))
	gauge(c.kernelLevel, float64(s.KernelLevel))
	if s.LiveHeap > 0 {
		// Before the first cycle it is unknown; a 0 would read as a
		// collapsed heap goal, the death spiral's sign.
		gauge(c.effGOGC, float64(s.EffectiveGOGC))
	}
	h := 0.0
	if s.Headroom {
		h = 1
	}
	gauge(c.headroom, h)
	for _, r := range reasons {
		counter(c.adjustments, s.Adjustments[r], r)
	}
	counter(c.limiter, s.LimiterActivations)
	counter(c.runs, s.Cycles, "gc")
	counter(c.runs, s.TimerRuns, "timer")
	counter(c.cbPanics, s.CallbackPanics)
}
