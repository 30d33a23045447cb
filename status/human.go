package status

import (
	"encoding/json"
	"fmt"
	"html"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FormatBytes prints a byte count in binary units with three significant
// digits: "512 B", "460.8 MiB", "1 GiB".
func FormatBytes(n float64) string {
	if math.IsNaN(n) {
		return "—"
	}
	neg := ""
	if n < 0 {
		neg, n = "-", -n
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i > 0 && n >= 100 && n < 1000 {
		// One decimal more than sig3 gives, as tune's reports print them
		// ("460.8 MiB", the 0.9 share of 512 MiB).
		return neg + strings.TrimSuffix(strconv.FormatFloat(n, 'f', 1, 64), ".0") + " " + units[i]
	}
	return neg + sig3(n) + " " + units[i]
}

// FormatDuration prints a duration with three significant digits and one
// unit: "850 ns", "1.5 ms", "60 s", "2.5 min", "3 h".
func FormatDuration(d time.Duration) string {
	switch a := math.Abs(float64(d)); {
	case a == 0:
		return "0"
	case a < 1e3:
		return sig3(float64(d)) + " ns"
	case a < 1e6:
		return sig3(float64(d)/1e3) + " µs"
	case a < 1e9:
		return sig3(float64(d)/1e6) + " ms"
	case a < 120e9:
		return sig3(float64(d)/1e9) + " s"
	case a < 2*3600e9:
		return sig3(float64(d)/60e9) + " min"
	case a < 2*86400e9:
		return sig3(float64(d)/3600e9) + " h"
	default:
		return sig3(float64(d)/86400e9) + " d"
	}
}

// FormatShare prints a fraction as a percentage: 0.0009368 → "0.094 %".
func FormatShare(f float64) string {
	if math.IsNaN(f) {
		return "—"
	}
	return sig3(f*100) + " %"
}

// FormatCount prints a count with thousands separated: "12,345,678".
func FormatCount(n float64) string {
	if math.IsNaN(n) {
		return "—"
	}
	if n != math.Trunc(n) || math.Abs(n) >= 1e18 {
		return sig3(n)
	}
	s := strconv.FormatInt(int64(math.Abs(n)), 10)
	var b strings.Builder
	if n < 0 {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// FormatTime prints t relative to now: "never" for the zero time,
// "15:04:05 UTC (3 s ago)" otherwise.
func FormatTime(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t).Round(time.Second)
	rel := FormatDuration(d) + " ago"
	switch {
	case d < 0:
		rel = "in " + FormatDuration(-d)
	case d == 0:
		rel = "now"
	}
	return t.UTC().Format("15:04:05 UTC") + " (" + rel + ")"
}

// sig3 prints f with three significant digits and no trailing zeros, and no
// exponent below 1e15.
func sig3(f float64) string {
	a := math.Abs(f)
	prec := 0
	switch {
	case a == 0:
		return "0"
	case a < 1e-3, a >= 1e15:
		return strconv.FormatFloat(f, 'g', 3, 64)
	case a < 1:
		prec = 2 - int(math.Floor(math.Log10(a)))
	case a < 10:
		prec = 2
	case a < 100:
		prec = 1
	}
	s := strconv.FormatFloat(f, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if prec == 0 && a >= 10000 {
		return FormatCount(math.Round(f))
	}
	return s
}

func formatUnit(u Unit, rate bool, v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	var s string
	switch u {
	case Bytes:
		s = FormatBytes(v)
	case Share:
		s = FormatShare(v)
	default:
		s = sig3(v)
	}
	if rate {
		s += "/s"
	}
	return s
}

// render writes a section's value (as decoded from its JSON) as HTML: maps
// as indented key/value lines, scalar lists joined, histograms as a small
// bar table, and numbers in human units chosen from the key's name. It
// never produces a wide table, so the page does not scroll sideways.
func render(b *strings.Builder, path []string, v any, now time.Time) {
	switch x := v.(type) {
	case map[string]any:
		if renderHistogram(b, x) {
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteString(`<div class="kv">`)
		for _, k := range keys {
			val := x[k]
			p := append(path[:len(path):len(path)], k)
			_, nested := val.(map[string]any)
			if l, ok := val.([]any); ok && !scalars(l) {
				nested = true
			}
			if nested {
				fmt.Fprintf(b, `<div class="nest"><span class="k">%s</span>`, html.EscapeString(k))
				render(b, p, val, now)
				b.WriteString(`</div>`)
				continue
			}
			fmt.Fprintf(b, `<div><span class="k">%s</span> <span class="v%s">`, html.EscapeString(k), alertClass(k, val))
			render(b, p, val, now)
			b.WriteString(`</span></div>`)
		}
		b.WriteString(`</div>`)
	case []any:
		if scalars(x) {
			parts := make([]string, len(x))
			for i, e := range x {
				parts[i] = scalar(path, e, now)
			}
			if len(parts) == 0 {
				b.WriteString("none")
			}
			b.WriteString(html.EscapeString(strings.Join(parts, ", ")))
			return
		}
		for i, e := range x {
			fmt.Fprintf(b, `<div class="nest"><span class="k">%d</span>`, i)
			render(b, path, e, now)
			b.WriteString(`</div>`)
		}
	default:
		b.WriteString(html.EscapeString(scalar(path, v, now)))
	}
}

func scalars(l []any) bool {
	for _, v := range l {
		switch v.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return true
}

var alertWords = map[string]string{
	"critical": " bad", "open": " bad", "elevated": " warn", "half-open": " warn", "warn": " warn", "bad": " bad",
}

var alertKeys = []string{"level", "state", "pressure", "breaker", "phase"}

func alertClass(key string, v any) string {
	s, ok := v.(string)
	if !ok {
		return ""
	}
	for _, k := range alertKeys {
		if strings.Contains(strings.ToLower(key), k) {
			return alertWords[strings.ToLower(s)]
		}
	}
	return ""
}

// scalar prints one value in human units, guided by the key path that
// leads to it ("memory_max", "ttl_ns", "gc_cpu_share", "last_run").
func scalar(path []string, v any, now time.Time) string {
	key := ""
	if len(path) > 0 {
		key = strings.ToLower(path[len(path)-1])
	}
	parent := ""
	if len(path) > 1 {
		parent = strings.ToLower(path[len(path)-2])
	}
	switch x := v.(type) {
	case nil:
		return "—"
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil && len(x) >= 20 {
			return FormatTime(t, now)
		}
		if parent == "files" && x != "" && !strings.HasPrefix(x, "/") ||
			strings.HasPrefix(x, "sys/") || strings.HasPrefix(x, "proc/") {
			// tune names files relative to its root, "/" by default; the
			// page shows them as paths, as numa does.
			return "/" + x
		}
		if x == "" {
			return "—"
		}
		return x
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return number(key, parent, f)
	case float64:
		return number(key, parent, x)
	}
	return fmt.Sprint(v)
}

func number(key, parent string, f float64) string {
	isBytes := strings.HasSuffix(key, "_bytes") || strings.HasSuffix(key, "bytes") ||
		strings.HasPrefix(key, "memory_") || strings.HasPrefix(key, "swap_") ||
		(strings.Contains(parent, "memlimit") && (key == "before" || key == "after"))
	switch {
	case isBytes && f >= math.MaxInt64/2:
		return "no limit"
	case isBytes && f < 0:
		return "no limit"
	case isBytes && f == 0 && (strings.HasPrefix(key, "memory_max") || strings.HasPrefix(key, "memory_high") || key == "hard_limit_bytes"):
		return "none"
	case isBytes:
		return FormatBytes(f)
	case strings.HasSuffix(key, "_ns") || parent == "upper_bounds_ns":
		return FormatDuration(time.Duration(f))
	case strings.HasSuffix(key, "_seconds"):
		return FormatDuration(time.Duration(f * 1e9))
	case strings.HasSuffix(key, "_share") || strings.HasSuffix(key, "_ratio"):
		return FormatShare(f)
	case strings.Contains(key, "cpu_quota"):
		if f == 0 {
			return "none"
		}
		return sig3(f) + " CPUs"
	case strings.Contains(key, "gogc") || (parent == "gogc" && (key == "before" || key == "after")):
		if f < 0 {
			return "off"
		}
		return sig3(f) + " %"
	}
	return FormatCount(f)
}

// renderHistogram draws a histogram snapshot as a small table with bars.
// It knows two shapes: per-bucket counts with upper bounds in ns
// ({upper_bounds_ns, counts, count, sum_ns}) and Prometheus-style
// cumulative buckets in seconds ({count, sum, buckets: [{le, count}]}).
func renderHistogram(b *strings.Builder, m map[string]any) bool {
	var bounds []string
	var counts []float64
	var total float64
	var mean string
	num := func(v any) (float64, bool) {
		n, ok := v.(json.Number)
		if !ok {
			return 0, false
		}
		f, err := n.Float64()
		return f, err == nil
	}
	if ub, ok := m["upper_bounds_ns"].([]any); ok {
		cs, ok := m["counts"].([]any)
		if !ok || len(cs) != len(ub)+1 {
			return false
		}
		for i, c := range cs {
			f, _ := num(c)
			counts = append(counts, f)
			if i < len(ub) {
				d, _ := num(ub[i])
				bounds = append(bounds, "≤ "+FormatDuration(time.Duration(d)))
			} else if len(ub) > 0 {
				d, _ := num(ub[len(ub)-1])
				bounds = append(bounds, "> "+FormatDuration(time.Duration(d)))
			}
		}
		total, _ = num(m["count"])
		if s, ok := num(m["sum_ns"]); ok && total > 0 {
			mean = FormatDuration(time.Duration(s / total))
		}
	} else if bs, ok := m["buckets"].([]any); ok {
		if _, ok := m["count"]; !ok {
			return false
		}
		total, _ = num(m["count"])
		prev := 0.0
		for _, e := range bs {
			bm, ok := e.(map[string]any)
			if !ok {
				return false
			}
			le, _ := num(bm["le"])
			c, _ := num(bm["count"])
			bounds = append(bounds, "≤ "+FormatDuration(time.Duration(le*1e9)))
			counts = append(counts, max(c-prev, 0))
			prev = c
		}
		if len(bs) > 0 {
			bounds = append(bounds, "more")
			counts = append(counts, max(total-prev, 0))
		}
		if s, ok := num(m["sum"]); ok && total > 0 {
			mean = FormatDuration(time.Duration(s / total * 1e9))
		}
	} else {
		return false
	}
	if total == 0 {
		b.WriteString(`<span class="meta">no observations</span>`)
		return true
	}
	peak := slices.Max(counts)
	fmt.Fprintf(b, `<div class="meta">%s observations, mean %s</div><table class="hist">`, FormatCount(total), mean)
	for i, c := range counts {
		if c == 0 {
			continue // empty buckets add rows, not information
		}
		w := 100 * c / max(peak, 1)
		fmt.Fprintf(b, `<tr><td>%s</td><td class="n">%s</td><td class="bar"><span style="width:%.0f%%"></span></td></tr>`,
			html.EscapeString(bounds[i]), FormatCount(c), w)
	}
	b.WriteString(`</table>`)
	return true
}
