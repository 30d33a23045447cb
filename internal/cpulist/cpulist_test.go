package cpulist

import (
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want []int
	}{
		{"", []int{}},
		{"  \n", []int{}},
		{"0", []int{0}},
		{"0-3", []int{0, 1, 2, 3}},
		{"0-3,8,10-11\n", []int{0, 1, 2, 3, 8, 10, 11}},
		{"3,1,2,1", []int{1, 2, 3}},
		{"0-15:2/4", []int{0, 1, 4, 5, 8, 9, 12, 13}},
		{"0-6:1/3", []int{0, 3, 6}},
		{"0-2:3/3", []int{0, 1, 2}},
		{"4-4", []int{4}},
	}
	for _, tc := range tests {
		got, err := Parse(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Parse(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"a", "1-", "-1", "3-1", "1,,2", "0-3:", "0-3:2", "0-3:0/2", "0-3:3/2", "1:1/2", "99999999", "0-65536", "0-16384", "16384", "0-65535", "9223372036854775808", "18446744073709551617", "+1", "0x3"} {
		got, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want error", in, got)
			continue
		}
		if !strings.Contains(err.Error(), quote(in)) {
			t.Errorf("Parse(%q) error %q does not quote the input", in, err)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		in   []int
		want string
	}{
		{nil, ""},
		{[]int{0}, "0"},
		{[]int{3, 2, 1, 0, 8, 10, 11, 11}, "0-3,8,10-11"},
	}
	for _, tc := range tests {
		if got := Format(tc.in); got != tc.want {
			t.Errorf("Format(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseMask(t *testing.T) {
	tests := []struct {
		in   string
		want []int
	}{
		{"ffff", []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}},
		{"00000003", []int{0, 1}},
		{"1,00000001", []int{0, 32}},
		{"0", []int{}},
	}
	for _, tc := range tests {
		got, err := ParseMask(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseMask(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "xyz", "1,,1", "123456789"} {
		if got, err := ParseMask(in); err == nil {
			t.Errorf("ParseMask(%q) = %v, want error", in, got)
		}
	}
}

func TestIntersect(t *testing.T) {
	if got := Intersect([]int{0, 1, 2, 5}, []int{1, 2, 3, 5, 9}); !slices.Equal(got, []int{1, 2, 5}) {
		t.Errorf("Intersect = %v", got)
	}
}

// maxParseBytes bounds what Parse may allocate for any input: the result
// (at most MaxID ints) plus a little for an error.
const maxParseBytes = MaxID*8 + 4096

// allocBytes returns the bytes fn allocates.
func allocBytes(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestParseRepeated is the attack from issue 15: a cpuset file of one wide
// range repeated took 603 MB and 5.5 s for 2.4 KB when every id was
// appended before de-duplicating.
func TestParseRepeated(t *testing.T) {
	for _, in := range []string{
		strings.Repeat("0-16383,", 8<<10) + "0",
		strings.Repeat("0-16383:1/2,", 5<<10) + "0",
		strings.Repeat("0-16383:63/64,", 4<<10) + "0",
		strings.Repeat("16383,", 10<<10) + "0",
	} {
		var ids []int
		var err error
		n := allocBytes(func() { ids, err = Parse(in) })
		if err != nil {
			t.Fatalf("Parse(%.20q… %d bytes) error: %v", in, len(in), err)
		}
		if n > maxParseBytes {
			t.Errorf("Parse(%.20q… %d bytes) allocated %d bytes, want at most %d", in, len(in), n, maxParseBytes)
		}
		if len(ids) > MaxID || !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
			t.Errorf("Parse(%.20q…) = %d ids, not a sorted set", in, len(ids))
		}
	}
	// The issue's own input is now an error, cheaply.
	in := strings.Repeat("0-65535,", 3<<10)
	n := allocBytes(func() { _, _ = Parse(in) })
	if _, err := Parse(in); err == nil || len(err.Error()) > 200 {
		t.Errorf("Parse(0-65535 repeated) error = %v, want a short error", err)
	}
	if n > 4096 {
		t.Errorf("Parse(0-65535 repeated) allocated %d bytes", n)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0-3,8", "0-15:2/4", "", "1,", "7-3", "0-65535", "0-16383,0-16383", "0-16383:1/2", "16383", "0-3:4/4", " 1 , 2 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var ids []int
		var err error
		if n := allocBytes(func() { ids, err = Parse(s) }); n > maxParseBytes {
			t.Fatalf("Parse(%q) allocated %d bytes, want at most %d", s, n, maxParseBytes)
		}
		if err != nil {
			return
		}
		// Round trip: formatting and parsing again gives the same set.
		again, err := Parse(Format(ids))
		if err != nil || !slices.Equal(ids, again) {
			t.Fatalf("Parse(Format(%v)) = %v, %v", ids, again, err)
		}
	})
}

func FuzzParseMask(f *testing.F) {
	for _, s := range []string{"ffff", "1,00000001", "0", "zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var ids []int
		var err error
		if n := allocBytes(func() { ids, err = ParseMask(s) }); n > maxParseBytes+MaxID/32*16 {
			t.Fatalf("ParseMask(%q) allocated %d bytes", s, n)
		}
		if err != nil {
			return
		}
		if !slices.IsSorted(ids) {
			t.Fatalf("ParseMask(%q) = %v, not sorted", s, ids)
		}
	})
}
