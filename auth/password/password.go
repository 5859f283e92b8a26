package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// ErrMalformed reports an encoded hash that cannot be parsed or whose
// parameters are out of bounds.
var ErrMalformed = errors.New("password: malformed hash")

// Params are the argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes
	KeyLen  uint32 // bytes of derived key
}

// DefaultParams returns the production parameters: 64 MiB, 1 pass,
// 2 lanes, 32-byte key.
func DefaultParams() Params {
	return Params{Memory: 64 * 1024, Time: 1, Threads: 2, KeyLen: 32}
}

// SaltLen is the length of the random salt of every new hash.
const SaltLen = 16

// Bounds accepted when hashing or verifying.
const (
	maxMemory = 4 * 1024 * 1024 // 4 GiB in KiB
	maxTime   = 64
	minKeyLen = 16
	maxKeyLen = 64
	minSalt   = 8
	maxSalt   = 64
	maxEnc    = 512 // longest encoded hash accepted
)

func (p Params) valid() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("%w: time out of range", ErrMalformed)
	case p.Threads < 1:
		return fmt.Errorf("%w: threads out of range", ErrMalformed)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("%w: memory out of range", ErrMalformed)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("%w: key length out of range", ErrMalformed)
	}
	return nil
}

// Hash hashes pw with DefaultParams.
func Hash(pw []byte) (string, error) { return HashWith(DefaultParams(), pw) }

// HashWith hashes pw with p and a fresh random salt and returns the
// encoded form.
func HashWith(p Params, pw []byte) (string, error) {
	if err := p.valid(); err != nil {
		return "", fmt.Errorf("password: bad parameters: %w", err)
	}
	salt := make([]byte, SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key := argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether pw matches the encoded hash. The comparison of
// derived keys is constant-time. A mismatch is (false, nil).
func Verify(encoded string, pw []byte) (bool, error) {
	p, salt, key, err := Decode(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether encoded was made with parameters other than
// want (so a successful login can upgrade it).
func NeedsRehash(encoded string, want Params) bool {
	p, _, _, err := Decode(encoded)
	return err != nil || p != want
}

// Decode parses an encoded hash into its parameters, salt and key.
func Decode(encoded string) (Params, []byte, []byte, error) {
	var p Params
	if len(encoded) > maxEnc {
		return p, nil, nil, fmt.Errorf("%w: too long", ErrMalformed)
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: not an argon2id hash", ErrMalformed)
	}
	if parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: unsupported version", ErrMalformed)
	}
	var m, t, th uint32
	n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &th)
	if err != nil || n != 3 || parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", m, t, th) {
		return p, nil, nil, fmt.Errorf("%w: bad parameters", ErrMalformed)
	}
	if th < 1 || th > 255 {
		return p, nil, nil, fmt.Errorf("%w: threads out of range", ErrMalformed)
	}
	b64 := base64.RawStdEncoding.Strict()
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return p, nil, nil, fmt.Errorf("%w: bad base64", ErrMalformed)
	}
	if len(salt) < minSalt || len(salt) > maxSalt {
		return p, nil, nil, fmt.Errorf("%w: salt length out of range", ErrMalformed)
	}
	p = Params{Memory: m, Time: t, Threads: uint8(th), KeyLen: uint32(len(key))}
	if err := p.valid(); err != nil {
		return Params{}, nil, nil, err
	}
	return p, salt, key, nil
}
