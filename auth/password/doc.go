// Package password hashes and verifies login passwords and throttles
// repeated failed logins.
//
// Hashes are argon2id (golang.org/x/crypto/argon2) with a fresh random
// 16-byte salt per hash. The parameters travel with the hash in the
// self-describing PHC string form
//
//	$argon2id$v=19$m=65536,t=1,p=2$<salt, base64>$<key, base64>
//
// so that stored hashes stay verifiable when the defaults change. Verify
// compares in constant time and refuses parameters outside sane bounds
// (a corrupted or hostile stored hash cannot make it allocate unbounded
// memory).
//
// Limiter implements the login throttle: after Threshold (5) failures for
// one user, or from one address, within Window (60 s), every further
// attempt for that user or from that address must first wait Delay (1 s).
// It takes the current time as an argument, so it is deterministic.
//
// Locking: Hash and Verify are pure; Limiter is safe for concurrent use
// (one mutex). Persistence: none; the limiter's state lives in memory and
// is bounded (MaxTracked keys per kind).
//
// Errors: ErrMalformed (wrapped with the reason) for an undecodable hash;
// a wrong password is (false, nil), not an error. No error or log message
// ever contains a password, a salt or a hash.
package password
