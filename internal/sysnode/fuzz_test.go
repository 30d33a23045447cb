package sysnode

import (
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gotune/gotune/internal/cpulist"
)

// checkAlloc fails t if fn allocates more than limit bytes: every parser
// must cost what its input is worth (issue 15).
func checkAlloc(t *testing.T, name string, limit int, fn func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > uint64(limit) {
		t.Fatalf("%s allocated %d bytes, want at most %d", name, n, limit)
	}
}

func FuzzParseDistance(f *testing.F) {
	for _, s := range []string{"10\n", "10 21 31", "", "10 x", "255 256"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var d []int
		var err error
		checkAlloc(t, "ParseDistance", 32*len(s)+64<<10, func() { d, err = ParseDistance(s) })
		if err == nil && len(d) != len(strings.Fields(s)) {
			t.Fatalf("ParseDistance(%q) = %v: wrong count", s, d)
		}
	})
}

func FuzzParseNodeMeminfo(f *testing.F) {
	for _, s := range []string{"Node 0 MemTotal: 4550128 kB\nNode 0 MemFree: 3311860 kB\n", "Node 0 MemTotal: 1\n", "", "Node 0 MemTotal: 99999999999999999999 kB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkAlloc(t, "ParseNodeMeminfo", 32*len(s)+64<<10, func() { _, _ = ParseNodeMeminfo(s) })
		checkAlloc(t, "ParseMeminfo", 32*len(s)+64<<10, func() { _, _ = ParseMeminfo(s) })
	})
}

func FuzzParseNumastat(f *testing.F) {
	for _, s := range []string{"numa_hit 453402\nnuma_miss 0\n", "x", "a 1 2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var st Numastat
		var err error
		checkAlloc(t, "ParseNumastat", 32*len(s)+64<<10, func() { st, err = ParseNumastat(s) })
		if err == nil && len(st.Names) != len(st.Values) {
			t.Fatalf("ParseNumastat(%q) = %+v: names and values differ in length", s, st)
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{
		"Cpus_allowed:\tffff\nCpus_allowed_list:\t0-15\nMems_allowed:\t00000001\nMems_allowed_list:\t0\n",
		"Cpus_allowed:\tf0,00000000\n", "Cpus_allowed_list:\t0-15:2/4\n", "Threads:\t-1\n",
		"Cpus_allowed_list:\t0-65535\n", "Cpus_allowed_list:\t0-16383,0-16383,0-16383\nMems_allowed_list:\t0-16383\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var st Status
		var err error
		// Two CPU lists of at most cpulist.MaxID ints each, and the lines.
		checkAlloc(t, "ParseStatus", 32*len(s)+2*cpulist.MaxID*8+64<<10, func() { st, err = ParseStatus(s) })
		if err == nil && (!slices.IsSorted(st.CPUs) || !slices.IsSorted(st.Mems)) {
			t.Fatalf("ParseStatus(%q) = %+v: unsorted", s, st)
		}
	})
}

func FuzzParseNumaMaps(f *testing.F) {
	for _, s := range []string{
		"00400000 default file=/bin/x mapped=2 N0=2 kernelpagesize_kB=4\n",
		"7f0000000000 bind:1 anon=3 N1=3 kernelpagesize_kB=2048\n", "0 default\n", "0 default N0=1 N0=2\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkAlloc(t, "ParseNumaMaps", 32*len(s)+128<<10, func() { _, _ = ParseNumaMaps(strings.NewReader(s), 1000) })
	})
}
