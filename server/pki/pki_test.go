package pki

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// realmCA is a CA and one server certificate issued by it.
type realmCA struct {
	caPEM, caKey    []byte
	certPEM, keyPEM []byte
}

func newRealmCA(t *testing.T, realm, hostport string) realmCA {
	t.Helper()
	caPEM, caKey, err := NewCA(realm)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	certPEM, keyPEM, err := IssueServer(caPEM, caKey, realm, 1, hostport)
	if err != nil {
		t.Fatalf("IssueServer: %v", err)
	}
	return realmCA{caPEM, caKey, certPEM, keyPEM}
}

// serve runs a TLS server with cfg on 127.0.0.1 that echoes one line per
// connection, and returns its address.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, 64)
				n, err := c.Read(buf)
				if err == nil {
					_, _ = c.Write(buf[:n])
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func serverTLS(t *testing.T, r realmCA) *tls.Config {
	t.Helper()
	cfg, err := ServerTLS(r.certPEM, r.keyPEM, r.caPEM)
	if err != nil {
		t.Fatalf("ServerTLS: %v", err)
	}
	return cfg
}

func dial(t *testing.T, addr string, cfg *tls.Config) (*tls.Conn, error) {
	t.Helper()
	d := tls.Dialer{Config: cfg}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return c.(*tls.Conn), nil
}

func TestNewCAIsSelfSignedP256CAOfRealm(t *testing.T) {
	caPEM, keyPEM, err := NewCA("example.org")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := ParseCert(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.IsCA || !ca.MaxPathLenZero {
		t.Errorf("CA flags: IsCA=%v MaxPathLenZero=%v", ca.IsCA, ca.MaxPathLenZero)
	}
	if err := ca.CheckSignatureFrom(ca); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	pub, ok := ca.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA key is %T, want ECDSA P-256", ca.PublicKey)
	}
	key, err := parseKey(keyPEM)
	if err != nil || !key.PublicKey.Equal(ca.PublicKey) {
		t.Errorf("CA key does not match certificate: %v", err)
	}
	if realm, err := RealmOfCA(caPEM); err != nil || realm != "example.org" {
		t.Errorf("RealmOfCA = %q, %v", realm, err)
	}
	if _, _, err := NewCA("bad realm"); err == nil {
		t.Error("NewCA accepted a realm with a space")
	}
}

func TestIssueServerSANs(t *testing.T) {
	caPEM, caKey, err := NewCA("example.org")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		hostport string
		dns      []string
		ip       string
	}{
		{"10.0.0.1:2432", []string{"example.org"}, "10.0.0.1"},
		{"[::1]:2432", []string{"example.org"}, "::1"},
		{"fs1.example.org:2432", []string{"example.org", "fs1.example.org"}, ""},
		{"fs2", []string{"example.org", "fs2"}, ""},
		{"0.0.0.0:2432", []string{"example.org"}, ""},
		{":2432", []string{"example.org"}, ""},
	}
	for _, tc := range cases {
		certPEM, _, err := IssueServer(caPEM, caKey, "example.org", 3, tc.hostport)
		if err != nil {
			t.Errorf("%s: %v", tc.hostport, err)
			continue
		}
		c, _ := ParseCert(certPEM)
		if strings.Join(c.DNSNames, ",") != strings.Join(tc.dns, ",") {
			t.Errorf("%s: DNS SANs %v, want %v", tc.hostport, c.DNSNames, tc.dns)
		}
		var ips []string
		for _, ip := range c.IPAddresses {
			ips = append(ips, ip.String())
		}
		if strings.Join(ips, ",") != tc.ip {
			t.Errorf("%s: IP SANs %v, want %q", tc.hostport, ips, tc.ip)
		}
		if life := c.NotAfter.Sub(time.Now()); life < 9*365*24*time.Hour || life > 11*365*24*time.Hour {
			t.Errorf("%s: validity %v, want about ten years", tc.hostport, life)
		}
		if c.IsCA {
			t.Errorf("%s: server certificate is a CA", tc.hostport)
		}
	}
	if _, _, err := IssueServer(caPEM, caKey, "example.org", 1, "a:b:c"); err == nil {
		t.Error("IssueServer accepted a malformed address")
	}
	_, otherKey, _ := NewCA("example.org")
	if _, _, err := IssueServer(caPEM, otherKey, "example.org", 1, "h:1"); err == nil {
		t.Error("IssueServer accepted a CA key that is not the CA's")
	}
}

func TestClientAndServerTalkTLS13(t *testing.T) {
	r := newRealmCA(t, "example.org", "127.0.0.1:2432")
	addr := serve(t, serverTLS(t, r))
	cfg, err := ClientTLS(r.caPEM, "example.org")
	if err != nil {
		t.Fatal(err)
	}
	c, err := dial(t, addr, cfg)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer c.Close()
	st := c.ConnectionState()
	if st.Version != tls.VersionTLS13 {
		t.Errorf("version %x, want TLS 1.3", st.Version)
	}
	if len(st.PeerCertificates) != 2 || !st.PeerCertificates[1].IsCA {
		t.Errorf("server chain has %d certificates, want leaf + CA", len(st.PeerCertificates))
	}
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(io.LimitReader(c, 4))
	if err != nil || string(got) != "ping" {
		t.Fatalf("echo = %q, %v", got, err)
	}
}

