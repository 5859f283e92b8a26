package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// ServerTLS returns a TLS 1.3 server configuration that presents the
// server's certificate followed by the realm CA, so that a client fetching
// the CA on first use finds it in the chain. The certificate must belong to
// the key and be signed by the CA.
func ServerTLS(certPEM, keyPEM, caPEM []byte) (*tls.Config, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	ca, err := ParseCert(caPEM)
	if err != nil {
		return nil, fmt.Errorf("realm CA: %w", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		return nil, fmt.Errorf("server certificate is not signed by the realm CA %s: %w", fingerprint(ca), err)
	}
	pair.Leaf = leaf
	pair.Certificate = append(pair.Certificate[:1:1], ca.Raw)
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		MaxVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.NoClientCert,
	}, nil
}

// ClientTLS returns a TLS 1.3 client configuration that accepts only a
// server whose certificate chains to exactly the given CA and names the
// realm. The checks are done in VerifyConnection (the standard verification
// is replaced, not skipped) so that a refusal says which check failed:
// another CA, another realm, or an expired certificate.
func ClientTLS(caPEM []byte, realm string) (*tls.Config, error) {
	if err := checkRealm(realm); err != nil {
		return nil, err
	}
	ca, err := ParseCert(caPEM)
	if err != nil {
		return nil, fmt.Errorf("realm CA: %w", err)
	}
	if !ca.IsCA {
		return nil, fmt.Errorf("realm CA: certificate %q is not a CA", ca.Subject.CommonName)
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		MaxVersion: tls.VersionTLS13,
		ServerName: realm,
		// Verification is done by VerifyConnection below, on every
		// handshake including resumed ones.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyPinned(cs.PeerCertificates, ca, realm)
		},
	}, nil
}

// verifyPinned checks that chain[0] chains to ca and is valid for realm.
func verifyPinned(chain []*x509.Certificate, ca *x509.Certificate, realm string) error {
	if len(chain) == 0 {
		return errors.New("server sent no certificate")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		if !c.Equal(ca) {
			inter.AddCert(c)
		}
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		DNSName:       realm,
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		CurrentTime:   time.Now(),
	})
	if err == nil {
		return nil
	}
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	switch {
	case errors.As(err, &unknown):
		return &CAMismatchError{Realm: realm, Pinned: fingerprint(ca), Presented: presentedCA(chain)}
	case errors.As(err, &host):
		return fmt.Errorf("server certificate names %v, not realm %q", chain[0].DNSNames, realm)
	}
	return fmt.Errorf("server certificate of realm %q is not valid: %w", realm, err)
}

// presentedCA describes the CA a server's chain claims: the fingerprint of
// its last certificate when that is a CA, else the leaf's issuer name.
func presentedCA(chain []*x509.Certificate) string {
	last := chain[len(chain)-1]
	if len(chain) > 1 && last.IsCA {
		return fingerprint(last)
	}
	return fmt.Sprintf("issuer %q", chain[0].Issuer.CommonName)
}

// CAMismatchError is the refusal of a server whose certificate was not
// issued by the pinned realm CA: the realm was re-created, or the server
// is not the realm's.
type CAMismatchError struct {
	Realm     string
	Pinned    string // fingerprint of the pinned CA
	Presented string // fingerprint (or issuer) of the server's CA
}

func (e *CAMismatchError) Error() string {
	return fmt.Sprintf("server certificate for realm %q is not signed by the pinned realm CA %s (the server's CA is %s); "+
		"if the realm's CA really changed, replace the pinned CA file", e.Realm, short(e.Pinned), short(e.Presented))
}

// short cuts a "sha256:…" fingerprint to 16 hex digits for messages.
func short(fp string) string {
	if len(fp) > len("sha256:")+16 {
		return fp[:len("sha256:")+16]
	}
	return fp
}
