//go:build linux

package gcguardpeers

import (
	"context"
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

var (
	flagOps    = flag.Int("gcguard.ops", 3_000_000, "object replacements per child run (the fixed work)")
	flagRuns   = flag.Int("gcguard.runs", 3, "runs per phase and mode; medians are reported (1 by default under a -benchtime shorter than 1s)")
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

// BenchmarkModes runs the whole harness once and reports each phase × mode
// against GOGC=100 from the same run. The recorded run is
//
//	go test -run '^$' -bench Modes -benchtime 1x ./gcguard/
//
// (3 runs per cell, several minutes). Under a -benchtime shorter than 1s,
// as in the one command for all of bench/ (-benchtime 200ms), the harness
// makes 1 run per cell unless -gcguard.runs is given: a quick look in about
// a third of the time, medians of one.
//
// Metrics: gc-cpu-x (GC share of CPU), gc-sec-x (GC CPU seconds), cpu-x, ops/s-x, ops/cpu-x, cycles-x (ratios against
// gogc100), gc-share (GC share of non-idle CPU), peak-rss-MiB (worst run),
// oom (runs OOM-killed); ns/op is the median wall time per op.
func BenchmarkModes(b *testing.B) {
	h := harness{ops: *flagOps, runs: runsFor(flag.Lookup("test.benchtime").Value.String(), flagSet("gcguard.runs"), *flagRuns), live: 64, log: b.Logf,
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
			if res[ph.name][m.name] == nil {
				continue // a leak-only mode outside the leak phases
			}
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

// flagSet reports whether the named flag was given on the command line.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// runsFor is the runs per cell: the -gcguard.runs given, else 1 under a
// -benchtime duration shorter than 1s (a quick pass over all of bench/),
// else the flag's default.
func runsFor(benchtime string, given bool, runs int) int {
	if given {
		return runs
	}
	if d, err := time.ParseDuration(benchtime); err == nil && d < time.Second {
		return 1
	}
	return runs
}

func TestRunsFor(t *testing.T) {
	tests := []struct {
		benchtime string
		given     bool
		runs      int
		want      int
	}{
		{"1x", false, 3, 3},
		{"1s", false, 3, 3},
		{"200ms", false, 3, 1},
		{"200ms", true, 3, 3},
		{"5x", false, 3, 3},
	}
	for _, tc := range tests {
		if got := runsFor(tc.benchtime, tc.given, tc.runs); got != tc.want {
			t.Errorf("runsFor(%q, %v, %d) = %d, want %d", tc.benchtime, tc.given, tc.runs, got, tc.want)
		}
	}
}

// TestHarnessSmoke runs a tiny harness: every mode of the steady and leak
// phases once, checking that each child ran the work and reported.
func TestHarnessSmoke(t *testing.T) {
	h := harness{ops: 200_000, runs: 1, live: 8, modes: modes, phases: []phase{
		{name: "steady", opsMult: 1}, {name: "steady-ptr", ptr: true, opsMult: 1}, {name: "leak", leak: 16, opsMult: 1},
	}}
	res := h.run(context.Background())
	for _, ph := range h.phases {
		for _, m := range h.modes {
			rs := res[ph.name][m.name]
			if shedOnly(m) && ph.leak == 0 {
				if len(rs) != 0 {
					t.Errorf("%s/%s: %d runs, want none outside the leak phases", ph.name, m.name, len(rs))
				}
				continue
			}
			if len(rs) != 1 {
				t.Fatalf("%s/%s: %d runs, want 1", ph.name, m.name, len(rs))
			}
			r := rs[0]
			// GOGC=off under a limit far above this tiny heap need not collect.
			if r.Failed != "" || r.Ops != h.ops || (r.Cycles == 0 && m.name != "limit90-off") || r.CPU <= 0 || r.PeakRSS <= 0 {
				t.Errorf("%s/%s: failed %q, ops %d, cycles %d, cpu %v, rss %d; want ok, %d ops, cycles, cpu and rss",
					ph.name, m.name, r.Failed, r.Ops, r.Cycles, r.CPU, r.PeakRSS, h.ops)
			}
			// gctuner raises GOGC to its bound of 500 while 8 MiB live is far
			// under its threshold.
			if m.tuner > 0 && r.GOGC <= 100 {
				t.Errorf("%s/%s: GOGC %d at the end, want gctuner to have raised it above 100", ph.name, m.name, r.GOGC)
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

// TestShedOnCritical leaks past a small target: the gcguard-shed child must
// reach critical and refuse ops from then on, the plain gcguard child must
// not refuse any.
func TestShedOnCritical(t *testing.T) {
	cfg := Config{Phase: "leak", Ops: 400_000, LiveMiB: 8, LeakMiB: 64, Target: 32 << 20}
	for _, m := range modes {
		if !strings.HasPrefix(m.name, "gcguard") {
			continue
		}
		r := runChild(context.Background(), m, cfg, "")
		if r.Failed != "" {
			t.Fatalf("%s: %s", m.name, r.Failed)
		}
		if r.CriticalAt < 0 {
			t.Errorf("%s: leaking 8 → 64 MiB past a 32 MiB target never went critical", m.name)
		}
		if shed := r.Shed > 0; shed != shedOnly(m) {
			t.Errorf("%s: shed %d of %d ops; want shedding only in the shed mode", m.name, r.Shed, r.Ops)
		}
	}
}
