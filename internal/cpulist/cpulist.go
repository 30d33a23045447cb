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

// MaxID bounds the CPU or node ids a list may name: ids run from 0 to
// MaxID-1. The kernel's NR_CPUS is at most 8192 today (x86 MAXSMP, powerpc);
// twice that leaves room for a larger build while keeping [Parse]'s work
// and memory bounded whatever the input: the set is a 2 KiB bitset, a range
// is filled a word at a time, and the result holds at most MaxID ints
// (128 KiB), however often a list repeats itself.
const MaxID = 1 << 14

// set is a bitset of ids below MaxID.
type set [MaxID / 64]uint64

// fill sets the ids a..b (inclusive).
func (s *set) fill(a, b int) {
	for a <= b {
		w, bit := a/64, a%64
		n := min(64-bit, b-a+1)
		mask := ^uint64(0)
		if n < 64 {
			mask = (1<<n - 1) << bit
		}
		s[w] |= mask
		a += n
	}
}

func (s *set) ids() []int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	out := make([]int, 0, n)
	for i, w := range s {
		for w != 0 {
			b := bits.TrailingZeros64(w)
			out = append(out, i*64+b)
			w &^= 1 << b
		}
	}
	return out
}

// quote quotes s for an error, cut to its first 64 bytes: a hostile file can
// be large, and the error must not be.
func quote(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "…"
	}
	return strconv.Quote(s)
}

// Parse parses a list such as "0-3,8,10-11" or "0-15:2/4" (in each group of
// 4 starting at 0, the first 2) into sorted, de-duplicated ids. An empty or
// all-space list yields an empty, non-nil result. Ids must be below [MaxID].
// Errors quote (the start of) the input.
func Parse(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return []int{}, nil
	}
	var ids set
	for part := range strings.SplitSeq(s, ",") {
		if err := parseGroup(strings.TrimSpace(part), &ids); err != nil {
			return nil, fmt.Errorf("cpulist: parse %s: %w", quote(s), err)
		}
	}
	return ids.ids(), nil
}

func parseGroup(g string, ids *set) error {
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
			return fmt.Errorf("range %s ends before it starts", quote(rng))
		}
	}
	if !hasStride {
		ids.fill(a, b)
		return nil
	}
	if !isRange {
		return fmt.Errorf("stride %s without a range", quote(g))
	}
	us, gs, ok := strings.Cut(stride, "/")
	if !ok {
		return fmt.Errorf("stride %s is not used/group", quote(stride))
	}
	used, err := strconv.Atoi(us)
	if err != nil || used <= 0 {
		return fmt.Errorf("bad used count %s", quote(us))
	}
	group, err := strconv.Atoi(gs)
	if err != nil || group <= 0 || used > group {
		return fmt.Errorf("bad group size %s", quote(gs))
	}
	if used == group {
		ids.fill(a, b)
		return nil
	}
	// At most MaxID/group groups, each filled a word at a time.
	for base := a; base <= b; base += group {
		ids.fill(base, min(base+used-1, b))
	}
	return nil
}

func parseID(s string) (int, error) {
	if s == "" || s[0] == '+' || s[0] == '-' || len(s) > 9 {
		return 0, fmt.Errorf("bad id %s", quote(s))
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("bad id %s", quote(s))
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
		return nil, fmt.Errorf("cpulist: parse mask %s: empty", quote(s))
	}
	if (strings.Count(s, ",")+1)*32 > MaxID {
		return nil, fmt.Errorf("cpulist: parse mask %s: more than %d bits", quote(s), MaxID)
	}
	words := strings.Split(s, ",")
	var ids set
	for i := len(words) - 1; i >= 0; i-- {
		w := words[i]
		if w == "" || len(w) > 8 {
			return nil, fmt.Errorf("cpulist: parse mask %s: bad word %s", quote(s), quote(w))
		}
		v, err := strconv.ParseUint(w, 16, 32)
		if err != nil {
			return nil, fmt.Errorf("cpulist: parse mask %s: bad word %s", quote(s), quote(w))
		}
		base := (len(words) - 1 - i) * 32
		ids[base/64] |= v << (base % 64)
	}
	return ids.ids(), nil
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
