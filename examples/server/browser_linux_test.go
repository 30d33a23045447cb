//go:build linux

package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/cgtest"
)

// The probe frames the real page at a width and measures it from outside
// (the page runs no script; its CSP forbids it). As in status's own
// browser test, a same-origin frame is needed, so the test serves the probe
// and proxies /debug/gotune to the server.
const serverProbeHTML = `<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="/debug/gotune" style="border:0;width:%dpx;height:3000px"></iframe>
<pre id="out">pending</pre>
<script>
document.getElementById("f").addEventListener("load", function () {
  var d = this.contentDocument, root = d.documentElement, wide = [];
  d.querySelectorAll("body *").forEach(function (e) {
    var r = e.getBoundingClientRect();
    if (r.right > root.clientWidth + 1 && wide.length < 5) wide.push(e.tagName + "." + e.className + ": " + e.textContent.slice(0, 60));
  });
  var plots = 0;
  d.querySelectorAll("figure.plot svg").forEach(function (s) { if (s.querySelector("polyline")) plots++; });
  document.getElementById("out").textContent = JSON.stringify({
    scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, wide: wide,
    rows: d.querySelectorAll("#summary tr.row").length, plots: plots, text: d.body.innerText
  });
});
</script></body></html>`

// TestStatusPageInChromium loads the running server's own status page in
// headless Chromium at 400 px (status's own test covers 1280 px on a
// synthetic page; one width keeps this test near 20 s): no horizontal overflow with the
// real content (cgroup paths, reasons), the summary rows, at least four
// drawn plots after a few seconds of samples, and no raw numbers in the
// visible text. Screenshots go to the test's temp dir (or
// $GOTUNE_SCREENSHOT_DIR), their paths logged.
func TestStatusPageInChromium(t *testing.T) {
	// A server, a few seconds of samples and a browser take 20-40 s on a
	// loaded machine: opt in (.ci/run does).
	if os.Getenv("GOTUNE_BROWSER") == "" {
		t.Skip("set GOTUNE_BROWSER=1 to load the server's page in chromium (.ci/run does)")
	}
	var bin string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("no chromium on PATH (apt-get install chromium); .ci/run installs it")
	}
	cmd := exec.Command(serverBinary(t), "-addr", "127.0.0.1:0")
	cmd.Env = cgtest.CleanEnv()
	s := launch(t, cmd)
	// A few requests and a few samples, so the plots have lines.
	for range 3 {
		s.get(t, "/")
		time.Sleep(time.Second)
	}
	target, _ := url.Parse(s.url)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // self-signed
	mux := http.NewServeMux()
	mux.Handle("/debug/gotune", proxy)
	mux.HandleFunc("/probe", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		n, _ := strconv.Atoi(r.URL.Query().Get("w"))
		fmt.Fprintf(w, serverProbeHTML, n)
	})
	front := httptest.NewServer(mux)
	defer front.Close()
	defer proxy.Transport.(*http.Transport).CloseIdleConnections()

	shots := t.TempDir()
	if dir := os.Getenv("GOTUNE_SCREENSHOT_DIR"); dir != "" {
		shots = dir
	}
	chrome := func(width int, args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
			"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
			"--user-data-dir=" + t.TempDir(), fmt.Sprintf("--window-size=%d,3000", width), "--virtual-time-budget=5000"}
		out, err := exec.CommandContext(ctx, bin, append(base, args...)...).Output()
		if err != nil {
			t.Fatalf("chromium %v: %v", args, err)
		}
		return string(out)
	}
	for _, width := range []int{400} {
		// The DOM for the figures, and a screenshot of the probe: the page
		// framed at exactly this width.
		shot := filepath.Join(shots, fmt.Sprintf("server-status-%d.png", width))
		dom := chrome(width, "--dump-dom", "--screenshot="+shot, front.URL+"/probe?w="+strconv.Itoa(width))
		m := regexp.MustCompile(`(?s)<pre id="out">(.*?)</pre>`).FindStringSubmatch(dom)
		if m == nil {
			t.Fatalf("%d px: probe wrote nothing", width)
		}
		var p struct {
			ScrollWidth, ClientWidth, Rows, Plots int
			Wide                                  []string
			Text                                  string
		}
		if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &p); err != nil {
			t.Fatalf("%d px: probe %q: %v", width, m[1], err)
		}
		t.Logf("%d px: page %d px wide in a %d px viewport, %d summary rows, %d plots", width, p.ScrollWidth, p.ClientWidth, p.Rows, p.Plots)
		if p.ScrollWidth > p.ClientWidth {
			t.Errorf("%d px: the page scrolls sideways; too wide: %q", width, p.Wide)
		}
		if p.Rows < 8 || p.Plots < 4 {
			t.Errorf("%d px: %d summary rows and %d drawn plots, want at least 8 and 4", width, p.Rows, p.Plots)
		}
		if raw := regexp.MustCompile(`.{0,40}(?:^|[\s(])\d{5,}\b`).FindAllString(strings.Join(strings.Fields(p.Text), " "), -1); len(raw) > 0 {
			t.Errorf("%d px: raw numbers in the visible text: %q", width, raw)
		}
		if fi, err := os.Stat(shot); err != nil || fi.Size() < 10000 {
			t.Errorf("%d px: no usable screenshot at %s: %v", width, shot, err)
		}
		t.Logf("screenshot: %s", shot)
	}
}
