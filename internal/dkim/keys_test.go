package dkim

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestParsePrivateKey(t *testing.T) {
	rk := testRSAKey(t)
	ek := testEd25519Key(t)
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	// Go refuses to generate keys under 1024 bits: this one is openssl's.
	small, err := os.ReadFile("testdata/rsa512.pem")
	if err != nil {
		t.Fatal(err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct {
		name string
		pem  []byte
		alg  Algorithm
		err  string
	}{
		{"rsa pkcs1", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk)), RSA, ""},
		{"rsa pkcs8", pemOf("PRIVATE KEY", pkcs8(rk)), RSA, ""},
		{"ed25519 pkcs8", pemOf("PRIVATE KEY", pkcs8(ek)), Ed25519, ""},
		{"trailing newline ok", append(pemOf("PRIVATE KEY", pkcs8(ek)), "\n\n"...), Ed25519, ""},
		{"not PEM", []byte("hello"), "", "no PEM block"},
		{"empty", nil, "", "no PEM block"},
		{"public key", pemOf("PUBLIC KEY", []byte{1}), "", "unsupported PEM block"},
		{"ec pkcs8", pemOf("PRIVATE KEY", pkcs8(ec)), "", "unsupported key type"},
		{"rsa 512", small, "", "too small"},
		{"garbage der", pemOf("PRIVATE KEY", []byte{0x30, 0x03, 1, 2, 3}), "", "parsing PRIVATE KEY"},
		{"two blocks", append(pemOf("PRIVATE KEY", pkcs8(ek)), pemOf("PRIVATE KEY", pkcs8(ek))...), "", "trailing data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParsePrivateKey(tc.pem)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if alg, _ := KeyAlgorithm(k.Public()); alg != tc.alg {
				t.Errorf("algorithm %s, want %s", alg, tc.alg)
			}
		})
	}
}

// TestParseOpenSSLKeys reads keys as openssl writes them (the usual way
// sites make DKIM keys).
func TestParseOpenSSLKeys(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	for _, args := range [][]string{
		{"genpkey", "-algorithm", "ed25519"},
		{"genpkey", "-algorithm", "rsa", "-pkeyopt", "rsa_keygen_bits:1024"},
		{"genrsa", "-traditional", "1024"},
	} {
		out, err := exec.Command("openssl", args...).Output()
		if err != nil {
			t.Fatalf("openssl %v: %v", args, err)
		}
		if _, err := ParsePrivateKey(out); err != nil {
			t.Errorf("openssl %v: %v\n%s", args, err, out)
		}
	}
}

func TestGenerateKey(t *testing.T) {
	for _, tc := range []struct {
		alg  Algorithm
		bits int
		ok   bool
	}{
		{Ed25519, 0, true},
		{Ed25519, 256, false},
		{RSA, 1024, true},
		{RSA, 512, false},
		{"dsa", 0, false},
	} {
		k, err := GenerateKey(tc.alg, tc.bits)
		if (err == nil) != tc.ok {
			t.Errorf("%s/%d: err = %v", tc.alg, tc.bits, err)
			continue
		}
		if err != nil {
			continue
		}
		b, err := MarshalPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParsePrivateKey(b)
		if err != nil {
			t.Fatalf("%s: reading back: %v", tc.alg, err)
		}
		if alg, _ := KeyAlgorithm(back.Public()); alg != tc.alg {
			t.Errorf("read back %s, want %s", alg, tc.alg)
		}
	}
	// The default RSA size is 2048 bits.
	if n := testRSAKey(t).N.BitLen(); n != 2048 {
		t.Errorf("default RSA key has %d bits", n)
	}
}

func TestTXTRecord(t *testing.T) {
	rec, err := TXTRecord(testRSAKey(t).Public())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rec, "v=DKIM1; k=rsa; p=MIIBIjAN") {
		t.Errorf("RSA record %q", rec)
	}
	parts := SplitTXT(rec)
	if len(parts) != 2 {
		t.Errorf("2048-bit record in %d strings, want 2", len(parts))
	}
	for _, p := range parts {
		if len(p) > 255 || len(p) == 0 {
			t.Errorf("string of %d bytes", len(p))
		}
	}
	if strings.Join(parts, "") != rec {
		t.Error("strings do not join back to the record")
	}
	line := ZoneLine("sel", "example.com.", rec)
	if !strings.HasPrefix(line, `sel._domainkey.example.com. IN TXT ( "v=DKIM1; k=rsa; p=`) ||
		!strings.HasSuffix(line, `" )`) || strings.Count(line, `"`) != 4 {
		t.Errorf("zone line %s", line)
	}
	if got := SplitTXT(strings.Repeat("x", 510)); len(got) != 2 || len(got[1]) != 255 {
		t.Errorf("510 bytes split into %d", len(got))
	}
	if _, err := TXTRecord(&ecdsa.PublicKey{}); err == nil {
		t.Error("ECDSA key accepted")
	}
	if got, _ := TXTRecord(ed25519.PublicKey(make([]byte, 32))); got != "v=DKIM1; k=ed25519; p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" {
		t.Errorf("ed25519 record %q", got)
	}
}
