package location

import (
	"reflect"
	"strings"
	"testing"
)

func TestServersRoundTrip(t *testing.T) {
	s := Servers{}.With(2, "10.0.0.2:2432").With(1, "10.0.0.1:2432")
	b, err := encodeServers(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := "coda-servers 1\n1 10.0.0.1:2432\n2 10.0.0.2:2432\n"; string(b) != want {
		t.Fatalf("encoded %q, want %q", b, want)
	}
	got, err := decodeServers(b)
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("decoded %v, %v", got, err)
	}
	if id, ok := got.ByAddr("10.0.0.2:2432"); !ok || id != 2 {
		t.Fatalf("ByAddr: %d %v", id, ok)
	}
	if empty, err := decodeServers(nil); err != nil || len(empty) != 0 {
		t.Fatalf("empty: %v %v", empty, err)
	}
}

func TestServersRejectsBadInput(t *testing.T) {
	for _, in := range []string{
		"coda-servers 2\n",
		"coda-servers 1\n0 h:1\n",
		"coda-servers 1\n256 h:1\n",
		"coda-servers 1\n1\n",
		"coda-servers 1\n1 h:1\n1 h:2\n",
		"coda-servers 1\nx h:1\n",
	} {
		if _, err := decodeServers([]byte(in)); err == nil || !strings.Contains(err.Error(), "servers:") {
			t.Errorf("%q: %v, want an error", in, err)
		}
	}
	if _, err := encodeServers(Servers{300: "h:1"}); err == nil {
		t.Error("encoded server id 300")
	}
}
