package sysnode

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/gotune/gotune/internal/cpulist"
)

// Cpuset is the cgroup cpuset that confines the process.
type Cpuset struct {
	Version int    // 1 or 2; 0 when no cpuset was found
	Dir     string // the leaf cgroup directory, relative to the root
	CPUs    []int  // intersection of the effective CPU lists on the path
	Mems    []int  // intersection of the effective memory-node lists on the path
	HasCPUs bool
	HasMems bool
}

// Mount is one line of /proc/self/mountinfo, reduced to what is needed here.
type Mount struct {
	Root       string // the mount's root within its file system
	MountPoint string
	FSType     string
	SuperOpts  []string
}

// ParseMountinfo parses /proc/self/mountinfo.
func ParseMountinfo(data string) ([]Mount, error) {
	var out []Mount
	for line := range strings.Lines(data) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		pre, post, ok := strings.Cut(line, " - ")
		f := strings.Fields(pre)
		g := strings.Fields(post)
		if !ok || len(f) < 6 || len(g) < 3 {
			return nil, fmt.Errorf("sysnode: parse mountinfo: bad line %q", truncate(line))
		}
		out = append(out, Mount{
			Root:       unescapeOctal(f[3]),
			MountPoint: unescapeOctal(f[4]),
			FSType:     g[0],
			SuperOpts:  strings.Split(g[2], ","),
		})
	}
	return out, nil
}

// unescapeOctal undoes the kernel's \ooo escaping of spaces, tabs,
// newlines and backslashes in mountinfo paths.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
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

// CgroupLine is one line of /proc/self/cgroup.
type CgroupLine struct {
	Controllers []string // empty for the v2 line "0::/path"
	Path        string
}

// ParseProcCgroup parses /proc/self/cgroup ("4:cpuset:/a/b", "0::/a/b").
func ParseProcCgroup(data string) ([]CgroupLine, error) {
	var out []CgroupLine
	for line := range strings.Lines(data) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || !strings.HasPrefix(parts[2], "/") {
			return nil, fmt.Errorf("sysnode: parse /proc/self/cgroup: bad line %q", truncate(line))
		}
		var ctl []string
		if parts[1] != "" {
			ctl = strings.Split(parts[1], ",")
		}
		out = append(out, CgroupLine{Controllers: ctl, Path: parts[2]})
	}
	return out, nil
}

// ReadCpuset finds the process's cpuset cgroup under root and intersects the
// effective CPU and memory-node lists from the leaf up to the mount point.
// Ancestors' lists are supersets of the leaf's on a sane host; intersecting
// them all never widens the result, and covers captures where a level is
// missing. A host without /proc/self/cgroup, or without a cpuset hierarchy,
// returns Version 0 and no error.
func ReadCpuset(root string) (Cpuset, error) {
	var cs Cpuset
	cgData, err := ReadFile(root, "proc/self/cgroup")
	if errors.Is(err, fs.ErrNotExist) {
		return cs, nil
	}
	if err != nil {
		return cs, fmt.Errorf("sysnode: %w", err)
	}
	lines, err := ParseProcCgroup(cgData)
	if err != nil {
		return cs, err
	}
	miData, err := ReadFile(root, "proc/self/mountinfo")
	if errors.Is(err, fs.ErrNotExist) {
		return cs, nil
	}
	if err != nil {
		return cs, fmt.Errorf("sysnode: %w", err)
	}
	mounts, err := ParseMountinfo(miData)
	if err != nil {
		return cs, err
	}
	// A v1 cpuset hierarchy wins on hybrid hosts: the v2 tree then has no
	// cpuset controller.
	for _, l := range lines {
		if !slices.Contains(l.Controllers, "cpuset") {
			continue
		}
		for _, m := range mounts {
			if m.FSType == "cgroup" && slices.Contains(m.SuperOpts, "cpuset") {
				return readCpusetDir(root, m, l.Path, 1,
					[]string{"cpuset.effective_cpus", "cpuset.cpus"},
					[]string{"cpuset.effective_mems", "cpuset.mems"})
			}
		}
	}
	for _, l := range lines {
		if len(l.Controllers) != 0 {
			continue
		}
		for _, m := range mounts {
			if m.FSType == "cgroup2" {
				return readCpusetDir(root, m, l.Path, 2,
					[]string{"cpuset.cpus.effective"},
					[]string{"cpuset.mems.effective"})
			}
		}
	}
	return cs, nil
}

func readCpusetDir(root string, m Mount, cgPath string, version int, cpuFiles, memFiles []string) (Cpuset, error) {
	cs := Cpuset{Version: version}
	// The path in /proc/self/cgroup is relative to the hierarchy's root; the
	// mount may show only a subtree of it (containers). Where the path is not
	// under the mount's root (a cgroup namespace), the mount point itself is
	// the process's cgroup as far as this mount namespace can see.
	rel := "/"
	mroot := path.Clean("/" + m.Root)
	p := path.Clean("/" + cgPath)
	if mroot == "/" {
		rel = p
	} else if p == mroot || strings.HasPrefix(p, mroot+"/") {
		rel = strings.TrimPrefix(p, mroot)
	}
	mp := strings.TrimPrefix(path.Clean("/"+m.MountPoint), "/")
	leaf := path.Join(mp, rel)
	cs.Dir = "/" + leaf
	for dir := leaf; ; dir = path.Dir(dir) {
		if err := intersectFile(root, dir, cpuFiles, &cs.CPUs, &cs.HasCPUs); err != nil {
			return cs, err
		}
		if err := intersectFile(root, dir, memFiles, &cs.Mems, &cs.HasMems); err != nil {
			return cs, err
		}
		if dir == mp || dir == "." || dir == "/" || len(dir) < len(mp) {
			break
		}
	}
	return cs, nil
}

// intersectFile reads the first of names that exists in dir and intersects
// its list into *acc. Empty lists (a v1 cpuset without tasks) are skipped.
func intersectFile(root, dir string, names []string, acc *[]int, have *bool) error {
	for _, name := range names {
		ids, err := readList(root, path.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		if *have {
			*acc = cpulist.Intersect(*acc, ids)
		} else {
			*acc, *have = ids, true
		}
		return nil
	}
	return nil
}
