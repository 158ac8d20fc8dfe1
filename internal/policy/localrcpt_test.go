package policy

import (
	"reflect"
	"testing"
)

func TestLocalKeys(t *testing.T) {
	for _, c := range []struct {
		addr, delim string
		want        []string
	}{
		{"Alice@MX.example", "", []string{"alice@mx.example", "alice", "@mx.example"}},
		{"alice+news@mx", "+", []string{"alice+news@mx", "alice@mx", "alice+news", "alice", "@mx"}},
		{"alice-news@mx", "+-", []string{"alice-news@mx", "alice@mx", "alice-news", "alice", "@mx"}},
		{"+news@mx", "+", []string{"+news@mx", "+news", "@mx"}},
		{"owner-list@mx", "-", []string{"owner-list@mx", "owner-list", "@mx"}},
		{"list-request@mx", "-", []string{"list-request@mx", "list-request", "@mx"}},
		// owner-*/-request stay whole only when "-" is a delimiter.
		{"owner-list+tag@mx", "+", []string{"owner-list+tag@mx", "owner-list@mx", "owner-list+tag", "owner-list", "@mx"}},
		{"list-request+x@mx", "+", []string{"list-request+x@mx", "list-request@mx", "list-request+x", "list-request", "@mx"}},
		{"-request@mx", "-", []string{"-request@mx", "-request", "@mx"}},
	} {
		if got := localKeys(c.addr, c.delim); !reflect.DeepEqual(got, c.want) {
			t.Errorf("localKeys(%q, %q) = %q, want %q", c.addr, c.delim, got, c.want)
		}
	}
}
