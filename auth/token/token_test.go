package token

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	keyA = bytes.Repeat([]byte{0xA5}, 32)
	keyB = bytes.Repeat([]byte{0x5A}, 32)
	t0   = time.Unix(1_800_000_000, 123)
)

func sample() Token { return New("example.org", 42, "www-data", t0, 0) }

func mustSeal(t testing.TB, key []byte, tok Token) []byte {
	t.Helper()
	b, err := Seal(key, tok)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	tok := sample()
	b := mustSeal(t, keyA, tok)
	if len(b) > MaxSize {
		t.Fatalf("size %d > MaxSize %d", len(b), MaxSize)
	}
	if bytes.Contains(b, []byte("www-data")) {
		t.Fatal("user name visible in sealed token")
	}
	got, err := Open(keyA, "example.org", b, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != 42 || got.User != "www-data" || got.Realm != "example.org" ||
		!got.Issued.Equal(t0) || !got.Expires.Equal(t0.Add(DefaultLifetime)) {
		t.Fatalf("got %+v", got)
	}
	b2 := mustSeal(t, keyA, tok)
	got2, _ := Open(keyA, "example.org", b2, t0)
	if bytes.Equal(b, b2) || got.Nonce == got2.Nonce {
		t.Fatal("two seals share a nonce")
	}
	if r, err := Realm(b); err != nil || r != "example.org" {
		t.Fatalf("Realm = %q, %v", r, err)
	}
}

func TestOpenErrors(t *testing.T) {
	good := mustSeal(t, keyA, sample())
	other := mustSeal(t, keyB, New("other.org", 42, "www-data", t0, 0))
	sameNameOtherKey := mustSeal(t, keyB, sample())
	flip := func(i int) []byte {
		c := bytes.Clone(good)
		c[i] ^= 1
		return c
	}
	now := t0.Add(time.Minute)
	cases := []struct {
		name string
		key  []byte
		b    []byte
		now  time.Time
		want error
	}{
		{"empty", keyA, nil, now, ErrForged},
		{"version", keyA, flip(0), now, ErrForged},
		{"realm length", keyA, flip(1), now, ErrWrongRealm}, // names "example.or"
		{"realm byte", keyA, flip(3), now, ErrWrongRealm},
		{"nonce", keyA, flip(2 + len("example.org")), now, ErrForged},
		{"ciphertext", keyA, flip(len(good) - 20), now, ErrForged},
		{"tag", keyA, flip(len(good) - 1), now, ErrForged},
		{"truncated", keyA, good[:len(good)-1], now, ErrForged},
		{"extended", keyA, append(bytes.Clone(good), 0), now, ErrForged},
		{"huge", keyA, make([]byte, MaxSize+1), now, ErrForged},
		{"other realm", keyA, other, now, ErrWrongRealm},
		{"same realm name, other key", keyA, sameNameOtherKey, now, ErrForged},
		{"wrong key", keyB, good, now, ErrForged},
		{"expired exactly", keyA, good, t0.Add(DefaultLifetime), ErrExpired},
		{"expired later", keyA, good, t0.Add(48 * time.Hour), ErrExpired},
		{"short key", keyA[:16], good, now, ErrBadKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.key, "example.org", tc.b, tc.now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			for _, s := range []error{ErrForged, ErrExpired, ErrWrongRealm, ErrBadKey} {
				if s != tc.want && errors.Is(err, s) {
					t.Fatalf("err %v also matches %v", err, s)
				}
			}
			if strings.Contains(err.Error(), "www-data") {
				t.Fatalf("error leaks token content: %v", err)
			}
		})
	}
	tok, err := Open(keyA, "example.org", good, t0.Add(DefaultLifetime))
	if !errors.Is(err, ErrExpired) || tok.UserID != 42 {
		t.Fatalf("expired token: %+v, %v", tok, err)
	}
}

func TestSealErrors(t *testing.T) {
	long := strings.Repeat("x", MaxName+1)
	cases := []struct {
		name string
		key  []byte
		tok  Token
	}{
		{"no realm", keyA, New("", 1, "u", t0, 0)},
		{"long realm", keyA, New(long, 1, "u", t0, 0)},
		{"no user", keyA, New("r", 1, "", t0, 0)},
		{"long user", keyA, New("r", 1, long, t0, 0)},
		{"expires before issue", keyA, Token{Realm: "r", User: "u", Issued: t0, Expires: t0}},
		{"short key", []byte("short"), sample()},
	}
	for _, tc := range cases {
		if _, err := Seal(tc.key, tc.tok); err == nil {
			t.Errorf("%s: Seal succeeded", tc.name)
		}
	}
	// Longest names fit in MaxSize.
	b := mustSeal(t, keyA, New(long[:MaxName], -5, long[:MaxName], t0, time.Second))
	if len(b) != MaxSize {
		t.Fatalf("max token %d bytes, MaxSize %d", len(b), MaxSize)
	}
}

func FuzzOpen(f *testing.F) {
	good := mustSeal(f, keyA, sample())
	f.Add(good)
	f.Add(mustSeal(f, keyB, sample()))
	f.Add(mustSeal(f, keyA, New("example.org", -1, strings.Repeat("u", 255), t0, time.Nanosecond)))
	for _, i := range []int{0, 1, 5, 20, len(good) - 1} {
		c := bytes.Clone(good)
		c[i] ^= 0x80
		f.Add(c)
	}
	f.Add(good[:30])
	f.Add([]byte{})
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := Open(keyA, "example.org", b, t0)
		if err != nil {
			if !errors.Is(err, ErrForged) && !errors.Is(err, ErrExpired) && !errors.Is(err, ErrWrongRealm) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		// An accepted token must re-seal and re-open to the same content.
		b2, err := Seal(keyA, tok)
		if err != nil {
			t.Fatalf("accepted token does not re-seal: %v", err)
		}
		tok2, err := Open(keyA, "example.org", b2, t0)
		if err != nil || tok2.UserID != tok.UserID || tok2.User != tok.User || !tok2.Expires.Equal(tok.Expires) {
			t.Fatalf("re-open: %+v, %v", tok2, err)
		}
	})
}
