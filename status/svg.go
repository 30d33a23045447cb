package status

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"
)

// The plot's drawing box. The SVG scales to the page's width (height
// follows), and strokes keep their width, so it reads at 400 px and at
// 1280 px alike. Labels are HTML around the SVG, not SVG text, so they do
// not shrink with it.
const (
	plotW = 300
	plotH = 90
)

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"}

// renderPlot writes one plot: a title, the top of the scale, an inline SVG
// with a line per series, and a legend with each series' latest value. A
// plot without any value yet says so instead.
func renderPlot(b *strings.Builder, p plotData) {
	top := 0.0
	var first, last int64
	any := false
	for _, s := range p.Series {
		for j, v := range s.Vals {
			if math.IsNaN(v) {
				continue
			}
			any = true
			top = max(top, v)
			if t := s.Times[j]; first == 0 || t < first {
				first = t
			}
			last = max(last, s.Times[j])
		}
	}
	fmt.Fprintf(b, `<figure class="plot"><figcaption>%s</figcaption>`, html.EscapeString(p.Title))
	if !any {
		b.WriteString(`<p class="meta">no samples yet</p></figure>`)
		return
	}
	maxVal := top
	switch p.Unit {
	case Share:
		top = max(top, 0.01) // at least 1 %, so noise does not fill the box
	default:
		top = max(top, 1)
	}
	if p.Unit == Bytes {
		k := math.Pow(1024, math.Floor(math.Log(top*1.05)/math.Log(1024)))
		top = niceCeil(top*1.05/k) * k
	} else {
		top = niceCeil(top * 1.05)
	}
	if p.Unit == Share && top > 1 && maxVal <= 1 {
		top = 1 // a share reads against 100 %, not 200 %
	}
	span := max(time.Duration(last-first), time.Minute)
	span = min(span, HistoryLen*SampleInterval)
	rate := true // the scale reads "/s" when every line is a rate
	for _, s := range p.Series {
		rate = rate && s.Rate
	}
	fmt.Fprintf(b, `<div class="axis">%s</div>`, formatUnit(p.Unit, rate, top))
	fmt.Fprintf(b, `<svg viewBox="0 0 %d %d" preserveAspectRatio="none" role="img" aria-label="%s">`, plotW, plotH, html.EscapeString(p.Title))
	for _, f := range []float64{0, 0.5, 1} {
		y := plotH - f*plotH
		fmt.Fprintf(b, `<line x1="0" x2="%d" y1="%.1f" y2="%.1f" class="grid"/>`, plotW, y, y)
	}
	for i, s := range p.Series {
		color := palette[i%len(palette)]
		var pts strings.Builder
		flush := func() {
			if pts.Len() > 0 {
				fmt.Fprintf(b, `<polyline points="%s" stroke="%s"/>`, strings.TrimSpace(pts.String()), color)
				pts.Reset()
			}
		}
		lastX, lastY, has := 0.0, 0.0, false
		for j, v := range s.Vals {
			if math.IsNaN(v) {
				flush()
				continue
			}
			x := plotW - float64(last-s.Times[j])/float64(span)*plotW
			if x < 0 {
				continue
			}
			y := plotH - min(v/top, 1)*plotH
			fmt.Fprintf(&pts, "%.1f,%.1f ", x, y)
			lastX, lastY, has = x, y, true
		}
		flush()
		if has {
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="2" fill="%s"/>`, lastX, lastY, color)
		}
	}
	b.WriteString(`</svg>`)
	fmt.Fprintf(b, `<div class="axis x"><span>%s ago</span><span>now</span></div><ul class="legend">`, FormatDuration(span))
	for i, s := range p.Series {
		fmt.Fprintf(b, `<li><span class="sw" style="background:%s"></span>%s <b>%s</b></li>`,
			palette[i%len(palette)], html.EscapeString(s.Name), formatUnit(p.Unit, s.Rate, s.Latest))
	}
	b.WriteString(`</ul></figure>`)
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (for bytes, of
// 1024), so the scale's top reads as a round figure.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*e >= v {
			return m * e
		}
	}
	return 10 * e
}
