package sysnode

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tree writes files (path → content) under a new temporary root.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestParseDistance(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"10\n", []int{10}, false},
		{"10 21 31\n", []int{10, 21, 31}, false},
		{"", nil, true},
		{"10 x", nil, true},
		{"10 -1", nil, true},
		{"10 256", nil, true},
	}
	for _, tc := range tests {
		got, err := ParseDistance(tc.in)
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
			t.Errorf("ParseDistance(%q) = %v, %v, want %v (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "sysnode:") {
			t.Errorf("ParseDistance(%q) error %q lacks the package prefix", tc.in, err)
		}
	}
}

func TestParseNodeMeminfo(t *testing.T) {
	in := "Node 1 MemTotal:       66060144 kB\nNode 1 MemFree:        50000000 kB\nNode 1 MemUsed:        16060144 kB\nNode 1 HugePages_Total:     0\n"
	got, err := ParseNodeMeminfo(in)
	want := NodeMem{Total: 66060144 * 1024, Free: 50000000 * 1024, Used: 16060144 * 1024}
	if err != nil || got != want {
		t.Errorf("ParseNodeMeminfo(%q) = %+v, %v, want %+v", in, got, err, want)
	}
	for _, bad := range []string{"", "Node 0 MemFree: 1 kB\n", "Node 0 MemTotal: x kB\n", "Node 0 MemTotal: 1 MB\n", "Node 0 MemTotal: 18446744073709551615 kB\n"} {
		if got, err := ParseNodeMeminfo(bad); err == nil {
			t.Errorf("ParseNodeMeminfo(%q) = %+v, want error", bad, got)
		}
	}
}

func TestParseMeminfo(t *testing.T) {
	in := "MemTotal:        8041524 kB\nMemFree:         6000000 kB\nMemAvailable:    7000000 kB\n"
	got, err := ParseMeminfo(in)
	want := NodeMem{Total: 8041524 * 1024, Free: 6000000 * 1024, Used: (8041524 - 6000000) * 1024}
	if err != nil || got != want {
		t.Errorf("ParseMeminfo(%q) = %+v, %v, want %+v", in, got, err, want)
	}
	for _, bad := range []string{"", "MemTotal:\n", "MemTotal: q kB\n"} {
		if got, err := ParseMeminfo(bad); err == nil {
			t.Errorf("ParseMeminfo(%q) = %+v, want error", bad, got)
		}
	}
}

func TestParseNumastat(t *testing.T) {
	in := "numa_hit 453402\nnuma_miss 0\nnuma_foreign 0\ninterleave_hit 1201\nlocal_node 453402\nother_node 7\n"
	got, err := ParseNumastat(in)
	if err != nil {
		t.Fatalf("ParseNumastat(%q) error %v", in, err)
	}
	wantNames := []string{"numa_hit", "numa_miss", "numa_foreign", "interleave_hit", "local_node", "other_node"}
	wantValues := []uint64{453402, 0, 0, 1201, 453402, 7}
	if !slices.Equal(got.Names, wantNames) || !slices.Equal(got.Values, wantValues) {
		t.Errorf("ParseNumastat(%q) = %v %v, want %v %v", in, got.Names, got.Values, wantNames, wantValues)
	}
	for _, bad := range []string{"numa_hit\n", "numa_hit 1 2\n", "numa-hit 1\n", "numa_hit -1\n"} {
		if got, err := ParseNumastat(bad); err == nil {
			t.Errorf("ParseNumastat(%q) = %+v, want error", bad, got)
		}
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		cpus     []int
		mems     []int
		hasCPUs  bool
		hasMems  bool
		threads  int
		wantErrs bool
	}{
		{"lists", "Threads:\t9\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\nMems_allowed:\t00000000,00000001\nMems_allowed_list:\t0\n",
			[]int{0, 1}, []int{0}, true, true, 9, false},
		{"masks only", "Cpus_allowed:\tf0,00000000\nMems_allowed:\t00000000,00000003\n",
			[]int{36, 37, 38, 39}, []int{0, 1}, true, true, 0, false},
		{"list wins over mask", "Cpus_allowed:\tff\nCpus_allowed_list:\t2-3\n", []int{2, 3}, nil, true, false, 0, false},
		{"stride syntax", "Cpus_allowed_list:\t0-15:2/4\n", []int{0, 1, 4, 5, 8, 9, 12, 13}, nil, true, false, 0, false},
		{"absent", "Name:\tx\n", nil, nil, false, false, 0, false},
		{"bad list", "Cpus_allowed_list:\t3-1\n", nil, nil, false, false, 0, true},
		{"bad mask", "Cpus_allowed:\tzz\n", nil, nil, false, false, 0, true},
		{"bad threads", "Threads:\tmany\n", nil, nil, false, false, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStatus(tc.in)
			if tc.wantErrs {
				if err == nil {
					t.Errorf("ParseStatus(%q) = %+v, want error", tc.in, got)
				}
				return
			}
			if err != nil || !slices.Equal(got.CPUs, tc.cpus) || !slices.Equal(got.Mems, tc.mems) ||
				got.HasCPUs != tc.hasCPUs || got.HasMems != tc.hasMems || got.Threads != tc.threads {
				t.Errorf("ParseStatus(%q) = %+v, %v, want cpus %v mems %v has %v/%v threads %d",
					tc.in, got, err, tc.cpus, tc.mems, tc.hasCPUs, tc.hasMems, tc.threads)
			}
		})
	}
}

