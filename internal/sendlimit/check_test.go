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
	os.WriteFile(text, []byte("alice@example.com 100/1d, 1000rcpt/1d\nbob 100/1w\nuid:33 20/1h\nexample.com 5\n"), 0o600)
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
