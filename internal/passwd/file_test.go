package passwd

import (
	"net/netip"
	"strings"
	"testing"
)

const (
	hashArgon = "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$JhyusryXx6M5CEB2EWe55w$jD8mUYv/iydobGnf/LydSubjusiSX4dOBgxOSrrHWx4"
	hashBlf   = "{BLF-CRYPT}$2y$05$M3J4pXnWVrgdOTartJseFOJ37OXAnNW0FUI/ijptuupTmSeSzyG16"
	hashSHA   = "{SHA512-CRYPT}$6$BYNkjsk8BvKO4qTn$nGE7.zTBGZpU.Ivj8P50B87o9QBKAhuCS5rW1q2icp5EZw875NmjgY9To8KWKpVGVOZ1ysM0LfSeza0BWM2ip0"
	cryptSHA  = "$6$BYNkjsk8BvKO4qTn$nGE7.zTBGZpU.Ivj8P50B87o9QBKAhuCS5rW1q2icp5EZw875NmjgY9To8KWKpVGVOZ1ysM0LfSeza0BWM2ip0"
)

func TestParseFile(t *testing.T) {
	data := "# users\n\n   \n" +
		"alice:" + hashArgon + "\n" +
		"Bob@Example.COM:" + hashBlf + ":1000:1000::/home/bob::userdb_mail=maildir:~/Maildir\r\n" +
		"carol:" + cryptSHA + ":::::\n" +
		":ignored\n" +
		"dave:" + hashSHA + ":1:1:Dave:/home/dave:/bin/sh:allow_nets=192.0.2.0/24,2001:db8::1 nodelay quota_rule=*:storage=1G\n" +
		"erin:*\n" +
		"frank:" + hashSHA + "::::::nologin reason=moved\n"
	f, err := Parse("users", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"alice": 4, "bob@example.com": 5, "carol": 6, "dave": 8, "erin": 9, "frank": 10}
	if len(f.Users) != len(want) {
		t.Errorf("users %v", f.Users)
	}
	for u, line := range want {
		if e := f.Users[u]; e == nil || e.Line != line {
			t.Errorf("user %s: %+v, want line %d", u, e, line)
		}
	}
	d := f.Users["dave"]
	if len(d.AllowNets) != 2 || !d.allowed(netip.MustParseAddr("192.0.2.7")) || !d.allowed(netip.MustParseAddr("::ffff:192.0.2.7")) ||
		!d.allowed(netip.MustParseAddr("2001:db8::1")) || d.allowed(netip.MustParseAddr("198.51.100.1")) || d.allowed(netip.Addr{}) {
		t.Errorf("dave allow_nets %v", d.AllowNets)
	}
	if fr := f.Users["frank"]; !fr.NoLogin || fr.Reason != "moved" {
		t.Errorf("frank %+v", fr)
	}
	// One dummy of each scheme and cost, a locked account none.
	var costs []string
	for _, d := range f.dummies {
		if d.h.cost() != d.cost || d.h.Verify([]byte("secret")) {
			t.Errorf("dummy %q: cost %q, or it matches", d.cost, d.h.cost())
		}
		costs = append(costs, d.cost)
	}
	if got, want := strings.Join(costs, "; "), "ARGON2ID m=65536,t=3,p=1,len=32; BLF-CRYPT 5; SHA512-CRYPT 5000 16"; got != want {
		t.Errorf("dummy costs %q, want %q", got, want)
	}
	empty, err := Parse("empty", nil)
	if err != nil || len(empty.Users) != 0 || len(empty.dummies) != 1 || empty.dummies[0].h.Scheme() != DefaultScheme {
		t.Errorf("empty file: %v %v", empty, err)
	}
}

func TestParseFileErrors(t *testing.T) {
	tests := []struct{ data, want string }{
		{"# c\nalice\n", "users, line 2: no password field"},
		{"alice:" + hashArgon + "\nALICE:" + hashBlf + "\n", "users, line 2: user \"alice\" is already on line 1"},
		{"alice:{PLAIN}secret\n", "users, line 1: user alice: unsupported password scheme {PLAIN}"},
		{"al ice:" + hashBlf + "\n", "line 1: user name \"al ice\" has a space"},
		{"\tx:" + hashBlf + "\n", "line 1: user name"},
		{"a\x01:" + hashBlf + "\n", "control character"},
		{"alice:\n", "line 1: user alice: empty password field"},
		{"alice:" + hashBlf + ":::::: nopassword\n", "extra field \"nopassword\" is not supported"},
		{"alice:" + hashBlf + "::::::proxy=y host=10.0.0.1\n", "extra field \"proxy\""},
		{"alice:" + hashBlf + "::::::forward_x=1\n", "extra field \"forward_x\""},
		{"alice:" + hashBlf + "::::::allow_nets=nonsense\n", "allow_nets: \"nonsense\" is not an address"},
		{"alice:" + hashBlf + "::::::allow_nets=\n", "allow_nets: no network"},
		{"\n\n\nalice:{SHA512-CRYPT}$6$rounds=5000000$s$" + strings.Repeat("a", 86) + "\n", "line 4: user alice: SHA-crypt rounds=5000000 is above"},
	}
	for _, tt := range tests {
		_, err := Parse("users", []byte(tt.data))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tt.data, err, tt.want)
		}
	}
}
