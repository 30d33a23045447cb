package cgroup_test

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"

	"github.com/gotune/gotune/internal/cgroup"
	"github.com/gotune/gotune/internal/cgstat"
)

const (
	mib = 1 << 20
	gib = 1 << 30
)

func TestRead(t *testing.T) {
	tests := []struct {
		name string
		want cgroup.Limits
	}{
		{"v1-container", cgroup.Limits{
			Version: cgroup.V1, Path: "/docker/abc",
			CPUQuota: 1.5, CPUQuotaFile: "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", LeafCPUQuota: 1.5,
			CPUSet: []int{1, 2}, CPUSetFile: "sys/fs/cgroup/cpuset/cpuset.effective_cpus",
			MemSet: []int{0, 1}, MemSetFile: "sys/fs/cgroup/cpuset/cpuset.effective_mems",
			MemoryMax: 512 * mib, MemoryMaxFile: "sys/fs/cgroup/memory/memory.limit_in_bytes",
			SwapMax: 256 * mib, SwapMaxFile: "sys/fs/cgroup/memory/memory.memsw.limit_in_bytes",
		}},
		{"v1-nested", cgroup.Limits{
			Version: cgroup.V1, Path: "/kubepods/burstable/pod1/ctr",
			CPUQuota: 0.5, CPUQuotaFile: "sys/fs/cgroup/cpu,cpuacct/kubepods/burstable/pod1/cpu.cfs_quota_us",
			CPUSet: []int{2, 3, 4, 5}, CPUSetFile: "sys/fs/cgroup/cpuset/kubepods/cpuset.cpus",
			MemoryMax: 256 * mib, MemoryMaxFile: "sys/fs/cgroup/memory/kubepods/burstable/pod1/memory.limit_in_bytes",
			SwapMax: -1,
		}},
		{"hybrid", cgroup.Limits{
			Version: cgroup.Hybrid, Path: "/svc",
			CPUQuota: 3, CPUQuotaFile: "sys/fs/cgroup/cpu/svc/cpu.cfs_quota_us", LeafCPUQuota: 3,
			MemoryMax: gib, MemoryMaxFile: "sys/fs/cgroup/memory/svc/memory.limit_in_bytes",
			SwapMax: -1,
		}},
		{"v2-nested", cgroup.Limits{
			Version: cgroup.V2, Path: "/app/web/leaf",
			CPUQuota: 1.5, CPUQuotaFile: "sys/fs/cgroup/app/web/cpu.max",
			CPUSet: []int{0, 1, 2, 3}, CPUSetFile: "sys/fs/cgroup/app/web/leaf/cpuset.cpus.effective",
			MemSet: []int{0}, MemSetFile: "sys/fs/cgroup/app/web/leaf/cpuset.mems.effective",
			MemoryMax: 512 * mib, MemoryMaxFile: "sys/fs/cgroup/app/web/memory.max",
			MemoryHigh: 400 * mib, MemoryHighFile: "sys/fs/cgroup/app/web/leaf/memory.high",
			SwapMax: 0, SwapMaxFile: "sys/fs/cgroup/app/memory.swap.max",
		}},
		{"v2-namespace", cgroup.Limits{
			Version: cgroup.V2, Path: "/",
			CPUQuota: 0.5, CPUQuotaFile: "sys/fs/cgroup/cpu.max", LeafCPUQuota: 0.5,
			MemoryMax: 512 * mib, MemoryMaxFile: "sys/fs/cgroup/memory.max",
			MemoryHigh: 384 * mib, MemoryHighFile: "sys/fs/cgroup/memory.high",
			SwapMax: -1,
		}},
		// /proc/self/cgroup says "/../../x": the process is outside the
		// namespace's root, so the mount point is all this view can see;
		// the unrelated /x under it must not be read.
		{"outside-namespace", cgroup.Limits{
			Version: cgroup.V2, Path: "/../../x",
			CPUQuota: 1, CPUQuotaFile: "sys/fs/cgroup/cpu.max", LeafCPUQuota: 1,
			SwapMax: -1,
		}},
		{"v2-bindmount", cgroup.Limits{
			Version: cgroup.V2, Path: "/kubepods.slice/pod-1.slice/cri-2.scope",
			CPUQuota: 2.5, CPUQuotaFile: "sys/fs/my cgroup/cpu.max", LeafCPUQuota: 2.5,
			SwapMax: -1,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cgroup.Read(filepath.Join("testdata", tc.name))
			if err != nil {
				t.Fatalf("Read(%q) error: %v", tc.name, err)
			}
			got.Dirs = cgstat.Dirs{} // TestReadDirs
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Read(%q) =\n %+v\nwant\n %+v", tc.name, got, tc.want)
			}
		})
	}
}

