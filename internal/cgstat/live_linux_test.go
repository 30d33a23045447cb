//go:build linux

package cgstat_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/cgstat"
	"github.com/gotune/gotune/internal/cgtest"
)

// TestLiveThrottling starts a CPU-bound shell loop in a real cgroup with a
// 0.2 CPU quota and reads its cpu.stat until the kernel has throttled it;
// a sibling without a quota is never throttled.
func TestLiveThrottling(t *testing.T) {
	quota := cgtest.New(t, nil, "throttled")
	quota.Quota(t, 0.2)
	free := cgtest.New(t, nil, "free")
	dirs := func(g *cgtest.Group) cgstat.Dirs {
		return cgstat.Dirs{CPU: strings.TrimPrefix(g.CPU, "/"), Memory: strings.TrimPrefix(g.Memory, "/")}
	}
	var cmds []func()
	for _, g := range []*cgtest.Group{quota, free} {
		cmd := g.Command("/bin/sh", "-c", "while :; do :; done")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, func() { cmd.Process.Kill(); cmd.Wait() })
	}
	defer func() {
		for _, stop := range cmds {
			stop()
		}
	}()

	deadline := time.Now().Add(20 * time.Second) // a hang guard, not a speed check
	var s cgstat.Stats
	for {
		var err error
		s, err = cgstat.Read("/", dirs(quota))
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if s.CPU == nil {
			t.Fatalf("Read(%s): no cpu.stat", quota.CPU)
		}
		if s.CPU.Throttled >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no throttling seen in 20 s under a 0.2 CPU quota: %+v", *s.CPU)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s.CPU.ThrottledTime <= 0 || s.CPU.Periods < s.CPU.Throttled {
		t.Errorf("throttled cgroup: %+v, want throttled time > 0 and periods ≥ throttled", *s.CPU)
	}
	if s.Memory == nil || s.Memory.Current == 0 {
		t.Errorf("throttled cgroup's memory = %+v, want the usage of the running shell", s.Memory)
	}
	f, err := cgstat.Read("/", dirs(free))
	if err != nil {
		t.Fatal(err)
	}
	if f.CPU == nil || f.CPU.Throttled != 0 {
		t.Errorf("cgroup without a quota: %+v, want no throttled periods", f.CPU)
	}
}
