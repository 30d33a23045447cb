package cgstat_test

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/cgstat"
)

func TestReadFixtures(t *testing.T) {
	psi := func(a10, a60, a300 float64, total time.Duration) cgstat.PSILine {
		return cgstat.PSILine{Avg10: a10, Avg60: a60, Avg300: a300, Total: total}
	}
	ptr := func(l cgstat.PSILine) *cgstat.PSILine { return &l }
	zero := psi(0, 0, 0, 0)
	tests := []struct {
		name string // and the fixture under testdata/
		root string // when not the name
		dirs cgstat.Dirs
		want cgstat.Stats
	}{
		{
			name: "v2",
			dirs: cgstat.Dirs{CPU: "sys/fs/cgroup/kubepods/pod1", CPUV2: true, CPUTightest: "sys/fs/cgroup/kubepods", Memory: "sys/fs/cgroup/kubepods/pod1", MemoryV2: true, Unified: "sys/fs/cgroup/kubepods/pod1"},
			want: cgstat.Stats{
				CPU:         &cgstat.CPUStat{File: "sys/fs/cgroup/kubepods/pod1/cpu.stat", Periods: 1200, Throttled: 552, ThrottledTime: 30123456 * time.Microsecond, Bursts: 3, BurstTime: 4500 * time.Microsecond},
				CPUTightest: &cgstat.CPUStat{File: "sys/fs/cgroup/kubepods/cpu.stat", Periods: 1300, Throttled: 10, ThrottledTime: 20 * time.Millisecond},
				Memory:      &cgstat.MemStat{Dir: "sys/fs/cgroup/kubepods/pod1", V2: true, High: 17, Max: 4, OOM: 1, OOMKill: 1, Current: 241172480},
				Pressure: &cgstat.Pressure{Source: "sys/fs/cgroup/kubepods/pod1",
					CPU:    &cgstat.PSI{Some: psi(46, 31.5, 12.02, 30123456*time.Microsecond), Full: ptr(psi(20.1, 10, 4, 15*time.Second))},
					Memory: &cgstat.PSI{Some: zero, Full: ptr(zero)},
					IO:     &cgstat.PSI{Some: psi(1.25, 0.4, 0.1, 912345*time.Microsecond), Full: ptr(psi(1, 0.3, 0.05, 800*time.Millisecond))},
				},
			},
		},
		{
			name: "v1",
			dirs: cgstat.Dirs{CPU: "sys/fs/cgroup/cpu,cpuacct/docker/abc", Memory: "sys/fs/cgroup/memory/docker/abc"},
			want: cgstat.Stats{
				CPU:    &cgstat.CPUStat{File: "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.stat", Periods: 500, Throttled: 120, ThrottledTime: 9876543210},
				Memory: &cgstat.MemStat{Dir: "sys/fs/cgroup/memory/docker/abc", Max: 42, OOMKill: 2, Current: 104857600},
				Pressure: &cgstat.Pressure{Source: "proc/pressure", HostWide: true,
					CPU:    &cgstat.PSI{Some: psi(33.2, 73.98, 66.27, 391220071*time.Microsecond), Full: ptr(zero)},
					Memory: &cgstat.PSI{Some: zero, Full: ptr(zero)},
					IO:     &cgstat.PSI{Some: psi(0.05, 0.02, 0, 123*time.Microsecond), Full: ptr(psi(0, 0, 0, 50*time.Microsecond))},
				},
			},
		},
		{
			name: "hybrid",
			dirs: cgstat.Dirs{CPU: "sys/fs/cgroup/cpu,cpuacct/system.slice/svc.service", Memory: "sys/fs/cgroup/memory/system.slice/svc.service", Unified: "sys/fs/cgroup/unified/system.slice/svc.service"},
			want: cgstat.Stats{
				CPU:    &cgstat.CPUStat{File: "sys/fs/cgroup/cpu,cpuacct/system.slice/svc.service/cpu.stat"},
				Memory: &cgstat.MemStat{Dir: "sys/fs/cgroup/memory/system.slice/svc.service", UnderOOM: true, Current: 2048000},
				Pressure: &cgstat.Pressure{Source: "sys/fs/cgroup/unified/system.slice/svc.service",
					CPU:    &cgstat.PSI{Some: psi(0.5, 0.2, 0.1, 4*time.Millisecond)},
					Memory: &cgstat.PSI{Some: psi(12, 3, 1, 900*time.Millisecond), Full: ptr(psi(5, 1, 0.2, 300*time.Millisecond))},
					IO:     &cgstat.PSI{Some: zero, Full: ptr(zero)},
				},
			},
		},
		{
			// No PSI anywhere, and a v2 cgroup without the cpu controller:
			// no error, the figures absent.
			name: "nopsi",
			dirs: cgstat.Dirs{CPU: "sys/fs/cgroup/app", CPUV2: true, Memory: "sys/fs/cgroup/app", MemoryV2: true, Unified: "sys/fs/cgroup/app"},
			want: cgstat.Stats{Memory: &cgstat.MemStat{Dir: "sys/fs/cgroup/app", V2: true, Current: 4096}},
		},
		{
			name: "no cgroup at all",
			root: "nopsi",
			dirs: cgstat.Dirs{},
			want: cgstat.Stats{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join("testdata", cmp.Or(tc.root, tc.name))
			got, err := cgstat.Read(root, tc.dirs)
			if err != nil {
				t.Fatalf("Read(%q) error %v", root, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Read(%q) =\n%s\nwant\n%s", root, dump(got), dump(tc.want))
			}
		})
	}
}

func dump(s cgstat.Stats) string {
	var b strings.Builder
	if s.CPU != nil {
		b.WriteString("cpu " + sprint(*s.CPU) + "\n")
	}
	if s.CPUTightest != nil {
		b.WriteString("tightest " + sprint(*s.CPUTightest) + "\n")
	}
	if s.Memory != nil {
		b.WriteString("memory " + sprint(*s.Memory) + "\n")
	}
	if p := s.Pressure; p != nil {
		b.WriteString("pressure " + p.Source + " host=" + sprint(p.HostWide) + "\n")
		for _, x := range []*cgstat.PSI{p.CPU, p.Memory, p.IO} {
			if x != nil {
				b.WriteString("  " + sprint(x.Some))
				if x.Full != nil {
					b.WriteString(" full " + sprint(*x.Full))
				}
				b.WriteString("\n")
			}
		}
	}
	return b.String()
}

func sprint(v any) string { return fmt.Sprintf("%+v", v) }

// TestReadBadFiles: a file that exists and does not parse is an error that
// names it; the other figures still come back.
func TestReadBadFiles(t *testing.T) {
	root := t.TempDir()
	write := func(name, s string) {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cg/cpu.stat", "nr_periods lots\n")
	write("cg/memory.events", "high 1\nmax 2\n")
	write("cg/memory.current", "\x00\x01binary")
	write("cg/cpu.pressure", "some avg10=250.00 avg60=0 avg300=0 total=1\n")
	got, err := cgstat.Read(root, cgstat.Dirs{CPU: "cg", CPUV2: true, Memory: "cg", MemoryV2: true, Unified: "cg"})
	if err == nil {
		t.Fatal("Read on bad files: no error")
	}
	for _, want := range []string{"cg/cpu.stat", `"nr_periods lots"`, "cg/memory.current", "cg/cpu.pressure", "250.00"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if got.Memory == nil || got.Memory.High != 1 || got.Memory.Max != 2 {
		t.Errorf("memory events beside the bad files = %+v, want high 1, max 2", got.Memory)
	}
	if got.CPU != nil {
		t.Errorf("CPU from a bad cpu.stat = %+v, want nil", got.CPU)
	}
}

// TestRootCgroupPressureIsHostWide: a process at the root of the v2
// hierarchy (no cgroup.events there) reads the root's pressure files,
// which are the whole host's, and they are labelled so.
func TestRootCgroupPressureIsHostWide(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "sys/fs/cgroup/unified")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "cpu.pressure"), []byte("some avg10=93.00 avg60=50.00 avg300=10.00 total=5\n"), 0o644)
	s, err := cgstat.Read(root, cgstat.Dirs{Unified: "sys/fs/cgroup/unified"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Pressure == nil || !s.Pressure.HostWide || s.Pressure.Source != "sys/fs/cgroup/unified" {
		t.Errorf("root cgroup's pressure = %+v, want it read and labelled host-wide", s.Pressure)
	}
	os.WriteFile(filepath.Join(dir, "cgroup.events"), []byte("populated 1\nfrozen 0\n"), 0o644)
	if s, _ = cgstat.Read(root, cgstat.Dirs{Unified: "sys/fs/cgroup/unified"}); s.Pressure == nil || s.Pressure.HostWide {
		t.Errorf("a (namespaced) cgroup's own pressure = %+v, want it the cgroup's", s.Pressure)
	}
}
