package cgstat

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/gotune/gotune/internal/fsread"
)

// Dirs say where the figures live: directories relative to the root, as
// internal/cgroup resolves them. An empty field means "no such hierarchy".
type Dirs struct {
	// CPU is the leaf directory of the hierarchy holding the cpu
	// controller; CPUV2 says whether it is the unified (v2) hierarchy.
	CPU   string
	CPUV2 bool
	// CPUTightest is the directory whose quota binds, where that is an
	// ancestor of CPU (empty where the leaf's own quota binds, or none).
	CPUTightest string
	// Memory is the leaf directory of the memory controller's hierarchy.
	Memory   string
	MemoryV2 bool
	// Unified is the process's directory in the v2 hierarchy (on a v2 or a
	// hybrid host), where the cgroup's pressure files are.
	Unified string
}

// CPUStat is a cpu.stat: CFS bandwidth periods and how many were
// throttled. Bursts are where the kernel reports them (cpu.max.burst).
type CPUStat struct {
	File          string        `json:"file"`
	Periods       uint64        `json:"periods"`
	Throttled     uint64        `json:"throttled_periods"`
	ThrottledTime time.Duration `json:"throttled_ns"`
	Bursts        uint64        `json:"bursts,omitempty"`
	BurstTime     time.Duration `json:"burst_ns,omitempty"`
}

// MemStat is what the memory controller counts. On v2: memory.events
// (High, Max, OOM, OOMKill) and memory.current. On v1: memory.failcnt (the
// times usage hit the limit, counted as Max), memory.oom_control (UnderOOM,
// OOMKill) and memory.usage_in_bytes.
type MemStat struct {
	Dir      string `json:"dir"`
	V2       bool   `json:"v2"`
	High     uint64 `json:"high_events"`
	Max      uint64 `json:"max_events"`
	OOM      uint64 `json:"oom_events"`
	OOMKill  uint64 `json:"oom_kill_events"`
	UnderOOM bool   `json:"under_oom,omitempty"`
	Current  uint64 `json:"current_bytes"`
}

// Pressure is Pressure Stall Information for CPU, memory and IO. HostWide
// means the figures are the host's: /proc/pressure, read because the
// cgroup has none (v1, or a kernel without cgroup PSI), or the pressure
// files of the v2 root cgroup, where the process sits at the root. They say
// the host is under pressure, never that the container is.
type Pressure struct {
	Source   string `json:"source"`
	HostWide bool   `json:"host_wide"`
	CPU      *PSI   `json:"cpu,omitempty"`
	Memory   *PSI   `json:"memory,omitempty"`
	IO       *PSI   `json:"io,omitempty"`
}

// Stats is one reading. A nil field means the kernel has no such file.
type Stats struct {
	CPU         *CPUStat  `json:"cpu,omitempty"`
	CPUTightest *CPUStat  `json:"cpu_tightest,omitempty"`
	Memory      *MemStat  `json:"memory,omitempty"`
	Pressure    *Pressure `json:"pressure,omitempty"`
}

// Read reads the figures under root ("/" for this host). Files that do not
// exist give absent figures, not errors; files that do not parse give an
// error naming each, and the figures read from the others are returned.
func Read(root string, d Dirs) (Stats, error) {
	r := reader{root: root}
	var s Stats
	if d.CPU != "" {
		s.CPU = r.cpu(d.CPU, d.CPUV2)
	}
	if d.CPUTightest != "" && d.CPUTightest != d.CPU {
		s.CPUTightest = r.cpu(d.CPUTightest, d.CPUV2)
	}
	if d.Memory != "" {
		s.Memory = r.memory(d.Memory, d.MemoryV2)
	}
	s.Pressure = r.pressure(d.Unified)
	return s, errors.Join(r.errs...)
}

type reader struct {
	root string
	errs []error
}

// file reads name; ok is false where it does not exist or may not be read
// (a file the kernel does not have is a figure that is absent).
func (r *reader) file(name string) (data []byte, ok bool) {
	b, err := fsread.ReadFile(r.root, name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) {
			r.errs = append(r.errs, fmt.Errorf("cgstat: %w", err))
		}
		return nil, false
	}
	return b, true
}

func (r *reader) fail(name string, err error) {
	r.errs = append(r.errs, fmt.Errorf("cgstat: %s: %w", fsread.Path(r.root, name), err))
}

