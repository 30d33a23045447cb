package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/gotune/gotune/tune/auto"
)

func TestMain(m *testing.M) {
	code := m.Run()
	// tune/auto's refresh runs for the life of the process by design;
	// Stop ends it, and goleak then checks nothing else is left.
	auto.Stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			println("goleak:", err.Error())
			code = 1
		}
	}
	os.Exit(code)
}

// serve runs the service with c until the test ends and returns its base URL.
func serve(t *testing.T, c config) string {
	t.Helper()
	if c.addr == "" {
		c.addr = "127.0.0.1:0"
	}
	if c.rate == 0 {
		c.rate, c.burst = 1000, 1000
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, c, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), func(a string) { addr <- a })
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
		if c.certs != "" {
			base = "https://" + a
		}
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("not serving after 30 s")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run returned %v after the context ended", err)
		}
	})
	return base
}

var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

func get(t *testing.T, url string) (int, http.Header, map[string]any) {
	t.Helper()
	res, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("GET %s: body %q is not JSON: %v", url, b, err)
		}
	}
	return res.StatusCode, res.Header, m
}

func TestQuote(t *testing.T) {
	defer client.CloseIdleConnections()
	base := serve(t, config{})
	code, _, m := get(t, base+"/v1/quote?symbol=GOPH")
	if code != 200 || m["symbol"] != "GOPH" || m["price"] == nil {
		t.Errorf("GET /v1/quote?symbol=GOPH = %d %v, want 200 with a price", code, m)
	}
	code, _, m = get(t, base+"/v1/quote?symbol=../etc")
	if code != 400 || m["error"] == nil {
		t.Errorf("bad symbol = %d %v, want a 400 JSON error", code, m)
	}
	// Every part is on /metrics and on the status page.
	res, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, prefix := range []string{"gotune_tune_", "gotune_gcguard_", "gotune_pool_", "gotune_netx_server_", "gotune_netx_client_"} {
		if !strings.Contains(string(b), "\n"+prefix) {
			t.Errorf("/metrics has no %s* series", prefix)
		}
	}
	code, _, m = get(t, base+"/debug/gotune?format=json")
	if code != 200 || m["summary"] == nil {
		t.Errorf("/debug/gotune?format=json = %d, summary %v", code, m["summary"])
	}
}

// TestRateLimitPerIP: past the burst a client gets 429 as JSON with a
// Retry-After, from the refusal hook.
func TestRateLimitPerIP(t *testing.T) {
	defer client.CloseIdleConnections()
	base := serve(t, config{rate: 0.5, burst: 2})
	var code int
	var h http.Header
	var m map[string]any
	for range 3 {
		code, h, m = get(t, base+"/v1/quote?symbol=GOPH")
	}
	if code != http.StatusTooManyRequests || m["error"] != "rate_limit" || h.Get("Retry-After") == "" {
		t.Errorf("third request past a burst of 2 = %d %v (Retry-After %q), want 429 rate_limit as JSON", code, m, h.Get("Retry-After"))
	}
}

// TestUpstreamDown: an upstream that refuses connections gives 502 JSON
// errors, and the breaker opens (the page's summary shows it).
func TestUpstreamDown(t *testing.T) {
	defer client.CloseIdleConnections()
	base := serve(t, config{upstream: "http://127.0.0.1:1"})
	for range 6 {
		if code, _, m := get(t, base+"/v1/quote?symbol=GOPH"); code != http.StatusBadGateway || m["error"] == nil {
			t.Fatalf("upstream down = %d %v, want a 502 JSON error", code, m)
		}
	}
	_, _, m := get(t, base+"/debug/gotune?format=json")
	rows, _ := json.Marshal(m["summary"])
	if !strings.Contains(string(rows), "breaker (upstream)") {
		t.Errorf("no open breaker in the summary after 6 failures: %s", rows)
	}
}

