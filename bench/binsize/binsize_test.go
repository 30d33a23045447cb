// Package binsize checks that the one-line import stays as light as what it
// replaces: examples/minimal (tune/auto) against bench/binsize/peers
// (automaxprocs plus automemlimit), built the same way in the same run.
//
//	go test -v ./bench/binsize
package binsize

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxRatio is the bound the API issue set: the import must not be the
// heavier choice by more than a quarter.
const maxRatio = 1.25

func goCmd(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to build the programs")
	}
	return gobin
}

func build(t *testing.T, gobin, pkg string) int64 {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command(gobin, "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func deps(t *testing.T, gobin, pkg string) int {
	t.Helper()
	b, err := exec.Command(gobin, "list", "-deps", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, b)
	}
	return len(strings.Fields(string(b)))
}

func TestMinimalAsLightAsPeers(t *testing.T) {
	gobin := goCmd(t)
	const ours, peers = "github.com/gotune/gotune/examples/minimal", "github.com/gotune/gotune/bench/binsize/peers"
	so, sp := build(t, gobin, ours), build(t, gobin, peers)
	do, dp := deps(t, gobin, ours), deps(t, gobin, peers)
	t.Logf("binary: examples/minimal %d B, automaxprocs+automemlimit %d B, ratio %.2f", so, sp, float64(so)/float64(sp))
	t.Logf("packages: examples/minimal %d, automaxprocs+automemlimit %d, ratio %.2f", do, dp, float64(do)/float64(dp))
	if r := float64(so) / float64(sp); r > maxRatio {
		t.Errorf("examples/minimal is %.2f× the size of automaxprocs+automemlimit (%d vs %d bytes), want ≤ %.2f×", r, so, sp, maxRatio)
	}
	if r := float64(do) / float64(dp); r > maxRatio {
		t.Errorf("examples/minimal links %.2f× the packages of automaxprocs+automemlimit (%d vs %d), want ≤ %.2f×", r, do, dp, maxRatio)
	}
}
