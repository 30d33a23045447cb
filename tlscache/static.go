package tlscache

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"
	"time"
)

// Static is a [Loader] over certificates held in memory, added from PEM
// bytes. Each certificate serves the names it was added for (by default the
// DNS names in its leaf, wildcards included, matched by the RFC 6125 rule).
// The first certificate added also serves the empty name, which is what a
// [Cache] asks for when a client sends no SNI and no [WithDefaultName] is
// set.
//
// Static is safe for concurrent use; Add may be called while it serves
// loads (call [Cache.Invalidate] for names whose certificate changed).
type Static struct {
	mu    sync.RWMutex
	names map[string]*tls.Certificate
	first *tls.Certificate
}

// NewStatic returns an empty Static loader.
func NewStatic() *Static {
	return &Static{names: make(map[string]*tls.Certificate)}
}

// StaticPEM returns a Static loader holding one certificate, parsed from a
// PEM certificate chain and its PEM private key, serving the names in its
// leaf (and the empty name).
func StaticPEM(certPEM, keyPEM []byte) (*Static, error) {
	s := NewStatic()
	if err := s.AddPEM(certPEM, keyPEM); err != nil {
		return nil, err
	}
	return s, nil
}

// AddPEM parses a PEM certificate chain and its PEM private key and serves
// it for names, or, if names is empty, for the DNS names in the leaf. A
// later certificate for the same name replaces the earlier one.
func (s *Static) AddPEM(certPEM, keyPEM []byte, names ...string) error {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("tlscache: static certificate: %w", err)
	}
	return s.Add(&cert, names...)
}

// Add serves cert for names, or, if names is empty, for the DNS names in
// its leaf (which is parsed here if cert.Leaf is nil). cert must not be
// modified afterwards.
func (s *Static) Add(cert *tls.Certificate, names ...string) error {
	cert, err := prepareStatic(cert)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		names = cert.Leaf.DNSNames
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first == nil {
		s.first = cert
	}
	for _, n := range names {
		s.names[normalize(n)] = cert
	}
	return nil
}

func prepareStatic(cert *tls.Certificate) (*tls.Certificate, error) {
	if cert == nil || len(cert.Certificate) == 0 {
		return nil, fmt.Errorf("tlscache: static certificate: %w: empty chain", ErrInvalidCertificate)
	}
	if cert.Leaf != nil {
		return cert, nil
	}
	// prepare with the zero time parses the leaf without an expiry check:
	// an expired static certificate is refused by the Cache at load time.
	return prepare("static", cert, time.Time{})
}

// Load returns the certificate for name: an exact match, else the wildcard
// that covers it, else, for the empty name, the first certificate added.
// Other names get an error wrapping [ErrNotFound].
func (s *Static) Load(_ context.Context, name string) (*tls.Certificate, error) {
	name = normalize(name)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c := s.names[name]; c != nil {
		return c, nil
	}
	if wk, ok := wildcardKey(name); ok {
		if c := s.names["*"+wk]; c != nil {
			return c, nil
		}
	}
	if name == "" && s.first != nil {
		return s.first, nil
	}
	return nil, fmt.Errorf("tlscache: static: %s: %w", quoteName(name), ErrNotFound)
}
