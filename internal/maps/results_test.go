package maps

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestResults(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	text := write("text", "# limits\nAlice 1/h\n\nexample.com 2/h,\n  3rcpt/d\n")
	re := write("re", "/^(.*)@a\\.test$/ ${1}/h\nif /x/\n!/^b@/i  5/h $$\nendif\n")
	cidr := write("cidr", "192.0.2.0/24 OK\n!10.0.0.0/8 REJECT no\n")
	db := write("db", "a 1/h\nb 2/h\n")
	if _, err := Build("", "cdb:"+db); err != nil {
		t.Fatal(err)
	}
	write("db", "a 1/h\nb CHANGED\n") // b's line no longer says what the database has
	for _, tc := range []struct {
		spec string
		want []Result
		ok   bool
	}{
		{"texthash:" + text, []Result{{Key: "alice", Value: "1/h", File: text, Line: 2},
			{Key: "example.com", Value: "2/h,  3rcpt/d", File: text, Line: 4}}, true},
		{"regexp:" + re, []Result{{Key: `/^(.*)@a\.test$/`, Value: "${1}/h", File: re, Line: 1, Subst: true},
			{Key: "!/^b@/i", Value: "5/h $", File: re, Line: 3}}, true},
		{"pcre:" + re, []Result{{Key: `/^(.*)@a\.test$/`, Value: "${1}/h", File: re, Line: 1, Subst: true},
			{Key: "!/^b@/i", Value: "5/h $", File: re, Line: 3}}, true},
		{"cidr:" + cidr, []Result{{Key: "192.0.2.0/24", Value: "OK", File: cidr, Line: 1},
			{Key: "!10.0.0.0/8", Value: "REJECT no", File: cidr, Line: 2}}, true},
		{"hash:" + db, []Result{{Key: "a", Value: "1/h", File: db, Line: 1},
			{Key: "b", Value: "2/h", File: db + ".cdb"}}, true},
		{"inline:{A=1/h, { b = 2/h 3/d }}", []Result{{Key: "a", Value: "1/h"}, {Key: "b", Value: "2/h 3/d"}}, true},
		{"static:{1/h 2/d}", []Result{{Value: "1/h 2/d"}}, true},
		{"unix:passwd.byname", nil, false},
	} {
		tbl, err := Open(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		var got []Result
		ok, err := Results(tbl, func(r Result) error { got = append(got, r); return nil })
		Close(tbl)
		if err != nil || ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: ok %v err %v\n got %+v\nwant %+v", tc.spec, ok, err, got, tc.want)
		}
	}
}
