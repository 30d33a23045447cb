package cgstat_test

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/cgstat"
)

func TestParseFlatKeyedErrors(t *testing.T) {
	for _, in := range []string{
		"nr_periods",                      // no value
		"nr_periods 1 2",                  // two values
		"nr_periods -1",                   // negative
		"nr_periods 18446744073709551616", // past uint64
		"a 1\na 2",                        // repeated
		" 1",                              // no key once trimmed? (value alone)
		strings.Repeat("k", 100) + " x",   // long line: quoted in part
	} {
		if _, err := cgstat.ParseFlatKeyed([]byte(in)); err == nil {
			t.Errorf("ParseFlatKeyed(%q) = nil error, want one", in)
		} else if len(err.Error()) > 200 {
			t.Errorf("ParseFlatKeyed(%q) error is %d bytes, want the input quoted in part", in, len(err.Error()))
		}
	}
	var many bytes.Buffer
	for i := range 200 {
		many.WriteString("k")
		many.WriteString(strings.Repeat("x", i))
		many.WriteString(" 1\n")
	}
	if _, err := cgstat.ParseFlatKeyed(many.Bytes()); err == nil {
		t.Error("ParseFlatKeyed(200 keys) = nil error, want the key bound")
	}
	m, err := cgstat.ParseFlatKeyed([]byte("nr_periods 5\n\nnr_throttled 2\n"))
	if err != nil || m["nr_periods"] != 5 || m["nr_throttled"] != 2 {
		t.Errorf("ParseFlatKeyed(two keys) = %v, %v", m, err)
	}
}

func TestParsePSI(t *testing.T) {
	p, err := cgstat.ParsePSI([]byte("some total=10 avg300=1 avg60=2 avg10=3 future=9\n"))
	if err != nil || p.Some.Avg10 != 3 || p.Some.Avg60 != 2 || p.Some.Avg300 != 1 || p.Some.Total != 10*time.Microsecond || p.Full != nil {
		t.Errorf("ParsePSI(fields in any order, one unknown) = %+v, %v", p, err)
	}
	for _, in := range []string{
		"",
		"full avg10=0 avg60=0 avg300=0 total=0", // no some
		"some avg10=0 avg60=0 avg300=0",         // no total
		"some avg10=0 avg10=0 avg60=0 total=0",  // avg300 missing, avg10 twice
		"some avg10=NaN avg60=0 avg300=0 total=0",
		"some avg10=-1 avg60=0 avg300=0 total=0",
		"some avg10=0 avg60=0 avg300=0 total=-5",
		"some avg10=0 avg60=0 avg300=0 total=0\nsome avg10=0 avg60=0 avg300=0 total=0",
		"most avg10=0 avg60=0 avg300=0 total=0",
		"some avg10 avg60=0 avg300=0 total=0",
		"some avg10=0 avg60=0 avg300=0 total=0\nfull avg10=0 avg60=0 avg300=0 total=0\nfull avg10=0 avg60=0 avg300=0 total=0",
	} {
		if _, err := cgstat.ParsePSI([]byte(in)); err == nil {
			t.Errorf("ParsePSI(%q) = nil error, want one", in)
		}
	}
	p, err = cgstat.ParsePSI([]byte("some avg10=0 avg60=0 avg300=0 total=18446744073709551615"))
	if err != nil || p.Some.Total <= 0 {
		t.Errorf("ParsePSI(largest total) = %v, %v; want it saturated, not negative", p.Some.Total, err)
	}
}

// allocBound checks that parsing in costs at most a small multiple of its
// size: a parser must cost what its input is worth.
func allocBound(t *testing.T, name string, in []byte, parse func([]byte)) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	parse(in)
	runtime.ReadMemStats(&after)
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(16*len(in)+64<<10); got > limit {
		t.Errorf("%s of %d bytes allocated %d bytes, want at most %d", name, len(in), got, limit)
	}
}

func FuzzParseFlatKeyed(f *testing.F) {
	f.Add([]byte("nr_periods 1200\nnr_throttled 552\nthrottled_usec 30123456\n"))
	f.Add([]byte("low 0\nhigh 17\nmax 4\noom 1\noom_kill 1\n"))
	f.Add([]byte("oom_kill_disable 0\nunder_oom 1\n"))
	f.Add([]byte("a 1\na 1\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		allocBound(t, "ParseFlatKeyed", in, func(b []byte) { cgstat.ParseFlatKeyed(b) })
	})
}

func FuzzParsePSI(f *testing.F) {
	f.Add([]byte("some avg10=46.00 avg60=31.50 avg300=12.02 total=30123456\nfull avg10=20.10 avg60=10.00 avg300=4.00 total=15000000\n"))
	f.Add([]byte("some avg10=0.50 avg60=0.20 avg300=0.10 total=4000\n"))
	f.Add([]byte("some total=1 avg10=1e2 avg60=0 avg300=0"))
	f.Fuzz(func(t *testing.T, in []byte) {
		allocBound(t, "ParsePSI", in, func(b []byte) {
			p, err := cgstat.ParsePSI(b)
			if err == nil && (p.Some.Avg10 < 0 || p.Some.Avg10 > 100 || p.Some.Total < 0) {
				t.Errorf("ParsePSI(%q) = %+v: out of range", b, p)
			}
		})
	})
}

func FuzzParseUint(f *testing.F) {
	f.Add([]byte("241172480\n"))
	f.Add([]byte("max\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		allocBound(t, "ParseUint", in, func(b []byte) { cgstat.ParseUint(b) })
	})
}
