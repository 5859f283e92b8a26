package metrics

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/coda-fs/coda/server/readyfile"
)

// SelfSigned returns a TLS config for a daemon without a certificate of
// its own (venus): a self-signed ECDSA certificate for host (and
// localhost) kept in dir as metrics.pem (the file a scraper pins) and
// metrics.key (0600), made on first use and reused after.
func SelfSigned(dir, host string) (*tls.Config, error) {
	certFile, keyFile := filepath.Join(dir, "metrics.pem"), filepath.Join(dir, "metrics.key")
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err == nil && covers(pair, host) {
		return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{pair}}, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "coda venus metrics"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		BasicConstraintsValid: true,
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	} else if host != "" {
		tmpl.DNSNames = append(tmpl.DNSNames, host)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeFile(keyFile, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFile(certFile, certPEM, 0o644); err != nil {
		return nil, err
	}
	pair, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{pair}}, nil
}

// covers reports whether pair's certificate is valid now for host.
func covers(pair tls.Certificate, host string) bool {
	c, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil || time.Now().After(c.NotAfter) {
		return false
	}
	return host == "" || c.VerifyHostname(host) == nil
}

// writeFile writes data to path atomically (readyfile.Write), then gives
// it mode.
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := readyfile.Write(path, string(data)); err != nil {
		return fmt.Errorf("metrics certificate: %w", err)
	}
	return os.Chmod(path, mode)
}
