package status_test

import (
	"bytes"
	"context"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
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

func runChromium(t *testing.T, bin string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(),
		"--enable-logging=stderr", "--v=0", "--window-size=1024,900",
	}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, e.String())
	}
	return o.String(), e.String()
}

// TestRenderedInChromium loads the page in a real headless Chromium: the
// DOM it builds holds every section, its console shows no errors (a CSP
// violation or a script error would), and the screenshot is a real picture.
func TestRenderedInChromium(t *testing.T) {
	bin := chromium(t)
	srv := httptest.NewServer(testPage())
	defer srv.Close()
	url := srv.URL + "/debug/gotune"

	dom, logs := runChromium(t, bin, "--dump-dom", url)
	for _, want := range []string{"<h2>tune</h2>", "<h2>pool buffers</h2>", "<h2>gcguard</h2>", "critical", "snapshot panicked"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
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

	shot := filepath.Join(t.TempDir(), "status.png")
	runChromium(t, bin, "--screenshot="+shot, url)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot does not decode: %v", err)
	}
	// A page that failed to render is one flat colour.
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
	if dir := os.Getenv("GOTUNE_SCREENSHOT_DIR"); dir != "" {
		data, _ := os.ReadFile(shot)
		os.WriteFile(filepath.Join(dir, "status.png"), data, 0o644)
	}
}
