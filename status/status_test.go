package status_test

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/gotune/gotune/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type poolStats struct {
	Gets      uint64 `json:"gets"`
	IdleBytes int64  `json:"idle_bytes"`
	TTL       int64  `json:"ttl_ns"`
}

// testPage is a page as a service would build it: sections with summary
// rows and sampled points, one abnormal state, one broken section, and one
// hostile name.
func testPage() *status.Handler {
	var shed atomic.Uint64
	return status.New(
		status.Section{
			Name: "tune",
			Snapshot: func() any {
				return map[string]any{
					"gomaxprocs": map[string]any{"after": 2, "source": "runtime"},
					"gomemlimit": map[string]any{"after": int64(math.MaxInt64), "before": 483183820},
					"limits":     map[string]any{"memory_max": 0, "cpu_quota": 1.5, "files": map[string]string{"cpu": "sys/fs/cgroup/cpu.max"}},
					"cpus":       []int{0, 1},
					"signals":    map[string]any{"file": "sys/fs/cgroup/cpu/pod1/cpu.stat"},
				}
			},
			Summary: func() []status.Row {
				return []status.Row{
					{Name: "GOMAXPROCS", Value: "2", Source: "runtime default", Reason: "no CPU quota; 2 CPUs allowed."},
					{Name: "GOMEMLIMIT", Value: "460.8 MiB", Source: "tune (cgroup memory.max)", Reason: "0.9 × memory.max 512 MiB."},
				}
			},
		},
		status.Section{Name: "pool buffers", Snapshot: func() any { return poolStats{Gets: 42, IdleBytes: 65536, TTL: 60e9} }},
		status.Section{
			Name: "gcguard",
			Snapshot: func() any {
				return map[string]any{"level": "critical", "last_run": time.Time{}, "gc_cpu_share": 0.0009368567769454047}
			},
			Summary: func() []status.Row {
				return []status.Row{{Name: "gcguard level", Value: "critical", Source: "gcguard", Reason: "live heap at 97 % of the target.", Level: status.Bad}}
			},
			Sample: func() []status.Point {
				return []status.Point{{Plot: status.PlotHeap, Series: "gcguard target", Unit: status.Bytes, Value: 400 << 20}}
			},
		},
		status.Section{
			Name: "server front",
			Snapshot: func() any {
				return map[string]any{
					"in_flight": 3, "requests": 1234567,
					"pool_wait": map[string]any{"upper_bounds_ns": []int64{1e6, 10e6}, "counts": []int{5, 0, 2}, "count": 7, "sum_ns": 40e6},
				}
			},
			Sample: func() []status.Point {
				n := shed.Add(5)
				return []status.Point{
					{Plot: "requests", Series: "in flight", Value: 3},
					{Plot: "requests", Series: "shed", Value: float64(n), Counter: true, Alert: status.Warn},
				}
			},
		},
		status.Section{Name: "broken", Snapshot: func() any { panic("boom") }},
		status.Section{Name: "<script>", Snapshot: func() any { return "<b>x</b>" }},
	)
}

// sampled takes n samples a second apart, as Run would.
func sampled(h *status.Handler, n int) *status.Handler {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		status.SampleAt(h, t0.Add(time.Duration(i)*time.Second))
	}
	return h
}

