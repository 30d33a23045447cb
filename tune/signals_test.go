package tune_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gotune/gotune/internal/testtree"
	"github.com/gotune/gotune/tune"
)

// signalTree lays out a cgroup v2 pod with the files Signals read: the
// pod has a 0.5 CPU quota and a 512 MiB memory.max, and files replaces or
// adds to them.
func signalTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	testtree.Write(t, dir, testtree.With(testtree.With(testtree.V2Pod(), map[string]string{
		"sys/fs/cgroup/pod/cpu.max":    "50000 100000\n",
		"sys/fs/cgroup/pod/memory.max": "536870912\n",
	}), files))
}

func cpuStat(periods, throttled int) string {
	return "usage_usec 1\nuser_usec 1\nsystem_usec 0\nnr_periods " + itoa(periods) + "\nnr_throttled " + itoa(throttled) + "\nthrottled_usec " + itoa(throttled*80000) + "\n"
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestSignalsOverRefreshes runs a Tuner's refreshes on a fake clock while
// the fixture's counters move: throttling starts, lasts and stops; memory
// events and memory pressure come and go. Each alert is logged once when
// it starts, not at every refresh.
func TestSignalsOverRefreshes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		signalTree(t, dir, map[string]string{
			"sys/fs/cgroup/pod/cpu.stat":        cpuStat(100, 0),
			"sys/fs/cgroup/pod/memory.events":   "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
			"sys/fs/cgroup/pod/memory.current":  "1048576\n",
			"sys/fs/cgroup/pod/memory.pressure": "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
		})
		var log bytes.Buffer
		tu := tune.NewTuner(10*time.Second, tune.WithRoot(dir), tune.WithMaxProcs(tune.MaxProcsOff), tune.WithoutMemoryLimit(),
			tune.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
		if _, err := tu.ApplyOnce(); err != nil {
			t.Fatal(err)
		}
		s := tu.Signals()
		if s.CPU == nil || s.CPU.Periods != 100 || s.Window != 0 || len(s.Alerts) != 0 {
			t.Fatalf("first Signals = %+v, want cpu.stat read, no window, no alerts", s)
		}
		if s.Pressure == nil || s.Pressure.HostWide || s.Pressure.Memory == nil || s.Pressure.CPU != nil {
			t.Errorf("first Signals.Pressure = %+v, want the cgroup's memory pressure only", s.Pressure)
		}
		step := func(files map[string]string) tune.Signals {
			time.Sleep(10 * time.Second)
			signalTree(t, dir, files)
			tu.Refresh()
			return tu.Signals()
		}
		// Throttling starts: 50 of 100 periods.
		s = step(map[string]string{"sys/fs/cgroup/pod/cpu.stat": cpuStat(200, 50)})
		if s.ThrottledShare != 0.5 || s.Window != 10*time.Second || len(s.Alerts) != 1 || !strings.Contains(s.Alerts[0], "throttled in 50% of CPU periods") {
			t.Errorf("after throttling: share %v over %v, alerts %q; want 0.5 over 10s and one throttling alert", s.ThrottledShare, s.Window, s.Alerts)
		}
		if !strings.Contains(s.Alerts[0], "0.5 CPU quota") {
			t.Errorf("alert %q does not name the quota", s.Alerts[0])
		}
		// It goes on: still alerting, logged once only.
		s = step(map[string]string{"sys/fs/cgroup/pod/cpu.stat": cpuStat(300, 100)})
		if s.ThrottledShare != 0.5 || len(s.Alerts) != 1 {
			t.Errorf("throttling on: share %v, alerts %q", s.ThrottledShare, s.Alerts)
		}
		if n := strings.Count(log.String(), "throttled in"); n != 1 {
			t.Errorf("throttling logged %d times over two refreshes, want once:\n%s", n, log.String())
		}
		// Memory events and memory pressure.
		s = step(map[string]string{
			"sys/fs/cgroup/pod/cpu.stat":        cpuStat(400, 100),
			"sys/fs/cgroup/pod/memory.events":   "low 0\nhigh 5\nmax 2\noom 0\noom_kill 0\n",
			"sys/fs/cgroup/pod/memory.pressure": "some avg10=25.00 avg60=5.00 avg300=1.00 total=2500000\nfull avg10=1.00 avg60=0.00 avg300=0.00 total=100\n",
		})
		if s.MemoryEvents != 7 || s.Memory == nil || s.Memory.High != 5 {
			t.Errorf("memory events in the window = %d (%+v), want 7", s.MemoryEvents, s.Memory)
		}
		var mem, psi bool
		for _, a := range s.Alerts {
			mem = mem || strings.Contains(a, "7 memory events")
			psi = psi || strings.Contains(a, "memory pressure: tasks stalled on memory 25%")
		}
		if !mem || !psi {
			t.Errorf("alerts %q, want the memory events and the memory pressure", s.Alerts)
		}
		// Everything calms down; a minute later the window holds no
		// throttling and no events.
		for range 7 {
			s = step(map[string]string{
				"sys/fs/cgroup/pod/cpu.stat":        cpuStat(400+100, 100),
				"sys/fs/cgroup/pod/memory.pressure": "some avg10=0.00 avg60=4.00 avg300=1.00 total=2500000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=100\n",
			})
		}
		if s.ThrottledShare != 0 || s.MemoryEvents != 0 || len(s.Alerts) != 0 || s.Window > time.Minute+10*time.Second {
			t.Errorf("after a quiet minute: share %v, events %d, alerts %q, window %v; want none", s.ThrottledShare, s.MemoryEvents, s.Alerts, s.Window)
		}
		if n := strings.Count(log.String(), "level=WARN"); n != 3 {
			t.Errorf("%d warnings logged, want 3 (throttling, memory events, memory pressure):\n%s", n, log.String())
		}
	})
}

