package cgroup

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"path"
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

// maxCgroupMounts bounds the cgroup mounts ParseMountInfo keeps. A v1 host
// mounts about a dozen hierarchies and a container a few more views of
// them; a mountinfo with more is refused rather than held.
const maxCgroupMounts = 1024

// maxMountLine bounds one mountinfo line: two paths of PATH_MAX (4096)
// bytes, each at most 4 times longer escaped, and the options.
const maxMountLine = 64 << 10

// ParseMountInfo parses the content of /proc/self/mountinfo; see
// [ReadMountInfo].
func ParseMountInfo(data []byte) ([]Mount, error) {
	return ReadMountInfo(bytes.NewReader(data))
}

// ReadMountInfo parses /proc/self/mountinfo as a stream and returns its
// cgroup and cgroup2 mounts, the only ones cgroup resolution needs. Lines
// of other file systems are checked for the documented shape and dropped
// without being copied, so a mountinfo of any length costs only the cgroup
// mounts it holds (at most 1024). A line without the shape is an error
// that quotes it; so is a cgroup mount whose root or mount point is not an
// absolute, clean path (one that is relative or climbs with ".." could
// lead the reader out of the root).
func ReadMountInfo(r io.Reader) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxMountLine)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		m, ok, err := parseMountLine(line)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if len(out) == maxCgroupMounts {
			return nil, fmt.Errorf("cgroup: mountinfo has more than %d cgroup mounts", maxCgroupMounts)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cgroup: read mountinfo: %w", err)
	}
	return out, nil
}

// fields splits b at spaces into f without allocating and returns how
// many fields there were (more than len(f) are counted, not kept).
func fields(b []byte, f [][]byte) int {
	n := 0
	for {
		for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
			b = b[1:]
		}
		if len(b) == 0 {
			return n
		}
		i := bytes.IndexAny(b, " \t")
		if i < 0 {
			i = len(b)
		}
		if n < len(f) {
			f[n] = b[:i]
		}
		n++
		b = b[i:]
	}
}

// parseMountLine parses
// "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue";
// ok is false for a well-formed line of another file system.
func parseMountLine(line []byte) (Mount, bool, error) {
	i := bytes.Index(line, []byte(" - "))
	if i < 0 {
		return Mount{}, false, fmt.Errorf("cgroup: mountinfo line %s: no \" - \" separator", quoteLine(line))
	}
	var f [6][]byte
	var g [3][]byte
	nf, ng := fields(line[:i], f[:]), fields(line[i+3:], g[:])
	if nf < 6 || ng < 2 {
		return Mount{}, false, fmt.Errorf("cgroup: mountinfo line %s: too few fields", quoteLine(line))
	}
	var fstype string
	switch string(g[0]) { // a conversion the compiler does not allocate for
	case "cgroup":
		fstype = "cgroup"
	case "cgroup2":
		fstype = "cgroup2"
	default:
		return Mount{}, false, nil
	}
	m := Mount{
		Root:       unescapeOctal(string(f[3])),
		MountPoint: unescapeOctal(string(f[4])),
		FSType:     fstype,
	}
	for _, p := range []string{m.Root, m.MountPoint} {
		if !path.IsAbs(p) || path.Clean(p) != p {
			return Mount{}, false, fmt.Errorf("cgroup: mountinfo line %s: path %s is not absolute and clean", quoteLine(line), quote(p))
		}
	}
	if ng >= 3 {
		m.Options = strings.Split(string(g[2]), ",")
	}
	return m, true, nil
}

// quote quotes a value for an error, cut to 64 bytes: the error must stay
// small whatever the file holds.
func quote(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "…"
	}
	return strconv.Quote(s)
}

// quoteLine quotes a line for an error, cut to 200 bytes.
func quoteLine(b []byte) string {
	if len(b) > 200 {
		return strconv.Quote(string(b[:200])) + "…"
	}
	return strconv.Quote(string(b))
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

// maxMemberships bounds the lines of /proc/self/cgroup: one per mounted
// hierarchy, a dozen or so on a v1 host.
const maxMemberships = 256

// ParseProcCgroup parses the content of /proc/self/cgroup
// ("4:memory:/a/b", "0::/a/b"), at most 256 lines.
func ParseProcCgroup(data []byte) ([]Membership, error) {
	var out []Membership
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if len(out) == maxMemberships {
			return nil, fmt.Errorf("cgroup: /proc/self/cgroup has more than %d lines", maxMemberships)
		}
		id, rest, ok := strings.Cut(line, ":")
		ctl, path, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 {
			return nil, fmt.Errorf("cgroup: /proc/self/cgroup line %s: want id:controllers:path", quoteLine([]byte(line)))
		}
		n, err := strconv.Atoi(id)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("cgroup: /proc/self/cgroup line %s: bad hierarchy id", quoteLine([]byte(line)))
		}
		if !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("cgroup: /proc/self/cgroup line %s: path is not absolute", quoteLine([]byte(line)))
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
		return 0, fmt.Errorf("want \"quota period\", got %s", quote(s))
	}
	period := uint64(100000)
	if len(f) == 2 {
		p, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil || p == 0 {
			return 0, fmt.Errorf("bad period in %s", quote(s))
		}
		period = p
	}
	if f[0] == "max" {
		return 0, nil
	}
	q, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil || q == 0 {
		return 0, fmt.Errorf("bad quota in %s", quote(s))
	}
	return float64(q) / float64(period), nil
}

// ParseCFS turns v1 cpu.cfs_quota_us and cpu.cfs_period_us values into CPUs;
// a negative quota means no quota and yields 0.
func ParseCFS(quota, period string) (float64, error) {
	q, err := strconv.ParseInt(strings.TrimSpace(quota), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad quota %s", quote(strings.TrimSpace(quota)))
	}
	if q < 0 {
		return 0, nil
	}
	if q == 0 {
		return 0, fmt.Errorf("bad quota %s", quote(strings.TrimSpace(quota)))
	}
	p, err := strconv.ParseInt(strings.TrimSpace(period), 10, 64)
	if err != nil || p <= 0 {
		return 0, fmt.Errorf("bad period %s", quote(strings.TrimSpace(period)))
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
		return 0, fmt.Errorf("want a byte count or \"max\", got %s", quote(s))
	}
	if v >= v1Unlimited || v > math.MaxInt64 {
		return 0, nil
	}
	return int64(v), nil
}
