package status_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/gotune/gotune/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type poolStats struct {
	Gets      uint64 `json:"gets"`
	IdleBytes int64  `json:"idle_bytes"`
}

func testPage() *status.Handler {
	return status.New(
		status.Section{Name: "tune", Snapshot: func() any {
			return map[string]any{"gomaxprocs": map[string]any{"after": 2, "source": "runtime"}, "cpus": []int{0, 1}}
		}},
		status.Section{Name: "pool buffers", Snapshot: func() any { return poolStats{Gets: 42, IdleBytes: 65536} }},
		status.Section{Name: "gcguard", Snapshot: func() any { return map[string]string{"level": "critical"} }},
		status.Section{Name: "broken", Snapshot: func() any { panic("boom") }},
		status.Section{Name: "<script>", Snapshot: func() any { return "<b>x</b>" }},
	)
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

func TestHTML(t *testing.T) {
	res, body := get(t, testPage(), "/debug/gotune", "text/html")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		"<h2>tune</h2>", "gomaxprocs", "runtime", "0, 1",
		"<h2>pool buffers</h2>", "idle_bytes", "65536", "42",
		`class="bad">critical`, "snapshot panicked: boom",
		"&lt;script&gt;", "&lt;b&gt;x&lt;/b&gt;",
		`<section id="s-pool-buffers">`, `href="#s-pool-buffers"`, `<section id="s-script">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "src=\"http") {
		t.Errorf("HTML has a script or an external asset")
	}
}

func TestJSON(t *testing.T) {
	for _, tc := range []struct{ target, accept string }{{"/x?format=json", ""}, {"/x", "application/json"}} {
		res, body := get(t, testPage(), tc.target, tc.accept)
		if res.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("GET %s (Accept %q) Content-Type = %q", tc.target, tc.accept, res.Header.Get("Content-Type"))
		}
		var snap status.Snapshot
		if err := json.Unmarshal([]byte(body), &snap); err != nil {
			t.Fatal(err)
		}
		if len(snap.Sections) != 5 || snap.Sections[1].Name != "pool buffers" || snap.Sections[3].Error == "" {
			t.Errorf("JSON = %s", body)
		}
		m := snap.Sections[1].Value.(map[string]any)
		if m["gets"] != float64(42) {
			t.Errorf("pool gets = %v, want 42", m["gets"])
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
