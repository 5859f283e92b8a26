// Package token seals and opens Coda authentication tokens.
//
// A token says "realm R vouches that the holder is Coda user U (id N)
// from Issued until Expires". Only servers hold the realm secret; clients
// carry tokens as opaque bytes and cannot read or alter them.
//
// Crypto: the AEAD key is derived from the realm secret with HKDF-SHA256
// (golang.org/x/crypto/hkdf, salt "coda-token-v1", info = realm name);
// the payload is sealed with XChaCha20-Poly1305
// (golang.org/x/crypto/chacha20poly1305) under a fresh random 24-byte
// nonce. The version byte and realm name are authenticated as associated
// data. Nothing here is hand-rolled.
//
// Wire format (version 1, all integers big-endian):
//
//	version u8 = 1 | realmLen u8 | realm | nonce [24] | sealed payload
//	payload = userID i32 | issued i64 (unix ns) | expires i64 (unix ns) |
//	          userLen u8 | user
//
// Names are 1..255 bytes; a sealed token is at most MaxSize bytes.
//
// Errors: Open returns an error wrapping exactly one of ErrWrongRealm (the
// token names another realm), ErrForged (malformed, tampered with, or
// sealed by another key), ErrExpired (authentic but now >= Expires).
// On ErrExpired Open also returns the authentic token (so a caller can
// say when it expired); any other error returns the zero Token. A short
// realm secret is ErrBadKey. Seal and Open never put key or token bytes
// in an error.
//
// Locking and persistence: none; the functions are pure apart from
// reading crypto/rand.
package token
