package status_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chromium finds a headless-capable Chromium. CI installs Debian's
// chromium package; elsewhere the test skips and says why.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on PATH (apt-get install chromium); .ci/run installs it")
	return ""
}

func runChromium(t *testing.T, bin string, width int, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(), "--hide-scrollbars",
		"--enable-logging=stderr", "--v=0", fmt.Sprintf("--window-size=%d,2400", width),
		"--virtual-time-budget=5000",
	}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, e.String())
	}
	return o.String(), e.String()
}

// probeHTML frames the status page at a given width and measures it from
// outside: the page itself runs no script (its CSP forbids it), so a
// same-origin frame with a script of the test's own does the measuring
// and writes the figures into its DOM for --dump-dom to read.
const probeHTML = `<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="/debug/gotune" style="border:0;width:%dpx;height:2400px"></iframe>
<pre id="out">pending</pre>
<script>
document.getElementById("f").addEventListener("load", function () {
  var d = this.contentDocument, root = d.documentElement, wide = [];
  d.querySelectorAll("body *").forEach(function (e) {
    var r = e.getBoundingClientRect();
    if (r.right > root.clientWidth + 1 && wide.length < 5) wide.push(e.tagName + "." + e.className + " right=" + Math.round(r.right));
  });
  var plots = 0;
  d.querySelectorAll("figure.plot svg").forEach(function (s) {
    var r = s.getBoundingClientRect();
    if (r.width > 100 && r.height > 30 && s.querySelector("polyline")) plots++;
  });
  document.getElementById("out").textContent = JSON.stringify({
    scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, wide: wide,
    rows: d.querySelectorAll("#summary tr.row").length, plots: plots,
    text: d.body.innerText
  });
});
</script></body></html>`

type probe struct {
	ScrollWidth, ClientWidth, Rows, Plots int
	Wide                                  []string
	Text                                  string
}

var outRE = regexp.MustCompile(`(?s)<pre id="out">(.*?)</pre>`)

// TestRenderedInChromium loads the page in a real headless Chromium at
// 1280 and 400 px: no horizontal overflow, the summary and at least four
// drawn plots, human units in the visible text, no console errors, and a
// screenshot of each width that is a real picture (its path is logged).
func TestRenderedInChromium(t *testing.T) {
	bin := chromium(t)
	page := sampled(testPage(), 120)
	mux := http.NewServeMux()
	mux.Handle("/debug/gotune", page)
	mux.HandleFunc("/probe", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, probeHTML, mustAtoi(r.URL.Query().Get("w")))
	})
	srv := newServer(t, mux)
	shots := t.TempDir()
	if dir := os.Getenv("GOTUNE_SCREENSHOT_DIR"); dir != "" {
		shots = dir
	}
	for _, width := range []int{1280, 400} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			// One browser start per width: the DOM for the figures, and a
			// screenshot of the probe, which is the page framed at exactly
			// that width.
			shot := filepath.Join(shots, fmt.Sprintf("status-%d.png", width))
			dom, logs := runChromium(t, bin, width, "--dump-dom", "--screenshot="+shot, srv+"/probe?w="+strconv.Itoa(width))
			m := outRE.FindStringSubmatch(dom)
			if m == nil {
				t.Fatalf("probe wrote nothing:\n%s", dom)
			}
			var p probe
			if err := jsonUnmarshalHTML(m[1], &p); err != nil {
				t.Fatalf("probe output %q: %v", m[1], err)
			}
			t.Logf("%d px: scrollWidth %d, clientWidth %d, %d summary rows, %d plots", width, p.ScrollWidth, p.ClientWidth, p.Rows, p.Plots)
			if p.ScrollWidth > p.ClientWidth {
				t.Errorf("%d px: page is %d px wide, wider than the %d px viewport; too wide: %v", width, p.ScrollWidth, p.ClientWidth, p.Wide)
			}
			if p.Rows < 3 {
				t.Errorf("%d px: %d summary rows, want 3", width, p.Rows)
			}
			if p.Plots < 4 {
				t.Errorf("%d px: %d drawn plots, want at least 4", width, p.Plots)
			}
			if raw := regexp.MustCompile(`\b\d{5,}\b`).FindAllString(p.Text, -1); len(raw) > 0 {
				t.Errorf("%d px: visible text has raw numbers %q; want human units", width, raw)
			}
			for _, want := range []string{"GOMAXPROCS", "460.8 MiB", "gcguard level: critical", "snapshot panicked", "64 KiB", "never"} {
				if !strings.Contains(p.Text, want) {
					t.Errorf("%d px: visible text lacks %q", width, want)
				}
			}
			consoleErrors(t, logs)
			checkPicture(t, shot)
			t.Logf("screenshot: %s", shot)
		})
	}
}

func consoleErrors(t *testing.T, logs string) {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, "CONSOLE") && !strings.Contains(line, "Failed to load resource") {
			continue
		}
		for _, bad := range []string{"Uncaught", "Refused to", "ERR_", "Failed to load resource", "rror"} {
			if strings.Contains(line, bad) {
				t.Errorf("console: %s", line)
				break
			}
		}
	}
}

// checkPicture fails when the screenshot is missing, does not decode, or
// is nearly one flat colour (a page that failed to render).
func checkPicture(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot does not decode: %v", err)
	}
	b := img.Bounds()
	first := img.At(b.Min.X, b.Min.Y)
	distinct := 0
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			if img.At(x, y) != first {
				distinct++
			}
		}
	}
	if distinct < 100 {
		t.Errorf("screenshot %dx%d is nearly blank (%d differing samples)", b.Dx(), b.Dy(), distinct)
	}
}