// TestReadRealCapture reads the capture of a real 16-CPU cgroup v2 host.
func TestReadRealCapture(t *testing.T) {
	root := filepath.Join("testdata", "cgroup2-nested-16cpu")
	got, err := cgroup.Read(root)
	if err != nil {
		t.Fatalf("Read(%q): %v", root, err)
	}
	got.Dirs = cgstat.Dirs{} // TestReadDirs
	want := cgroup.Limits{
		Version: cgroup.V2, Path: "/process_api/58f23e9e1991a52298439d2eff9c09d0",
		CPUSet: seq(0, 15), CPUSetFile: "sys/fs/cgroup/cpuset.cpus.effective",
		MemSet: []int{0}, MemSetFile: "sys/fs/cgroup/cpuset.mems.effective",
		SwapMax: -1,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Read(%q) =\n %+v\nwant\n %+v", root, got, want)
	}
	cpus, ok, err := cgroup.AllowedCPUs(root)
	if err != nil || !ok || !reflect.DeepEqual(cpus, seq(0, 15)) {
		t.Errorf("AllowedCPUs(%q) = %v, %v, %v, want 0-15", root, cpus, ok, err)
	}
	online, ok, err := cgroup.OnlineCPUs(root)
	if err != nil || !ok || len(online) != 16 {
		t.Errorf("OnlineCPUs(%q) = %v, %v, %v, want 16 CPUs", root, online, ok, err)
	}
}

func seq(a, b int) []int {
	var s []int
	for i := a; i <= b; i++ {
		s = append(s, i)
	}
	return s
}

