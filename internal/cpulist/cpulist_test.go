package cpulist

import (
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
	for _, in := range []string{"a", "1-", "-1", "3-1", "1,,2", "0-3:", "0-3:2", "0-3:0/2", "0-3:3/2", "1:1/2", "99999999", "0-65536", "+1", "0x3"} {
		got, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want error", in, got)
			continue
		}
		if !strings.Contains(err.Error(), `"`+in+`"`) {
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

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0-3,8", "0-15:2/4", "", "1,", "7-3", "0-65535"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := Parse(s)
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
		ids, err := ParseMask(s)
		if err != nil {
			return
		}
		if !slices.IsSorted(ids) {
			t.Fatalf("ParseMask(%q) = %v, not sorted", s, ids)
		}
	})
}
