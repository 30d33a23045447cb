package status

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Section is one part of the page.
type Section struct {
	// Name titles the section and keys it in the JSON.
	Name string
	// Snapshot returns the section's current figures; it must be safe to
	// call from any goroutine and should not block.
	Snapshot func() any
}

// Handler serves the status page. Add sections with [New] or
// [Handler.Add]. It is safe for concurrent use.
type Handler struct {
	mu       sync.RWMutex
	title    string
	sections []Section
	now      func() time.Time
}

// New returns a Handler showing sections in order.
func New(sections ...Section) *Handler {
	h := &Handler{title: "gotune status", now: time.Now}
	for _, s := range sections {
		h.Add(s)
	}
	return h
}

// Add appends a section; a section with the name of an existing one
// replaces it. A Section without a Snapshot func panics: that is a
// programming error.
func (h *Handler) Add(s Section) {
	if s.Snapshot == nil {
		panic(fmt.Sprintf("status: Add(%q) without a Snapshot func", s.Name))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if i := slices.IndexFunc(h.sections, func(x Section) bool { return x.Name == s.Name }); i >= 0 {
		h.sections[i] = s
		return
	}
	h.sections = append(h.sections, s)
}

// Snapshot is the page's content: each section's figures in order.
type Snapshot struct {
	Time     time.Time       `json:"time"`
	Sections []SectionResult `json:"sections"`
}

// SectionResult is one section's figures, or the error that took their place.
type SectionResult struct {
	Name  string `json:"name"`
	Value any    `json:"value,omitempty"`
	Error string `json:"error,omitempty"`
}

// Snapshot calls every section's Snapshot func.
func (h *Handler) Snapshot() Snapshot {
	h.mu.RLock()
	secs := slices.Clone(h.sections)
	h.mu.RUnlock()
	out := Snapshot{Time: h.now().UTC(), Sections: make([]SectionResult, 0, len(secs))}
	for _, s := range secs {
		out.Sections = append(out.Sections, take(s))
	}
	return out
}

// take runs one Snapshot func and normalises its value through JSON, so the
// HTML shows exactly what the JSON says.
func take(s Section) (res SectionResult) {
	res.Name = s.Name
	defer func() {
		if p := recover(); p != nil {
			res.Value, res.Error = nil, fmt.Sprintf("snapshot panicked: %v", p)
		}
	}()
	b, err := json.Marshal(s.Snapshot())
	if err != nil {
		res.Error = "snapshot does not marshal: " + err.Error()
		return res
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		res.Error = err.Error()
		return res
	}
	res.Value = v
	return res
}

// ServeHTTP writes the page as HTML, or as JSON where asked.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	snap := h.Snapshot()
	w.Header().Set("Cache-Control", "no-store")
	if wantsJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(snap) //nolint:errcheck // the client went away
		return
	}
	refresh := 0
	if v := r.URL.Query().Get("refresh"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3600 {
			http.Error(w, fmt.Sprintf("status: bad refresh %q: want seconds in 1..3600", v), http.StatusBadRequest)
			return
		}
		refresh = n
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, pageData{Title: h.title, Snap: snap, Refresh: refresh}); err != nil {
		http.Error(w, "status: render: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Write(buf.Bytes()) //nolint:errcheck // the client went away
}

func wantsJSON(r *http.Request) bool {
	if f := r.URL.Query().Get("format"); f != "" {
		return f == "json"
	}
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}

type pageData struct {
	Title   string
	Snap    Snapshot
	Refresh int
}

var alertWords = map[string]string{
	"critical": "bad", "open": "bad", "elevated": "warn", "half-open": "warn",
}

var alertKeys = []string{"level", "state", "pressure", "breaker"}

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"kind": func(v any) string {
		switch v.(type) {
		case map[string]any:
			return "map"
		case []any:
			return "list"
		}
		return "scalar"
	},
	"keys": func(m map[string]any) []string {
		ks := make([]string, 0, len(m))
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	},
	"scalars": func(l []any) bool {
		for _, v := range l {
			switch v.(type) {
			case map[string]any, []any:
				return false
			}
		}
		return true
	},
	"join": func(l []any) string {
		parts := make([]string, len(l))
		for i, v := range l {
			parts[i] = fmt.Sprint(v)
		}
		return strings.Join(parts, ", ")
	},
	"class": func(key string, v any) string {
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
	},
	"str": func(v any) string {
		if v == nil {
			return "—"
		}
		return fmt.Sprint(v)
	},
	"ts":   func(t time.Time) string { return t.Format(time.RFC3339) },
	"slug": slug,
	"dict": func(kv ...any) map[string]any {
		m := make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
}).Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{{if .Refresh}}<meta http-equiv="refresh" content="{{.Refresh}}">{{end}}
<title>{{.Title}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.4em;margin:0 0 .2em}
h2{font-size:1.1em;margin:1.2em 0 .4em;border-bottom:1px solid #ccc}
.meta{color:#666}
table{border-collapse:collapse;margin:.2em 0}
td,th{border:1px solid #ddd;padding:2px 8px;text-align:left;vertical-align:top}
th{background:#eee;font-weight:600}
td.k{color:#555;white-space:nowrap}
.bad{background:#fdd;color:#900;font-weight:700}
.warn{background:#ffd;color:#850;font-weight:700}
.err{color:#900}
nav a{margin-right:1em}
</style></head>
<body>
<h1>{{.Title}}</h1>
<p class="meta">at {{ts .Snap.Time}} · <a href="?format=json">JSON</a> · <a href="?refresh=5">refresh every 5 s</a></p>
<nav>{{range .Snap.Sections}}<a href="#{{slug .Name}}">{{.Name}}</a>{{end}}</nav>
{{range .Snap.Sections}}
<section id="{{slug .Name}}"><h2>{{.Name}}</h2>
{{if .Error}}<p class="err">{{.Error}}</p>{{else}}{{template "value" (dict "K" .Name "V" .Value)}}{{end}}
</section>
{{end}}
</body></html>
{{define "value"}}{{$k := .K}}{{$v := .V}}{{if eq (kind $v) "map"}}<table>{{range $key := keys $v}}{{$x := index $v $key}}<tr><td class="k">{{$key}}</td><td class="{{class $key $x}}">{{template "value" (dict "K" $key "V" $x)}}</td></tr>{{end}}</table>{{else if eq (kind $v) "list"}}{{if scalars $v}}{{join $v}}{{else}}{{range $i, $x := $v}}{{template "value" (dict "K" $k "V" $x)}}{{end}}{{end}}{{else}}{{str $v}}{{end}}{{end}}`

// slug makes a section name into an HTML id: lower-case letters, digits and
// dashes ("pool http" → "pool-http").
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return "s-" + strings.TrimSuffix(b.String(), "-")
}
