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

// fakeClock is a manual clock; Advance runs due timers synchronously.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c             *fakeClock
	at            time.Time
	f             func()
	stopped, done bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Now().Truncate(time.Second)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) tlscache.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.stopped || t.done {
		return false
	}
	t.stopped = true
	return true
}

// Advance moves time forward by d in one step and runs the timers due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	kept := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped || t.done:
		case !t.at.After(c.now):
			t.done = true
			due = append(due, t)
		default:
			kept = append(kept, t)
		}
	}
	c.timers = kept
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

// Jump moves time forward by d without running any timer, as when a VM
// is paused or a loaded machine runs timers late.
func (c *fakeClock) Jump(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
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
