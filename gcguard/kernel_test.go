package gcguard_test

import (
	"testing"
	"time"

	"github.com/gotune/gotune/gcguard"
	"github.com/gotune/gotune/internal/testtree"
)

// kernelTree lays out a cgroup v2 pod whose memory.pressure and
// memory.events the test rewrites.
func kernelTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	testtree.Write(t, dir, testtree.With(testtree.V2Pod(), files))
}

func psiFile(avg10 string) string {
	return "some avg10=" + avg10 + " avg60=0.00 avg300=0.00 total=1\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=1\n"
}

// waitLevel waits for g's level to become want: a hang guard of 20 s, not
// a speed check (the guard reads the kernel once a second on its timer).
func waitLevel(t *testing.T, g *gcguard.Guard, want gcguard.Level, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for g.Level() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: level %v after 20 s, want %v (stats %+v)", what, g.Level(), want, g.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKernelMemoryPressure: the cgroup's memory PSI passing its threshold
// raises the level while the Go heap is far below the target, an OOM kill
// makes it critical, and the level falls back when the pressure passes.
// WithoutKernelPressure keeps the heap's level alone.
func TestKernelMemoryPressure(t *testing.T) {
	dir := t.TempDir()
	quietEvents := "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"
	kernelTree(t, dir, map[string]string{
		"sys/fs/cgroup/pod/memory.pressure": psiFile("0.00"),
		"sys/fs/cgroup/pod/memory.events":   quietEvents,
	})
	g, err := gcguard.Start(gcguard.WithRoot(dir), gcguard.WithMemoryTarget(1<<30), gcguard.WithDryRun(), gcguard.WithInterval(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	time.Sleep(200 * time.Millisecond)
	if l := g.Level(); l != gcguard.LevelOK {
		t.Fatalf("level at rest = %v, want ok", l)
	}

	kernelTree(t, dir, map[string]string{"sys/fs/cgroup/pod/memory.pressure": psiFile("25.00")})
	waitLevel(t, g, gcguard.LevelElevated, "memory PSI 25% with a small heap")
	if s := g.Stats(); s.KernelLevel != gcguard.LevelElevated || s.KernelReason == "" || s.LiveHeap > 1<<29 {
		t.Errorf("stats = kernel level %v (%q), live heap %d; want elevated by the kernel with a small heap", s.KernelLevel, s.KernelReason, s.LiveHeap)
	}
	kernelTree(t, dir, map[string]string{"sys/fs/cgroup/pod/memory.events": "low 0\nhigh 3\nmax 1\noom 1\noom_kill 1\n"})
	waitLevel(t, g, gcguard.LevelCritical, "an OOM kill in the cgroup")
	kernelTree(t, dir, map[string]string{"sys/fs/cgroup/pod/memory.pressure": psiFile("0.00")})
	waitLevel(t, g, gcguard.LevelOK, "pressure gone, no new events")

	// Opted out: the same pressure leaves the level to the heap.
	g.Stop()
	kernelTree(t, dir, map[string]string{"sys/fs/cgroup/pod/memory.pressure": psiFile("90.00")})
	g2, err := gcguard.Start(gcguard.WithRoot(dir), gcguard.WithMemoryTarget(1<<30), gcguard.WithDryRun(), gcguard.WithInterval(50*time.Millisecond), gcguard.WithoutKernelPressure())
	if err != nil {
		t.Fatal(err)
	}
	defer g2.Stop()
	time.Sleep(1500 * time.Millisecond)
	if l, s := g2.Level(), g2.Stats(); l != gcguard.LevelOK || s.KernelLevel != gcguard.LevelOK {
		t.Errorf("WithoutKernelPressure: level %v, kernel level %v; want ok", l, s.KernelLevel)
	}
}
