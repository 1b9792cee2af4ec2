// Package testcerts makes throwaway TLS material for tests: a CA, a server
// certificate for 127.0.0.1/::1/localhost and a client certificate, all
// signed by that CA and written as PEM files, so the sim can serve TLS and
// the engine and the pulltop binary can be pointed at it with --ca/--cert/
// --key exactly as a user would.
//
// It is for tests only: keys are generated at test time, never stored in the
// repository, and nothing here is fit to secure a real cluster.
package testcerts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Files are the PEM files Generate wrote. ServerCert and ClientCert are
// signed by CA.
type Files struct {
	CA         string // CA certificate: what --ca points at
	ServerCert string // server certificate for 127.0.0.1, ::1 and localhost
	ServerKey  string
	ClientCert string // client certificate (CN "pulltop-test-client"): --cert
	ClientKey  string // --key
}

// Generate writes a fresh CA, server certificate and client certificate
// (ECDSA P-256) into dir, which should be a t.TempDir(). Two calls make two
// unrelated CAs, which is how a test gets a "wrong CA".
func Generate(t testing.TB, dir string) Files {
	t.Helper()
	notBefore := time.Now().Add(-time.Hour) // tolerate a little clock skew
	notAfter := time.Now().Add(24 * time.Hour)

	caKey := newKey(t)
	caTemplate := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: "pulltop-test-ca"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("testcerts: create CA certificate: %v", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatalf("testcerts: parse CA certificate: %v", err)
	}

	issue := func(cn string, usage x509.ExtKeyUsage, ips []net.IP, dnsNames []string) ([]byte, *ecdsa.PrivateKey) {
		key := newKey(t)
		template := &x509.Certificate{
			SerialNumber: serial(t),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    notBefore,
			NotAfter:     notAfter,
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  ips,
			DNSNames:     dnsNames,
		}
		der, err := x509.CreateCertificate(rand.Reader, template, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatalf("testcerts: create %s certificate: %v", cn, err)
		}
		return der, key
	}
	serverDER, serverKey := issue("pulltop-test-server", x509.ExtKeyUsageServerAuth,
		[]net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, []string{"localhost"})
	clientDER, clientKey := issue("pulltop-test-client", x509.ExtKeyUsageClientAuth, nil, nil)

	f := Files{
		CA:         filepath.Join(dir, "ca.pem"),
		ServerCert: filepath.Join(dir, "server.pem"),
		ServerKey:  filepath.Join(dir, "server-key.pem"),
		ClientCert: filepath.Join(dir, "client.pem"),
		ClientKey:  filepath.Join(dir, "client-key.pem"),
	}
	writePEM(t, f.CA, "CERTIFICATE", caDER)
	writePEM(t, f.ServerCert, "CERTIFICATE", serverDER)
	writePEM(t, f.ServerKey, "EC PRIVATE KEY", marshalKey(t, serverKey))
	writePEM(t, f.ClientCert, "CERTIFICATE", clientDER)
	writePEM(t, f.ClientKey, "EC PRIVATE KEY", marshalKey(t, clientKey))
	return f
}

// ServerTLS is the server side of f: the server certificate, and with
// requireClientCert mutual TLS (client certificates must chain to f.CA).
func (f Files) ServerTLS(t testing.TB, requireClientCert bool) *tls.Config {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(f.ServerCert, f.ServerKey)
	if err != nil {
		t.Fatalf("testcerts: load server key pair: %v", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	if requireClientCert {
		cfg.ClientCAs = f.pool(t)
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg
}

// ClientTLS is the client side of f: trusts f.CA and presents the client
// certificate, for tests that dial the sim without the engine.
func (f Files) ClientTLS(t testing.TB) *tls.Config {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(f.ClientCert, f.ClientKey)
	if err != nil {
		t.Fatalf("testcerts: load client key pair: %v", err)
	}
	return &tls.Config{RootCAs: f.pool(t), Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
}

func (f Files) pool(t testing.TB) *x509.CertPool {
	t.Helper()
	data, err := os.ReadFile(f.CA)
	if err != nil {
		t.Fatalf("testcerts: read CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		t.Fatalf("testcerts: %s holds no PEM certificate", f.CA)
	}
	return pool
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testcerts: generate key: %v", err)
	}
	return key
}

func marshalKey(t testing.TB, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("testcerts: marshal key: %v", err)
	}
	return der
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatalf("testcerts: serial number: %v", err)
	}
	return n
}

func writePEM(t testing.TB, path, blockType string, der []byte) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("testcerts: write %s: %v", path, err)
	}
}
