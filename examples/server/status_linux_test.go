//go:build linux

package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gotune/gotune/internal/owner"
	"github.com/gotune/gotune/numa"
)

// TestNUMARowFollowsPin: the summary's NUMA row reports the pin in effect,
// not a fixed "not pinned".
func TestNUMARowFollowsPin(t *testing.T) {
	topo, err := numa.Discover()
	if err != nil {
		t.Skipf("numa: %v", err)
	}
	sec := numaSection(topo)
	if got := sec.Summary()[0]; got.Value != "not pinned" {
		t.Fatalf("before Pin: NUMA row = %+v, want not pinned", got)
	}
	undo, err := numa.Pin(topo.Local)
	if err != nil {
		t.Skipf("numa.Pin(%d): %v", topo.Local, err)
	}
	got := sec.Summary()[0]
	procs := settingRow("GOMAXPROCS", owner.GOMAXPROCS, func(n int64) string { return strconv.FormatInt(n, 10) }, nil)
	if err := undo(); err != nil {
		t.Errorf("undo: %v", err)
	}
	if want := "node " + strconv.Itoa(topo.Local); got.Value != want || got.Source != "numa" {
		t.Errorf("pinned: NUMA row = %+v, want %s from numa", got, want)
	}
	// numa owns GOMAXPROCS while pinned, where it moved it.
	if who, _, _ := owner.Holder(owner.GOMAXPROCS); who == owner.NUMA && (procs.Source != "numa" || !strings.Contains(procs.Reason, "numa.Pin")) {
		t.Errorf("pinned: GOMAXPROCS row = %+v, want numa as the source", procs)
	}
	if got := sec.Summary()[0]; got.Value != "not pinned" {
		t.Errorf("after undo: NUMA row = %+v, want not pinned", got)
	}
}
