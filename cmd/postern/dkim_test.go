package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/postern-mta/postern/internal/dnstest"
)

// zoneRecord turns the zone-file line that keygen prints into the name
// and the TXT record's strings.
func zoneRecord(t *testing.T, out string) (string, []string) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^(\S+\._domainkey\.\S+)\. IN TXT \( (.*) \)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no zone line in:\n%s", out)
	}
	var parts []string
	for _, q := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(m[2], -1) {
		parts = append(parts, q[1])
	}
	return m[1], parts
}

// TestDKIMKeygenCheck: keygen writes a key mode 0600 for mail_owner,
// never over an existing one, and prints the TXT record and the table
// line; check finds each selector matching, differing, missing or the
// DNS failing, and exits 0 only when all match.
func TestDKIMKeygenCheck(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("mail_owner = nobody\n"), 0o644)
	keyDir := filepath.Join(dir, "dkim")

	out, errOut, code := runBin(t, "postern", "dkim", "keygen", "-c", dir, "Example.COM", "s1")
	if code != 0 {
		t.Fatalf("keygen: %d %s", code, errOut)
	}
	keyFile := filepath.Join(keyDir, "example.com.s1.key")
	for _, want := range []string{"wrote " + keyFile + " (RSA, 2048 bits)", "s1._domainkey.example.com. IN TXT ( \"v=DKIM1; k=rsa; p=",
		"Then add this line to the table " + filepath.Join(dir, "dkim_signing") + ":\n\nexample.com s1:example.com.s1.key\n",
		"dkim_signing_maps = texthash:" + filepath.Join(dir, "dkim_signing")} {
		if !strings.Contains(out, want) {
			t.Errorf("keygen output lacks %q:\n%s", want, out)
		}
	}
	name1, rec1 := zoneRecord(t, out)
	st, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %o", st.Mode().Perm())
	}
	if dst, err := os.Stat(keyDir); err != nil || dst.Mode().Perm() != 0o750 {
		t.Errorf("key directory: %v %v", dst.Mode(), err)
	}
	if os.Geteuid() == 0 {
		if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 65534 {
			t.Errorf("key owned by %d, want nobody (mail_owner)", sys.Uid)
		}
	}
	before, _ := os.ReadFile(keyFile)
	if _, errOut, code := runBin(t, "postern", "dkim", "keygen", "-c", dir, "example.com", "s1"); code == 0 || !strings.Contains(errOut, "exists: a published key is not replaced") {
		t.Errorf("second keygen: %d %s", code, errOut)
	}
	if after, _ := os.ReadFile(keyFile); string(after) != string(before) {
		t.Error("existing key replaced")
	}

	table := filepath.Join(dir, "dkim_signing")
	os.WriteFile(table, []byte("example.com s1:example.com.s1.key\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("mail_owner = nobody\ndkim_signing_maps = texthash:"+table+"\n"), 0o644)
	out, errOut, code = runBin(t, "postern", "dkim", "keygen", "-c", dir, "-t", "ed25519", "example.com", "e1")
	if code != 0 {
		t.Fatalf("keygen ed25519: %d %s", code, errOut)
	}
	if want := "Then put this line in dkim_signing_maps (texthash:" + table + "):\n\nexample.com s1:example.com.s1.key, e1:example.com.e1.key\n"; !strings.Contains(out, want) {
		t.Errorf("keygen output lacks %q:\n%s", want, out)
	}
	name2, rec2 := zoneRecord(t, out)
	if !strings.Contains(out, `"v=DKIM1; k=ed25519; p=`) {
		t.Errorf("not an Ed25519 record:\n%s", out)
	}
	os.WriteFile(table, []byte("example.com s1:example.com.s1.key, e1:example.com.e1.key\n"), 0o644)

	dns := dnstest.Start(t, dnstest.Zone{name1: {dnstest.TXT(rec1...)}, name2: {dnstest.TXT(rec1...)}})
	t.Setenv("POSTERN_DNS_SERVER", dns.Addr())
	check := func(want string, wantCode int) {
		t.Helper()
		out, errOut, code := runBin(t, "postern", "dkim", "check", "-c", dir, "example.com")
		if code != wantCode || !strings.Contains(out, want) {
			t.Errorf("check: exit %d (want %d), output lacks %q:\n%s%s", code, wantCode, want, out, errOut)
		}
	}
	check("e1._domainkey.example.com: published key differs: the record is for a k=rsa key, the key file holds an Ed25519 key\n"+
		"  publish: e1._domainkey.example.com. IN TXT ( \"v=DKIM1; k=ed25519; p=", 1)
	check("s1._domainkey.example.com: matches\n", 1)
	dns.Delete(name2)
	check("e1._domainkey.example.com: not published\n", 1)
	dns.Set(name2, dnstest.TXT("v=spf1 -all"))
	check("e1._domainkey.example.com: not published: the TXT records there are not DKIM keys\n", 1)
	dns.Set(name2, dnstest.ServFail())
	check("e1._domainkey.example.com: DNS error: ", 1)
	dns.Set(name2, dnstest.TXT(rec2...))
	check("s1._domainkey.example.com: matches\ne1._domainkey.example.com: matches\n", 0)
	// A subdomain is signed with its parent's entry.
	out, _, code = runBin(t, "postern", "dkim", "check", "-c", dir, "mail.example.com")
	if code != 0 || !strings.HasPrefix(out, "mail.example.com is signed as example.com (d=example.com)\n") {
		t.Errorf("subdomain: %d\n%s", code, out)
	}
	if _, errOut, code := runBin(t, "postern", "dkim", "check", "-c", dir, "example.net"); code != 1 || !strings.Contains(errOut, "example.net has no entry in dkim_signing_maps") {
		t.Errorf("unknown domain: %d %s", code, errOut)
	}
}

func TestDKIMKeygenUsage(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cf"), nil, 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"keygen", "-c", dir, "example.com"}, "usage: postern dkim keygen"},
		{[]string{"keygen", "-c", dir, "-t", "dsa", "example.com", "s"}, "-t dsa: want rsa or ed25519"},
		{[]string{"keygen", "-c", dir, "-b", "512", "example.com", "s"}, "-b 512: RSA keys of less than 1024 bits are not accepted"},
		{[]string{"keygen", "-c", dir, "-t", "ed25519", "-b", "2048", "example.com", "s"}, "-b is for RSA keys"},
		{[]string{"keygen", "-c", dir, "example.com", "bad/sel"}, `bad selector "bad/sel"`},
		{[]string{"frobnicate"}, "usage: postern dkim keygen"},
	} {
		if _, errOut, code := runBin(t, "postern", append([]string{"dkim"}, tc.args...)...); code != 64 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, %s", tc.args, code, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "dkim")); err == nil {
		t.Error("a refused keygen made the key directory")
	}
}