// TestTLSFromDir serves the certificate files of a directory: the named
// one for its SNI, default.crt for none; a name without files is refused
// in the handshake (tlscache.Dir's rule), never answered with another
// name's certificate.
func TestTLSFromDir(t *testing.T) {
	defer client.CloseIdleConnections()
	dir := t.TempDir()
	writeCert(t, dir, "default")
	writeCert(t, dir, "api.example")
	base := serve(t, config{certs: dir})
	if code, _, _ := get(t, base+"/v1/quote?symbol=GOPH"); code != 200 {
		t.Errorf("GET over TLS = %d, want 200", code)
	}
	addr := strings.TrimPrefix(base, "https://")
	for sni, want := range map[string]string{"": "default", "api.example": "api.example", "unknown.example": ""} {
		conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
		if want == "" {
			if err == nil {
				conn.Close()
				t.Errorf("handshake with SNI %q and no file for it succeeded, want it refused", sni)
			}
			continue
		}
		if err != nil {
			t.Errorf("handshake with SNI %q: %v", sni, err)
			continue
		}
		if cn := conn.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != want {
			t.Errorf("SNI %q got the certificate of %q, want %s", sni, cn, want)
		}
		conn.Close()
	}
}

func writeCert(t *testing.T, dir, name string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600)
}

// TestWiringBudget counts the lines of gotune wiring in main.go: the
// gotune imports, and every simple statement or declaration that names a
// gotune package or a value one returned (guard, bufs, certs, page, client, o; the
// handler's own calls of its client are not wiring),
// each with all the lines it spans and the "if err != nil" check that
// follows it. It checks the doc comment states that count and keeps it
// within the API issue's budget of 50.
func TestWiringBudget(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "main.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	gotune := regexp.MustCompile(`\b(auto|observe|gcguard|pool|tlscache|netx|status|guard|bufs|certs|page|o)\.|(^|[^.\w])client\.|\bpage\)`)
	lines := map[int]bool{}
	span := func(n ast.Node) {
		for l := fset.Position(n.Pos()).Line; l <= fset.Position(n.End()).Line; l++ {
			lines[l] = true
		}
	}
	text := func(n ast.Node) string {
		return string(src[fset.Position(n.Pos()).Offset:fset.Position(n.End()).Offset])
	}
	isErrCheck := func(s ast.Stmt) bool {
		is, ok := s.(*ast.IfStmt)
		return ok && is.Init == nil && is.Else == nil && strings.TrimSpace(text(is.Cond)) == "err != nil"
	}
	var block func(list []ast.Stmt)
	block = func(list []ast.Stmt) {
		prev := false
		for _, s := range list {
			switch x := s.(type) {
			case *ast.IfStmt:
				if prev && isErrCheck(x) {
					span(x)
					prev = false
					continue
				}
				if x.Init != nil && gotune.MatchString(text(x.Init)) {
					span(x) // if err := o.X(...); err != nil { return err }
					prev = false
					continue
				}
				block(x.Body.List)
			case *ast.BlockStmt:
				block(x.List)
			case *ast.ForStmt, *ast.RangeStmt, *ast.SwitchStmt, *ast.SelectStmt:
				// no wiring inside loops here
			default:
				if prev = gotune.MatchString(text(s)); prev {
					span(s)
				}
				continue
			}
			prev = false
		}
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			block(d.Body.List)
		case *ast.GenDecl:
			for _, sp := range d.Specs {
				switch sp := sp.(type) {
				case *ast.ImportSpec:
					if strings.HasPrefix(sp.Path.Value, `"github.com/gotune/gotune/`) {
						span(sp)
					}
				case *ast.TypeSpec:
					if st, ok := sp.Type.(*ast.StructType); ok {
						for _, fld := range st.Fields.List {
							if gotune.MatchString(text(fld.Type)) {
								span(fld)
							}
						}
					}
				}
			}
		}
	}
	n := len(lines)
	m := regexp.MustCompile(`the gotune wiring in this file is (\d+) lines`).FindSubmatch(src)
	if m == nil {
		t.Fatal("main.go's doc does not state its wiring count")
	}
	if stated, _ := strconv.Atoi(string(m[1])); stated != n {
		var ls []int
		for l := range lines {
			ls = append(ls, l)
		}
		slices.Sort(ls)
		t.Errorf("doc says %d lines of gotune wiring, main.go has %d: lines %v", stated, n, ls)
	}
	if n > 50 {
		t.Errorf("%d lines of gotune wiring, want at most 50", n)
	}
}
