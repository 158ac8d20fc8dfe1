package dkimsign

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/dkim"
)

func TestMatchRecord(t *testing.T) {
	testKeys(t)
	rsaRec, _ := dkim.TXTRecord(rsaKey.Public())
	edRec, _ := dkim.TXTRecord(edKey.Public())
	pkcs1 := "v=DKIM1; p=" + base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PublicKey(rsaKey.Public().(*rsa.PublicKey)))
	p := strings.TrimPrefix(rsaRec, "v=DKIM1; k=rsa; p=")
	for _, tc := range []struct {
		record string
		key    crypto.Signer
		want   string // "" matches
	}{
		{rsaRec, rsaKey, ""},
		{edRec, edKey, ""},
		{pkcs1, rsaKey, ""}, // k= defaults to rsa; PKCS#1 as some tools publish it
		{"v=DKIM1; k=rsa; h=sha256; p=" + p[:40] + " \t" + p[40:] + ";", rsaKey, ""},
		{rsaRec, rsaKey2, "the record holds another key"},
		{rsaRec, edKey, "the record is for a k=rsa key, the key file holds an Ed25519 key"},
		{"v=DKIM1; k=rsa; p=", rsaKey, "the key is revoked (empty p=)"},
		{"v=DKIM1; k=rsa; p=!!", rsaKey, "p= is not base64"},
		{"v=DKIM1; k=dsa; p=AAAA", rsaKey, "unknown key type k=dsa"},
		{"v=spf1 -all", rsaKey, "not a DKIM key record"},
		{"k=rsa; v=DKIM1; p=AAAA", rsaKey, "not a DKIM key record"}, // v= must come first
	} {
		err := MatchRecord(tc.record, tc.key.Public())
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%.40q: %v", tc.record, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%.40q: got %v, want %q", tc.record, err, tc.want)
		}
	}
}
