package sendlimit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/maps"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "limits")
	os.WriteFile(text, []byte("alice@example.com 100/1d, 1000rcpt/1d\nbob 100/1w\nuid:33 20/1h\nexample.com 5\n"+
		"client:192.0.2.1 1/h\nclient:2001:db8:1:2::/64 1/h\nclient:2001:db8::1 1/h\nclient:192.0.2.0/24 1/h\nuid:033 1/h\n<> 1/h\n* 1/h\n"), 0o600)
	re := filepath.Join(dir, "limits.re")
	os.WriteFile(re, []byte("/^(.*)@x$/ ${1}/h\n/^y@/ 10/h\n/^z@/ ten/h\n"), 0o600)
	var tables []maps.Table
	for _, spec := range []string{"texthash:" + text, "regexp:" + re, "inline:{a=1/h, b=1/fortnight}", "unix:passwd.byname"} {
		tbl, err := maps.Open(spec)
		if err != nil {
			t.Fatal(err)
		}
		tables = append(tables, tbl)
	}
	problems, unlisted, errs := Check(tables)
	var got []string
	for _, p := range problems {
		got = append(got, strings.ReplaceAll(p.Error(), dir, "DIR"))
	}
	want := []string{
		`DIR/limits, line 2, key bob: bad value "100/1w": rule "100/1w": time "1w" is not [N]s, m, h or d; accepted: ` + Syntax,
		`DIR/limits, line 4, key example.com: bad value "5": rule "5": want N/time or Nrcpt/time; accepted: ` + Syntax,
		`DIR/limits, line 7, key client:2001:db8::1: never looked up: IPv4 clients are looked up by address, IPv6 clients by /64 network; write client:2001:db8::/64`,
		`DIR/limits, line 8, key client:192.0.2.0/24: "192.0.2.0/24" is not an IPv4 address or an IPv6 /64 network`,
		`DIR/limits, line 9, key uid:033: never looked up: want uid:N, N a user id in decimal`,
		`DIR/limits.re, line 3, key /^z@/: bad value "ten/h": rule "ten/h": count "ten" is not a number from 1 to 999999999; accepted: ` + Syntax,
		`table inline:{a=1/h, b=1/fortnight}, key b: bad value "1/fortnight": rule "1/fortnight": time "fortnight" is not [N]s, m, h or d; accepted: ` + Syntax,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(unlisted) != 1 || unlisted[0] != "unix:passwd.byname" || len(errs) != 0 {
		t.Errorf("unlisted %v, errs %v", unlisted, errs)
	}
}

func TestHasCatchAll(t *testing.T) {
	for _, tc := range []struct {
		specs []string
		want  bool
	}{
		{[]string{"inline:{a=1/h}"}, false},
		{[]string{"inline:{a=1/h}", "inline:{*=1/h}"}, true},
		{[]string{"regexp:" + writeFile(t, "/./ 1/h\n")}, true},
		{[]string{"regexp:" + writeFile(t, "/@/ 1/h\n")}, false},
	} {
		var tables []maps.Table
		for _, spec := range tc.specs {
			tbl, err := maps.Open(spec)
			if err != nil {
				t.Fatal(err)
			}
			tables = append(tables, tbl)
		}
		if got := HasCatchAll(tables); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.specs, got, tc.want)
		}
	}
}

func writeFile(t *testing.T, text string) string {
	name := filepath.Join(t.TempDir(), "t")
	if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}
