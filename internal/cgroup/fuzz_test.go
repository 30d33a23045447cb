package cgroup_test

import (
	"testing"

	"github.com/gotune/gotune/internal/cgroup"
)

func FuzzParseMountInfo(f *testing.F) {
	f.Add("32 27 0:28 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n")
	f.Add(`612 610 0:31 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro master:1 - cgroup cgroup rw,cpu,cpuacct` + "\n")
	f.Add(`1 2 0:3 /a\040b /x\134 rw - cgroup2 none rw`)
	f.Add("1 2 0:3 / /x rw")
	f.Add("30 1 0:26 / sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
	f.Add("1 2 0:4 net:[4026531840] /run/netns/x rw - nsfs nsfs rw\n")
	f.Fuzz(func(t *testing.T, s string) {
		var mounts []cgroup.Mount
		var err error
		// Linear in the input, plus the scanner's 64 KiB line buffer.
		checkAlloc(t, "ParseMountInfo", 32*len(s)+128<<10, func() { mounts, err = cgroup.ParseMountInfo([]byte(s)) })
		if err != nil {
			return
		}
		for _, m := range mounts {
			if m.FSType == "" {
				t.Fatalf("ParseMountInfo(%q) gave a mount without a type: %+v", s, m)
			}
		}
	})
}

func FuzzParseProcCgroup(f *testing.F) {
	f.Add("0::/process_api/58f23e9e\n")
	f.Add("4:memory:/a\n3:cpu,cpuacct:/b\n")
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, s string) {
		var ms []cgroup.Membership
		var err error
		checkAlloc(t, "ParseProcCgroup", 32*len(s)+64<<10, func() { ms, err = cgroup.ParseProcCgroup([]byte(s)) })
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.ID < 0 || len(m.Path) == 0 || m.Path[0] != '/' {
				t.Fatalf("ParseProcCgroup(%q) = %+v", s, m)
			}
		}
	})
}

func FuzzStatusField(f *testing.F) {
	f.Add("Name:\tsvc\nCpus_allowed_list:\t0-3\n", "Cpus_allowed_list")
	f.Add("Cpus_allowed_list 0-3", "Cpus_allowed_list")
	f.Add("\x00:\n:", "")
	f.Fuzz(func(t *testing.T, status, key string) {
		var v string
		var ok bool
		checkAlloc(t, "StatusField", 32*len(status)+64<<10, func() { v, ok = cgroup.StatusField([]byte(status), key) })
		if ok && len(v) > len(status) {
			t.Fatalf("StatusField(%q, %q) = %q, longer than the input", status, key, v)
		}
	})
}

func FuzzParseCPUMax(f *testing.F) {
	for _, s := range []string{"max 100000", "50000 100000", "max", "0 1", "1 2 3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var q float64
		var err error
		checkAlloc(t, "ParseCPUMax", 64<<10, func() { q, err = cgroup.ParseCPUMax(s) })
		if err == nil && (q < 0 || q != q) {
			t.Fatalf("ParseCPUMax(%q) = %v", s, q)
		}
	})
}

func FuzzParseCFS(f *testing.F) {
	f.Add("-1", "100000")
	f.Add("50000", "100000")
	f.Add("x", "0")
	f.Fuzz(func(t *testing.T, q, p string) {
		var v float64
		var err error
		checkAlloc(t, "ParseCFS", 64<<10, func() { v, err = cgroup.ParseCFS(q, p) })
		if err == nil && v < 0 {
			t.Fatalf("ParseCFS(%q, %q) = %v", q, p, v)
		}
	})
}

func FuzzParseBytes(f *testing.F) {
	for _, s := range []string{"max", "536870912", "9223372036854771712", "-1", "12abc", "0", "2", "9223372036854775808", "18446744073709551616", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v int64
		var err error
		checkAlloc(t, "ParseBytes", 64<<10, func() { v, err = cgroup.ParseBytes(s) })
		if err == nil && v < 0 {
			t.Fatalf("ParseBytes(%q) = %d", s, v)
		}
	})
}

// FuzzRead runs the whole reader over a tree whose files hold fuzzed content.
func FuzzRead(f *testing.F) {
	f.Add("0::/a", "32 27 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw", "150000 100000", "max")
	f.Add("4:memory:/a\n3:cpu:/a", "30 25 0:27 / /c rw - cgroup cgroup rw,cpu\n31 25 0:28 / /m rw - cgroup cgroup rw,memory", "-1", "9223372036854771712")
	f.Fuzz(func(t *testing.T, pc, mi, cpu, mem string) {
		dir := t.TempDir()
		write := func(name, content string) {
			p := dir + "/" + name
			if err := mkdirWrite(p, content); err != nil {
				t.Skip(err)
			}
		}
		write("proc/self/cgroup", pc)
		write("proc/self/mountinfo", mi)
		write("sys/fs/cgroup/a/cpu.max", cpu)
		write("sys/fs/cgroup/a/memory.max", mem)
		var l cgroup.Limits
		checkAlloc(t, "Read", 1<<20, func() { l, _ = cgroup.Read(dir) })
		if l.CPUQuota < 0 || l.MemoryMax < 0 || l.MemoryHigh < 0 {
			t.Fatalf("Read gave negative limits: %+v", l)
		}
	})
}
