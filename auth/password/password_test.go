package password

import (
	"errors"
	"strings"
	"testing"
)

// testParams keeps the tests fast.
var testParams = Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	h, err := HashWith(testParams, []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("encoding %q", h)
	}
	h2, _ := HashWith(testParams, []byte("s3cret"))
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"s3cret", true}, {"s3cret ", false}, {"", false}, {"S3cret", false}} {
		ok, err := Verify(h, []byte(tc.pw))
		if err != nil || ok != tc.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
	if NeedsRehash(h, testParams) || !NeedsRehash(h, DefaultParams()) {
		t.Error("NeedsRehash wrong")
	}
}

func TestDefaultHash(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB hash")
	}
	h, err := Hash([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := Verify(h, []byte("pw")); !ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
}

func TestMalformed(t *testing.T) {
	good, _ := HashWith(testParams, []byte("x"))
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	bad := []string{
		"",
		"plaintext",
		"$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=256$" + salt + "$" + key,
		"$argon2id$v=19$m=99999999999,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1,x=2$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$!!$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key[:8],
		"$argon2id$v=19$m=64,t=1,p=1$AAAA$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$",
		good + strings.Repeat("A", 600),
	}
	for _, enc := range bad {
		ok, err := Verify(enc, []byte("x"))
		if ok || !errors.Is(err, ErrMalformed) {
			t.Errorf("Verify(%.40q) = %v, %v; want ErrMalformed", enc, ok, err)
		}
		if err != nil && strings.Contains(err.Error(), key) {
			t.Errorf("error leaks the hash: %v", err)
		}
	}
	if _, err := HashWith(Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 4}, []byte("x")); err == nil {
		t.Error("HashWith accepted a 4-byte key")
	}
}

func FuzzVerify(f *testing.F) {
	good, _ := HashWith(testParams, []byte("pw"))
	f.Add(good)
	f.Add("$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=1,t=1,p=1$$")
	f.Fuzz(func(t *testing.T, enc string) {
		p, _, _, err := Decode(enc)
		if err != nil {
			return
		}
		if p.Memory > 1024 || p.Time > 2 {
			return // valid but too costly to hash inside the fuzzer
		}
		if _, err := Verify(enc, []byte("pw")); err != nil {
			t.Fatalf("Decode accepted but Verify failed: %v", err)
		}
	})
}