func TestParseNumaMaps(t *testing.T) {
	in := `00400000 default file=/bin/svc mapped=512 N0=512 kernelpagesize_kB=4
00c00000 default anon=2048 dirty=2048 N0=1536 N1=512 kernelpagesize_kB=4
7f0000000000 default anon=3 N1=3 kernelpagesize_kB=2048
7f1000000000 bind:1 anon=100 N1=100
7ffd1c3f0000 default
`
	got, err := ParseNumaMaps(strings.NewReader(in), 0)
	want := map[int]uint64{
		0: (512 + 1536) * 4096,
		1: 512*4096 + 3*2048*1024 + 100*4096, // no kernelpagesize_kB: 4 KiB
	}
	if err != nil || !maps.Equal(got, want) {
		t.Errorf("ParseNumaMaps = %v, %v, want %v", got, err, want)
	}
	if _, err := ParseNumaMaps(strings.NewReader(in), 2); err == nil {
		t.Errorf("ParseNumaMaps with maxLines 2 on 5 lines: no error")
	}
	for _, bad := range []string{"0 default N0=x\n", "0 default N99999999=1\n", "0 default N0=1 kernelpagesize_kB=0\n", "0 default N0=1 kernelpagesize_kB=x\n"} {
		if got, err := ParseNumaMaps(strings.NewReader(bad), 0); err == nil {
			t.Errorf("ParseNumaMaps(%q) = %v, want error", bad, got)
		}
	}
}

func TestReadNodes(t *testing.T) {
	root := tree(t, map[string]string{
		NodeDir + "/online":          "0,2\n",
		NodeDir + "/has_memory":      "0\n",
		NodeDir + "/node0/cpulist":   "0-1\n",
		NodeDir + "/node0/distance":  "10 20\n",
		NodeDir + "/node0/meminfo":   "Node 0 MemTotal: 100 kB\nNode 0 MemFree: 50 kB\n",
		NodeDir + "/node2/cpumap":    "0c\n", // no cpulist: the mask is used
		NodeDir + "/node2/distance":  "20 10\n",
		NodeDir + "/node2/meminfo":   "Node 2 MemTotal: 0 kB\n",
		NodeDir + "/node5/cpulist":   "9\n", // not online: ignored
		NodeDir + "/node5/distance":  "99\n",
		"sys/devices/system/cpu/one": "x",
	})
	got, err := ReadNodes(root)
	if err != nil {
		t.Fatalf("ReadNodes: %v", err)
	}
	if !got.Present || !slices.Equal(got.Online, []int{0, 2}) || len(got.Nodes) != 2 {
		t.Fatalf("ReadNodes = %+v, want nodes 0 and 2", got)
	}
	n2 := got.Nodes[1]
	if n2.ID != 2 || !slices.Equal(n2.CPUs, []int{2, 3}) || n2.HasMem || !slices.Equal(n2.Distances, []int{20, 10}) {
		t.Errorf("ReadNodes node 2 = %+v, want cpus 2-3 from cpumap, no memory, distances 20 10", n2)
	}
	if n0 := got.Nodes[0]; !n0.HasMem || n0.Mem.Total != 100*1024 {
		t.Errorf("ReadNodes node 0 = %+v, want 100 KiB of memory", n0)
	}

	// Without an online file the node directories are listed.
	root = tree(t, map[string]string{
		NodeDir + "/node1/cpulist":  "0\n",
		NodeDir + "/node10/cpulist": "1\n",
		NodeDir + "/nodeX/cpulist":  "1\n",
		NodeDir + "/possible":       "0-10\n",
	})
	if got, err := ReadNodes(root); err != nil || !slices.Equal(got.Online, []int{1, 10}) || got.Nodes[1].HasMem {
		t.Errorf("ReadNodes(no online file) = %+v, %v, want online 1,10", got, err)
	}

	// No node directory: not an error.
	if got, err := ReadNodes(t.TempDir()); err != nil || got.Present {
		t.Errorf("ReadNodes(empty root) = %+v, %v, want Present false", got, err)
	}

	bad := map[string]map[string]string{
		"distance count": {NodeDir + "/online": "0-1\n", NodeDir + "/node0/distance": "10\n", NodeDir + "/node1/distance": "10 20\n"},
		"distance value": {NodeDir + "/online": "0\n", NodeDir + "/node0/distance": "ten\n"},
		"cpulist":        {NodeDir + "/online": "0\n", NodeDir + "/node0/cpulist": "0-\n"},
		"online":         {NodeDir + "/online": "a\n"},
		"meminfo":        {NodeDir + "/online": "0\n", NodeDir + "/node0/meminfo": "Node 0 MemTotal: lots kB\n"},
	}
	for name, files := range bad {
		if got, err := ReadNodes(tree(t, files)); err == nil {
			t.Errorf("ReadNodes(bad %s) = %+v, want error", name, got)
		} else if !strings.Contains(err.Error(), "sysnode") {
			t.Errorf("ReadNodes(bad %s) error %q lacks the prefix", name, err)
		}
	}
}

func TestReadFileBounded(t *testing.T) {
	root := tree(t, map[string]string{"big": strings.Repeat("x", maxFile+1), "ok": "fine"})
	if _, err := ReadFile(root, "big"); err == nil {
		t.Errorf("ReadFile(big) read more than %d bytes without error", maxFile)
	}
	if s, err := ReadFile(root, "ok"); err != nil || s != "fine" {
		t.Errorf("ReadFile(ok) = %q, %v", s, err)
	}
	if _, err := ReadFile(root, "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile(missing) error %v, want fs.ErrNotExist", err)
	}
}

func TestTasks(t *testing.T) {
	tids, err := Tasks("/")
	if err != nil {
		t.Skipf("no /proc/self/task here: %v", err)
	}
	if !slices.Contains(tids, os.Getpid()) {
		t.Errorf("Tasks(/) = %v, want it to include the main thread %d", tids, os.Getpid())
	}
}
