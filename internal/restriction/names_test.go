package restriction

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		list    string
		classes []string
		items   int
		errs    []string
	}{
		{"permit_mynetworks permit_sasl_authenticated defer_unauth_destination", nil, 3, nil},
		{"check_client_access hash:/etc/postfix/access reject", nil, 2, nil},
		{"reject_rbl_client zen.example.org permit", nil, 2, nil},
		{"myclass reject", []string{"myclass"}, 2, nil},
		{"reject_bogus", nil, 0, []string{`unknown restriction "reject_bogus"`}},
		{"check_client_access", nil, 0, []string{"needs an argument"}},
		{"check_client_access /etc/access", nil, 1, []string{"is not a type:table"}},
		{"hash:/etc/access", nil, 0, []string{"must follow a check_*_access"}},
		{"bad1 permit bad2", nil, 1, []string{`"bad1"`, `"bad2"`}},
	}
	for _, tt := range tests {
		items, errs := Parse(strings.Fields(tt.list), tt.classes)
		if len(items) != tt.items {
			t.Errorf("%q: %d items, want %d", tt.list, len(items), tt.items)
		}
		if len(errs) != len(tt.errs) {
			t.Errorf("%q: errors %v, want %v", tt.list, errs, tt.errs)
			continue
		}
		for i, e := range errs {
			if !strings.Contains(e.Error(), tt.errs[i]) {
				t.Errorf("%q: error %q, want it to contain %q", tt.list, e, tt.errs[i])
			}
		}
	}
}

func TestUnreachable(t *testing.T) {
	items, _ := Parse(strings.Fields("permit_mynetworks reject check_client_access hash:/x"), nil)
	after, first, ok := Unreachable(items)
	if !ok || after.Name != "reject" || first.Name != "check_client_access" {
		t.Errorf("got %v %v %v", after, first, ok)
	}
	items, _ = Parse(strings.Fields("permit_mynetworks reject"), nil)
	if _, _, ok := Unreachable(items); ok {
		t.Error("a final reject was reported as hiding something")
	}
}