func get(t *testing.T, h http.Handler, target, accept string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

var tagRE = regexp.MustCompile(`(?s)<style>.*?</style>|<[^>]*>`)

// pageText is what a reader sees: the HTML without tags, styles or
// attributes (where the SVG's coordinates live).
func pageText(body string) string { return tagRE.ReplaceAllString(body, " ") }

func TestHTML(t *testing.T) {
	res, body := get(t, sampled(testPage(), 10), "/debug/gotune", "text/html")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		// the summary, with the abnormal row repeated at the top
		`<tr class="row ok"><td class="name">GOMAXPROCS</td><td class="value">2</td>`,
		`<li class="bad"><b>gcguard</b>: gcguard level: critical — live heap at 97 % of the target.</li>`,
		`<li class="warn"><b>requests</b>: shed: 5/s</li>`,
		"snapshot panicked: boom",
		// plots
		"<figcaption>heap against its limits</figcaption>", "<figcaption>requests</figcaption>", "gcguard target <b>400 MiB</b>", "shed <b>5/s</b>", "in flight <b>3</b>",
		// details in human units
		"<h2>tune</h2>", `<details open id="s-pool-buffers">`, `href="#s-pool-buffers"`,
		"64 KiB", "60 s", "0.0937 %", "never", "1,234,567", "no limit", "460.8 MiB", "1.5 CPUs",
		"/sys/fs/cgroup/cpu.max", "/sys/fs/cgroup/cpu/pod1/cpu.stat", "7 observations, mean 5.71 ms", "≤ 1 ms",
		`class="v bad">critical`,
		"&lt;script&gt;", "&lt;b&gt;x&lt;/b&gt;", `<details open id="s-script">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "src=\"http") {
		t.Errorf("HTML has a script or an external asset")
	}
	if raw := regexp.MustCompile(`\b\d{5,}\b`).FindAllString(pageText(body), -1); len(raw) > 0 {
		t.Errorf("HTML text has raw numbers %q; want human units", raw)
	}
	// The alerts come worst first.
	if strings.Index(body, `<li class="bad">`) > strings.Index(body, `<li class="warn">`) {
		t.Errorf("a warning is listed before the bad state")
	}
}

func TestNothingAbnormal(t *testing.T) {
	h := status.New(status.Section{Name: "a", Snapshot: func() any { return 1 }})
	_, body := get(t, h, "/", "")
	if !strings.Contains(body, `class="allok"`) || strings.Contains(body, `id="plots"`) {
		t.Errorf("page without alerts or samples: want the all-ok line and no plots:\n%s", body)
	}
}

func TestJSON(t *testing.T) {
	for _, tc := range []struct{ target, accept string }{{"/x?format=json", ""}, {"/x", "application/json"}} {
		res, body := get(t, sampled(testPage(), 3), tc.target, tc.accept)
		if res.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("GET %s (Accept %q) Content-Type = %q", tc.target, tc.accept, res.Header.Get("Content-Type"))
		}
		var snap status.Snapshot
		if err := json.Unmarshal([]byte(body), &snap); err != nil {
			t.Fatal(err)
		}
		if len(snap.Sections) != 6 || snap.Sections[1].Name != "pool buffers" || snap.Sections[4].Error == "" {
			t.Errorf("JSON = %s", body)
		}
		m := snap.Sections[1].Value.(map[string]any)
		if m["idle_bytes"] != float64(65536) || m["ttl_ns"] != float64(60e9) {
			t.Errorf("pool = %v, want exact idle_bytes 65536 and ttl_ns 6e10", m)
		}
		if len(snap.Summary) != 3 || snap.Summary[2].Level != status.Bad {
			t.Errorf("summary = %+v", snap.Summary)
		}
		if len(snap.Alerts) != 3 || snap.Alerts[0].Level != status.Bad {
			t.Errorf("alerts = %+v, want 3, the bad one first", snap.Alerts)
		}
		if !strings.Contains(body, `"level": "bad"`) {
			t.Errorf("levels do not marshal as names: %s", body)
		}
	}
}

func TestRefreshAndMethods(t *testing.T) {
	_, body := get(t, testPage(), "/x?refresh=7", "")
	if !strings.Contains(body, `http-equiv="refresh" content="7"`) {
		t.Errorf("no meta refresh")
	}
	res, body := get(t, testPage(), "/x?refresh=-1", "")
	if res.StatusCode != 400 || !strings.Contains(body, `"-1"`) {
		t.Errorf("bad refresh: %d %q", res.StatusCode, body)
	}
	req := httptest.NewRequest(http.MethodPost, "/x", nil)
	rec := httptest.NewRecorder()
	testPage().ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST = %d, want 405", rec.Code)
	}
}

func TestAddReplaces(t *testing.T) {
	h := status.New(status.Section{Name: "a", Snapshot: func() any { return 1 }})
	h.Add(status.Section{Name: "a", Snapshot: func() any { return 2 }})
	s := h.Snapshot()
	if len(s.Sections) != 1 || s.Sections[0].Value.(json.Number) != "2" {
		t.Errorf("Snapshot = %+v", s)
	}
	defer func() {
		if recover() == nil {
			t.Error("Add without Snapshot did not panic")
		}
	}()
	h.Add(status.Section{Name: "b"})
}

func TestFormat(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 10, 0, time.UTC)
	for _, tc := range []struct{ got, want string }{
		{status.FormatBytes(512), "512 B"},
		{status.FormatBytes(1 << 30), "1 GiB"},
		{status.FormatBytes(483183820), "460.8 MiB"},
		{status.FormatBytes(24573509632), "22.9 GiB"},
		{status.FormatDuration(60 * time.Second), "60 s"},
		{status.FormatDuration(150 * time.Second), "2.5 min"},
		{status.FormatDuration(1500 * time.Microsecond), "1.5 ms"},
		{status.FormatDuration(0), "0"},
		{status.FormatShare(0.0009368567769454047), "0.0937 %"},
		{status.FormatShare(0.5), "50 %"},
		{status.FormatCount(12345678), "12,345,678"},
		{status.FormatCount(-1234), "-1,234"},
		{status.FormatTime(time.Time{}, now), "never"},
		{status.FormatTime(now.Add(-3*time.Second), now), "12:00:07 UTC (3 s ago)"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// TestHistoryBounded feeds the ring far more samples and series than it
// holds: it keeps MaxSeries series of HistoryLen values each, counts what
// it dropped, and a sample in steady state allocates nothing.
func TestHistoryBounded(t *testing.T) {
	var i atomic.Int64
	h := status.New(status.Section{Name: "many", Snapshot: func() any { return nil }, Sample: func() []status.Point {
		n := i.Add(1)
		pts := make([]status.Point, 100)
		for j := range pts {
			pts[j] = status.Point{Plot: "p", Series: string(rune('a'+j%26)) + strings.Repeat("x", j/26), Value: float64(n)}
		}
		return pts
	}})
	sampled(h, 3*status.HistoryLen)
	series, per, dropped := status.HistoryShape(h)
	if series != status.MaxSeries || per != status.HistoryLen || dropped == 0 {
		t.Errorf("history holds %d series of %d values, dropped %d; want %d of %d, some dropped",
			series, per, dropped, status.MaxSeries, status.HistoryLen)
	}

	steady := status.New(status.Section{Name: "s", Snapshot: func() any { return nil }, Sample: func() []status.Point { return nil }})
	sampled(steady, 2)
	t0 := time.Now()
	k := 0
	allocs := testing.AllocsPerRun(100, func() {
		k++
		status.SampleAt(steady, t0.Add(time.Duration(k)*time.Second))
	})
	if allocs > 0 {
		t.Errorf("a sample allocates %v times; want 0, the ring is fixed", allocs)
	}
}

func TestCounterRate(t *testing.T) {
	h := sampled(testPage(), 4)
	if got := status.Latest(h, "requests", "shed"); got != 5 {
		t.Errorf("shed rate = %v, want 5 (5 more each second)", got)
	}
	if got := status.Latest(h, "requests", "in flight"); got != 3 {
		t.Errorf("in flight = %v, want 3", got)
	}
	if got := status.Latest(h, status.PlotHeap, "heap objects"); !(got > 0) {
		t.Errorf("heap objects = %v, want the runtime's figure", got)
	}
}

func TestStartStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int64
		h := status.New(status.Section{Name: "c", Snapshot: func() any { return nil }, Sample: func() []status.Point {
			n.Add(1)
			return nil
		}})
		h.Stop() // before Start: nothing to stop
		h.Start()
		h.Start() // a second Start does nothing
		time.Sleep(3*status.SampleInterval + status.SampleInterval/2)
		h.Stop()
		h.Stop()
		if got := n.Load(); got != 4 {
			t.Errorf("sampled %d times in 3.5 intervals, want 4 (one at start)", got)
		}
		time.Sleep(3 * status.SampleInterval)
		if got := n.Load(); got != 4 {
			t.Errorf("sampled %d times after Stop, want none more", got-4)
		}
		h.Start() // again after Stop
		h.Stop()
		if got := n.Load(); got != 5 {
			t.Errorf("a second Start sampled %d times, want 1", got-4)
		}
		var nilHandler *status.Handler
		nilHandler.Stop()
	})
}

func BenchmarkSample(b *testing.B) {
	h := testPage()
	t0 := time.Now()
	i := 0
	for b.Loop() {
		i++
		status.SampleAt(h, t0.Add(time.Duration(i)*time.Second))
	}
}

// TestShareScale: a share near 100 % is drawn against 100 %, not 200 %.
func TestShareScale(t *testing.T) {
	h := sampled(status.New(status.Section{Name: "s", Snapshot: func() any { return nil }, Sample: func() []status.Point {
		return []status.Point{{Plot: "stall", Series: "cpu", Unit: status.Share, Value: 0.953}}
	}}), 3)
	_, body := get(t, h, "/", "")
	if !strings.Contains(body, `<figcaption>stall</figcaption><div class="axis">100 %</div>`) {
		t.Errorf("share plot's scale is not 100 %%:\n%s", body)
	}
}

// TestFlatPlots: a section's plot that stayed at zero is named in one line
// instead of drawn; the built-in plots draw even at zero.
func TestFlatPlots(t *testing.T) {
	h := sampled(status.New(status.Section{Name: "s", Snapshot: func() any { return nil }, Sample: func() []status.Point {
		return []status.Point{{Plot: "errors", Series: "errors", Value: 7, Counter: true}}
	}}), 5)
	_, body := get(t, h, "/", "")
	if !strings.Contains(body, "At zero throughout, not drawn: errors.") || strings.Contains(body, "<figcaption>errors</figcaption>") {
		t.Errorf("flat plot drawn, or not named:\n%s", body)
	}
	if !strings.Contains(body, "<figcaption>GC share of CPU</figcaption>") {
		t.Errorf("built-in plot left out")
	}
}
