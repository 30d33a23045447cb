package tlscache_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gotune/gotune/tlscache"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type keyKind string

const (
	ecdsaKey keyKind = "ecdsa-p256"
	rsaKey   keyKind = "rsa-2048"
)

// Keys are generated once per test binary: RSA key generation under the
// race detector costs far more than the tests themselves.
var keys = sync.OnceValue(func() map[keyKind]crypto.Signer {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return map[keyKind]crypto.Signer{ecdsaKey: ec, rsaKey: rk}
})

var serial atomic.Int64

// testCert is a self-signed certificate (its own CA) for names.
type testCert struct {
	cert            *tls.Certificate
	certPEM, keyPEM []byte
}

func newCert(t testing.TB, kind keyKind, notAfter time.Time, names ...string) testCert {
	t.Helper()
	return newCertBetween(t, kind, time.Now().Add(-time.Hour), notAfter, names...)
}

// newCertBetween is newCert with a chosen NotBefore.
func newCertBetween(t testing.TB, kind keyKind, notBefore, notAfter time.Time, names ...string) testCert {
	t.Helper()
	key := keys()[kind]
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: names[0]},
		DNSNames:              names,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	c.Leaf = nil // let the cache parse it, as it must for loaders that do not
	return testCert{cert: &c, certPEM: certPEM, keyPEM: keyPEM}
}

func yearCert(t testing.TB, names ...string) testCert {
	return newCert(t, ecdsaKey, time.Now().Add(365*24*time.Hour), names...)
}

// countingLoader serves fixed certificates by name and counts loads.
type countingLoader struct {
	mu    sync.Mutex
	certs map[string]*tls.Certificate
	errs  map[string]error
	loads map[string]int
	total atomic.Int64
}

func newCountingLoader() *countingLoader {
	return &countingLoader{certs: map[string]*tls.Certificate{}, errs: map[string]error{}, loads: map[string]int{}}
}

func (l *countingLoader) set(name string, c *tls.Certificate) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.certs[name] = c
	delete(l.errs, name)
}

func (l *countingLoader) fail(name string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs[name] = err
}

func (l *countingLoader) count(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loads[name]
}

func (l *countingLoader) Load(_ context.Context, name string) (*tls.Certificate, error) {
	l.total.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.loads[name]++
	if err := l.errs[name]; err != nil {
		return nil, err
	}
	if c := l.certs[name]; c != nil {
		return c, nil
	}
	return nil, tlscache.ErrNotFound
}

func hello(name string) *tls.ClientHelloInfo { return &tls.ClientHelloInfo{ServerName: name} }

// testClock is the cache's clock in a synctest bubble: the bubble's fake
// time plus an offset. Advance lets the bubble's time pass, so the timers
// due run and the goroutines they start settle; Jump moves only the
// cache's reading of the time, as when a VM is paused or a loaded machine
// runs timers late. Pass it as tlscache.WithNow(clk.Now).
type testClock struct{ off atomic.Int64 }

func newTestClock() *testClock { return &testClock{} }

func (c *testClock) Now() time.Time { return time.Now().Add(time.Duration(c.off.Load())) }

// Advance sleeps for d on the bubble's clock and waits for the timers
// and loads it set off to settle.
func (c *testClock) Advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// Jump moves the cache's clock by d without running any timer.
func (c *testClock) Jump(d time.Duration) { c.off.Add(int64(d)) }

// mustNew is tlscache.New for options a test knows to be valid.
func mustNew(tb testing.TB, ld tlscache.Loader, opts ...tlscache.Option) *tlscache.Cache {
	tb.Helper()
	c, err := tlscache.New(ld, opts...)
	if err != nil {
		tb.Fatalf("tlscache.New = %v", err)
	}
	return c
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// serveTLS starts a TLS server on 127.0.0.1 that completes handshakes and
// closes; it returns the address and a stop function.
func serveTLS(t testing.TB, cfg *tls.Config) (addr string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				tc := tls.Server(conn, cfg)
				if tc.Handshake() == nil {
					// Read until the client closes so TLS 1.3 session
					// tickets are delivered.
					var b [1]byte
					_, _ = tc.Read(b[:])
				}
			}()
		}
	}()
	return ln.Addr().String(), func() { ln.Close(); wg.Wait() }
}

// handshake dials addr with SNI serverName and returns the connection
// state, verifying the chain against roots.
func handshake(t testing.TB, addr, serverName string, roots *x509.CertPool, cfg *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	c := &tls.Config{}
	if cfg != nil {
		c = cfg.Clone()
	}
	c.ServerName = serverName
	c.RootCAs = roots
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: c}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	tc := conn.(*tls.Conn)
	if c.ClientSessionCache != nil {
		// Let the client read a post-handshake session ticket (TLS 1.3).
		_ = tc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		var b [1]byte
		_, _ = tc.Read(b[:])
	}
	return tc.ConnectionState(), nil
}

var errBoom = errors.New("boom")
