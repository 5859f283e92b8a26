package pki

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// fetchTimeout bounds FetchCA when ctx has no deadline.
const fetchTimeout = 10 * time.Second

// FetchCA connects to the server at addr and returns, PEM encoded, the realm
// CA certificate the server presents at the end of its chain (trust on
// first use: the caller pins it from then on). The handshake cannot verify
// against a CA it does not have yet, so FetchCA checks what it can: the last
// certificate is a self-signed CA, the server's certificate chains to it and
// names the realm. An empty realm means the realm named by the CA itself.
// The connection is closed before FetchCA returns.
func FetchCA(ctx context.Context, addr, realm string) (caPEM []byte, err error) {
	if realm != "" {
		if err := checkRealm(realm); err != nil {
			return nil, err
		}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, fetchTimeout)
		defer cancel()
	}
	var ca *x509.Certificate
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS13,
		MaxVersion: tls.VersionTLS13,
		ServerName: realm,
		// Trust on first use: there is no CA to verify against yet;
		// VerifyConnection does the checks that are possible.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			c, err := caFromChain(cs.PeerCertificates, realm)
			ca = c
			return err
		},
	}
	d := tls.Dialer{Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fetch realm CA from %s: %w", addr, err)
	}
	_ = conn.Close()
	return encodeCert(ca.Raw), nil
}

// caFromChain returns the CA at the end of a server's chain after checking
// that it is a self-signed CA and that the leaf chains to it and names the
// realm (the CA's own realm when realm is empty).
func caFromChain(chain []*x509.Certificate, realm string) (*x509.Certificate, error) {
	if len(chain) < 2 {
		return nil, errors.New("server did not send its realm CA in its certificate chain")
	}
	ca := chain[len(chain)-1]
	if !ca.IsCA {
		return nil, errors.New("last certificate of the server's chain is not a CA")
	}
	if err := ca.CheckSignatureFrom(ca); err != nil {
		return nil, fmt.Errorf("server's CA is not self-signed: %w", err)
	}
	if realm == "" {
		r, err := realmOf(ca)
		if err != nil {
			return nil, err
		}
		realm = r
	}
	if err := verifyPinned(chain, ca, realm); err != nil {
		return nil, err
	}
	return ca, nil
}
