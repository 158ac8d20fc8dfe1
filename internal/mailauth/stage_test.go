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

// The review's From bypasses of a p=reject policy (issue 15, finding
// 3): a From DMARC cannot evaluate is refused when enforcing, and
// reported as permerror when not; an address literal does not hide the
// other From domains; a U-label domain is looked up as its A-labels.
func TestApplyFromBypass(t *testing.T) {
	z := interopZone(t)
	z["_dmarc.xn--bnk-qla.test"] = []dnstest.Record{dnstest.TXT("v=DMARC1; p=reject")}
	dns := dnstest.Start(t, z)
	body := "Subject: s\r\n\r\nbody\r\n"
	six := "From: a@interop.test, b@b.test, c@c.test, d@d.test, e@e.test, f@f.test\r\n"
	for _, tc := range []struct {
		name, head, reply, header string
	}{
		{"six From domains", six, FromRefused, `dmarc=permerror reason="more than 5 From domains"`},
		{"six From fields", strings.ReplaceAll(six, ", ", "\r\nFrom: "), FromRefused, `dmarc=permerror reason="more than 5 From domains"`},
		{"extra literal From", "From: alice@interop.test\r\nFrom: x@[127.0.0.1]\r\n",
			"550 5.7.1 rejected by DMARC policy for interop.test", "dmarc=fail (p=reject dis=NONE) header.from=interop.test"},
		{"literal in the list", "From: x@[127.0.0.1], alice@interop.test\r\n",
			"550 5.7.1 rejected by DMARC policy for interop.test", "dmarc=fail (p=reject dis=NONE) header.from=interop.test"},
		{"only a literal", "From: x@[127.0.0.1]\r\n", FromRefused, `dmarc=permerror reason="only address literals in From field"`},
		{"U-label domain", "From: ceo@bänk.test\r\n",
			"550 5.7.1 rejected by DMARC policy for xn--bnk-qla.test", "dmarc=fail (p=reject dis=NONE) header.from=xn--bnk-qla.test"},
		{"no From", "To: b@receiver.test\r\n", FromRefused, `dmarc=permerror reason="no From field"`},
		{"unreadable From", "From: nobody\r\n", FromRefused, "dmarc=permerror reason=\"From field not readable: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			origin := cleanup.Origin{ClientAddr: badIP, Helo: "mail.interop.test"}
			msg := []byte(tc.head + body)
			c := newChecker(t, dns, Config{SPF: true, DKIM: true, DMARC: true, Enforce: true})
			v := c.Apply(context.Background(), message(t, origin, "alice@interop.test", msg))
			if v.Action != cleanup.Reject || v.Reply != tc.reply || v.Source != "dmarc" {
				t.Errorf("enforcing: %+v, want reply %q", v, tc.reply)
			}
			c = newChecker(t, dns, Config{SPF: true, DKIM: true, DMARC: true})
			m := message(t, origin, "alice@interop.test", msg)
			if v := c.Apply(context.Background(), m); v.Action != cleanup.Continue {
				t.Errorf("not enforcing: %+v", v)
			}
			if got := content(t, m); !strings.Contains(got, tc.header) {
				t.Errorf("not enforcing: no %q in\n%s", tc.header, got)
			}
		})
	}
}

// Fields past the end of the header (after a line that is no field, or
// past cleanup.MaxHeaderBytes) are body (issue 15, findings 4 and 5): a
// forged Authentication-Results there is not in the header any more,
// and DMARC sees no From there, which is refused when enforcing.
func TestApplyFieldsPastHeader(t *testing.T) {
	dns := dnstest.Start(t, interopZone(t))
	tail := forged + "From: alice@interop.test\r\n\r\nbody\r\n"
	for _, tc := range []struct{ name, head string }{
		{"after a bogus line", "X-A: b\r\nbogus line\r\n"},
		{"after 1200 padding lines", strings.Repeat("X-Pad: "+strings.Repeat("p", 80)+"\r\n", 1200)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			origin := cleanup.Origin{ClientAddr: badIP, Helo: "mail.interop.test"}
			c := newChecker(t, dns, Config{SPF: true, DKIM: true, DMARC: true, Enforce: true})
			v := c.Apply(context.Background(), message(t, origin, "alice@interop.test", []byte(tc.head+tail)))
			if v.Action != cleanup.Reject || v.Reply != FromRefused {
				t.Errorf("enforcing: %+v, want %q", v, FromRefused)
			}
			c = newChecker(t, dns, Config{SPF: true, DKIM: true, DMARC: true})
			m := message(t, origin, "alice@interop.test", []byte(tc.head+tail))
			if v := c.Apply(context.Background(), m); v.Action != cleanup.Continue {
				t.Errorf("not enforcing: %+v", v)
			}
			got := content(t, m)
			head, _, _ := strings.Cut(got, "\r\n\r\n")
			if strings.Contains(head, "MX.RECEIVER.TEST") || strings.Contains(head, "\nFrom:") {
				t.Errorf("forged result or From still in the header:\n%.300s", head)
			}
			if !strings.Contains(head, `dmarc=permerror reason="no From field"`) {
				t.Errorf("header:\n%.300s", head)
			}
		})
	}
}

// ForgeryFilter, the stage of local submissions: our forged results
// go, others' stay, nothing is looked up or added.
func TestForgeryFilter(t *testing.T) {
	other := "Authentication-Results: mx.sender.test; spf=pass\r\n"
	m := message(t, cleanup.Origin{Local: true}, "alice@interop.test", []byte(forged+other+"From: a@interop.test\r\n\r\nbody\r\n"))
	if v := ForgeryFilter("mx.receiver.test").Apply(context.Background(), m); v.Action != cleanup.Continue {
		t.Fatalf("verdict %+v", v)
	}
	if got, want := content(t, m), other+"From: a@interop.test\r\n\r\nbody\r\n"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
