package cgstat_test

import (
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/gotune/gotune/internal/cgroup"
	"github.com/gotune/gotune/internal/cgstat"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// BenchmarkRead is what a refresh pays for the figures: every file of a v2
// pod (two cpu.stat, memory.events, memory.current, three PSI files), and
// of a v1 container with the host's PSI.
func BenchmarkRead(b *testing.B) {
	for _, tc := range []struct {
		name string
		dirs cgstat.Dirs
	}{
		{"v2", cgstat.Dirs{CPU: "sys/fs/cgroup/kubepods/pod1", CPUV2: true, CPUTightest: "sys/fs/cgroup/kubepods", Memory: "sys/fs/cgroup/kubepods/pod1", MemoryV2: true, Unified: "sys/fs/cgroup/kubepods/pod1"}},
		{"v1", cgstat.Dirs{CPU: "sys/fs/cgroup/cpu,cpuacct/docker/abc", Memory: "sys/fs/cgroup/memory/docker/abc"}},
	} {
		root := filepath.Join("testdata", tc.name)
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := cgstat.Read(root, tc.dirs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadLive is the same on this host, for this process's cgroup.
func BenchmarkReadLive(b *testing.B) {
	l, err := cgroup.Read("/")
	if err != nil {
		b.Skip(err)
	}
	b.Logf("dirs %+v", l.Dirs)
	for b.Loop() {
		if _, err := cgstat.Read("/", l.Dirs); err != nil {
			b.Fatal(err)
		}
	}
}