func TestReadMalformed(t *testing.T) {
	got, err := cgroup.Read("testdata/malformed")
	if err == nil {
		t.Fatal("Read(malformed) error = nil, want errors naming the files")
	}
	for _, want := range []string{
		`sys/fs/cgroup/a/cpu.max`, `"lots 100000"`,
		`sys/fs/cgroup/a/memory.max`, `"12abc"`,
		`sys/fs/cgroup/a/cpuset.cpus.effective`, `"0-x"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Read(malformed) error %q does not mention %s", err, want)
		}
	}
	// The one good value still comes back.
	if got.MemoryHigh != gib || got.MemoryMax != 0 || got.CPUQuota != 0 {
		t.Errorf("Read(malformed) = %+v, want only MemoryHigh = 1 GiB", got)
	}
}

func TestReadBadProcCgroup(t *testing.T) {
	_, err := cgroup.Read("testdata/bad-proc-cgroup")
	if err == nil || !strings.Contains(err.Error(), `"garbage"`) {
		t.Errorf("Read(bad-proc-cgroup) error = %v, want it to quote the line", err)
	}
}

func TestReadNoCgroup(t *testing.T) {
	got, err := cgroup.Read(t.TempDir())
	if err != nil || got.Version != cgroup.None || got.CPUQuota != 0 || got.MemoryMax != 0 {
		t.Errorf("Read(empty root) = %+v, %v, want no limits and no error", got, err)
	}
}

// TestReadUnreadable checks that EACCES on a limit file means "no limit
// here", while other read errors are reported with the file's name.
func TestReadUnreadable(t *testing.T) {
	root := filepath.Join("testdata", "v2-nested")
	restore := cgroup.SetReadFile(func(root, name string) ([]byte, error) {
		switch filepath.Base(name) {
		case "memory.max":
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
		case "memory.high":
			return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("input/output error")}
		}
		return os.ReadFile(filepath.Join(root, name))
	})
	defer restore()
	got, err := cgroup.Read(root)
	if got.MemoryMax != 0 {
		t.Errorf("MemoryMax = %d with memory.max unreadable, want 0 (no limit)", got.MemoryMax)
	}
	if got.CPUQuota != 1.5 {
		t.Errorf("CPUQuota = %v, want 1.5", got.CPUQuota)
	}
	if err == nil || !strings.Contains(err.Error(), "memory.high") || strings.Contains(err.Error(), "memory.max") {
		t.Errorf("Read error = %v, want only the memory.high I/O error", err)
	}
}

func TestParseCPUMax(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"max 100000", 0, true},
		{"max", 0, true},
		{"50000 100000", 0.5, true},
		{"150000 100000", 1.5, true},
		{"200000", 2, true},
		{"", 0, false},
		{"0 100000", 0, false},
		{"1 0", 0, false},
		{"-5 100000", 0, false},
		{"1 2 3", 0, false},
	}
	for _, tc := range tests {
		got, err := cgroup.ParseCPUMax(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseCPUMax(%q) = %v, %v, want %v (ok=%v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"max", 0, true},
		{"-1", 0, true},
		{"536870912\n", 512 * mib, true},
		{"9223372036854771712", 0, true},
		{"9223372036854710272", 0, true}, // 64 KiB pages
		{"18446744073709551615", 0, true},
		{"12abc", 0, false},
		{"", 0, false},
		{"1e9", 0, false},
	}
	for _, tc := range tests {
		got, err := cgroup.ParseBytes(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseBytes(%q) = %v, %v, want %v (ok=%v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseMountInfoEscapes(t *testing.T) {
	m, err := cgroup.ParseMountInfo([]byte(`1 2 0:3 /a\040b /mnt/x\134y\011z rw - cgroup2 none rw,nsdelegate` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m[0].Root != "/a b" || m[0].MountPoint != "/mnt/x\\y\tz" || m[0].FSType != "cgroup2" {
		t.Errorf("ParseMountInfo = %+v", m[0])
	}
	for _, bad := range []string{"1 2 0:3 / /x rw", "1 2 / - cgroup2 x rw", "x - y"} {
		if _, err := cgroup.ParseMountInfo([]byte(bad)); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseMountInfo(%q) error = %v, want one quoting the line", bad, err)
		}
	}
}

func TestParseProcCgroup(t *testing.T) {
	got, err := cgroup.ParseProcCgroup([]byte("4:memory:/a\n3:cpu,cpuacct:/b\n0::/c\n1:name=systemd:/\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []cgroup.Membership{
		{ID: 4, Controllers: []string{"memory"}, Path: "/a"},
		{ID: 3, Controllers: []string{"cpu", "cpuacct"}, Path: "/b"},
		{ID: 0, Path: "/c"},
		{ID: 1, Controllers: []string{"name=systemd"}, Path: "/"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseProcCgroup = %+v, want %+v", got, want)
	}
	for _, bad := range []string{"x::/a", "1:cpu", "1:cpu:relative", "-1::/"} {
		if _, err := cgroup.ParseProcCgroup([]byte(bad)); err == nil {
			t.Errorf("ParseProcCgroup(%q) error = nil", bad)
		}
	}
}

func TestMemoryLimit(t *testing.T) {
	for _, tc := range []struct{ max, high, want int64 }{
		{0, 0, 0}, {100, 0, 100}, {0, 50, 50}, {100, 50, 50}, {50, 100, 50},
	} {
		l := cgroup.Limits{MemoryMax: tc.max, MemoryHigh: tc.high}
		if got := l.MemoryLimit(); got != tc.want {
			t.Errorf("Limits{MemoryMax: %d, MemoryHigh: %d}.MemoryLimit() = %d, want %d", tc.max, tc.high, got, tc.want)
		}
	}
}

func TestTightest(t *testing.T) {
	for _, tc := range []struct{ a, b, want int64 }{
		{0, 0, 0}, {-1, -1, 0}, {-1, 5, 5}, {5, -1, 5}, {0, 5, 5}, {5, 0, 5},
		{3, 5, 3}, {5, 3, 3}, {7, 7, 7},
	} {
		if got := cgroup.Tightest(tc.a, tc.b); got != tc.want {
			t.Errorf("Tightest(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// Share is automemlimit's rounding, which tune applies through
// memlimit.ApplyRatio: the two must not drift apart.
func TestShareMatchesAutomemlimit(t *testing.T) {
	for _, limit := range []int64{1, 4 << 20, 384 << 20, 512<<20 + 1, 3 << 30, 1<<40 + 12345} {
		for _, ratio := range []float64{0.1, 0.5, 0.8, 0.9, 0.95, 0.999, 1} {
			v, err := memlimit.ApplyRatio(memlimit.Limit(uint64(limit)), ratio)()
			if err != nil {
				t.Fatal(err)
			}
			if got := cgroup.Share(limit, ratio); got != int64(v) {
				t.Errorf("Share(%d, %v) = %d, want automemlimit's %d", limit, ratio, got, v)
			}
		}
	}
	if got := cgroup.Share(0, 0.9); got != 0 {
		t.Errorf("Share(0, 0.9) = %d, want 0 (no limit)", got)
	}
	if got := cgroup.Share(math.MaxInt64, 1); got != math.MaxInt64 {
		t.Errorf("Share(MaxInt64, 1) = %d, want MaxInt64", got)
	}
}
