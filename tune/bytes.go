package tune

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseBytes parses a byte count in the syntax of the GOMEMLIMIT
// environment variable: a non-negative integer with an optional unit suffix
// B, KiB, MiB, GiB or TiB ("460MiB"). "off" yields math.MaxInt64.
func ParseBytes(s string) (int64, error) {
	if s == "off" {
		return math.MaxInt64, nil
	}
	num, mult := s, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	if num == "" || num[0] == '+' || num[0] == '-' {
		return 0, fmt.Errorf("tune: bad byte count %q: want an integer with an optional B, KiB, MiB, GiB or TiB suffix", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("tune: bad byte count %q: want an integer with an optional B, KiB, MiB, GiB or TiB suffix", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("tune: byte count %q overflows int64", s)
	}
	return n * mult, nil
}
