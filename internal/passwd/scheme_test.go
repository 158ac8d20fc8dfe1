package passwd

import (
	"os/exec"
	"strings"
	"testing"
)

// Hashes of "secret" made by Dovecot 2.3.19's `doveadm pw`.
var dovecotHashes = []string{
	"{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$JhyusryXx6M5CEB2EWe55w$jD8mUYv/iydobGnf/LydSubjusiSX4dOBgxOSrrHWx4",
	"{BLF-CRYPT}$2y$05$M3J4pXnWVrgdOTartJseFOJ37OXAnNW0FUI/ijptuupTmSeSzyG16",
	"{SHA512-CRYPT}$6$BYNkjsk8BvKO4qTn$nGE7.zTBGZpU.Ivj8P50B87o9QBKAhuCS5rW1q2icp5EZw875NmjgY9To8KWKpVGVOZ1ysM0LfSeza0BWM2ip0",
	"{SHA256-CRYPT}$5$8yrFcPghfkls3FEf$T3WuekeO0Dsbt8e75NaZYW/mNMBD4INWlKi55QdUPH6",
	"{SHA512-CRYPT}$6$rounds=20000$p6MNBafkzqGacWPW$7kzIOlI0tbpVITyn0Be2.uLD6mW7fbapbCecsZdIeNk0/S8G8CB7VcQUT.B.0edWBcq5ApcMoPWc8mcfnvFXi.",
	"{blf-crypt}$2y$04$1ey1SSFzLcJhWqpQy.PBYOHjuN30DaPCupslBpxhZOdAvsjR5Gwme",
	// CRYPT, Dovecot's default scheme: no {SCHEME}.
	"$6$BYNkjsk8BvKO4qTn$nGE7.zTBGZpU.Ivj8P50B87o9QBKAhuCS5rW1q2icp5EZw875NmjgY9To8KWKpVGVOZ1ysM0LfSeza0BWM2ip0",
	"$2y$05$M3J4pXnWVrgdOTartJseFOJ37OXAnNW0FUI/ijptuupTmSeSzyG16",
	"$5$8yrFcPghfkls3FEf$T3WuekeO0Dsbt8e75NaZYW/mNMBD4INWlKi55QdUPH6",
}

func TestSchemesRightAndWrongPassword(t *testing.T) {
	for _, field := range dovecotHashes {
		h, err := ParseHash(field)
		if err != nil {
			t.Errorf("ParseHash(%q): %v", field, err)
			continue
		}
		for _, pw := range []string{"secret", "Secret", "secret ", "", "secre", "secretsecret"} {
			if got := h.Verify([]byte(pw)); got != (pw == "secret") {
				t.Errorf("%s: Verify(%q) = %v", field, pw, got)
			}
		}
	}
}

