package numa

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/gotune/gotune/internal/cpulist"
	"github.com/gotune/gotune/internal/sysnode"
)

// FuzzDiscover feeds arbitrary distance, status, cpuset and online files to
// Discover over the 2-socket fixture: it must not panic, and what it
// allows must lie within the online CPUs and the affinity.
func FuzzDiscover(f *testing.F) {
	f.Add("10 21\n", "21 10\n", "Cpus_allowed_list:\t0-31\nMems_allowed_list:\t0-1\n", "0-31\n", "0-1\n")
	f.Add("10\n", "21 10\n", "Cpus_allowed:\tffff\n", "0-15:2/4\n", "0\n")
	f.Add("10 21 31\n", "x", "Cpus_allowed_list:\t40\n", "", "0,2")
	f.Add("10 21\n", "21 10\n", "Cpus_allowed_list:\t0-65535\n", "0-16383,0-16383\n", "0-16383\n")
	f.Add("", "\x00\xff", "Cpus_allowed:\tffffffff,ffffffff\n", "-1", "1")
	root := f.TempDir()
	if err := os.CopyFS(root, os.DirFS("testdata/2socket")); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, d0, d1, status, cpuset, online string) {
		for p, c := range map[string]string{
			"sys/devices/system/node/node0/distance":                       d0,
			"sys/devices/system/node/node1/distance":                       d1,
			"proc/self/status":                                             status,
			"sys/fs/cgroup/system.slice/svc.service/cpuset.cpus.effective": cpuset,
			"sys/devices/system/node/online":                               online,
		} {
			if err := os.WriteFile(filepath.Join(root, p), []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var topo *Topology
		var err error
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		topo, err = Discover(WithRoot(root))
		runtime.ReadMemStats(&after)
		// Each file is at most 64 KiB and each CPU list at most 16384 ids.
		if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
			t.Fatalf("Discover allocated %d bytes over fuzzed files", n)
		}
		if err != nil {
			return
		}
		var onlineCPUs []int
		for _, n := range topo.Nodes {
			onlineCPUs = append(onlineCPUs, n.CPUs...)
		}
		slices.Sort(onlineCPUs)
		if got := cpulist.Intersect(topo.AllowedCPUs, onlineCPUs); !slices.Equal(got, topo.AllowedCPUs) {
			t.Fatalf("AllowedCPUs %v include offline CPUs (online %v)", topo.AllowedCPUs, onlineCPUs)
		}
		if st, err := sysnode.ParseStatus(status); err == nil && st.HasCPUs {
			if got := cpulist.Intersect(topo.AllowedCPUs, st.CPUs); !slices.Equal(got, topo.AllowedCPUs) {
				t.Fatalf("AllowedCPUs %v widen the affinity %v", topo.AllowedCPUs, st.CPUs)
			}
		}
		if _, ok := topo.Node(topo.Local); !ok {
			t.Fatalf("Local %d is not a node of %v", topo.Local, topo.Nodes)
		}
		_ = topo.String()
	})
}
