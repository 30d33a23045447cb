package sysnode

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gotune/gotune/internal/cpulist"
)

// ParseDistance parses a node's distance file ("10 21 31"). The kernel
// writes one distance per online node, in online-node order, not indexed by
// node id, so the caller maps positions to ids with the online list.
func ParseDistance(data string) ([]int, error) {
	fields := strings.Fields(data)
	if len(fields) == 0 {
		return nil, fmt.Errorf("sysnode: parse distance %q: empty", truncate(data))
	}
	out := make([]int, len(fields))
	for i, f := range fields {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || n > 255 {
			// The kernel stores distances in a byte.
			return nil, fmt.Errorf("sysnode: parse distance %q: bad value %q", truncate(data), truncate(f))
		}
		out[i] = n
	}
	return out, nil
}

// NodeMem is the part of a node's meminfo file that gotune reports, in bytes.
type NodeMem struct {
	Total uint64
	Free  uint64
	Used  uint64
}

// ParseNodeMeminfo parses /sys/devices/system/node/nodeN/meminfo
// ("Node 0 MemTotal:  4550128 kB"). Lines other than MemTotal, MemFree and
// MemUsed are ignored; a missing MemTotal is an error.
func ParseNodeMeminfo(data string) (NodeMem, error) {
	var m NodeMem
	var haveTotal bool
	for line := range strings.Lines(data) {
		f := strings.Fields(line)
		// "Node", id, "Key:", value, ["kB"]
		if len(f) < 4 || f[0] != "Node" {
			continue
		}
		var dst *uint64
		switch f[2] {
		case "MemTotal:":
			dst, haveTotal = &m.Total, true
		case "MemFree:":
			dst = &m.Free
		case "MemUsed:":
			dst = &m.Used
		default:
			continue
		}
		v, err := strconv.ParseUint(f[3], 10, 64)
		if err != nil {
			return NodeMem{}, fmt.Errorf("sysnode: parse node meminfo: bad value in %q", truncate(strings.TrimSpace(line)))
		}
		mult := uint64(1)
		if len(f) >= 5 {
			switch f[4] {
			case "kB":
				mult = 1024
			default:
				return NodeMem{}, fmt.Errorf("sysnode: parse node meminfo: unknown unit in %q", truncate(strings.TrimSpace(line)))
			}
		}
		if v > (1<<64-1)/mult {
			return NodeMem{}, fmt.Errorf("sysnode: parse node meminfo: value overflows in %q", truncate(strings.TrimSpace(line)))
		}
		*dst = v * mult
	}
	if !haveTotal {
		return NodeMem{}, fmt.Errorf("sysnode: parse node meminfo: no MemTotal line in %q", truncate(data))
	}
	return m, nil
}

