package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

const (
	caValidity     = 20 * 365 * 24 * time.Hour // outlives every leaf it signs
	serverValidity = 10 * 365 * 24 * time.Hour
	clockSkew      = time.Hour // NotBefore is back-dated by this much
)

// NewCA creates a realm CA: a fresh ECDSA P-256 key and a self-signed CA
// certificate whose subject organisation is the realm name.
func NewCA(realm string) (certPEM, keyPEM []byte, err error) {
	if err := checkRealm(realm); err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:   "Coda realm CA " + realm,
			Organization: []string{realm},
		},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return encodeCert(der), keyPEM, nil
}

// IssueServer signs a certificate for server serverID of the realm, with a
// fresh key. Its SANs are the realm (DNS) and the host part of hostport (an
// IP address, or a DNS name); an unspecified host ("", 0.0.0.0, ::) adds
// nothing. It is valid for ten years and usable for both ends of a TLS
// connection (servers also dial each other).
func IssueServer(caCertPEM, caKeyPEM []byte, realm string, serverID uint32, hostport string) (certPEM, keyPEM []byte, err error) {
	keyPEM, pub, err := NewServerKey()
	if err != nil {
		return nil, nil, err
	}
	certPEM, err = SignServer(caCertPEM, caKeyPEM, realm, serverID, hostport, pub)
	if err != nil {
		return nil, nil, err
	}
	return certPEM, keyPEM, nil
}

// NewServerKey makes a server's TLS key: the private key PEM encoded and the
// public key in PKIX DER (what SignServer certifies; a joining server sends
// only that to the SCM).
func NewServerKey() (keyPEM, pubDER []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate server key: %w", err)
	}
	if keyPEM, err = encodeKey(key); err != nil {
		return nil, nil, err
	}
	if pubDER, err = x509.MarshalPKIXPublicKey(&key.PublicKey); err != nil {
		return nil, nil, fmt.Errorf("encode server public key: %w", err)
	}
	return keyPEM, pubDER, nil
}

// SignServer certifies pubDER (an ECDSA P-256 public key in PKIX DER) as
// server serverID of the realm listening at hostport (see IssueServer).
func SignServer(caCertPEM, caKeyPEM []byte, realm string, serverID uint32, hostport string, pubDER []byte) ([]byte, error) {
	if err := checkRealm(realm); err != nil {
		return nil, err
	}
	ca, err := ParseCert(caCertPEM)
	if err != nil {
		return nil, fmt.Errorf("realm CA: %w", err)
	}
	caKey, err := parseKey(caKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("realm CA key: %w", err)
	}
	if !caKey.PublicKey.Equal(ca.PublicKey) {
		return nil, errors.New("realm CA key does not belong to the CA certificate")
	}
	pk, err := x509.ParsePKIXPublicKey(pubDER)
	if err != nil {
		return nil, fmt.Errorf("server public key: %w", err)
	}
	pub, ok := pk.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errors.New("server public key: want ECDSA P-256")
	}
	tmpl, err := serverTemplate(realm, serverID, hostport)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
	if err != nil {
		return nil, fmt.Errorf("sign server certificate: %w", err)
	}
	return encodeCert(der), nil
}

func serverTemplate(realm string, serverID uint32, hostport string) (*x509.Certificate, error) {
	host, err := hostOf(hostport)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         realm,
			Organization:       []string{realm},
			OrganizationalUnit: []string{fmt.Sprintf("server %d", serverID)},
		},
		NotBefore:   now.Add(-clockSkew),
		NotAfter:    now.Add(serverValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{realm},
	}
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsUnspecified() {
			tmpl.IPAddresses = []net.IP{ip}
		}
	} else if host != "" && !strings.EqualFold(host, realm) {
		tmpl.DNSNames = append(tmpl.DNSNames, host)
	}
	return tmpl, nil
}

// hostOf returns the host of HOST:PORT, or the whole string when it has no
// port.
func hostOf(hostport string) (string, error) {
	host, _, err := net.SplitHostPort(hostport)
	if err == nil {
		return host, nil
	}
	if !strings.Contains(hostport, ":") {
		return hostport, nil
	}
	return "", fmt.Errorf("bad server address %q: want HOST:PORT", hostport)
}

// RealmOfCA returns the realm a CA certificate made by NewCA belongs to.
func RealmOfCA(caPEM []byte) (string, error) {
	ca, err := ParseCert(caPEM)
	if err != nil {
		return "", err
	}
	return realmOf(ca)
}

func realmOf(ca *x509.Certificate) (string, error) {
	if !ca.IsCA || len(ca.Subject.Organization) != 1 || ca.Subject.Organization[0] == "" {
		return "", fmt.Errorf("certificate %q is not a Coda realm CA", ca.Subject.CommonName)
	}
	return ca.Subject.Organization[0], nil
}

// Fingerprint returns "sha256:" and the hex SHA-256 of a certificate's DER
// bytes, for logs and error messages.
func Fingerprint(certPEM []byte) (string, error) {
	c, err := ParseCert(certPEM)
	if err != nil {
		return "", err
	}
	return fingerprint(c), nil
}

func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ParseCert decodes the first PEM CERTIFICATE block of data.
func ParseCert(data []byte) (*x509.Certificate, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, errors.New("no PEM certificate found")
		}
		if b.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse certificate: %w", err)
			}
			return c, nil
		}
	}
}

func parseKey(data []byte) (*ecdsa.PrivateKey, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, errors.New("no PEM private key found")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, errors.New("private key is not valid PKCS #8")
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("private key is not an ECDSA key")
	}
	return ek, nil
}

func encodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func encodeKey(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func randomSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("certificate serial: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

func checkRealm(realm string) error {
	if realm == "" || len(realm) > proto.MaxRealm || strings.ContainsAny(realm, " \t\r\n/:@") {
		return fmt.Errorf("bad realm name %q", realm)
	}
	return nil
}
