package status

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Section is one part of the page. Only Snapshot is required; Summary and
// Sample let a section contribute rows to the summary at the top and lines
// to the plots, without this package importing the section's package.
type Section struct {
	// Name titles the section and keys it in the JSON.
	Name string
	// Snapshot returns the section's current figures; it must be safe to
	// call from any goroutine and should not block.
	Snapshot func() any
	// Summary, if set, returns the section's rows of the summary: one per
	// decision it made, in human units, with its source and reason.
	Summary func() []Row
	// Sample, if set, returns the figures to record at each sample of the
	// history (see [Handler.Start]). It is called once a second, so it
	// should be cheap: a Stats() call, not a scan.
	Sample func() []Point
}

// Handler serves the status page. Add sections with [New] or
// [Handler.Add]; sample the plots' history with [Handler.Start]. It is safe
// for concurrent use.
type Handler struct {
	mu       sync.RWMutex
	title    string
	sections []Section
	now      func() time.Time

	hist     *history
	sampleMu sync.Mutex // one Sample at a time
	points   []Point    // reused by Sample, under sampleMu

	loopMu     sync.Mutex    // guards stop and done
	stop, done chan struct{} // the sampling loop of Start; nil when stopped
}

// New returns a Handler showing sections in order.
func New(sections ...Section) *Handler {
	h := &Handler{title: "gotune status", now: time.Now, hist: newHistory()}
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
	// Copy on write: sample and Snapshot read the slice without the lock.
	secs := slices.Clone(h.sections)
	if i := slices.IndexFunc(secs, func(x Section) bool { return x.Name == s.Name }); i >= 0 {
		secs[i] = s
	} else {
		secs = append(secs, s)
	}
	h.sections = secs
}

// Snapshot is the page's content: the summary rows, what is abnormal, and
// each section's figures in order. Its JSON keeps exact numbers, with the
// unit in the field name where the section's own JSON has it.
type Snapshot struct {
	Time     time.Time       `json:"time"`
	Alerts   []Alert         `json:"alerts"`
	Summary  []Row           `json:"summary"`
	Sections []SectionResult `json:"sections"`
}

// SectionResult is one section's figures, or the error that took their place.
type SectionResult struct {
	Name  string `json:"name"`
	Value any    `json:"value,omitempty"`
	Error string `json:"error,omitempty"`
}

// Snapshot calls every section's Snapshot and Summary funcs.
func (h *Handler) Snapshot() Snapshot {
	snap, _ := h.snapshot()
	return snap
}

func (h *Handler) snapshot() (Snapshot, []plotData) {
	h.mu.RLock()
	secs := h.sections
	h.mu.RUnlock()
	out := Snapshot{
		Time:     h.now().UTC(),
		Alerts:   []Alert{},
		Summary:  []Row{},
		Sections: make([]SectionResult, 0, len(secs)),
	}
	for _, s := range secs {
		res := take(s)
		out.Sections = append(out.Sections, res)
		if res.Error != "" {
			out.Alerts = append(out.Alerts, Alert{Level: Warn, Section: s.Name, Text: res.Error})
		}
		if s.Summary == nil {
			continue
		}
		rows, err := summary(s)
		if err != "" {
			out.Alerts = append(out.Alerts, Alert{Level: Warn, Section: s.Name, Text: err})
		}
		for _, r := range rows {
			out.Summary = append(out.Summary, r)
			if r.Level > OK {
				text := r.Name + ": " + r.Value
				if r.Reason != "" {
					text += " — " + r.Reason
				}
				out.Alerts = append(out.Alerts, Alert{Level: r.Level, Section: s.Name, Text: text})
			}
		}
	}
	plots, hot := h.hist.plots()
	for _, a := range hot {
		out.Alerts = append(out.Alerts, Alert{Level: a.level, Section: a.plot,
			Text: a.name + ": " + formatUnit(a.unit, true, a.latest)})
	}
	slices.SortStableFunc(out.Alerts, func(a, b Alert) int { return int(b.Level) - int(a.Level) })
	return out, plots
}

func summary(s Section) (rows []Row, err string) {
	defer func() {
		if p := recover(); p != nil {
			rows, err = nil, fmt.Sprintf("summary panicked: %v", p)
		}
	}()
	return s.Summary(), ""
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
	snap, plots := h.snapshot()
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
	if err := page.Execute(&buf, newPageData(h.title, snap, plots, refresh)); err != nil {
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
