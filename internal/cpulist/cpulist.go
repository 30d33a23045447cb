// Package cpulist parses and formats the Linux CPU and node list syntax used
// by sysfs, cgroup cpusets and /proc/self/status ("0-3,8,10-15:2/4").
package cpulist

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
)

// MaxID bounds the CPU or node ids a list may name. The kernel's NR_CPUS is
// at most 8192 today; a larger bound guards against lists such as "0-4294967295"
// that would otherwise allocate gigabytes.
const MaxID = 1 << 16

// Parse parses a list such as "0-3,8,10-15" or "0-15:2/4" (in each group of
// 4 starting at 0, the first 2) into sorted, de-duplicated ids. An empty or
// all-space list yields an empty, non-nil result. Errors quote the input.
func Parse(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	out := []int{}
	if s == "" {
		return out, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		if err := parseGroup(strings.TrimSpace(part), &out); err != nil {
			return nil, fmt.Errorf("cpulist: parse %q: %w", s, err)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func parseGroup(g string, out *[]int) error {
	if g == "" {
		return fmt.Errorf("empty element")
	}
	rng, stride, hasStride := strings.Cut(g, ":")
	lo, hi, isRange := strings.Cut(rng, "-")
	a, err := parseID(lo)
	if err != nil {
		return err
	}
	b := a
	if isRange {
		if b, err = parseID(hi); err != nil {
			return err
		}
		if b < a {
			return fmt.Errorf("range %q ends before it starts", rng)
		}
	}
	used, group := 1, 1
	if hasStride {
		if !isRange {
			return fmt.Errorf("stride %q without a range", g)
		}
		us, gs, ok := strings.Cut(stride, "/")
		if !ok {
			return fmt.Errorf("stride %q is not used/group", stride)
		}
		if used, err = strconv.Atoi(us); err != nil || used <= 0 {
			return fmt.Errorf("bad used count %q", us)
		}
		if group, err = strconv.Atoi(gs); err != nil || group <= 0 || used > group {
			return fmt.Errorf("bad group size %q", gs)
		}
	}
	for base := a; base <= b; base += group {
		for i := base; i < base+used && i <= b; i++ {
			*out = append(*out, i)
		}
	}
	return nil
}

func parseID(s string) (int, error) {
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, fmt.Errorf("bad id %q", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("bad id %q", s)
	}
	if n >= MaxID {
		return 0, fmt.Errorf("id %d exceeds %d", n, MaxID-1)
	}
	return n, nil
}

// Format writes ids (in any order, duplicates allowed) in the kernel's
// compact form, for example "0-3,8".
func Format(ids []int) string {
	s := slices.Clone(ids)
	slices.Sort(s)
	s = slices.Compact(s)
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(s[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(s[j]))
		}
		i = j + 1
	}
	return b.String()
}

// ParseMask parses a hexadecimal mask in the comma-separated 32-bit word form
// of /proc/self/status Cpus_allowed ("ff,ffffffff") into sorted ids.
func ParseMask(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("cpulist: parse mask %q: empty", s)
	}
	words := strings.Split(s, ",")
	if len(words)*32 > MaxID {
		return nil, fmt.Errorf("cpulist: parse mask %q: more than %d bits", s, MaxID)
	}
	out := []int{}
	for i := len(words) - 1; i >= 0; i-- {
		w := words[i]
		if w == "" || len(w) > 8 {
			return nil, fmt.Errorf("cpulist: parse mask %q: bad word %q", s, w)
		}
		v, err := strconv.ParseUint(w, 16, 32)
		if err != nil {
			return nil, fmt.Errorf("cpulist: parse mask %q: bad word %q", s, w)
		}
		base := (len(words) - 1 - i) * 32
		for v != 0 {
			bit := bits.TrailingZeros64(v)
			out = append(out, base+bit)
			v &^= 1 << bit
		}
	}
	slices.Sort(out)
	return out, nil
}

// Intersect returns the ids present in both sorted lists.
func Intersect(a, b []int) []int {
	out := []int{}
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}
