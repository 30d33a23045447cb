package tlscache_test

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
	"math/big"
	"time"

	"github.com/gotune/gotune/tlscache"
)

// selfSigned returns PEM bytes for a self-signed ECDSA certificate for
// names, as a server might generate at start-up.
func selfSigned(names ...string) (certPEM, keyPEM []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// A server serving a certificate generated at start-up through the cache.
func ExampleStaticPEM() {
	certPEM, keyPEM := selfSigned("localhost", "*.localhost")
	loader, err := tlscache.StaticPEM(certPEM, keyPEM)
	if err != nil {
		panic(err)
	}
	certs, err := tlscache.New(loader, tlscache.WithDefaultName("localhost"))
	if err != nil {
		panic(err)
	}
	defer certs.Close()
	cfg := &tls.Config{GetCertificate: certs.GetCertificate}
	_ = cfg // tls.NewListener(ln, cfg), http.Server{TLSConfig: cfg}, ...

	for _, sni := range []string{"localhost", "api.localhost", "", "other.test"} {
		c, err := certs.GetCertificate(&tls.ClientHelloInfo{ServerName: sni})
		switch {
		case errors.Is(err, tlscache.ErrNotFound):
			fmt.Printf("%q: no certificate\n", sni)
		case err != nil:
			fmt.Printf("%q: %v\n", sni, err)
		default:
			fmt.Printf("%q: %s\n", sni, c.Leaf.Subject.CommonName)
		}
	}
	st := certs.Stats()
	fmt.Printf("loads=%d entries=%d negative=%d\n", st.Loads, st.Entries, st.NegativeEntries)
	// Output:
	// "localhost": localhost
	// "api.localhost": localhost
	// "": localhost
	// "other.test": no certificate
	// loads=3 entries=2 negative=1
}

// A loader that issues certificates on demand, with the cache bounding how
// many are held and making sure each name is issued once.
func ExampleLoaderFunc() {
	issue := tlscache.LoaderFunc(func(ctx context.Context, name string) (*tls.Certificate, error) {
		certPEM, keyPEM := selfSigned(name)
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		return &c, err
	})
	certs, err := tlscache.New(issue, tlscache.WithMaxEntries(1000))
	if err != nil {
		panic(err)
	}
	defer certs.Close()
	a, _ := certs.GetCertificate(&tls.ClientHelloInfo{ServerName: "a.test"})
	b, _ := certs.GetCertificate(&tls.ClientHelloInfo{ServerName: "A.TEST."})
	fmt.Println(a == b, a.Leaf.DNSNames)
	// Output: true [a.test]
}

// A client whose session cache shows whether resumption works.
func ExampleNewSessionCache() {
	sessions := tlscache.NewSessionCache(128)
	cfg := &tls.Config{ClientSessionCache: sessions}
	_ = cfg // netx transport, tls.Dial, ...
	st := sessions.Stats()
	fmt.Println(st.Capacity, st.Hits, st.Misses)
	// Output: 128 0 0
}

// Options take zero for their default and a negative value, or its name,
// for "off"; a value New cannot honour is an error naming the option.
func ExampleNew_options() {
	loader := tlscache.NewStatic()
	_, err := tlscache.New(loader,
		tlscache.WithTTL(0), // the default, an hour
		tlscache.WithRefreshAhead(tlscache.NoRefreshAhead), // no background refresh
		tlscache.WithMaxNegativeEntries(tlscache.NoNegativeCache),
	)
	fmt.Println(err)
	_, err = tlscache.New(loader, tlscache.WithMaxEntries(-1))
	fmt.Println(err)
	// Output:
	// <nil>
	// tlscache: WithMaxEntries(-1): must not be negative (0 means the default)
}
