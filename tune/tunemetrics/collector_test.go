package tunemetrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gotune/gotune/internal/testtree"
	"github.com/gotune/gotune/tune"
	"github.com/gotune/gotune/tune/tunemetrics"
)

func TestNilTunerExportsNothing(t *testing.T) {
	c := tunemetrics.NewCollector(nil, "")
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Errorf("CollectAndCount(NewCollector(nil, \"\")) = %d, want 0", n)
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		t.Errorf("Register(NewCollector(nil, \"\")) = %v", err)
	}
}

func TestNameLabel(t *testing.T) {
	tu := tune.NewTuner(0, tune.WithRoot(t.TempDir()))
	c := tunemetrics.NewCollector(tu, "api")
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("CollectAndLint: %v, %v", problems, err)
	}
	want := `
# HELP gotune_tune_refreshes_total Reads of the limits, the first apply included.
# TYPE gotune_tune_refreshes_total counter
gotune_tune_refreshes_total{name="api"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "gotune_tune_refreshes_total"); err != nil {
		t.Error(err)
	}
	// Two tuners, two names: both register in one registry.
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, tunemetrics.NewCollector(tu, "other"))
}

func TestSignalsSeries(t *testing.T) {
	dir := t.TempDir()
	testtree.Write(t, dir, testtree.With(testtree.V2Pod(), map[string]string{
		"sys/fs/cgroup/pod/cpu.max":        "20000 100000\n",
		"sys/fs/cgroup/pod/cpu.stat":       "usage_usec 9\nnr_periods 120\nnr_throttled 46\nthrottled_usec 2500000\nnr_bursts 0\nburst_usec 0\n",
		"sys/fs/cgroup/pod/memory.events":  "low 0\nhigh 3\nmax 1\noom 0\noom_kill 0\n",
		"sys/fs/cgroup/pod/memory.current": "8388608\n",
		"sys/fs/cgroup/pod/cpu.pressure":   "some avg10=46.00 avg60=20.00 avg300=5.00 total=1500000\nfull avg10=10.00 avg60=2.00 avg300=0.00 total=500000\n",
	}))
	tu := tune.NewTuner(-1, tune.WithRoot(dir), tune.WithMaxProcs(tune.MaxProcsOff), tune.WithoutMemoryLimit())
	if err := tu.Start(); err != nil {
		t.Fatal(err)
	}
	defer tu.Stop()
	c := tunemetrics.NewCollector(tu, "")
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("CollectAndLint: %v, %v", problems, err)
	}
	want := `
# HELP gotune_tune_cpu_throttled_periods_total CFS periods in which the group was throttled.
# TYPE gotune_tune_cpu_throttled_periods_total counter
gotune_tune_cpu_throttled_periods_total{scope="leaf"} 46
# HELP gotune_tune_cpu_throttled_seconds_total Time the group's threads were throttled.
# TYPE gotune_tune_cpu_throttled_seconds_total counter
gotune_tune_cpu_throttled_seconds_total{scope="leaf"} 2.5
# HELP gotune_tune_memory_events_total Memory limit events of the cgroup: high, max (v1: memory.failcnt), oom, oom_kill.
# TYPE gotune_tune_memory_events_total counter
gotune_tune_memory_events_total{event="high"} 3
gotune_tune_memory_events_total{event="max"} 1
gotune_tune_memory_events_total{event="oom"} 0
gotune_tune_memory_events_total{event="oom_kill"} 0
# HELP gotune_tune_pressure_stall_seconds_total Pressure stall time: some or all tasks stalled on the resource; scope host where the cgroup has no pressure files.
# TYPE gotune_tune_pressure_stall_seconds_total counter
gotune_tune_pressure_stall_seconds_total{kind="full",resource="cpu",scope="cgroup"} 0.5
gotune_tune_pressure_stall_seconds_total{kind="some",resource="cpu",scope="cgroup"} 1.5
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "gotune_tune_cpu_throttled_periods_total", "gotune_tune_cpu_throttled_seconds_total",
		"gotune_tune_memory_events_total", "gotune_tune_pressure_stall_seconds_total"); err != nil {
		t.Error(err)
	}
	// No ancestor binds tighter: no tightest series.
	if n := testutil.CollectAndCount(c, "gotune_tune_cpu_periods_total"); n != 1 {
		t.Errorf("gotune_tune_cpu_periods_total series = %d, want 1 (leaf only)", n)
	}
}
