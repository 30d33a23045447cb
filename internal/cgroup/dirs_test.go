package cgroup_test

import (
	"path/filepath"
	"testing"

	"github.com/gotune/gotune/internal/cgroup"
	"github.com/gotune/gotune/internal/cgstat"
)

// TestReadDirs checks where Read says the cgroup's stat files are: the
// leaf of each hierarchy, the ancestor whose quota binds, and the unified
// directory for pressure, all relative to the root.
func TestReadDirs(t *testing.T) {
	for _, tc := range []struct {
		name string
		want cgstat.Dirs
	}{
		{"cgroup2-nested-16cpu", cgstat.Dirs{
			CPU: "sys/fs/cgroup/process_api/58f23e9e1991a52298439d2eff9c09d0", CPUV2: true,
			Memory: "sys/fs/cgroup/process_api/58f23e9e1991a52298439d2eff9c09d0", MemoryV2: true,
			Unified: "sys/fs/cgroup/process_api/58f23e9e1991a52298439d2eff9c09d0",
		}},
		{"v2-bindmount", cgstat.Dirs{
			CPU: "sys/fs/my cgroup", CPUV2: true, Memory: "sys/fs/my cgroup", MemoryV2: true, Unified: "sys/fs/my cgroup",
		}},
		// The quota that binds is the pod's, one above the container.
		{"v1-nested", cgstat.Dirs{
			CPU: "sys/fs/cgroup/cpu,cpuacct/kubepods/burstable/pod1/ctr", CPUTightest: "sys/fs/cgroup/cpu,cpuacct/kubepods/burstable/pod1",
			Memory: "sys/fs/cgroup/memory/kubepods/burstable/pod1/ctr",
		}},
		{"v2-nested", cgstat.Dirs{
			CPU: "sys/fs/cgroup/app/web/leaf", CPUV2: true, CPUTightest: "sys/fs/cgroup/app/web",
			Memory: "sys/fs/cgroup/app/web/leaf", MemoryV2: true, Unified: "sys/fs/cgroup/app/web/leaf",
		}},
		// v1 controllers, pressure from the unified hierarchy.
		{"hybrid", cgstat.Dirs{CPU: "sys/fs/cgroup/cpu/svc", Memory: "sys/fs/cgroup/memory/svc", Unified: "sys/fs/cgroup/unified/svc"}},
		{"outside-namespace", cgstat.Dirs{
			CPU: "sys/fs/cgroup", CPUV2: true, Memory: "sys/fs/cgroup", MemoryV2: true, Unified: "sys/fs/cgroup",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := cgroup.Read(filepath.Join("testdata", tc.name))
			if err != nil {
				t.Fatalf("Read(%q) error %v", tc.name, err)
			}
			if l.Dirs != tc.want {
				t.Errorf("Read(%q).Dirs = %+v, want %+v", tc.name, l.Dirs, tc.want)
			}
		})
	}
}
