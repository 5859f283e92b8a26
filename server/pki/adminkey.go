package pki

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// AdminKeySize is the size of the realm admin key in bytes. The key file
// holds it as 2*AdminKeySize hex characters and a newline.
const AdminKeySize = 32

// NewAdminKey returns the contents of a new admin key file: 32 random bytes
// as 64 hex characters and a newline. Write it with WriteSecretFile.
func NewAdminKey() ([]byte, error) {
	var k [AdminKeySize]byte
	if _, err := rand.Read(k[:]); err != nil {
		return nil, fmt.Errorf("generate admin key: %w", err)
	}
	out := make([]byte, 2*AdminKeySize, 2*AdminKeySize+1)
	hex.Encode(out, k[:])
	return append(out, '\n'), nil
}

// ParseAdminKey decodes the contents of an admin key file (surrounding
// white space is ignored). The error never quotes the contents.
func ParseAdminKey(data []byte) ([]byte, error) {
	s := bytes.TrimSpace(data)
	if len(s) != 2*AdminKeySize {
		return nil, fmt.Errorf("admin key file must hold %d hex characters, it holds %d characters", 2*AdminKeySize, len(s))
	}
	k := make([]byte, AdminKeySize)
	if _, err := hex.Decode(k, s); err != nil {
		return nil, errors.New("admin key file holds characters that are not hex digits")
	}
	return k, nil
}

// AdminMAC is the proof of the admin key for one connection:
// HMAC-SHA256(key, nonce), nonce being the server's hello nonce.
func AdminMAC(key, nonce []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(nonce)
	return m.Sum(nil)
}

// CheckAdminMAC reports, in constant time, whether mac is AdminMAC(key,
// nonce). An empty nonce never checks.
func CheckAdminMAC(key, nonce, mac []byte) bool {
	if len(nonce) == 0 || len(key) == 0 {
		return false
	}
	return hmac.Equal(AdminMAC(key, nonce), mac)
}

// RealmMAC is HMAC-SHA256 under the realm secret of a purpose label and
// parts, each length-prefixed so that no two lists of parts collide: how a
// joining server and the SCM prove to each other that they hold the
// secret, bound to one connection and to what they send.
func RealmMAC(secret []byte, label string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, secret)
	var n [4]byte
	for _, p := range append([][]byte{[]byte(label)}, parts...) {
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		m.Write(n[:])
		m.Write(p)
	}
	return m.Sum(nil)
}

// CheckRealmMAC reports, in constant time, whether mac is RealmMAC(secret,
// label, parts...). An empty secret never checks.
func CheckRealmMAC(secret, mac []byte, label string, parts ...[]byte) bool {
	return len(secret) > 0 && hmac.Equal(RealmMAC(secret, label, parts...), mac)
}
