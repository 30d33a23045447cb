//go:build linux

package tune_test

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/gotune/gotune/internal/hostile"
	"github.com/gotune/gotune/tune"
)

// TestHostileTree runs Detect and Apply over trees in which one file that
// tune reads is a FIFO, a device, an escaping link, oversized, repeated or
// nonsense (issue 15). Each returns within the deadline and allocates under
// 1 MiB; a refused file gives an error that names it; and whatever the
// outcome, GOMAXPROCS stays within the CPUs online and GOMEMLIMIT is
// either left alone or at least the 4 MiB floor. On an error Apply changes
// nothing.
func TestHostileTree(t *testing.T) {
	files := []string{
		"proc/self/cgroup", "proc/self/mountinfo", "proc/self/status",
		"sys/devices/system/cpu/online",
		"sys/fs/cgroup/app/cpu.max", "sys/fs/cgroup/app/memory.max", "sys/fs/cgroup/app/memory.high",
		"sys/fs/cgroup/app/cpuset.cpus.effective",
	}
	procs, limit := runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1)
	for _, c := range hostile.Cases(t, files...) {
		var r tune.Report
		err := hostile.Check(t, c, func() error {
			var err error
			r, err = tune.Detect(tune.WithRoot(c.Root), noEnv, tune.WithNumCPU(4))
			return err
		})
		if err == nil {
			if r.GOMAXPROCS.After < 1 || r.GOMAXPROCS.After > 4 {
				t.Errorf("%s: GOMAXPROCS %d, want 1..4 (4 CPUs online)", c.Name, r.GOMAXPROCS.After)
			}
			if r.GOMEMLIMIT.Set && r.GOMEMLIMIT.After < 4<<20 {
				t.Errorf("%s: GOMEMLIMIT %d below the floor", c.Name, r.GOMEMLIMIT.After)
			}
			continue
		}
		if r.GOMAXPROCS.Set || r.GOMEMLIMIT.Set || r.GOGC.Set {
			t.Errorf("%s: error %v, but the report sets %+v", c.Name, err, r)
		}
		if _, _, err := tune.Apply(tune.WithRoot(c.Root), noEnv, tune.WithNumCPU(4)); err == nil {
			t.Errorf("%s: Detect failed but Apply did not", c.Name)
		}
		if runtime.GOMAXPROCS(0) != procs || debug.SetMemoryLimit(-1) != limit {
			t.Fatalf("%s: Apply changed the runtime's settings after an error", c.Name)
		}
	}
}

// TestCPUsAllowedPastOnline: Cpus_allowed_list: 0-65535 gave
// GOMAXPROCS(65536) (issue 15). Ids past cpulist.MaxID are an error naming
// the file; a list wider than the CPUs online is read as the CPUs both
// allowed and online (what sched_getaffinity gives on the live host) with
// a warning naming the file; a list that names no online CPU is an error.
func TestCPUsAllowedPastOnline(t *testing.T) {
	for _, tc := range []struct {
		status, online string
		want           int64 // 0: an error
		warn           bool
	}{
		{"Cpus_allowed_list:\t0-65535\n", "0-3\n", 0, false},
		{"Cpus_allowed_list:\t0-65535\n", "", 0, false},
		{"Cpus_allowed_list:\t8-9\n", "0-3\n", 0, false},
		{"Cpus_allowed_list:\t0-16383\n", "0-3\n", 4, true},
		{"Cpus_allowed_list:\t0-7\n", "0-3\n", 4, true}, // a VM's possible CPUs
		{"Cpus_allowed_list:\t2-5\n", "0-3,8-9\n", 2, true},
		{"Cpus_allowed_list:\t2-3\n", "0-3\n", 2, false},
		{"Cpus_allowed_list:\t0-3\n", "", 4, false},
	} {
		root := t.TempDir()
		files := map[string]string{}
		for k, v := range hostile.Base {
			files[k] = v
		}
		delete(files, "sys/fs/cgroup/app/cpu.max")
		delete(files, "sys/fs/cgroup/app/cpuset.cpus.effective")
		files["proc/self/status"] = tc.status
		if tc.online == "" {
			delete(files, "sys/devices/system/cpu/online")
		} else {
			files["sys/devices/system/cpu/online"] = tc.online
		}
		hostile.Write(t, root, files)
		r, err := tune.Detect(tune.WithRoot(root), noEnv, tune.WithNumCPU(4))
		warned := strings.Contains(strings.Join(r.Warnings, "\n"), "Cpus_allowed_list")
		switch {
		case tc.want == 0 && (err == nil || !strings.Contains(err.Error(), "proc/self/status")):
			t.Errorf("status %q, online %q: Detect = %d, %v, want an error naming proc/self/status", tc.status, tc.online, r.GOMAXPROCS.After, err)
		case tc.want != 0 && (err != nil || r.GOMAXPROCS.After != tc.want || warned != tc.warn):
			t.Errorf("status %q, online %q: Detect = %d, %v, warnings %q; want %d, warning %v", tc.status, tc.online, r.GOMAXPROCS.After, err, r.Warnings, tc.want, tc.warn)
		}
	}
}

