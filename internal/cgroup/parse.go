package cgroup

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Mount is one line of /proc/self/mountinfo, reduced to what cgroup
// resolution needs.
type Mount struct {
	Root       string   // the path inside the filesystem that is mounted
	MountPoint string   // where it is mounted
	FSType     string   // "cgroup" or "cgroup2" for cgroup mounts
	Options    []string // super options: the v1 controllers live here
}

// ParseMountInfo parses the content of /proc/self/mountinfo. Lines that do
// not have the documented shape are errors that quote the line.
func ParseMountInfo(data []byte) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		m, err := parseMountLine(line)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cgroup: read mountinfo: %w", err)
	}
	return out, nil
}

// parseMountLine parses
// "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue".
func parseMountLine(line string) (Mount, error) {
	pre, post, ok := strings.Cut(line, " - ")
	if !ok {
		return Mount{}, fmt.Errorf("cgroup: mountinfo line %q: no \" - \" separator", line)
	}
	f := strings.Fields(pre)
	g := strings.Fields(post)
	if len(f) < 6 || len(g) < 2 {
		return Mount{}, fmt.Errorf("cgroup: mountinfo line %q: too few fields", line)
	}
	m := Mount{
		Root:       unescapeOctal(f[3]),
		MountPoint: unescapeOctal(f[4]),
		FSType:     g[0],
	}
	if len(g) >= 3 {
		m.Options = strings.Split(g[2], ",")
	}
	return m, nil
}

// unescapeOctal undoes the kernel's \ooo escaping of space, tab, newline and
// backslash in mountinfo paths.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Membership is one line of /proc/self/cgroup: the hierarchy id, its
// controllers (empty for the v2 unified hierarchy) and the process's path.
type Membership struct {
	ID          int
	Controllers []string
	Path        string
}

// ParseProcCgroup parses the content of /proc/self/cgroup
// ("4:memory:/a/b", "0::/a/b").
func ParseProcCgroup(data []byte) ([]Membership, error) {
	var out []Membership
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		id, rest, ok := strings.Cut(line, ":")
		ctl, path, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 {
			return nil, fmt.Errorf("cgroup: /proc/self/cgroup line %q: want id:controllers:path", line)
		}
		n, err := strconv.Atoi(id)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("cgroup: /proc/self/cgroup line %q: bad hierarchy id %q", line, id)
		}
		if !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("cgroup: /proc/self/cgroup line %q: path %q is not absolute", line, path)
		}
		m := Membership{ID: n, Path: path}
		if ctl != "" {
			m.Controllers = strings.Split(ctl, ",")
		}
		out = append(out, m)
	}
	return out, nil
}

// ParseCPUMax parses a v2 cpu.max value ("max 100000", "50000 100000")
// into CPUs; 0 means no quota.
func ParseCPUMax(s string) (float64, error) {
	f := strings.Fields(s)
	if len(f) == 0 || len(f) > 2 {
		return 0, fmt.Errorf("want \"quota period\", got %q", s)
	}
	period := uint64(100000)
	if len(f) == 2 {
		p, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil || p == 0 {
			return 0, fmt.Errorf("bad period in %q", s)
		}
		period = p
	}
	if f[0] == "max" {
		return 0, nil
	}
	q, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil || q == 0 {
		return 0, fmt.Errorf("bad quota in %q", s)
	}
	return float64(q) / float64(period), nil
}

// ParseCFS turns v1 cpu.cfs_quota_us and cpu.cfs_period_us values into CPUs;
// a negative quota means no quota and yields 0.
func ParseCFS(quota, period string) (float64, error) {
	q, err := strconv.ParseInt(strings.TrimSpace(quota), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad quota %q", strings.TrimSpace(quota))
	}
	if q < 0 {
		return 0, nil
	}
	if q == 0 {
		return 0, fmt.Errorf("bad quota %q", strings.TrimSpace(quota))
	}
	p, err := strconv.ParseInt(strings.TrimSpace(period), 10, 64)
	if err != nil || p <= 0 {
		return 0, fmt.Errorf("bad period %q", strings.TrimSpace(period))
	}
	return float64(q) / float64(p), nil
}

// v1Unlimited is the smallest value that cgroup v1 uses to mean "no limit":
// PAGE_COUNTER_MAX pages, which prints as MaxInt64 rounded down to a page
// (9223372036854771712 with 4 KiB pages). Anything at or above 2^62 is
// beyond any real machine and is treated the same way, which also covers
// 64 KiB pages.
const v1Unlimited = 1 << 62

// ParseBytes parses a memory limit value: "max" (v2), a v1 "unlimited"
// sentinel or -1 mean no limit and yield 0; otherwise a byte count.
func ParseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "max" || s == "-1" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want a byte count or \"max\", got %q", s)
	}
	if v >= v1Unlimited || v > math.MaxInt64 {
		return 0, nil
	}
	return int64(v), nil
}
