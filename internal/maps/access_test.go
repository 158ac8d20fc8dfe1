package maps

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// recorder finds nothing and records the keys it was asked for.
type recorder struct {
	pattern bool
	keys    []string
	hits    map[string]string
	err     error
}

func (r *recorder) Lookup(k string) (string, bool, error) {
	r.keys = append(r.keys, k)
	if r.err != nil {
		return "", false, r.err
	}
	v, ok := r.hits[k]
	return v, ok, nil
}
func (r *recorder) Name() string  { return "test:recorder" }
func (r *recorder) Pattern() bool { return r.pattern }

// The orders below are those of smtpd_check.c (Postfix 3.7):
// check_mail_access, check_domain_access, check_addr_access,
// check_namadr_access.
func TestLookupAddressOrder(t *testing.T) {
	for _, tc := range []struct {
		addr, delim string
		parent      bool
		want        string
	}{
		{"user+ext@sub.example.com", "+", true,
			"user+ext@sub.example.com user@sub.example.com sub.example.com example.com com user+ext@ user@"},
		{"user+ext@sub.example.com", "+", false,
			"user+ext@sub.example.com user@sub.example.com sub.example.com .example.com .com user+ext@ user@"},
		{"user+ext@example.com", "", true, "user+ext@example.com example.com com user+ext@"},
		{"user@example.com", "+", true, "user@example.com example.com com user@"},
		// The extension starts at the first delimiter of any kind.
		{"a-b+c@x.org", "+-", true, "a-b+c@x.org a@x.org x.org org a-b+c@ a@"},
		// Reserved local parts are never split; with "-", neither are
		// owner-* and *-request (owner_request_special = yes).
		{"mailer-daemon@x.org", "-", true, "mailer-daemon@x.org x.org org mailer-daemon@"},
		{"Double-Bounce@x.org", "-", true, "Double-Bounce@x.org x.org org Double-Bounce@"},
		// Only the whole local part is reserved.
		{"postmaster+x@x.org", "+", true, "postmaster+x@x.org postmaster@x.org x.org org postmaster+x@ postmaster@"},
		{"owner-list@x.org", "-", true, "owner-list@x.org x.org org owner-list@"},
		{"list-request@x.org", "-", true, "list-request@x.org x.org org list-request@"},
		{"list-request@x.org", "+", true, "list-request@x.org x.org org list-request@"},
		{"+ext@x.org", "+", true, "+ext@x.org x.org org +ext@"},
		// The last "@" separates the domain.
		{`"a@b"@x.org`, "", true, `"a@b"@x.org x.org org "a@b"@`},
		{"user@[192.0.2.1]", "", true, "user@[192.0.2.1] [192.0.2.1] 0.2.1] 2.1] 1] user@"},
		// Postfix looks "user@" up twice here: as the address and as user@.
		{"user@", "", true, "user@ user@"},
		{"nodomain", "+", true, ""},
	} {
		r := &recorder{}
		LookupAddressParent(r, tc.addr, tc.delim, tc.parent)
		if got := strings.Join(r.keys, " "); got != tc.want {
			t.Errorf("%s delim %q parent %v:\n got %s\nwant %s", tc.addr, tc.delim, tc.parent, got, tc.want)
		}
	}
}

func TestLookupDomainOrder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		parent bool
		want   string
	}{
		{"host.example.com", true, "host.example.com example.com com"},
		{"host.example.com", false, "host.example.com .example.com .com"},
		{"host.example.com.", true, "host.example.com. example.com. com."},
		{"host.example.com.", false, "host.example.com. .example.com. .com. ."},
		{"localhost", true, "localhost"},
		{".example.com", true, ".example.com com"},
		{"192.0.2.1", true, "192.0.2.1"}, // addresses get no parent search
		{"2001:db8::1", true, "2001:db8::1"},
		{"", true, ""},
	} {
		r := &recorder{}
		LookupDomain(r, tc.name, tc.parent)
		if got := strings.Join(r.keys, " "); got != tc.want {
			t.Errorf("%s parent %v: got %q, want %q", tc.name, tc.parent, got, tc.want)
		}
	}
}

