//go:build linux

package numa

import (
	"slices"
	"testing"
)

func TestMask(t *testing.T) {
	for _, ids := range [][]int{{0}, {63}, {64}, {0, 1, 63, 64, 127, 1000}, {5, 3, 5}} {
		m := maskOf(ids)
		want := sortCompact(slices.Clone(ids))
		if got := m.ids(); !slices.Equal(got, want) {
			t.Errorf("maskOf(%v).ids() = %v, want %v", ids, got, want)
		}
		hi := want[len(want)-1]
		if len(m) != hi/wordBits+1 || m.bytes() != uintptr(len(m)*wordBits/8) || m.maxnode() != uintptr(len(m)*wordBits+1) {
			t.Errorf("maskOf(%v): %d words, %d bytes, maxnode %d; want %d words, maxnode = bits + 1",
				ids, len(m), m.bytes(), m.maxnode(), hi/wordBits+1)
		}
	}
}
