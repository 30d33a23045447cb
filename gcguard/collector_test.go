package gcguard

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCollector(t *testing.T) {
	fakeLimits(t, 512*mib, 0, nil)
	p := fakeSamples(t)
	s := steady(0, 64*mib, 100, 460*mib)
	p.Store(&s)
	g, err := Start(WithDryRun())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	st := g.Stats()

	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(NewCollector(g, "")); err != nil {
		t.Fatalf("Register: %v", err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("GatherAndLint: %v %v", err, problems)
	}
	want := `
# HELP gotune_gcguard_gogc_chosen_percent GOGC the guard chose (set, or would set in dry run or where the environment wins); -1 is off.
# TYPE gotune_gcguard_gogc_chosen_percent gauge
gotune_gcguard_gogc_chosen_percent ` + strconv.Itoa(st.GOGC) + `
# HELP gotune_gcguard_memory_target_bytes Memory target the guard steers the heap toward.
# TYPE gotune_gcguard_memory_target_bytes gauge
gotune_gcguard_memory_target_bytes ` + strconv.FormatInt(st.Target, 10) + `
# HELP gotune_gcguard_adjustments_total Changes the guard made (or would make), by reason.
# TYPE gotune_gcguard_adjustments_total counter
gotune_gcguard_adjustments_total{reason="headroom"} 0
gotune_gcguard_adjustments_total{reason="headroom_end"} 0
gotune_gcguard_adjustments_total{reason="limit"} 1
gotune_gcguard_adjustments_total{reason="lower"} 0
gotune_gcguard_adjustments_total{reason="raise"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"gotune_gcguard_gogc_chosen_percent", "gotune_gcguard_memory_target_bytes", "gotune_gcguard_adjustments_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(NewCollector(g, "")); n != 18 {
		t.Errorf("CollectAndCount = %d, want 18 series (callback panics and the kernel level included)", n)
	}
}

// Before the first GC cycle the effective GOGC is unknown: 0 in Stats, and
// no sample in the collector (a 0 there would read as a collapsed goal).
func TestEffectiveGOGCUnknownBeforeFirstGC(t *testing.T) {
	fakeLimits(t, 0, 0, nil)
	p := fakeSamples(t)
	s := steady(0, 0, 100, math.MaxInt64) // no cycle has ended: no live heap
	p.Store(&s)
	g, err := Start(WithDryRun(), WithMemoryTarget(1<<30), WithInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	if st := g.Stats(); st.EffectiveGOGC != 0 {
		t.Errorf("before the first GC: Stats().EffectiveGOGC = %d, want 0 (unknown)", st.EffectiveGOGC)
	}
	if err := testutil.CollectAndCompare(NewCollector(g, ""), strings.NewReader(""), "gotune_gcguard_effective_gogc_percent"); err != nil {
		t.Errorf("before the first GC: %v", err)
	}
	if n := testutil.CollectAndCount(NewCollector(g, "")); n != 17 {
		t.Errorf("CollectAndCount before the first GC = %d, want 17 series (no effective GOGC)", n)
	}

	// After it, the sample is there.
	s = steady(0, 64*mib, 100, math.MaxInt64)
	p.Store(&s)
	g.run(false)
	want := `
# HELP gotune_gcguard_effective_gogc_percent Where the heap goal in force sits above the live heap, in GOGC units; absent until the first GC cycle.
# TYPE gotune_gcguard_effective_gogc_percent gauge
gotune_gcguard_effective_gogc_percent 100
`
	if err := testutil.CollectAndCompare(NewCollector(g, ""), strings.NewReader(want), "gotune_gcguard_effective_gogc_percent"); err != nil {
		t.Errorf("after a GC cycle: %v", err)
	}
}