func TestLookupClientOrder(t *testing.T) {
	for _, tc := range []struct{ ip, host, want string }{
		{"192.0.2.7", "mail.example.com", "mail.example.com example.com com 192.0.2.7 192.0.2 192.0 192"},
		{"192.0.2.7", "unknown", "unknown 192.0.2.7 192.0.2 192.0 192"},
		{"2001:db8::7", "unknown", "unknown 2001:db8::7 2001:db8: 2001:db8 2001"},
		{"2001:db8:1:2::7", "", "2001:db8:1:2::7 2001:db8:1:2: 2001:db8:1:2 2001:db8:1 2001:db8 2001"},
		{"::1", "", "::1 :"},
	} {
		r := &recorder{}
		LookupClient(r, tc.ip, tc.host, true)
		if got := strings.Join(r.keys, " "); got != tc.want {
			t.Errorf("%s %s: got %q, want %q", tc.ip, tc.host, got, tc.want)
		}
	}
}

// Only the first key of a search reaches a pattern table.
func TestPatternTablesSeeFullKeysOnly(t *testing.T) {
	r := &recorder{pattern: true}
	LookupAddress(r, "user+ext@sub.example.com", "+")
	LookupClient(r, "192.0.2.7", "mail.example.com", true)
	LookupDomain(r, "helo.example.com", true)
	want := []string{"user+ext@sub.example.com", "mail.example.com", "192.0.2.7", "helo.example.com"}
	if !reflect.DeepEqual(r.keys, want) {
		t.Errorf("got %q, want %q", r.keys, want)
	}
}

// The first key found ends the search, whatever its value: DUNNO on a
// specific key hides less specific keys.
func TestFirstFoundWins(t *testing.T) {
	r := &recorder{hits: map[string]string{"192.0.2.7": "DUNNO", "192.0.2": "REJECT", "example.com": "OK"}}
	if v, ok, _ := LookupClient(r, "192.0.2.7", "unknown", true); !ok || v != "DUNNO" {
		t.Errorf("client: %q %v", v, ok)
	}
	r.keys = nil
	if v, ok, _ := LookupClient(r, "192.0.2.8", "mx.example.com", true); !ok || v != "OK" {
		t.Errorf("client by name: %q %v", v, ok)
	}
	if strings.Join(r.keys, " ") != "mx.example.com example.com" {
		t.Errorf("address lookups after a name match: %q", r.keys)
	}
	r.err = errors.New("boom")
	if _, _, err := LookupAddress(r, "a@b.c", ""); err == nil {
		t.Error("lookup error not reported")
	}
}

// With a real table: the access(5) example and parent-domain styles.
func TestAccessWithTable(t *testing.T) {
	tbl, err := Open("inline:{1.2.3=REJECT, 1.2.3.4=OK, example.com=OK_PARENT, .example.net=OK_DOT, user@=USER}")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		got  func() (string, bool, error)
		want string
	}{
		{func() (string, bool, error) { return LookupClient(tbl, "1.2.3.4", "unknown", true) }, "ok"},
		{func() (string, bool, error) { return LookupClient(tbl, "1.2.3.5", "unknown", true) }, "reject"},
		{func() (string, bool, error) { return LookupClient(tbl, "1.2.4.5", "unknown", true) }, ""},
		{func() (string, bool, error) { return LookupDomain(tbl, "a.b.EXAMPLE.com", true) }, "ok_parent"},
		{func() (string, bool, error) { return LookupDomain(tbl, "a.b.example.com", false) }, ""},
		{func() (string, bool, error) { return LookupDomain(tbl, "a.example.net", false) }, "ok_dot"},
		{func() (string, bool, error) { return LookupDomain(tbl, "example.net", false) }, ""},
		{func() (string, bool, error) { return LookupAddress(tbl, "User+x@other.org", "+") }, "user"},
	} {
		v, _, err := tc.got()
		if err != nil || strings.ToLower(v) != tc.want {
			t.Errorf("got %q (%v), want %q", v, err, tc.want)
		}
	}
}
