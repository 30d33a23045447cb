package status

import (
	"html/template"
	"strings"
)

type pageData struct {
	Title    string
	Time     string
	Refresh  int
	Alerts   []Alert
	Summary  []Row
	Plots    []template.HTML
	Flat     string // plots left out because they were zero throughout
	Sections []sectionView
}

type sectionView struct {
	Name  string
	ID    string
	Error string
	Body  template.HTML
}

// newPageData renders the parts of the page that need Go code (values in
// human units, plots) into HTML the template places as they are. Every
// string from a section passes through html.EscapeString on the way.
func newPageData(title string, snap Snapshot, plots []plotData, refresh int) pageData {
	d := pageData{
		Title:   title,
		Time:    snap.Time.Format("2006-01-02 15:04:05 UTC"),
		Refresh: refresh,
		Alerts:  snap.Alerts,
		Summary: snap.Summary,
	}
	var flat []string
	for _, p := range plots {
		// A section's plot that stayed at zero (no errors, no events) says
		// all it has to say in one line; the built-in plots always draw.
		if p.Title != PlotHeap && p.Title != PlotGCCPU && p.Title != PlotGOGC && zero(p) {
			flat = append(flat, p.Title)
			continue
		}
		var b strings.Builder
		renderPlot(&b, p)
		d.Plots = append(d.Plots, template.HTML(b.String()))
	}
	d.Flat = strings.Join(flat, ", ")
	for _, s := range snap.Sections {
		v := sectionView{Name: s.Name, ID: slug(s.Name), Error: s.Error}
		if s.Error == "" {
			var b strings.Builder
			render(&b, []string{s.Name}, s.Value, snap.Time)
			v.Body = template.HTML(b.String())
		}
		d.Sections = append(d.Sections, v)
	}
	return d
}

// zero reports whether every value of every series of p is zero or
// missing.
func zero(p plotData) bool {
	for _, s := range p.Series {
		for _, v := range s.Vals {
			if v != 0 && v == v { // v == v: not NaN
				return false
			}
		}
	}
	return true
}

var page = template.Must(template.New("page").Parse(pageHTML))

// The layout never needs more width than the screen has: the summary's
// table turns into stacked rows below 640 px, plots wrap to one column,
// and every text may break anywhere as a last resort.
const pageHTML = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{{if .Refresh}}<meta http-equiv="refresh" content="{{.Refresh}}">{{end}}
<title>{{.Title}}</title>
<style>
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;padding:1em;max-width:1400px;color:#222;background:#fafafa;overflow-wrap:anywhere}
h1{font-size:1.4em;margin:0 0 .2em}
h2{font-size:1.1em;margin:1em 0 .4em;display:inline}
.meta{color:#666}
ul.alerts{list-style:none;padding:0;margin:.6em 0}
ul.alerts li{padding:.4em .6em;margin:.2em 0;border-radius:4px}
.bad{background:#fdd;color:#900}
.warn{background:#ffd;color:#850}
.allok{background:#e8f5e9;color:#1b5e20;padding:.4em .6em;border-radius:4px}
table.summary{border-collapse:collapse;width:100%;margin:.4em 0 1em}
table.summary td,table.summary th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
table.summary th{background:#eee;font-weight:600}
table.summary td.name{font-weight:600;white-space:nowrap}
table.summary td.value{font-variant-numeric:tabular-nums}
table.summary td.source{color:#555;white-space:nowrap}
table.summary tr.bad td,table.summary tr.warn td{font-weight:600}
@media (max-width:640px){
 table.summary thead{display:none}
 table.summary tr{display:grid;grid-template-columns:auto 1fr;border-bottom:1px solid #ccc;padding:.3em 0}
 table.summary td{border:0;padding:1px 6px}
 table.summary td.source,table.summary td.reason{grid-column:1/-1}
 table.summary td.source:before{content:"source: ";color:#888}
}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,360px),1fr));gap:1em;margin:.6em 0 1em}
figure.plot{margin:0;background:#fff;border:1px solid #ddd;border-radius:4px;padding:.5em}
figure.plot figcaption{font-weight:600}
figure.plot svg{display:block;width:100%;height:7em;background:#fcfcfc}
figure.plot svg .grid{stroke:#ddd;stroke-width:1;vector-effect:non-scaling-stroke}
figure.plot svg polyline{fill:none;stroke-width:2;vector-effect:non-scaling-stroke}
.axis{color:#777;font-size:.85em}
.axis.x{display:flex;justify-content:space-between}
ul.legend{list-style:none;padding:0;margin:.2em 0 0;display:flex;flex-wrap:wrap;gap:.2em 1em;font-size:.9em}
.sw{display:inline-block;width:.8em;height:.8em;margin-right:.3em;border-radius:2px;vertical-align:middle}
details{margin:.3em 0;background:#fff;border:1px solid #ddd;border-radius:4px;padding:.2em .6em}
.kv .k{color:#555}
.kv .k:after{content:":"}
.nest{margin-left:.6em;padding-left:.6em;border-left:2px solid #eee}
.nest>.k{display:block}
.nest>.kv,.nest>.nest{margin-left:.8em}
.v.bad,.v.warn{padding:0 .3em;border-radius:3px;font-weight:700}
.err{color:#900}
table.hist{border-collapse:collapse;margin:.2em 0}
table.hist td{padding:0 6px;font-size:.9em}
table.hist td.n{text-align:right;font-variant-numeric:tabular-nums}
table.hist td.bar{width:8em}
table.hist td.bar span{display:block;height:.8em;background:#1f77b4;min-width:1px}
nav a{margin-right:1em}
</style></head>
<body>
<h1>{{.Title}}</h1>
<p class="meta">at {{.Time}} · <a href="?format=json">JSON</a> · <a href="?refresh=5">refresh every 5 s</a></p>
<section id="attention">{{if .Alerts}}<ul class="alerts">{{range .Alerts}}<li class="{{.Level}}"><b>{{.Section}}</b>: {{.Text}}</li>{{end}}</ul>{{else}}<p class="allok">Nothing abnormal: no pressure, shedding, open breaker or failing load reported.</p>{{end}}</section>
{{if .Summary}}<section id="summary"><h2>What gotune decided</h2>
<table class="summary"><thead><tr><th>setting</th><th>value</th><th>source</th><th>why</th></tr></thead><tbody>
{{range .Summary}}<tr class="row {{.Level}}"><td class="name">{{.Name}}</td><td class="value">{{.Value}}</td><td class="source">{{.Source}}</td><td class="reason">{{.Reason}}</td></tr>
{{end}}</tbody></table></section>{{end}}
{{if .Plots}}<section id="plots"><h2>The last minutes</h2><div class="plots">{{range .Plots}}{{.}}{{end}}</div>{{if .Flat}}<p class="meta">At zero throughout, not drawn: {{.Flat}}.</p>{{end}}</section>{{end}}
<section id="details"><h2>Details</h2>
<nav>{{range .Sections}}<a href="#{{.ID}}">{{.Name}}</a> {{end}}</nav>
{{range .Sections}}<details open id="{{.ID}}"><summary><h2>{{.Name}}</h2></summary>
{{if .Error}}<p class="err">{{.Error}}</p>{{else}}{{.Body}}{{end}}
</details>
{{end}}</section>
</body></html>`
