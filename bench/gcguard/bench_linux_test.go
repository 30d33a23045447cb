//go:build linux

package gcguardbench

import (
	"context"
	"flag"
	"os"
	"strings"
	"testing"
)

var (
	flagOps    = flag.Int("gcguard.ops", 3_000_000, "object replacements per child run (the fixed work)")
	flagRuns   = flag.Int("gcguard.runs", 3, "runs per phase and mode; medians are reported")
	flagPhases = flag.String("gcguard.phases", "", "comma-separated phases to run (default all)")
	flagModes  = flag.String("gcguard.modes", "", "comma-separated modes to run besides gogc100 (default all)")
)

// pick returns the items whose names are listed in csv, all for "".
func pick[T any](all []T, name func(T) string, csv string, keep string) []T {
	if csv == "" {
		return all
	}
	var out []T
	for _, x := range all {
		if n := name(x); n == keep || strings.Contains(","+csv+",", ","+n+",") {
			out = append(out, x)
		}
	}
	return out
}

// BenchmarkModes runs the whole harness once (use -benchtime 1x) and
// reports each phase × mode against GOGC=100 from the same run:
//
//	go test -run '^$' -bench Modes -benchtime 1x ./bench/gcguard/
//
// Metrics: gc-cpu-x (GC share of CPU), gc-sec-x (GC CPU seconds), cpu-x, ops/s-x, ops/cpu-x, cycles-x (ratios against
// gogc100), gc-share (GC share of non-idle CPU), peak-rss-MiB (worst run),
// oom (runs OOM-killed); ns/op is the median wall time per op.
func BenchmarkModes(b *testing.B) {
	h := harness{ops: *flagOps, runs: *flagRuns, live: 64, log: b.Logf,
		phases: pick(phases, func(p phase) string { return p.name }, *flagPhases, ""),
		modes:  pick(modes, func(m mode) string { return m.name }, *flagModes, "gogc100"),
	}
	if p, err := cgroupParent(); err != nil {
		b.Logf("skipping the cgroup phases: %v", err)
	} else {
		h.cgParent = p
	}
	res := h.run(context.Background())
	table(os.Stdout, h, res)
	for _, ph := range h.phases {
		if res[ph.name] == nil {
			continue
		}
		base := summarize(res[ph.name]["gogc100"])
		for _, m := range h.modes {
			s := summarize(res[ph.name][m.name])
			b.Run("phase="+ph.name+"/mode="+m.name, func(b *testing.B) {
				b.ReportMetric(ratio(1e9, s.opsPerSec), "ns/op")
				b.ReportMetric(ratio(s.gcCPU, base.gcCPU), "gc-cpu-x")
				b.ReportMetric(ratio(s.gcSec, base.gcSec), "gc-sec-x")
				b.ReportMetric(ratio(s.cpu, base.cpu), "cpu-x")
				b.ReportMetric(ratio(s.opsPerSec, base.opsPerSec), "ops/s-x")
				b.ReportMetric(ratio(s.opsPerCPU, base.opsPerCPU), "ops/cpu-x")
				b.ReportMetric(ratio(s.cycles, base.cycles), "cycles-x")
				b.ReportMetric(s.gcCPU, "gc-share")
				b.ReportMetric(s.peakRSS/(1<<20), "peak-rss-MiB")
				b.ReportMetric(float64(s.oom), "oom")
			})
		}
	}
}

// TestHarnessSmoke runs a tiny harness: every mode of the steady and leak
// phases once, checking that each child ran the work and reported.
func TestHarnessSmoke(t *testing.T) {
	h := harness{ops: 200_000, runs: 1, live: 8, modes: modes, phases: []phase{
		{name: "steady", opsMult: 1}, {name: "leak", leak: 16, opsMult: 1},
	}}
	res := h.run(context.Background())
	for _, ph := range h.phases {
		for _, m := range h.modes {
			rs := res[ph.name][m.name]
			if len(rs) != 1 {
				t.Fatalf("%s/%s: %d runs, want 1", ph.name, m.name, len(rs))
			}
			r := rs[0]
			// GOGC=off under a limit far above this tiny heap need not collect.
			if r.Failed != "" || r.Ops != h.ops || (r.Cycles == 0 && m.name != "limit90-off") || r.CPU <= 0 || r.PeakRSS <= 0 {
				t.Errorf("%s/%s: failed %q, ops %d, cycles %d, cpu %v, rss %d; want ok, %d ops, cycles, cpu and rss",
					ph.name, m.name, r.Failed, r.Ops, r.Cycles, r.CPU, r.PeakRSS, h.ops)
			}
			if strings.HasPrefix(m.name, "gcguard") != (r.Guard != nil) {
				t.Errorf("%s/%s: guard stats %v, want them only for gcguard", ph.name, m.name, r.Guard != nil)
			}
			if r.Guard != nil && (r.Guard.Target != target || r.Guard.GOGCSource != "guard") {
				t.Errorf("%s/gcguard: target %d from %q, GOGC source %q; want %d, guard", ph.name, r.Guard.Target, r.Guard.TargetSource, r.Guard.GOGCSource, target)
			}
		}
	}
}

// TestCgroupTarget runs a gcguard child inside a real memory cgroup and
// checks that the guard took its target from the cgroup's limit.
func TestCgroupTarget(t *testing.T) {
	p, err := cgroupParent()
	if err != nil {
		t.Skipf("needs a writable cgroup v1 memory hierarchy: %v", err)
	}
	r := runChild(context.Background(), modes[len(modes)-1], Config{Phase: "steady", Ops: 100_000, LiveMiB: 8}, p)
	if r.Failed != "" || r.Guard == nil {
		t.Fatalf("child failed: %s", r.Failed)
	}
	if r.Guard.Target != target || r.Guard.TargetSource != "cgroup" || r.Guard.HardLimit != budget {
		t.Errorf("guard in a %d-byte cgroup: target %d from %q, hard %d; want %d from cgroup, hard %d",
			budget, r.Guard.Target, r.Guard.TargetSource, r.Guard.HardLimit, target, budget)
	}
	if r.CgPeak <= 0 {
		t.Errorf("cgroup peak usage %d, want > 0 (was the child in the cgroup?)", r.CgPeak)
	}
}
