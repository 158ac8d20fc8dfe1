package mailauth

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/dnstest"
	"github.com/postern-mta/postern/internal/queue"
)

func message(t *testing.T, origin cleanup.Origin, sender string, content []byte) *cleanup.Message {
	t.Helper()
	sp := cleanup.NewSpool(t.TempDir())
	sp.Write(content)
	m, err := cleanup.NewMessage(&queue.Envelope{Sender: sender}, origin, sp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func content(t *testing.T, m *cleanup.Message) string {
	b, err := io.ReadAll(m.Content())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const forged = "Authentication-Results: MX.RECEIVER.TEST; dkim=pass header.d=interop.test\r\n"

// Untrusted mail: forged results removed, ours prepended, the signature
// still verifies (checked before the header is changed).
func TestApplyUntrusted(t *testing.T) {
	dns := dnstest.Start(t, interopZone(t))
	c := newChecker(t, dns, Config{SPF: true, DKIM: true, DMARC: true})
	msg := append([]byte(forged), fixture(t, "dkimpy-rsa.eml")...)
	m := message(t, cleanup.Origin{ClientAddr: goodIP, Helo: "mail.interop.test"}, "alice@interop.test", msg)
	if v := c.Apply(context.Background(), m); v.Action != cleanup.Continue {
		t.Fatalf("verdict %+v", v)
	}
	got := content(t, m)
	if !strings.HasPrefix(got, "Authentication-Results: mx.receiver.test;\r\n\tspf=pass smtp.mailfrom=alice@interop.test;") {
		t.Errorf("not prepended:\n%s", got)
	}
	if strings.Count(got, "Authentication-Results:") != 1 || strings.Contains(got, "MX.RECEIVER.TEST") {
		t.Errorf("forged header kept:\n%s", got)
	}
	for _, want := range []string{"dkim=pass header.d=interop.test", "dmarc=pass (p=reject dis=NONE) header.from=interop.test"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
}

// Trusted mail is not checked (no lookups, no header), but forged
// results still go.
func TestApplyTrusted(t *testing.T) {
	dns := dnstest.Start(t, interopZone(t))
	c := newChecker(t, dns, Config{SPF: true, DKIM: true, DMARC: true})
	for _, o := range []cleanup.Origin{{MyNetworks: true, ClientAddr: badIP}, {SASLUser: "alice", ClientAddr: badIP}, {Local: true}} {
		m := message(t, o, "alice@interop.test", append([]byte(forged), fixture(t, "message.eml")...))
		before := len(dns.Queries())
		if v := c.Apply(context.Background(), m); v.Action != cleanup.Continue {
			t.Fatalf("%+v: verdict %+v", o, v)
		}
		if got := content(t, m); strings.Contains(got, "Authentication-Results") {
			t.Errorf("%+v: header written or forged one kept:\n%s", o, got)
		}
		if q := dns.Queries()[before:]; len(q) != 0 {
			t.Errorf("%+v: trusted mail looked up %v", o, q)
		}
	}
}

// Enforcing: p=reject refused, the DMARC DNS failure deferred.
func TestApplyEnforce(t *testing.T) {
	dns := dnstest.Start(t, interopZone(t))
	c := newChecker(t, dns, Config{SPF: true, DKIM: true, DMARC: true, Enforce: true})
	origin := cleanup.Origin{ClientAddr: badIP, Helo: "mail.interop.test"}
	v := c.Apply(context.Background(), message(t, origin, "alice@interop.test", fixture(t, "message.eml")))
	if v.Action != cleanup.Reject || v.Reply != "550 5.7.1 rejected by DMARC policy for interop.test" || v.Source != "dmarc" {
		t.Errorf("p=reject: %+v", v)
	}
	dns.Set("_dmarc.interop.test", dnstest.ServFail())
	v = c.Apply(context.Background(), message(t, origin, "alice@interop.test", fixture(t, "message.eml")))
	if v.Action != cleanup.Reject || !strings.HasPrefix(v.Reply, "451 4.7.1 ") {
		t.Errorf("temperror: %+v", v)
	}
	// Not enforcing: the header only.
	c = newChecker(t, dns, Config{SPF: true, DKIM: true, DMARC: true})
	dns.Set("_dmarc.interop.test", dnstest.TXT("v=DMARC1; p=reject"))
	m := message(t, origin, "alice@interop.test", fixture(t, "message.eml"))
	if v := c.Apply(context.Background(), m); v.Action != cleanup.Continue {
		t.Errorf("not enforcing: %+v", v)
	}
	if !strings.Contains(content(t, m), "dmarc=fail (p=reject dis=NONE)") {
		t.Errorf("not enforcing, header:\n%s", content(t, m))
	}
}