// TestMemoryFloor: memory.max = 2 set GOMEMLIMIT to 1 byte (issue 15).
// Now the file is an error that names it and the value, and nothing is
// set; a limit whose share after the reserve falls under 4 MiB leaves
// GOMEMLIMIT alone with a warning.
func TestMemoryFloor(t *testing.T) {
	root := t.TempDir()
	hostile.Write(t, root, hostile.Base)
	hostile.Write(t, root, map[string]string{"sys/fs/cgroup/app/memory.max": "2\n"})
	r, err := tune.Detect(tune.WithRoot(root), noEnv)
	if err == nil || !strings.Contains(err.Error(), "sys/fs/cgroup/app/memory.max") || !strings.Contains(err.Error(), "2 bytes") || r.GOMEMLIMIT.Set {
		t.Errorf("memory.max = 2: Detect = %+v, %v, want an error naming the file and the value", r.GOMEMLIMIT, err)
	}

	hostile.Write(t, root, map[string]string{"sys/fs/cgroup/app/memory.max": "8388608\n"}) // 8 MiB
	r, err = tune.Detect(tune.WithRoot(root), noEnv, tune.WithMemoryReserve(5<<20))
	if err != nil || r.GOMEMLIMIT.Set || len(r.Warnings) == 0 || !strings.Contains(strings.Join(r.Warnings, "\n"), "floor") {
		t.Errorf("8 MiB limit, 5 MiB reserve: Detect = %+v, %v, warnings %q; want GOMEMLIMIT left alone with a warning", r.GOMEMLIMIT, err, r.Warnings)
	}
	r, err = tune.Detect(tune.WithRoot(root), noEnv)
	if err != nil || r.GOMEMLIMIT.After < 4<<20 || r.GOMEMLIMIT.Source != tune.SourceCgroup {
		t.Errorf("8 MiB limit: Detect = %+v, %v, want 0.9 × 8 MiB from the cgroup", r.GOMEMLIMIT, err)
	}
}

// BenchmarkDetectHostile measures Detect on the trees of issue 15's table,
// each now refused or read cheaply: the time and bytes per op are the cost
// of a broken host to a service that imports tune/auto.
//
//	go test -run '^$' -bench DetectHostile -benchmem ./tune
func BenchmarkDetectHostile(b *testing.B) {
	want := []string{
		"sys/fs/cgroup/app/memory.max/fifo",
		"sys/fs/cgroup/app/memory.max/symlink-dev-zero",
		"sys/fs/cgroup/app/memory.max/sparse-100MB",
		"sys/fs/cgroup/app/memory.max/two",
		"sys/fs/cgroup/app/cpuset.cpus.effective/wide-range-repeated-in-cap",
		"proc/self/status/ids-past-NR_CPUS",
		"proc/self/mountinfo/relative-mount-point",
		"proc/self/mountinfo/many-lines-in-cap",
	}
	cases := map[string]hostile.Case{}
	for _, c := range hostile.Cases(b, "sys/fs/cgroup/app/memory.max", "sys/fs/cgroup/app/cpuset.cpus.effective", "proc/self/status", "proc/self/mountinfo") {
		cases[c.Name] = c
	}
	for _, name := range want {
		c := cases[name]
		b.Run(strings.ReplaceAll(name, "/", "_"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tune.Detect(tune.WithRoot(c.Root), noEnv, tune.WithNumCPU(4)) //nolint:errcheck // the cost is the point
			}
		})
	}
}
