//go:build linux

package numa

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestPinNested checks that a second Pin while one is in effect fails with
// ErrPinned, naming the node already pinned, and changes nothing: before,
// Pin(A), Pin(B), undoA() restored the masks saved before A while B still
// counted as the pin in effect.
func TestPinNested(t *testing.T) {
	topo := realTopology(t)
	local := topo.LocalNode()
	first := local.AllowedCPUs[0]
	second := local.AllowedCPUs[len(local.AllowedCPUs)-1]

	undo, err := Pin(local.ID, WithCPUs(first), WithGOMAXPROCS(false), WithMemPolicy(MemLeave))
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("pinning is unavailable here: %v", err)
	}
	if err != nil {
		t.Fatalf("Pin(%d, WithCPUs(%d)) error %v", local.ID, first, err)
	}
	defer func() { _ = undo() }()
	pinnedMasks := threadMasks(t)

	undo2, err := Pin(local.ID, WithCPUs(second), WithGOMAXPROCS(false), WithMemPolicy(MemLeave))
	if err == nil {
		_ = undo2()
		t.Fatalf("second Pin(%d, WithCPUs(%d)) while pinned: nil error, want ErrPinned", local.ID, second)
	}
	if !errors.Is(err, ErrPinned) || !strings.Contains(err.Error(), fmt.Sprintf("node %d", local.ID)) {
		t.Errorf("second Pin error %q, want ErrPinned naming node %d", err, local.ID)
	}
	if undo2 != nil {
		t.Errorf("second Pin returned a non-nil undo with error %v", err)
	}
	if p, ok := Pinned(); !ok || !slices.Equal(p.CPUs, []int{first}) {
		t.Errorf("Pinned() after a refused Pin = %+v, %v, want the first pin (cpus [%d])", p, ok, first)
	}
	for tid, m := range threadMasks(t) {
		if _, ok := pinnedMasks[tid]; ok && !slices.Equal(m, []int{first}) {
			t.Errorf("after a refused Pin: thread %d Cpus_allowed_list = %v, want [%d]", tid, m, first)
		}
	}

	if err := undo(); err != nil {
		t.Fatalf("undo() error %v", err)
	}
	if err := undo(); err != nil {
		t.Errorf("second undo() error %v", err)
	}
	// Undone: pinning is allowed again.
	undo3, err := Pin(local.ID, WithCPUs(second), WithGOMAXPROCS(false), WithMemPolicy(MemLeave))
	if err != nil {
		t.Fatalf("Pin after undo: %v", err)
	}
	if err := undo3(); err != nil {
		t.Errorf("undo() of the pin after undo: %v", err)
	}
}