func TestParseHashErrors(t *testing.T) {
	tests := []struct{ field, want string }{
		{"{PLAIN}secret", "unsupported password scheme {PLAIN}"},
		{"{CRAM-MD5}abc", "unsupported password scheme"},
		{"{ARGON2ID", "not closed"},
		{"{}x", "empty {SCHEME}"},
		{"", "empty password field"},
		{"$1$salt$hash", "crypt(3) hash of a kind postern does not read"},
		{"abcdefghijklm", "crypt(3) hash of a kind"},
		{"$argon2id$v=19$m=65536,t=3,p=1$JhyusryXx6M5CEB2EWe55w$jD8mUYv/iydobGnf/LydSubjusiSX4dOBgxOSrrHWx4", "Argon2 without {ARGON2ID}"},
		{"{SHA512-CRYPT}$5$salt$x", "begins with $6$"},
		{"{SHA256-CRYPT}$6$salt$x", "begins with $5$"},
		{"{SHA512-CRYPT}$6$salt", "no digest"},
		{"{SHA512-CRYPT}$6$rounds=1000001$salt$" + strings.Repeat("a", 86), "above 1000000"},
		{"{ARGON2ID}$argon2i$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43), "is $argon2id$"},
		{"{ARGON2ID}$argon2id$v=16$m=65536,t=3,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43), "only v=19"},
		{"{ARGON2ID}$argon2id$v=19$m=4194304,t=3,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43), "m=4194304 KiB is outside 8..262144"},
		{"{ARGON2ID}$argon2id$v=19$m=65536,t=1000,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43), "t=1000 is outside"},
		{"{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=200$c2FsdHNhbHQ$" + strings.Repeat("A", 43), "p=200 is outside"},
		{"{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=300$c2FsdHNhbHQ$" + strings.Repeat("A", 43), "out of range"},
		{"{ARGON2ID}$argon2id$v=19$m=65536,t=0,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43), "t=0 is outside"},
		{"{ARGON2ID}$argon2id$v=19$m=65536,t=3$c2FsdHNhbHQ$" + strings.Repeat("A", 43), "need m=, t= and p="},
		{"{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1,m=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43), "repeated"},
		{"{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1,x=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43), "unknown argon2 parameter"},
		{"{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$!!!$" + strings.Repeat("A", 43), "salt is not base64"},
		{"{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$AAAA", "hash is not base64 of 16"},
		{"{BLF-CRYPT}$2y$05$short", "53 characters"},
		{"{BLF-CRYPT}$2x$05$M3J4pXnWVrgdOTartJseFOJ37OXAnNW0FUI/ijptuupTmSeSzyG16", "53 characters"},
		{"{BLF-CRYPT}$2y$17$M3J4pXnWVrgdOTartJseFOJ37OXAnNW0FUI/ijptuupTmSeSzyG16", "cost \"17\" is outside 4..16"},
		{"{BLF-CRYPT}$2y$03$M3J4pXnWVrgdOTartJseFOJ37OXAnNW0FUI/ijptuupTmSeSzyG16", "outside 4..16"},
		{"{BLF-CRYPT}$2y$05$M3J4pXnWVrgdOTartJseFOJ37OXAnNW0FUI/ijptuupTmSeSzyG1*", "outside ./0-9A-Za-z"},
	}
	for _, tt := range tests {
		_, err := ParseHash(tt.field)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseHash(%q) = %v, want an error containing %q", tt.field, err, tt.want)
		}
	}
}

// Locked accounts, as in /etc/shadow: no password matches.
func TestLocked(t *testing.T) {
	for _, f := range []string{"*", "!", "!$6$BYNkjsk8BvKO4qTn$nGE7"} {
		h, err := ParseHash(f)
		if err != nil || h.Verify([]byte("")) || h.Verify([]byte("secret")) {
			t.Errorf("%q: %v, or a password matched", f, err)
		}
	}
}

func TestNewHashRoundTrip(t *testing.T) {
	for _, scheme := range []string{"ARGON2ID", "BLF-CRYPT", "SHA512-CRYPT", "sha256-crypt"} {
		field, err := NewHash(scheme, []byte("pässword"))
		if err != nil {
			t.Fatalf("%s: %v", scheme, err)
		}
		if !strings.HasPrefix(field, "{"+strings.ToUpper(scheme)+"}") {
			t.Errorf("%s: field %q", scheme, field)
		}
		h, err := ParseHash(field)
		if err != nil {
			t.Fatalf("%s: ParseHash(%q): %v", scheme, field, err)
		}
		if !h.Verify([]byte("pässword")) || h.Verify([]byte("password")) {
			t.Errorf("%s: %q does not verify as it should", scheme, field)
		}
		other, _ := NewHash(scheme, []byte("pässword"))
		if other == field {
			t.Errorf("%s: two hashes of one password are equal: no fresh salt", scheme)
		}
	}
	if _, err := NewHash("CRYPT", []byte("x")); err == nil {
		t.Error("NewHash(CRYPT) works")
	}
	if _, err := NewHash("BLF-CRYPT", []byte(strings.Repeat("x", 73))); err == nil {
		t.Error("BLF-CRYPT of a 73-byte password works: it would be cut to 72")
	}
}

// The dummy hash for unknown users has the scheme and cost of the real
// ones and matches no password.
func TestDummy(t *testing.T) {
	for _, field := range dovecotHashes {
		h, _ := ParseHash(field)
		d, err := h.dummy()
		if err != nil {
			t.Fatal(err)
		}
		if d.cost() != h.cost() || d.Verify([]byte("secret")) || d.Verify(nil) {
			t.Errorf("%s: dummy cost %q, want %q, or it matched", field, d.cost(), h.cost())
		}
	}
}

func doveadm(t *testing.T) string {
	p, err := exec.LookPath("doveadm")
	if err != nil {
		t.Skip("doveadm is not installed (Debian package dovecot-core): cannot cross-check with Dovecot")
	}
	return p
}

// Hashes made now by the installed doveadm verify here.
func TestVerifyDoveadmHashes(t *testing.T) {
	bin := doveadm(t)
	for _, scheme := range []string{"ARGON2ID", "BLF-CRYPT", "SHA512-CRYPT", "SHA256-CRYPT"} {
		out, err := exec.Command(bin, "pw", "-s", scheme, "-p", "secret").Output()
		if err != nil {
			t.Fatalf("doveadm pw -s %s: %v", scheme, err)
		}
		field := strings.TrimSpace(string(out))
		h, err := ParseHash(field)
		if err != nil {
			t.Fatalf("ParseHash(%q): %v", field, err)
		}
		if !h.Verify([]byte("secret")) || h.Verify([]byte("wrong")) {
			t.Errorf("%q from doveadm does not verify as it should", field)
		}
	}
}

// Hashes made here verify in Dovecot: `doveadm pw -t` exits 0 for the
// right password and non-zero for a wrong one.
func TestDoveadmVerifiesOurHashes(t *testing.T) {
	bin := doveadm(t)
	for _, scheme := range []string{"ARGON2ID", "BLF-CRYPT", "SHA512-CRYPT", "SHA256-CRYPT"} {
		field, err := NewHash(scheme, []byte("secret"))
		if err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "pw", "-t", field, "-p", "secret").CombinedOutput(); err != nil {
			t.Errorf("doveadm pw -t %q -p secret: %v: %s", field, err, out)
		}
		if err := exec.Command(bin, "pw", "-t", field, "-p", "wrong").Run(); err == nil {
			t.Errorf("doveadm pw -t %q accepts a wrong password", field)
		}
	}
}
