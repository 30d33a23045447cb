//go:build linux

package numa

import (
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gotune/gotune/internal/hostile"
)

// TestHostileTree runs Discover and the collector's read over trees in
// which one file is a FIFO, a device, an escaping link, oversized,
// repeated or nonsense (issue 15; a FIFO as a node's cpulist hung Discover
// for ever). Each returns within the deadline and allocates under 1 MiB; a
// refused file is named by Discover's error or, for the cgroup files that
// only narrow the CPUs, by one of its notes; the allowed CPUs stay within
// the host's 0-3.
func TestHostileTree(t *testing.T) {
	discoverFiles := []string{
		"proc/self/status", "proc/self/cgroup", "proc/self/mountinfo",
		"sys/fs/cgroup/app/cpuset.cpus.effective", "sys/fs/cgroup/app/cpuset.mems.effective",
		"sys/devices/system/node/online", "sys/devices/system/node/has_memory",
		"sys/devices/system/node/node0/cpulist", "sys/devices/system/node/node0/distance",
		"sys/devices/system/node/node0/meminfo",
	}
	for _, c := range hostile.Cases(t, discoverFiles...) {
		hostile.Check(t, c, func() error {
			topo, err := Discover(WithRoot(c.Root))
			if err != nil {
				return err
			}
			for _, cpu := range topo.AllowedCPUs {
				if cpu > 3 {
					t.Errorf("%s: allowed CPU %d outside the host's 0-3", c.Name, cpu)
				}
			}
			for _, n := range topo.Notes {
				if strings.Contains(n, c.File) {
					return errors.New(n)
				}
			}
			return nil
		})
	}
	for _, c := range hostile.Cases(t, "sys/devices/system/node/node0/numastat", "proc/self/numa_maps") {
		hostile.Check(t, c, func() error {
			col := NewCollector(&Topology{Root: c.Root}, "")
			ch := make(chan prometheus.Metric, 64)
			col.Collect(ch)
			close(ch)
			for range ch {
			}
			if e := col.Stats().LastError; e != "" {
				return errors.New(e)
			}
			return nil
		})
	}
}
