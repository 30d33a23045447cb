package cgroup

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"github.com/gotune/gotune/internal/cpulist"
)

// AllowedCPUs reads the CPUs the process may run on from the
// Cpus_allowed_list line of proc/self/status under root: the kernel's
// affinity mask, which already excludes CPUs outside the cpuset. ok is false
// when the file or the line is missing.
func AllowedCPUs(root string) (cpus []int, ok bool, err error) {
	r := &reader{root: root}
	b, ok, err := r.file("proc/self/status")
	if err != nil || !ok {
		return nil, false, err
	}
	v, ok := StatusField(b, "Cpus_allowed_list")
	if !ok {
		return nil, false, nil
	}
	cpus, err = cpulist.Parse(v)
	if err != nil {
		return nil, false, fmt.Errorf("cgroup: parse proc/self/status Cpus_allowed_list: %w", err)
	}
	return cpus, true, nil
}

// OnlineCPUs reads sys/devices/system/cpu/online under root. ok is false
// when the file is missing.
func OnlineCPUs(root string) (cpus []int, ok bool, err error) {
	r := &reader{root: root}
	cpus, ok = value(r, "sys/devices/system/cpu/online", cpulist.Parse)
	if len(r.errs) > 0 {
		return nil, false, r.errs[0]
	}
	return cpus, ok, nil
}

// StatusField returns the value of "Key:\tvalue" in a /proc status file.
func StatusField(status []byte, key string) (string, bool) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == key {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}