func TestClientPinnedToOtherCARefusesServer(t *testing.T) {
	a := newRealmCA(t, "example.org", "127.0.0.1:2432")
	b := newRealmCA(t, "example.org", "127.0.0.1:2432")
	addr := serve(t, serverTLS(t, b))
	cfg, err := ClientTLS(a.caPEM, "example.org")
	if err != nil {
		t.Fatal(err)
	}
	_, err = dial(t, addr, cfg)
	var mismatch *CAMismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("handshake with a server of another CA: err = %v, want CAMismatchError", err)
	}
	fpA, _ := Fingerprint(a.caPEM)
	fpB, _ := Fingerprint(b.caPEM)
	if mismatch.Pinned != fpA || mismatch.Presented != fpB {
		t.Errorf("mismatch names pinned %s presented %s, want %s and %s", mismatch.Pinned, mismatch.Presented, fpA, fpB)
	}
	if msg := err.Error(); !strings.Contains(msg, "not signed by the pinned realm CA") || strings.Contains(msg, "\n") {
		t.Errorf("unclear error: %q", msg)
	}
}

func TestClientRefusesCertificateOfAnotherRealm(t *testing.T) {
	caPEM, caKey, _ := NewCA("example.org")
	certPEM, keyPEM, err := IssueServer(caPEM, caKey, "other.org", 1, "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, serverTLS(t, realmCA{caPEM, caKey, certPEM, keyPEM}))
	cfg, _ := ClientTLS(caPEM, "example.org")
	_, err = dial(t, addr, cfg)
	if err == nil || !strings.Contains(err.Error(), `not realm "example.org"`) {
		t.Fatalf("err = %v, want a realm mismatch", err)
	}
}

func TestClientRefusesTLS12(t *testing.T) {
	r := newRealmCA(t, "example.org", "127.0.0.1:1")
	cfg := serverTLS(t, r)
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	addr := serve(t, cfg)
	ccfg, _ := ClientTLS(r.caPEM, "example.org")
	if _, err := dial(t, addr, ccfg); err == nil {
		t.Fatal("client accepted a TLS 1.2 server")
	}
}

func TestServerTLSRefusesCertificateOfAnotherCA(t *testing.T) {
	a := newRealmCA(t, "example.org", "h:1")
	b := newRealmCA(t, "example.org", "h:1")
	if _, err := ServerTLS(b.certPEM, b.keyPEM, a.caPEM); err == nil {
		t.Fatal("ServerTLS accepted a certificate not signed by the given CA")
	}
	if _, err := ServerTLS(a.certPEM, b.keyPEM, a.caPEM); err == nil {
		t.Fatal("ServerTLS accepted a key that is not the certificate's")
	}
	cfg := serverTLS(t, a)
	if cfg.MinVersion != tls.VersionTLS13 {
		t.Errorf("server MinVersion %x", cfg.MinVersion)
	}
}

func TestFetchCAReturnsTheServersCA(t *testing.T) {
	r := newRealmCA(t, "example.org", "127.0.0.1:1")
	addr := serve(t, serverTLS(t, r))
	ctx := context.Background()
	for _, realm := range []string{"example.org", ""} {
		got, err := FetchCA(ctx, addr, realm)
		if err != nil {
			t.Fatalf("FetchCA(%q): %v", realm, err)
		}
		want, _ := ParseCert(r.caPEM)
		gotC, err := ParseCert(got)
		if err != nil || !gotC.Equal(want) {
			t.Fatalf("FetchCA(%q) returned another certificate: %v", realm, err)
		}
		// The fetched CA is usable for pinning right away.
		cfg, _ := ClientTLS(got, "example.org")
		c, err := dial(t, addr, cfg)
		if err != nil {
			t.Fatalf("pinned handshake: %v", err)
		}
		c.Close()
	}
	if _, err := FetchCA(ctx, addr, "other.org"); err == nil {
		t.Fatal("FetchCA accepted a server of another realm")
	}
}

func TestFetchCARefusesChainWithoutCA(t *testing.T) {
	r := newRealmCA(t, "example.org", "127.0.0.1:1")
	pair, err := tls.X509KeyPair(r.certPEM, r.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{pair}})
	_, err = FetchCA(context.Background(), addr, "example.org")
	if err == nil || !strings.Contains(err.Error(), "did not send its realm CA") {
		t.Fatalf("err = %v", err)
	}
}

func TestFetchCAFailsOnDeadAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, err := FetchCA(context.Background(), addr, "example.org"); err == nil {
		t.Fatal("FetchCA succeeded against a closed port")
	}
}

func TestAdminKeyRoundTripAndMAC(t *testing.T) {
	file, err := NewAdminKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(file) != 65 || file[64] != '\n' {
		t.Fatalf("key file is %q", file)
	}
	key, err := ParseAdminKey(file)
	if err != nil || len(key) != AdminKeySize {
		t.Fatalf("ParseAdminKey: %d bytes, %v", len(key), err)
	}
	other, _ := NewAdminKey()
	if bytes.Equal(file, other) {
		t.Fatal("two admin keys are equal")
	}
	nonce := []byte("0123456789abcdef")
	mac := AdminMAC(key, nonce)
	if !CheckAdminMAC(key, nonce, mac) {
		t.Error("MAC does not check")
	}
	if CheckAdminMAC(key, []byte("another nonce"), mac) {
		t.Error("MAC checks against another nonce")
	}
	otherKey, _ := ParseAdminKey(other)
	if CheckAdminMAC(otherKey, nonce, mac) {
		t.Error("MAC checks with another key")
	}
	if CheckAdminMAC(key, nil, AdminMAC(key, nil)) {
		t.Error("MAC over an empty nonce checks")
	}
}

func TestParseAdminKeyErrorsDoNotQuoteTheKey(t *testing.T) {
	secret := strings.Repeat("zz", 32)
	for _, in := range []string{secret, "abcd", strings.Repeat("a", 66)} {
		_, err := ParseAdminKey([]byte(in))
		if err == nil {
			t.Errorf("ParseAdminKey(%q) succeeded", in)
			continue
		}
		if strings.Contains(err.Error(), in) {
			t.Errorf("error quotes the key: %v", err)
		}
	}
}
