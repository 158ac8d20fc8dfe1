package dkimsign

import (
	"bytes"
	"context"
	"crypto"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	msgdkim "github.com/emersion/go-msgauth/dkim"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/dkim"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/queue"
)

var (
	keysOnce       sync.Once
	rsaKey, edKey  crypto.Signer
	rsaKey2        crypto.Signer
	rsaPEM, edPEM  []byte
	rsaPEM2        []byte
	errGenerateKey error
)

// testKeys generates the test keys once per test binary.
func testKeys(t *testing.T) {
	t.Helper()
	keysOnce.Do(func() {
		gen := func(alg dkim.Algorithm, bits int) (crypto.Signer, []byte) {
			k, err := dkim.GenerateKey(alg, bits)
			if err != nil {
				errGenerateKey = err
				return nil, nil
			}
			p, err := dkim.MarshalPrivateKey(k)
			if err != nil {
				errGenerateKey = err
			}
			return k, p
		}
		rsaKey, rsaPEM = gen(dkim.RSA, 1024)
		rsaKey2, rsaPEM2 = gen(dkim.RSA, 1024)
		edKey, edPEM = gen(dkim.Ed25519, 0)
	})
	if errGenerateKey != nil {
		t.Fatal(errGenerateKey)
	}
}

// setup writes the key files rsa.key, rsa2.key and ed.key (mode 0600)
// in a key directory and the table text as a texthash: table.
func setup(t *testing.T, table string) (tables []maps.Table, keyDir string) {
	t.Helper()
	testKeys(t)
	dir := t.TempDir()
	keyDir = filepath.Join(dir, "dkim")
	if err := os.Mkdir(keyDir, 0o750); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"rsa.key": rsaPEM, "rsa2.key": rsaPEM2, "ed.key": edPEM} {
		if err := os.WriteFile(filepath.Join(keyDir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	table = strings.ReplaceAll(table, "$KEYDIR", keyDir)
	path := filepath.Join(dir, "signing")
	if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	tab, err := maps.Open("texthash:" + path)
	if err != nil {
		t.Fatal(err)
	}
	return []maps.Table{tab}, keyDir
}

// dnsOf publishes the test keys under the selectors given.
func dnsOf(t *testing.T, sels map[string]crypto.Signer) map[string]string {
	dns := map[string]string{}
	for name, k := range sels {
		rec, err := dkim.TXTRecord(k.Public())
		if err != nil {
			t.Fatal(err)
		}
		dns[name] = rec
	}
	return dns
}

func newMessage(t *testing.T, origin cleanup.Origin, raw string) *cleanup.Message {
	t.Helper()
	sp := cleanup.NewSpool(t.TempDir())
	sp.Write([]byte(raw))
	m, err := cleanup.NewMessage(&queue.Envelope{ID: "4dQXyz1abcdefgh"}, origin, sp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func content(t *testing.T, m *cleanup.Message) string {
	var b bytes.Buffer
	if _, err := b.ReadFrom(m.Content()); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// verify checks every signature of msg with go-msgauth and returns
// "d=… s=… ok" or the error, per signature, in header order.
func verify(t *testing.T, msg string, dns map[string]string) []string {
	t.Helper()
	vs, err := msgdkim.VerifyWithOptions(strings.NewReader(msg), &msgdkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			if rec, ok := dns[strings.TrimSuffix(name, ".")]; ok {
				return []string{rec}, nil
			}
			return nil, fmt.Errorf("no TXT for %s", name)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range vs {
		res := "ok"
		if v.Err != nil {
			res = v.Err.Error()
		}
		out = append(out, fmt.Sprintf("d=%s %s", v.Domain, res))
	}
	return out
}

var (
	local      = cleanup.Origin{Local: true, UID: 1000, Service: "pickup"}
	mynetworks = cleanup.Origin{MyNetworks: true, Service: "smtp"}
	sasl       = cleanup.Origin{SASLUser: "joe", SASLMethod: "PLAIN", Service: "submission"}
	stranger   = cleanup.Origin{Service: "smtp"}
)

func msgFrom(from string) string {
	h := "Received: from x by y\r\n"
	if from != "" {
		h += "From: " + from + "\r\n"
	}
	return h + "To: Suzie <suzie@example.net>\r\nSubject: hello\r\nDate: Mon, 7 Dec 2026 13:00:00 +0000\r\n" +
		"Message-ID: <1@example.com>\r\n\r\nHi.\r\n"
}

func TestApply(t *testing.T) {
	allDNS := func(t *testing.T) map[string]string {
		testKeys(t)
		return dnsOf(t, map[string]crypto.Signer{
			"rsa._domainkey.example.com": rsaKey, "ed._domainkey.example.com": edKey,
			"rsa._domainkey.sub.example.com": rsaKey, "abs._domainkey.example.org": rsaKey2,
		})
	}
	for _, tc := range []struct {
		name, table string
		origin      cleanup.Origin
		from        string
		// want: the selectors and domains signed, top first; their
		// verification results.
		want, verified []string
		log            string
	}{
		{name: "exact domain", table: "example.com rsa:rsa.key\n", origin: mynetworks, from: "Joe <joe@example.com>",
			want: []string{"s=rsa, d=example.com"}, verified: []string{"d=example.com ok"}},
		{name: "parent domain", table: "example.com rsa:rsa.key\n", origin: local, from: "joe@mail.sub.EXAMPLE.com",
			want: []string{"s=rsa, d=example.com"}, verified: []string{"d=example.com ok"}},
		{name: "closest domain first", table: "example.com ed:ed.key\nsub.example.com rsa:rsa.key\n", origin: sasl, from: "joe@a.sub.example.com",
			want: []string{"s=rsa, d=sub.example.com"}, verified: []string{"d=sub.example.com ok"}},
		{name: "dual keys", table: "example.com rsa:rsa.key, ed:ed.key\n", origin: sasl, from: "\"Joe, Jr.\" <joe@example.com>",
			want: []string{"s=rsa, d=example.com", "s=ed, d=example.com"}, verified: []string{"d=example.com ok", "d=example.com ok"}},
		{name: "dual keys separated by a space", table: "example.com ed:ed.key rsa:rsa.key\n", origin: local, from: "joe@example.com",
			want: []string{"s=ed, d=example.com", "s=rsa, d=example.com"}, verified: []string{"d=example.com ok", "d=example.com ok"}},
		{name: "absolute key path", table: "example.org abs:$KEYDIR/rsa2.key\n", origin: local, from: "joe@example.org",
			want: []string{"s=abs, d=example.org"}, verified: []string{"d=example.org ok"}},
		{name: "untrusted origin", table: "example.com rsa:rsa.key\n", origin: stranger, from: "joe@example.com"},
		{name: "no entry", table: "example.com rsa:rsa.key\n", origin: local, from: "joe@example.net"},
		{name: "no entry for a domain that only ends the same", table: "example.com rsa:rsa.key\n", origin: local, from: "joe@badexample.com"},
		{name: "no From", table: "example.com rsa:rsa.key\n", origin: local, from: "",
			log: "4dQXyz1abcdefgh: not DKIM-signed: no From: header"},
		{name: "unparsable From", table: "example.com rsa:rsa.key\n", origin: local, from: "joe@example.com <",
			log: "4dQXyz1abcdefgh: not DKIM-signed: unparsable From: header"},
		{name: "two domains in From", table: "example.com rsa:rsa.key\n", origin: local, from: "joe@example.com, ann@example.net",
			log: "not DKIM-signed: From: header has addresses in two domains (example.com, example.net)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tables, keyDir := setup(t, tc.table)
			s, err := New(tables, keyDir)
			if err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			s.SetLog(slog.New(slog.NewTextHandler(&log, nil)))
			m := newMessage(t, tc.origin, msgFrom(tc.from))
			if v := s.Apply(context.Background(), m); v.Action != cleanup.Continue {
				t.Fatalf("verdict %+v", v)
			}
			var got []string
			for _, f := range m.Header.Fields {
				if f.Name() == "DKIM-Signature" {
					tags := f.Value()
					s, d := tagOf(tags, "s"), tagOf(tags, "d")
					got = append(got, "s="+s+", d="+d)
					if !strings.Contains(log.String(), "4dQXyz1abcdefgh: DKIM-Signature field added (s="+s+", d="+d+")") {
						t.Errorf("not logged: %s\n%s", got[len(got)-1], log.String())
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("signed %q, want %q", got, tc.want)
			}
			if m.Header.Fields[len(tc.want)].Name() != "Received" {
				t.Errorf("signatures not on top: %q", m.Header.Fields[0].Raw)
			}
			if tc.want != nil {
				if got := verify(t, content(t, m), allDNS(t)); fmt.Sprint(got) != fmt.Sprint(tc.verified) {
					t.Errorf("verify: %q, want %q", got, tc.verified)
				}
			}
			if tc.log != "" && !strings.Contains(log.String(), tc.log) {
				t.Errorf("log lacks %q:\n%s", tc.log, log.String())
			}
			if tc.log != "" && !strings.Contains(log.String(), "level=INFO") {
				t.Errorf("not at info level:\n%s", log.String())
			}
		})
	}
}

func tagOf(tags, name string) string {
	for _, kv := range strings.Split(tags, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if k == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestTrustedOrigins: each kind of mail we send is signed.
func TestTrustedOrigins(t *testing.T) {
	tables, keyDir := setup(t, "example.com rsa:rsa.key\n")
	s, err := New(tables, keyDir)
	if err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]cleanup.Origin{"local": local, "mynetworks": mynetworks, "sasl": sasl, "stranger": stranger} {
		m := newMessage(t, o, msgFrom("joe@example.com"))
		s.Apply(context.Background(), m)
		_, signed := m.Header.Get("DKIM-Signature")
		if signed != (name != "stranger") {
			t.Errorf("%s: signed %v", name, signed)
		}
	}
}

// TestNewRefuses: every bad entry is a configuration error naming the
// table, the entry, the file and the fix.
func TestNewRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, table string
		prepare     func(t *testing.T, keyDir string)
		want        []string
	}{
		{name: "missing key", table: "example.com rsa:nope.key\n",
			want: []string{"entry example.com: selector rsa: key file $KEYDIR/nope.key: no such file or directory"}},
		{name: "unsafe key", table: "example.com rsa:rsa.key\n",
			prepare: func(t *testing.T, keyDir string) { os.Chmod(filepath.Join(keyDir, "rsa.key"), 0o644) },
			want:    []string{"entry example.com: selector rsa: key file $KEYDIR/rsa.key is unsafe (mode 0644", `run "chmod 0600 $KEYDIR/rsa.key"`}},
		{name: "group-writable key", table: "example.com rsa:rsa.key\n",
			prepare: func(t *testing.T, keyDir string) { os.Chmod(filepath.Join(keyDir, "rsa.key"), 0o660) },
			want:    []string{"is unsafe (mode 0660"}},
		{name: "not a key", table: "example.com rsa:junk.key\n",
			prepare: func(t *testing.T, keyDir string) {
				os.WriteFile(filepath.Join(keyDir, "junk.key"), []byte("junk\n"), 0o600)
			},
			want: []string{"key file $KEYDIR/junk.key: dkim: no PEM block found in key"}},
		{name: "no selector", table: "example.com rsa.key\n",
			want: []string{`entry example.com: "rsa.key" is not SELECTOR:KEYFILE`}},
		{name: "three keys", table: "example.com a:rsa.key b:ed.key c:rsa2.key\n",
			want: []string{"entry example.com: 3 keys in"}},
		{name: "two RSA keys", table: "example.com a:rsa.key b:rsa2.key\n",
			want: []string{"two rsa keys ($KEYDIR/rsa.key, $KEYDIR/rsa2.key): dual signing takes one RSA and one Ed25519 key"}},
		{name: "same selector twice", table: "example.com a:rsa.key a:ed.key\n",
			want: []string{"selector a given twice"}},
		{name: "every problem", table: "example.com rsa:nope.key\nexample.org x\n",
			want: []string{"entry example.com:", "entry example.org:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tables, keyDir := setup(t, tc.table)
			if tc.prepare != nil {
				tc.prepare(t, keyDir)
			}
			_, err := New(tables, keyDir)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				w = strings.ReplaceAll(w, "$KEYDIR", keyDir)
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), "dkim_signing_maps table texthash:") {
				t.Errorf("error %q does not name the table", err)
			}
			problems, _ := Check(tables, keyDir)
			if len(problems) == 0 {
				t.Error("Check finds nothing")
			}
		})
	}
}

// TestPatternTableFailsAtSigning: a regexp: table cannot be listed, so
// its bad key is found when a message needs it: the message is refused
// with a temporary error, never queued unsigned.
func TestPatternTableFailsAtSigning(t *testing.T) {
	_, keyDir := setup(t, "")
	dir := t.TempDir()
	path := filepath.Join(dir, "signing.re")
	os.WriteFile(path, []byte("/^example\\.com$/ rsa:nope.key\n/^example\\.org$/ rsa:rsa.key\n"), 0o644)
	tab, err := maps.Open("regexp:" + path)
	if err != nil {
		t.Fatal(err)
	}
	problems, unlisted := Check([]maps.Table{tab}, keyDir)
	if len(problems) != 0 || len(unlisted) != 1 {
		t.Errorf("Check: %v, unlisted %v", problems, unlisted)
	}
	s, err := New([]maps.Table{tab}, keyDir)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	s.SetLog(slog.New(slog.NewTextHandler(&log, nil)))
	m := newMessage(t, local, msgFrom("joe@example.com"))
	v := s.Apply(context.Background(), m)
	if v.Action != cleanup.Reject || v.Reply != "451 4.7.0 Error: DKIM signing failed; try again later" || v.Word() != "dkim" {
		t.Errorf("verdict %+v", v)
	}
	if !strings.Contains(log.String(), "nope.key: no such file or directory") {
		t.Errorf("log: %s", log.String())
	}
	// A pattern table is asked for the full domain only.
	m = newMessage(t, local, msgFrom("joe@sub.example.org"))
	if v := s.Apply(context.Background(), m); v.Action != cleanup.Continue {
		t.Errorf("verdict %+v", v)
	}
	if _, signed := m.Header.Get("DKIM-Signature"); signed {
		t.Error("signed for a parent domain of a pattern table")
	}
	m = newMessage(t, local, msgFrom("joe@example.org"))
	if s.Apply(context.Background(), m); !strings.Contains(content(t, m), "DKIM-Signature: v=1; a=rsa-sha256") {
		t.Error("not signed")
	}
}

// TestKeysLoadedOnce: a key file is read when the stage is made; a key
// removed afterwards (until the next reload) does not stop signing.
func TestKeysLoadedOnce(t *testing.T) {
	tables, keyDir := setup(t, "example.com rsa:rsa.key\n")
	s, err := New(tables, keyDir)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(keyDir, "rsa.key"))
	m := newMessage(t, local, msgFrom("joe@example.com"))
	if v := s.Apply(context.Background(), m); v.Action != cleanup.Continue {
		t.Fatalf("verdict %+v", v)
	}
	if _, signed := m.Header.Get("DKIM-Signature"); !signed {
		t.Error("not signed")
	}
}

// TestNotSignedTwice: a message that already has a DKIM-Signature with
// the d= and s= of one of our keys (a content filter re-injecting it
// through a trusted smtpd) is not signed with that key again; the other
// key of a dual-signing entry, or another domain's signature, does not
// count.
func TestNotSignedTwice(t *testing.T) {
	for _, tc := range []struct {
		name, table, existing string
		want                  []string // s=/d= of the signatures, top first
		log                   []string
	}{
		{name: "same d= and s=", table: "example.com rsa:rsa.key\n",
			existing: "v=1; a=rsa-sha256; d=example.com; s=rsa; h=from; bh=x; b=y",
			want:     []string{"s=rsa, d=example.com"},
			log:      []string{"4dQXyz1abcdefgh: not DKIM-signed again (s=rsa, d=example.com): the message already has a DKIM-Signature with this d= and s="}},
		{name: "folded, other case, final dot", table: "example.com rsa:rsa.key\n",
			existing: "v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n\td = Example.COM. ;\r\n s=\r\n\tRSA; h=from; bh=x; b=y",
			want:     []string{"s=RSA, d=Example.COM."},
			log:      []string{"not DKIM-signed again (s=rsa, d=example.com)"}},
		{name: "dual keys, one signed", table: "example.com rsa:rsa.key, ed:ed.key\n",
			existing: "v=1; a=rsa-sha256; d=example.com; s=rsa; h=from; bh=x; b=y",
			want:     []string{"s=ed, d=example.com", "s=rsa, d=example.com"},
			log:      []string{"not DKIM-signed again (s=rsa, d=example.com)", "4dQXyz1abcdefgh: DKIM-Signature field added (s=ed, d=example.com)"}},
		{name: "other selector", table: "example.com rsa:rsa.key\n",
			existing: "v=1; a=rsa-sha256; d=example.com; s=old; h=from; bh=x; b=y",
			want:     []string{"s=rsa, d=example.com", "s=old, d=example.com"},
			log:      []string{"DKIM-Signature field added (s=rsa, d=example.com)"}},
		{name: "other domain", table: "example.com rsa:rsa.key\n",
			existing: "v=1; a=rsa-sha256; d=example.net; s=rsa; h=from; bh=x; b=y",
			want:     []string{"s=rsa, d=example.com", "s=rsa, d=example.net"},
			log:      []string{"DKIM-Signature field added (s=rsa, d=example.com)"}},
		{name: "d= in another tag's value", table: "example.com rsa:rsa.key\n",
			existing: "v=1; a=rsa-sha256; d=example.net; s=rsa; z=d=example.com|s=rsa; bh=x; b=y",
			want:     []string{"s=rsa, d=example.com", "s=rsa, d=example.net"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tables, keyDir := setup(t, tc.table)
			s, err := New(tables, keyDir)
			if err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			s.SetLog(slog.New(slog.NewTextHandler(&log, nil)))
			m := newMessage(t, sasl, "DKIM-Signature: "+tc.existing+"\r\n"+msgFrom("joe@example.com"))
			if v := s.Apply(context.Background(), m); v.Action != cleanup.Continue {
				t.Fatalf("verdict %+v", v)
			}
			var got []string
			for _, f := range m.Header.Fields {
				if f.Name() == "DKIM-Signature" {
					got = append(got, "s="+foldedTag(f.Value(), "s")+", d="+foldedTag(f.Value(), "d"))
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("signatures %q, want %q", got, tc.want)
			}
			for _, w := range tc.log {
				if !strings.Contains(log.String(), w) {
					t.Errorf("log lacks %q:\n%s", w, log.String())
				}
			}
			if strings.Contains(log.String(), "not DKIM-signed again") && !strings.Contains(log.String(), "level=INFO msg=\"4dQXyz1abcdefgh: not DKIM-signed again") {
				t.Errorf("not at info level:\n%s", log.String())
			}
		})
	}
}

// foldedTag is tagOf for a tag list with folding white space anywhere.
func foldedTag(tags, name string) string {
	for _, kv := range strings.Split(tags, ";") {
		k, v, _ := strings.Cut(kv, "=")
		if strings.TrimSpace(k) == name {
			return strings.Join(strings.Fields(v), "")
		}
	}
	return ""
}
