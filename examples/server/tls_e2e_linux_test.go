//go:build linux

package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/cgtest"
)

// startServer builds and starts the server with args (after -addr
// 127.0.0.1:0) and returns its host:port and its stderr. The process is
// stopped when the test ends.
func startServer(t *testing.T, args ...string) (addr string, stderr *syncBuffer) {
	t.Helper()
	bin := cgtest.Build(t, ".", t.TempDir())
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = cgtest.CleanEnv()
	stderr = new(syncBuffer)
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	base := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`serving:\s+https://(\S+)/`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				base <- m[1]
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case addr = <-base:
	case err := <-exited:
		t.Fatalf("server exited before serving: %v\n%s", err, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not print its address in 60s\n%s", stderr.String())
	}
	return addr, stderr
}

// tlsHandshake connects to addr with SNI sni (none if empty) and returns
// the server's leaf after checking it is valid now for "localhost" (the
// check crypto/tls would make if the client trusted it).
func tlsHandshake(addr, sni string) (*x509.Certificate, error) {
	var leaf *x509.Certificate
	cfg := &tls.Config{
		ServerName:         sni,
		InsecureSkipVerify: true, // self-signed and renewed: verified below against itself
		VerifyConnection: func(cs tls.ConnectionState) error {
			leaf = cs.PeerCertificates[0]
			roots := x509.NewCertPool()
			roots.AddCert(leaf)
			_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost", CurrentTime: time.Now()})
			return err
		},
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	conn.Close()
	return leaf, nil
}

// TestTLS: the server answers every server name, and none, with its
// certificate; renews that certificate so that no handshake fails across
// several renewals; and logs the handshakes that fail (garbage, a client
// that gives up) at Debug, not Warn.
//
// The renewal run lasts 15 s with a 10 s certificate lifetime (about four
// renewals); GOTUNE_E2E_TLS_RUN=60s runs it for longer.
func TestTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process; skipped with -short")
	}
	run := 15 * time.Second
	if v := os.Getenv("GOTUNE_E2E_TLS_RUN"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("GOTUNE_E2E_TLS_RUN=%q: %v", v, err)
		}
		run = d
	}
	const lifetime = 10 * time.Second
	addr, stderr := startServer(t, "-cert-lifetime", lifetime.String(), "-backend=false", "-gcguard=false", "-numa=false")

	t.Run("any name", func(t *testing.T) {
		for _, sni := range []string{"localhost", "anything.example", "", "LOCALHOST.", "bad name!", strings.Repeat("a", 60000), string([]byte{0xff, 0, 1, 2})} {
			leaf, err := tlsHandshake(addr, sni)
			if err != nil {
				t.Errorf("handshake with server name %.40q: %v", sni, err)
				continue
			}
			if leaf.Subject.CommonName != "localhost" {
				t.Errorf("handshake with server name %.40q: certificate for %q, want localhost", sni, leaf.Subject.CommonName)
			}
		}
	})

	t.Run("openssl", func(t *testing.T) {
		if _, err := exec.LookPath("openssl"); err != nil {
			t.Skip("no openssl")
		}
		for _, args := range [][]string{{"-servername", "anything.example"}, {"-noservername"}} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			cmd := exec.CommandContext(ctx, "openssl", append([]string{"s_client", "-connect", addr}, args...)...)
			cmd.Stdin = strings.NewReader("")
			out, err := cmd.CombinedOutput()
			cancel()
			if err != nil || !strings.Contains(string(out), "BEGIN CERTIFICATE") || !strings.Contains(string(out), "CN=localhost") && !strings.Contains(string(out), "CN = localhost") {
				t.Errorf("openssl s_client %s: %v, no certificate for localhost:\n%s", strings.Join(args, " "), err, out)
			}
		}
	})

	t.Run("renewal", func(t *testing.T) {
		var (
			mu      sync.Mutex
			ok      int
			fails   []string
			serials = map[string]time.Time{} // serial to NotAfter
		)
		snis := []string{"localhost", "anything.example", ""}
		stop := time.Now().Add(run)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; time.Now().Before(stop); i++ {
					leaf, err := tlsHandshake(addr, snis[i%len(snis)])
					mu.Lock()
					if err != nil {
						fails = append(fails, fmt.Sprintf("%s: %v", time.Now().Format("15:04:05.000"), err))
					} else {
						ok++
						serials[leaf.SerialNumber.String()] = leaf.NotAfter
					}
					mu.Unlock()
					time.Sleep(5 * time.Millisecond)
				}
			}()
		}
		wg.Wait()
		t.Logf("%v with a %v certificate lifetime: %d handshakes, %d failed, %d certificates seen", run, lifetime, ok+len(fails), len(fails), len(serials))
		if len(fails) > 0 {
			t.Errorf("%d of %d handshakes failed across renewals; first: %s", len(fails), ok+len(fails), fails[0])
		}
		// A new certificate every lifetime/3: one at start, then one per
		// 3.3 s; allow one renewal that had not happened yet.
		if want := int(run/(lifetime/3)) - 1; len(serials) < want {
			t.Errorf("saw %d certificates in %v, want at least %d (renewed every %v)", len(serials), run, want, lifetime/3)
		}
	})

	t.Run("handshake errors at debug", func(t *testing.T) {
		// Garbage instead of a ClientHello, and a client that hangs up
		// half way.
		for _, b := range [][]byte{randomBytes(512), []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")} {
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			conn.Write(b)
			conn.Close()
		}
		// A client that refuses the certificate.
		conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "localhost"})
		if err == nil {
			conn.Close()
			t.Error("a client verifying against the system roots accepted the self-signed certificate")
		}
		var x509Err x509.UnknownAuthorityError
		if err != nil && !errors.As(err, &x509Err) {
			t.Logf("refusing client: %v", err)
		}
		time.Sleep(500 * time.Millisecond) // let the server log
		for _, line := range strings.Split(stderr.String(), "\n") {
			if strings.Contains(line, "TLS handshake error") && !strings.Contains(line, "level=DEBUG") {
				t.Errorf("handshake error logged above Debug: %s", line)
			}
			if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
				t.Errorf("server logged at %s during the TLS test: %.300s", line[strings.Index(line, "level="):][:10], line)
			}
		}
	})
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