func (r *reader) keyed(name string) (map[string]uint64, bool) {
	b, ok := r.file(name)
	if !ok {
		return nil, false
	}
	m, err := ParseFlatKeyed(b)
	if err != nil {
		r.fail(name, err)
		return nil, false
	}
	return m, true
}

func (r *reader) cpu(dir string, v2 bool) *CPUStat {
	name := path.Join(dir, "cpu.stat")
	m, ok := r.keyed(name)
	if !ok {
		return nil
	}
	if _, ok := m["nr_periods"]; !ok {
		// v2 without the cpu controller enabled writes usage only.
		return nil
	}
	c := &CPUStat{File: name, Periods: m["nr_periods"], Throttled: m["nr_throttled"], Bursts: m["nr_bursts"]}
	if v2 {
		c.ThrottledTime = usec(m["throttled_usec"])
		c.BurstTime = usec(m["burst_usec"])
	} else {
		c.ThrottledTime = nsec(m["throttled_time"])
		c.BurstTime = nsec(m["burst_time"])
	}
	return c
}

func (r *reader) memory(dir string, v2 bool) *MemStat {
	m := &MemStat{Dir: dir, V2: v2}
	found := false
	if v2 {
		if ev, ok := r.keyed(path.Join(dir, "memory.events")); ok {
			m.High, m.Max, m.OOM, m.OOMKill, found = ev["high"], ev["max"], ev["oom"], ev["oom_kill"], true
		}
		m.Current, found = r.uint(path.Join(dir, "memory.current"), m.Current, found)
	} else {
		m.Max, found = r.uint(path.Join(dir, "memory.failcnt"), 0, found)
		if oc, ok := r.keyed(path.Join(dir, "memory.oom_control")); ok {
			m.UnderOOM, m.OOMKill, found = oc["under_oom"] != 0, oc["oom_kill"], true
		}
		m.Current, found = r.uint(path.Join(dir, "memory.usage_in_bytes"), m.Current, found)
	}
	if !found {
		return nil
	}
	return m
}

// uint reads a one-number file; it returns def and found unchanged where
// the file is absent or bad.
func (r *reader) uint(name string, def uint64, found bool) (uint64, bool) {
	b, ok := r.file(name)
	if !ok {
		return def, found
	}
	n, err := ParseUint(b)
	if err != nil {
		r.fail(name, err)
		return def, found
	}
	return n, true
}

// pressure reads the cgroup's pressure files where it has them, else the
// host's, labelled as host-wide.
func (r *reader) pressure(unified string) *Pressure {
	if unified != "" {
		if p := r.psi(unified, ".pressure"); p != nil {
			// The root cgroup's pressure files (Linux 6.x writes them)
			// are the whole host's: say so.
			p.HostWide = isRootCgroup(r.root, unified)
			return p
		}
	}
	if p := r.psi("proc/pressure", ""); p != nil {
		p.HostWide = true
		return p
	}
	return nil
}

// psi reads dir's cpu, memory and io pressure files (named with suffix).
func (r *reader) psi(dir, suffix string) *Pressure {
	p := &Pressure{Source: dir}
	one := func(res string) *PSI {
		name := path.Join(dir, res+suffix)
		b, ok := r.file(name)
		if !ok {
			return nil
		}
		x, err := ParsePSI(b)
		if err != nil {
			r.fail(name, err)
			return nil
		}
		return &x
	}
	p.CPU, p.Memory, p.IO = one("cpu"), one("memory"), one("io")
	if p.CPU == nil && p.Memory == nil && p.IO == nil {
		return nil
	}
	return p
}

// isRootCgroup says whether dir is the root of a v2 hierarchy, which has
// no cgroup.events file (every other cgroup has one). A container's
// namespaced view of its own cgroup has one, so its figures stay its own.
func isRootCgroup(root, dir string) bool {
	_, err := fsread.Stat(root, path.Join(dir, "cgroup.events"))
	return errors.Is(err, fs.ErrNotExist)
}

func usec(n uint64) time.Duration { return dur(n, time.Microsecond) }
func nsec(n uint64) time.Duration { return dur(n, time.Nanosecond) }

// dur converts n units to a Duration, saturating instead of overflowing.
func dur(n uint64, unit time.Duration) time.Duration {
	if n > uint64(1<<63-1)/uint64(unit) {
		return 1<<63 - 1
	}
	return time.Duration(n) * unit
}
