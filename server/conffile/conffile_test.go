package conffile

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cf, err := Parse("x.conf", strings.NewReader("# c\n\n Key = v \nq=\"a b\"\nkey=w\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := cf.Map()
	if m["key"].Value != "w" || m["key"].Line != 5 || m["q"].Value != "a b" || len(cf.Entries) != 3 {
		t.Fatalf("entries %+v", cf.Entries)
	}
	if _, err := Parse("x.conf", strings.NewReader("a=1\n=2\n")); err == nil || err.Error() != "x.conf:2: want key=value" {
		t.Fatalf("a line without a key: %v", err)
	}
	if cf, err := Read("/nonexistent/x.conf", true); err != nil || len(cf.Entries) != 0 {
		t.Fatalf("a missing default file: %v", err)
	}
	if _, err := Read("/nonexistent/x.conf", false); err == nil || !strings.Contains(err.Error(), "/nonexistent/x.conf") {
		t.Fatalf("a missing named file: %v", err)
	}
}