// ParseMeminfo parses /proc/meminfo for MemTotal and MemFree, used when a
// host has no node directory and is treated as one node.
func ParseMeminfo(data string) (NodeMem, error) {
	var m NodeMem
	var haveTotal bool
	for line := range strings.Lines(data) {
		key, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *uint64
		switch key {
		case "MemTotal":
			dst, haveTotal = &m.Total, true
		case "MemFree":
			dst = &m.Free
		default:
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return NodeMem{}, fmt.Errorf("sysnode: parse meminfo: no value in %q", truncate(strings.TrimSpace(line)))
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil || v > (1<<64-1)/1024 {
			return NodeMem{}, fmt.Errorf("sysnode: parse meminfo: bad value in %q", truncate(strings.TrimSpace(line)))
		}
		if len(f) > 1 && f[1] == "kB" {
			v *= 1024
		}
		*dst = v
	}
	if !haveTotal {
		return NodeMem{}, fmt.Errorf("sysnode: parse meminfo: no MemTotal line in %q", truncate(data))
	}
	m.Used = m.Total - min(m.Free, m.Total)
	return m, nil
}

// Numastat holds one node's numastat counters, in pages, in file order.
type Numastat struct {
	Names  []string
	Values []uint64
}

// ParseNumastat parses /sys/devices/system/node/nodeN/numastat
// ("numa_hit 453402" per line). Names are kept as the kernel writes them.
func ParseNumastat(data string) (Numastat, error) {
	var s Numastat
	for line := range strings.Lines(data) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 || !validName(f[0]) {
			return Numastat{}, fmt.Errorf("sysnode: parse numastat: bad line %q", truncate(strings.TrimSpace(line)))
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return Numastat{}, fmt.Errorf("sysnode: parse numastat: bad value in %q", truncate(strings.TrimSpace(line)))
		}
		s.Names = append(s.Names, f[0])
		s.Values = append(s.Values, v)
	}
	return s, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Status is what gotune reads from /proc/self/status.
type Status struct {
	CPUs    []int // Cpus_allowed_list, or Cpus_allowed when the list is absent
	Mems    []int // Mems_allowed_list, or Mems_allowed when the list is absent
	HasCPUs bool
	HasMems bool
	Threads int // Threads, 0 when absent
}

// ParseStatus parses the affinity and memory-node lines of a
// /proc/<pid>/status or /proc/<pid>/task/<tid>/status file.
func ParseStatus(data string) (Status, error) {
	var s Status
	var cpuMask, memMask string
	for line := range strings.Lines(data) {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		var err error
		switch key {
		case "Cpus_allowed_list":
			s.CPUs, err = cpulist.Parse(val)
			s.HasCPUs = true
		case "Mems_allowed_list":
			s.Mems, err = cpulist.Parse(val)
			s.HasMems = true
		case "Cpus_allowed":
			cpuMask = val
		case "Mems_allowed":
			memMask = val
		case "Threads":
			s.Threads, err = strconv.Atoi(val)
		}
		if err != nil {
			return Status{}, fmt.Errorf("sysnode: parse status line %q: %w", truncate(strings.TrimSpace(line)), err)
		}
	}
	var err error
	if !s.HasCPUs && cpuMask != "" {
		if s.CPUs, err = cpulist.ParseMask(cpuMask); err != nil {
			return Status{}, fmt.Errorf("sysnode: parse status Cpus_allowed: %w", err)
		}
		s.HasCPUs = true
	}
	if !s.HasMems && memMask != "" {
		if s.Mems, err = cpulist.ParseMask(memMask); err != nil {
			return Status{}, fmt.Errorf("sysnode: parse status Mems_allowed: %w", err)
		}
		s.HasMems = true
	}
	return s, nil
}

// ParseNumaMaps reads /proc/<pid>/numa_maps and returns the bytes resident
// on each node (N<node>=<pages> times the line's kernelpagesize_kB). maxLines
// bounds the work; zero means no bound.
func ParseNumaMaps(r io.Reader, maxLines int) (map[int]uint64, error) {
	out := map[int]uint64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	lines := 0
	type counted struct {
		node  int
		pages uint64
	}
	var per []counted
	for sc.Scan() {
		lines++
		if maxLines > 0 && lines > maxLines {
			return nil, fmt.Errorf("sysnode: parse numa_maps: more than %d lines", maxLines)
		}
		line := sc.Bytes()
		per = per[:0]
		pageKB := uint64(0)
		fields := bytes.Fields(line)
		for i, f := range fields {
			if i < 2 {
				continue // address and policy
			}
			switch {
			case len(f) > 1 && f[0] == 'N' && f[1] >= '0' && f[1] <= '9':
				id, pages, ok := parseNodePages(f[1:])
				if !ok {
					return nil, fmt.Errorf("sysnode: parse numa_maps: bad field %q in line %q", f, truncate(string(line)))
				}
				per = append(per, counted{id, pages})
			case bytes.HasPrefix(f, []byte("kernelpagesize_kB=")):
				v, err := strconv.ParseUint(string(f[len("kernelpagesize_kB="):]), 10, 64)
				if err != nil || v == 0 || v > 1<<24 {
					return nil, fmt.Errorf("sysnode: parse numa_maps: bad field %q in line %q", f, truncate(string(line)))
				}
				pageKB = v
			}
		}
		if len(per) > 0 && pageKB == 0 {
			pageKB = 4 // kernels before 2.6.38 omit the field
		}
		for _, c := range per {
			b := c.pages * pageKB * 1024
			if c.pages != 0 && b/c.pages != pageKB*1024 {
				return nil, fmt.Errorf("sysnode: parse numa_maps: overflow in line %q", truncate(string(line)))
			}
			out[c.node] += b
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("sysnode: read numa_maps: %w", err)
	}
	return out, nil
}

func parseNodePages(f []byte) (int, uint64, bool) {
	id, pages, ok := bytes.Cut(f, []byte("="))
	if !ok {
		return 0, 0, false
	}
	n, err := strconv.Atoi(string(id))
	if err != nil || n < 0 || n >= cpulist.MaxID {
		return 0, 0, false
	}
	p, err := strconv.ParseUint(string(pages), 10, 64)
	if err != nil || p > 1<<40 {
		return 0, 0, false
	}
	return n, p, true
}

func truncate(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}
