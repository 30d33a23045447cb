package status_test

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/gcguard"
	"github.com/gotune/gotune/internal/owner"
	"github.com/gotune/gotune/status"
	"github.com/gotune/gotune/tune"
)

// The status page and the tune report name gcguard as GOGC's owner while
// it runs, and tune's refresh never overrides it: tune sets GOGC by policy,
// a guard starts and takes GOGC over, the Tuner refreshes every
// millisecond while the page is read; when the guard stops, tune owns GOGC
// again and its value is back.
func TestPageNamesGCGuardAsGOGCOwner(t *testing.T) {
	for _, env := range []string{"GOGC", "GOMEMLIMIT", "GOMAXPROCS"} {
		if os.Getenv(env) != "" {
			t.Skipf("%s is set in the environment; it would own the setting", env)
		}
	}
	gogc0, limit0, procs0 := debug.SetGCPercent(100), debug.SetMemoryLimit(-1), runtime.GOMAXPROCS(0)
	defer func() {
		debug.SetGCPercent(gogc0)
		debug.SetMemoryLimit(limit0)
		runtime.GOMAXPROCS(procs0)
	}()

	root := filepath.Join("..", "internal", "cgroup", "testdata", "v1-container")
	tuner := tune.NewTuner(time.Millisecond, tune.WithRoot(root), tune.WithGOGC(150), tune.WithMaxProcs(tune.MaxProcsOff))
	defer tuner.Stop()
	if err := tuner.Start(); err != nil {
		t.Fatal(err)
	}
	if g := gogcNow(); g != 150 {
		t.Fatalf("tune's GOGC policy: GOGC %d, want 150", g)
	}

	guard, err := gcguard.Start(gcguard.WithInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer guard.Stop()
	if st := guard.Stats(); st.GOGCSource != gcguard.SourceGuard || st.LimitSource != gcguard.SourceTune || gogcNow() != int64(st.GOGC) {
		t.Fatalf("guard: GOGC %d from %q, limit from %q, GOGC in force %d; want the guard's GOGC, tune's limit",
			st.GOGC, st.GOGCSource, st.LimitSource, gogcNow())
	}

	page := status.New(
		status.Section{Name: "tune", Snapshot: func() any { return tuner.Report() }},
		status.Section{Name: "gcguard", Snapshot: func() any { return guard.Stats() }},
	)
	start := tuner.Stats().Refreshes
	for i := 0; tuner.Stats().Refreshes < start+20; i++ {
		if i > 30000 {
			t.Fatalf("the Tuner refreshed %d times in 30000 looks, want 20", tuner.Stats().Refreshes-start)
		}
		if who, last, cur, _ := owner.Held(owner.GOGC); who != owner.GCGuard || cur != last {
			t.Fatalf("during refreshes: GOGC %d held by %q (which set %d); want gcguard's, untouched", cur, who, last)
		}
		time.Sleep(time.Millisecond)
	}
	if r := tuner.Report(); r.GOGC.Source != tune.SourceGCGuard || r.GOGC.Set {
		t.Errorf("tune report while gcguard runs: GOGC %s (%q), set %v; want gcguard's, not set", r.GOGC.Source, r.GOGC.Reason, r.GOGC.Set)
	}

	// The page, as JSON and as HTML.
	body := func(url string) string {
		rec := httptest.NewRecorder()
		page.ServeHTTP(rec, httptest.NewRequest("GET", url, nil))
		b, _ := io.ReadAll(rec.Result().Body)
		return string(b)
	}
	var snap struct {
		Sections []struct {
			Name  string          `json:"name"`
			Value json.RawMessage `json:"value"`
		} `json:"sections"`
	}
	if err := json.Unmarshal([]byte(body("/?format=json")), &snap); err != nil {
		t.Fatal(err)
	}
	for _, s := range snap.Sections {
		switch s.Name {
		case "tune":
			var r struct {
				GOGC struct{ Source, Reason string } `json:"gogc"`
			}
			json.Unmarshal(s.Value, &r)
			if r.GOGC.Source != "gcguard" || !strings.Contains(r.GOGC.Reason, "gcguard owns it") {
				t.Errorf("page, tune section: GOGC source %q reason %q; want gcguard", r.GOGC.Source, r.GOGC.Reason)
			}
		case "gcguard":
			var st struct {
				Source string `json:"gogc_source"`
			}
			json.Unmarshal(s.Value, &st)
			if st.Source != string(gcguard.SourceGuard) {
				t.Errorf("page, gcguard section: gogc_source %q, want %q", st.Source, gcguard.SourceGuard)
			}
		}
	}
	if html := body("/"); !strings.Contains(html, "gcguard owns it while it runs") || strings.Contains(html, "set in code; kept") {
		t.Errorf("HTML page does not name gcguard as GOGC's owner")
	}

	// The guard stops: tune owns GOGC again, with its value.
	guard.Stop()
	start = tuner.Stats().Refreshes
	for i := 0; tuner.Stats().Refreshes < start+2; i++ {
		if i > 30000 {
			t.Fatalf("no refresh after Stop")
		}
		time.Sleep(time.Millisecond)
	}
	if r := tuner.Report(); r.GOGC.Source != tune.SourcePolicy || gogcNow() != 150 {
		t.Errorf("after the guard stopped: GOGC %d (%s: %s), want tune's 150 (policy)", gogcNow(), r.GOGC.Source, r.GOGC.Reason)
	}
}

func gogcNow() int64 { return owner.Current(owner.GOGC) }