// TestSignalsWithoutPSI: a v1 host without PSI anywhere gives no pressure
// figures and no error; a v1 host with /proc/pressure gives the host's,
// labelled host-wide, and host CPU pressure raises no alert.
func TestSignalsWithoutPSI(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"proc/self/cgroup":                             "4:memory:/c\n3:cpu,cpuacct:/c\n",
		"proc/self/mountinfo":                          "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
		"proc/self/status":                             "Cpus_allowed_list:\t0\n",
		"sys/devices/system/cpu/online":                "0\n",
		"sys/fs/cgroup/cpu,cpuacct/c/cpu.stat":         "nr_periods 10\nnr_throttled 1\nthrottled_time 5000000\n",
		"sys/fs/cgroup/memory/c/memory.usage_in_bytes": "4096\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
	}
	tu := tune.NewTuner(0, tune.WithRoot(dir), tune.WithMaxProcs(tune.MaxProcsOff), tune.WithoutMemoryLimit())
	if _, err := tu.ApplyOnce(); err != nil {
		t.Fatal(err)
	}
	s := tu.Signals()
	if s.Error != "" || s.Pressure != nil || s.CPU == nil || s.CPU.ThrottledTime != 5*time.Millisecond || s.Memory == nil || s.Memory.Current != 4096 {
		t.Errorf("v1 without PSI: %+v, want cpu.stat and memory read, no pressure, no error", s)
	}
	os.MkdirAll(filepath.Join(dir, "proc/pressure"), 0o755)
	for _, r := range []string{"cpu", "memory", "io"} {
		os.WriteFile(filepath.Join(dir, "proc/pressure", r), []byte("some avg10=60.00 avg60=0.00 avg300=0.00 total=1\n"), 0o644)
	}
	tu.Refresh()
	s = tu.Signals()
	if s.Pressure == nil || !s.Pressure.HostWide || s.Pressure.CPU == nil {
		t.Fatalf("v1 with /proc/pressure: %+v, want the host's figures, host-wide", s.Pressure)
	}
	for _, a := range s.Alerts {
		if strings.Contains(a, "CPU pressure") {
			t.Errorf("alert %q from the host's CPU pressure, which says nothing of this container", a)
		}
		if strings.Contains(a, "memory pressure") && !strings.Contains(a, "host's, not this container's") {
			t.Errorf("alert %q does not say the memory pressure is the host's", a)
		}
	}
	var nilTuner *tune.Tuner
	if s := nilTuner.Signals(); s.CPU != nil {
		t.Errorf("nil Tuner's Signals = %+v", s)
	}
}

