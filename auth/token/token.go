package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"
)

// DefaultLifetime is the default validity of a new token (a server
// setting may override it).
const DefaultLifetime = 25 * time.Hour

// Version is the current format version.
const Version = 1

// Limits of the format.
const (
	MaxName      = 255 // bytes of a realm or user name
	MinSecret    = 32  // bytes of realm secret
	NonceSize    = chacha20poly1305.NonceSizeX
	payloadFixed = 4 + 8 + 8 + 1
	// MaxSize bounds a sealed token.
	MaxSize = 2 + MaxName + NonceSize + payloadFixed + MaxName + chacha20poly1305.Overhead
)

// Sentinel errors of Open.
var (
	ErrForged     = errors.New("token: invalid or forged")
	ErrExpired    = errors.New("token: expired")
	ErrWrongRealm = errors.New("token: issued by another realm")
	ErrBadKey     = errors.New("token: realm secret too short")
)

// Token is the content of a sealed token.
type Token struct {
	Realm   string
	UserID  int32
	User    string
	Issued  time.Time
	Expires time.Time
	// Nonce is the random nonce the token was sealed with; Open fills it
	// in and it serves as a unique token id. Seal ignores it and always
	// draws a fresh one.
	Nonce [NonceSize]byte
}

// New returns a token for user (id uid) in realm issued at now and valid
// for lifetime (DefaultLifetime when lifetime <= 0).
func New(realm string, uid int32, user string, now time.Time, lifetime time.Duration) Token {
	if lifetime <= 0 {
		lifetime = DefaultLifetime
	}
	return Token{Realm: realm, UserID: uid, User: user, Issued: now, Expires: now.Add(lifetime)}
}

// aead derives the realm's AEAD from its secret.
func aead(secret []byte, realm string) (cipherAEAD, error) {
	if len(secret) < MinSecret {
		return nil, ErrBadKey
	}
	k := make([]byte, chacha20poly1305.KeySize)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, []byte("coda-token-v1"), []byte(realm)), k); err != nil {
		return nil, fmt.Errorf("token: derive key: %w", err)
	}
	return chacha20poly1305.NewX(k)
}

type cipherAEAD interface {
	Seal(dst, nonce, plaintext, additionalData []byte) []byte
	Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error)
}

func checkName(what, s string) error {
	if len(s) == 0 || len(s) > MaxName {
		return fmt.Errorf("token: %s name must be 1..%d bytes", what, MaxName)
	}
	return nil
}

// Seal encrypts and authenticates t with the realm secret key.
func Seal(key []byte, t Token) ([]byte, error) {
	if err := checkName("realm", t.Realm); err != nil {
		return nil, err
	}
	if err := checkName("user", t.User); err != nil {
		return nil, err
	}
	if !t.Expires.After(t.Issued) {
		return nil, errors.New("token: expiry not after issue time")
	}
	a, err := aead(key, t.Realm)
	if err != nil {
		return nil, err
	}
	hdr := make([]byte, 0, MaxSize)
	hdr = append(hdr, Version, byte(len(t.Realm)))
	hdr = append(hdr, t.Realm...)
	ad := hdr
	var nonce [NonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("token: nonce: %w", err)
	}
	out := append(hdr, nonce[:]...)
	p := make([]byte, 0, payloadFixed+len(t.User))
	p = binary.BigEndian.AppendUint32(p, uint32(t.UserID))
	p = binary.BigEndian.AppendUint64(p, uint64(t.Issued.UnixNano()))
	p = binary.BigEndian.AppendUint64(p, uint64(t.Expires.UnixNano()))
	p = append(p, byte(len(t.User)))
	p = append(p, t.User...)
	return a.Seal(out, nonce[:], p, ad[:len(ad):len(ad)]), nil
}

// Realm returns the realm a sealed token names, without verifying it
// (so a server can pick the key to Open it with).
func Realm(b []byte) (string, error) {
	if len(b) < 2 || b[0] != Version {
		return "", fmt.Errorf("%w: bad header", ErrForged)
	}
	n := int(b[1])
	if n == 0 || len(b) < 2+n {
		return "", fmt.Errorf("%w: bad header", ErrForged)
	}
	return string(b[2 : 2+n]), nil
}

// Open verifies and decrypts a token sealed for realm with key, and
// checks that it has not expired at now.
func Open(key []byte, realm string, b []byte, now time.Time) (Token, error) {
	if len(b) > MaxSize {
		return Token{}, fmt.Errorf("%w: too long", ErrForged)
	}
	r, err := Realm(b)
	if err != nil {
		return Token{}, err
	}
	if r != realm {
		return Token{}, ErrWrongRealm
	}
	hl := 2 + len(r)
	if len(b) < hl+NonceSize+payloadFixed+1+chacha20poly1305.Overhead {
		return Token{}, fmt.Errorf("%w: too short", ErrForged)
	}
	a, err := aead(key, realm)
	if err != nil {
		return Token{}, err
	}
	t := Token{Realm: r}
	copy(t.Nonce[:], b[hl:hl+NonceSize])
	p, err := a.Open(nil, t.Nonce[:], b[hl+NonceSize:], b[:hl])
	if err != nil {
		return Token{}, ErrForged
	}
	if err := decodePayload(p, &t); err != nil {
		return Token{}, err
	}
	if !now.Before(t.Expires) {
		return t, ErrExpired
	}
	return t, nil
}

func decodePayload(p []byte, t *Token) error {
	if len(p) < payloadFixed {
		return fmt.Errorf("%w: short payload", ErrForged)
	}
	t.UserID = int32(binary.BigEndian.Uint32(p))
	t.Issued = time.Unix(0, int64(binary.BigEndian.Uint64(p[4:])))
	t.Expires = time.Unix(0, int64(binary.BigEndian.Uint64(p[12:])))
	n := int(p[20])
	if n == 0 || len(p) != payloadFixed+n || !t.Expires.After(t.Issued) {
		return fmt.Errorf("%w: bad payload", ErrForged)
	}
	t.User = string(p[payloadFixed:])
	return nil
}
