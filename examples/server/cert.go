package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gotune/gotune/tlscache"
)

// minCertLifetime is the shortest -cert-lifetime: tlscache stops serving a
// certificate 5 s before its NotAfter, and the server renews when a third
// of the lifetime has passed, so the two thirds left must outlast that
// margin with room for a late renewal.
const minCertLifetime = 10 * time.Second

// selfSigned serves a self-signed ECDSA certificate for localhost and the
// loopback addresses through a tlscache Cache (so it is parsed once however
// many handshakes ask), and replaces it with a new one each time a third of
// its lifetime has passed, so the server keeps serving past any one
// certificate's NotAfter.
//
// It answers every server name a client sends, and none, with that
// certificate, as production servers answer names they do not know with
// their default certificate: whether the name matches is the client's
// check to make, and a refused handshake (an internal_error alert) tells
// it less than a certificate for the wrong name does.
type selfSigned struct {
	lifetime time.Duration
	logger   *slog.Logger
	static   *tlscache.Static
	cache    *tlscache.Cache
	cancel   context.CancelFunc
	done     chan struct{}
	closed   sync.Once
}

// certNames are the names and addresses the certificate covers.
var (
	certNames = []string{"localhost"}
	certIPs   = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
)

// newSelfSigned makes the first certificate and starts renewing it; Close
// stops that.
func newSelfSigned(lifetime time.Duration, logger *slog.Logger) (*selfSigned, error) {
	if lifetime < minCertLifetime {
		return nil, fmt.Errorf("-cert-lifetime %v: want at least %v (tlscache stops serving a certificate 5s before it expires)", lifetime, minCertLifetime)
	}
	s := &selfSigned{lifetime: lifetime, logger: logger, static: tlscache.NewStatic(), done: make(chan struct{})}
	if err := s.renew(); err != nil {
		return nil, err
	}
	cache, err := tlscache.New(s.static, tlscache.WithDefaultName(certNames[0]), tlscache.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	s.cache = cache
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.loop(ctx)
	return s, nil
}

// renew makes a new certificate and serves it from the next handshake on.
func (s *selfSigned) renew() error {
	certPEM, keyPEM, err := selfSignedPEM(certNames, certIPs, s.lifetime)
	if err != nil {
		return fmt.Errorf("self-signed certificate: %w", err)
	}
	for _, name := range certNames {
		if err := s.static.AddPEM(certPEM, keyPEM, name); err != nil {
			return err
		}
	}
	if s.cache != nil {
		for _, name := range certNames {
			s.cache.Invalidate(name)
		}
	}
	return nil
}

func (s *selfSigned) loop(ctx context.Context) {
	defer close(s.done)
	next := s.lifetime / 3
	for {
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		next = s.lifetime / 3
		if err := s.renew(); err != nil {
			// Two thirds of the lifetime were left; try again soon.
			next = time.Second
			s.logger.Error("tls: renewing the self-signed certificate", slog.Any("error", err))
			continue
		}
		s.logger.Debug("tls: renewed the self-signed certificate", slog.Duration("lifetime", s.lifetime))
	}
}

// GetCertificate is the server's tls.Config.GetCertificate: the cache's
// answer for the name, else the default certificate.
func (s *selfSigned) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	cert, err := s.cache.GetCertificate(hello)
	if err == nil || errors.Is(err, tlscache.ErrClosed) {
		return cert, err
	}
	// An unknown or invalid name (the cache has counted it): the default
	// certificate, from the cache like any other name.
	def := *hello
	def.ServerName = ""
	return s.cache.GetCertificate(&def)
}

// Close stops the renewals and the cache.
func (s *selfSigned) Close() {
	s.closed.Do(func() {
		s.cancel()
		<-s.done
		s.cache.Close()
	})
}

func selfSignedPEM(names []string, ips []net.IP, valid time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{"gotune example"}},
		DNSNames:              names,
		IPAddresses:           ips,
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(valid),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// handshakeErrorLog returns a logger for http.Server.ErrorLog that logs
// "http: TLS handshake error" lines at Debug and the rest at Warn. Any
// client can fail a handshake (a port scan, garbage instead of TLS, a
// client that does not trust the certificate, a flood of server names),
// so at Warn they would turn a flood into a log flood and bury what the
// operator needs; they are counted by tlscache meanwhile.
func handshakeErrorLog(logger *slog.Logger) *log.Logger {
	return log.New(levelWriter{logger}, "", 0)
}

type levelWriter struct{ l *slog.Logger }

// maxLogLine bounds a logged server error: its text can carry what the
// client sent.
const maxLogLine = 512

func (w levelWriter) Write(p []byte) (int, error) {
	level := slog.LevelWarn
	if strings.HasPrefix(string(p), "http: TLS handshake error") { // no copy: the compiler sees through it
		level = slog.LevelDebug
	}
	if !w.l.Enabled(context.Background(), level) {
		return len(p), nil
	}
	msg := strings.TrimSuffix(string(p[:min(len(p), maxLogLine)]), "\n")
	w.l.Log(context.Background(), level, msg)
	return len(p), nil
}