// TestPressureLevels grades the last interval: throttling and the cgroup's
// PSI raise CPUPressure, limit events and memory PSI raise MemoryPressure,
// and both fall back when the next interval is quiet.
func TestPressureLevels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		quietMem := "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
		signalTree(t, dir, map[string]string{
			"sys/fs/cgroup/pod/cpu.stat":        cpuStat(100, 0),
			"sys/fs/cgroup/pod/memory.events":   "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
			"sys/fs/cgroup/pod/memory.pressure": quietMem,
			"sys/fs/cgroup/pod/cpu.pressure":    "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
		})
		tu := tune.NewTuner(10*time.Second, tune.WithRoot(dir), tune.WithMaxProcs(tune.MaxProcsOff), tune.WithoutMemoryLimit())
		if _, err := tu.ApplyOnce(); err != nil {
			t.Fatal(err)
		}
		var nilTuner *tune.Tuner
		if tu.CPUPressure() != tune.PressureOK || tu.MemoryPressure() != tune.PressureOK || nilTuner.CPUPressure() != tune.PressureOK {
			t.Fatalf("levels at rest: cpu %d, memory %d", tu.CPUPressure(), tu.MemoryPressure())
		}
		for _, tc := range []struct {
			name     string
			files    map[string]string
			cpu, mem int
		}{
			{"20% throttled", map[string]string{"sys/fs/cgroup/pod/cpu.stat": cpuStat(200, 20)}, tune.PressureElevated, tune.PressureOK},
			{"80% throttled", map[string]string{"sys/fs/cgroup/pod/cpu.stat": cpuStat(300, 100)}, tune.PressureCritical, tune.PressureOK},
			{"quiet", map[string]string{"sys/fs/cgroup/pod/cpu.stat": cpuStat(400, 100)}, tune.PressureOK, tune.PressureOK},
			{"cpu PSI 45%", map[string]string{"sys/fs/cgroup/pod/cpu.pressure": "some avg10=45.00 avg60=0.00 avg300=0.00 total=9\n"}, tune.PressureCritical, tune.PressureOK},
			{"memory.high reached", map[string]string{
				"sys/fs/cgroup/pod/cpu.pressure":  "some avg10=0.00 avg60=0.00 avg300=0.00 total=9\n",
				"sys/fs/cgroup/pod/memory.events": "low 0\nhigh 4\nmax 0\noom 0\noom_kill 0\n"}, tune.PressureOK, tune.PressureElevated},
			{"OOM kill", map[string]string{"sys/fs/cgroup/pod/memory.events": "low 0\nhigh 4\nmax 1\noom 1\noom_kill 1\n"}, tune.PressureOK, tune.PressureCritical},
			{"no new events", nil, tune.PressureOK, tune.PressureOK},
			{"memory PSI 15% with a small heap", map[string]string{"sys/fs/cgroup/pod/memory.pressure": "some avg10=15.00 avg60=1.00 avg300=0.00 total=9\n"}, tune.PressureOK, tune.PressureElevated},
			{"memory PSI back to 0", map[string]string{"sys/fs/cgroup/pod/memory.pressure": quietMem}, tune.PressureOK, tune.PressureOK},
		} {
			time.Sleep(10 * time.Second)
			signalTree(t, dir, tc.files)
			tu.Refresh()
			if c, m := tu.CPUPressure(), tu.MemoryPressure(); c != tc.cpu || m != tc.mem {
				t.Errorf("%s: CPUPressure() = %d, MemoryPressure() = %d; want %d, %d", tc.name, c, m, tc.cpu, tc.mem)
			}
		}
	})
}
