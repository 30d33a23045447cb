package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInspectFixture(t *testing.T) {
	root := filepath.Join("..", "..", "internal", "cgroup", "testdata", "v1-container")
	var b bytes.Buffer
	if err := run(&b, root, false, false, -1); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cgroup", "v1 /docker/abc", "1.5 CPUs", "2 [1-2]", "512MiB", "GOMEMLIMIT", "460.8MiB", "(cgroup: 0.9 × memory.max 512MiB)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("inspect -root %s output lacks %q:\n%s", root, want, b.String())
		}
	}
	b.Reset()
	if err := run(&b, root, true, true, -1); err != nil {
		t.Fatal(err)
	}
	var o output
	if err := json.Unmarshal(b.Bytes(), &o); err != nil {
		t.Fatalf("inspect -json: %v\n%s", err, b.String())
	}
	if o.Tune.GOMAXPROCS.After != 1 || o.Tune.Limits.MemoryMax != 512<<20 {
		t.Errorf("inspect -json -floor = %+v", o.Tune)
	}
}

func TestInspectThisHost(t *testing.T) {
	var b bytes.Buffer
	if err := run(&b, "/", false, false, -1); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "GOMAXPROCS") {
		t.Errorf("output lacks GOMAXPROCS:\n%s", b.String())
	}
}

func TestInspectBadRoot(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"proc/self/cgroup":           "0::/a\n",
		"proc/self/mountinfo":        "1 2 0:3 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
		"sys/fs/cgroup/a/memory.max": "lots\n",
	} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
	}
	err := run(&bytes.Buffer{}, dir, false, false, -1)
	if err == nil || !strings.Contains(err.Error(), `"lots"`) || !strings.Contains(err.Error(), "memory.max") {
		t.Errorf("inspect on a bad root: error = %v, want it to name the file and value", err)
	}
}

// TestInspectNUMA reads the real 16-CPU capture: one node with all 16 CPUs.
func TestInspectNUMA(t *testing.T) {
	root := filepath.Join("testdata", "cgroup2-nested-16cpu") // a copy of shared/fixtures/cgroup2-nested-16cpu
	var b bytes.Buffer
	if err := run(&b, root, false, false, -1); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"-- numa", "nodes", "node 0", "cpus [0-15]", "local node", "0"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

// TestInspectPin pins this test process to node 0 and undoes it.
func TestInspectPin(t *testing.T) {
	var b bytes.Buffer
	if err := run(&b, "/", true, false, 0); err != nil {
		t.Fatal(err)
	}
	var o output
	if err := json.Unmarshal(b.Bytes(), &o); err != nil {
		t.Fatal(err)
	}
	if o.PinError != "" {
		if strings.Contains(o.PinError, "unavailable") || strings.Contains(o.PinError, "unsupported") {
			t.Skipf("pinning not available here: %s", o.PinError)
		}
		t.Fatalf("pin: %s", o.PinError)
	}
	if o.Pin == nil || o.Pin.Node != 0 || len(o.Pin.CPUs) == 0 || o.NodeNow == nil || *o.NodeNow != 0 {
		t.Errorf("pin report = %+v, node now %v", o.Pin, o.NodeNow)
	}
}
