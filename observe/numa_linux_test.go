//go:build linux

package observe_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gotune/gotune/internal/owner"
	"github.com/gotune/gotune/numa"
	"github.com/gotune/gotune/observe"
)

// TestNUMARowFollowsPin: the summary's NUMA row reports the pin in effect,
// not a fixed "not pinned", and GOMAXPROCS names numa as its owner while
// the pin moved it.
func TestNUMARowFollowsPin(t *testing.T) {
	topo, err := numa.Discover()
	if err != nil {
		t.Skipf("numa: %v", err)
	}
	sec := observe.NUMASection(topo)
	if got := sec.Summary()[0]; got.Value != "not pinned" {
		t.Fatalf("before Pin: NUMA row = %+v, want not pinned", got)
	}
	undo, err := numa.Pin(topo.Local)
	if err != nil {
		t.Skipf("numa.Pin(%d): %v", topo.Local, err)
	}
	got := sec.Summary()[0]
	var procs struct{ Source, Reason string }
	for _, r := range observe.TuneSection(nil).Summary() {
		if r.Name == "GOMAXPROCS" {
			procs.Source, procs.Reason = r.Source, r.Reason
		}
	}
	who, _, _ := owner.Holder(owner.GOMAXPROCS)
	if err := undo(); err != nil {
		t.Errorf("undo: %v", err)
	}
	if want := "node " + strconv.Itoa(topo.Local); got.Value != want || got.Source != "numa" {
		t.Errorf("pinned: NUMA row = %+v, want %s from numa", got, want)
	}
	if who == owner.NUMA && (procs.Source != "numa" || !strings.Contains(procs.Reason, "numa.Pin")) {
		t.Errorf("pinned: GOMAXPROCS row = %+v, want numa as the source", procs)
	}
	if got := sec.Summary()[0]; got.Value != "not pinned" {
		t.Errorf("after undo: NUMA row = %+v, want not pinned", got)
	}
}
