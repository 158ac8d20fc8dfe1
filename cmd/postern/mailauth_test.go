package main

import (
	"fmt"
	"net/smtp"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/dnstest"
)

// The mail authentication checks end to end: postern A signs the mail
// of a.example.test (dkim_signing_maps) and relays it to postern B,
// whose mynetworks does not hold A's address; B checks it against a
// dnstest server publishing SPF, the DKIM key and DMARC (p=reject) and
// delivers it with dkim=pass, spf=pass and dmarc=pass in one
// Authentication-Results header naming B. A forged header with B's
// authserv-id is gone. Mail that fails DMARC with p=reject is refused
// at end of data (smtpd_dmarc_enforce = yes), a sender whose SPF fails
// at RCPT (reject_spf_fail).
func TestMailAuthenticationAToB(t *testing.T) {
	u, err := user.Current()
	if err != nil {
		t.Skip(err)
	}
	dns := dnstest.Start(t, dnstest.Zone{
		"a.example.test":        {dnstest.TXT("v=spf1 ip4:127.0.0.0/8 -all")},
		"_dmarc.a.example.test": {dnstest.TXT("v=DMARC1; p=reject")},
		"_dmarc.bank.test":      {dnstest.TXT("v=DMARC1; p=reject")},
		"other.test":            {dnstest.TXT("v=spf1 ip4:192.0.2.1 -all")},
	})
	t.Setenv("POSTERN_DNS_SERVER", dns.Addr())

	spool := t.TempDir()
	b := newInstance(t, fmt.Sprintf("inet_interfaces = 127.0.0.2\nmynetworks = 127.0.0.2/32\nalias_maps =\n"+
		"home_mailbox =\nmail_spool_directory = %s/\nsmtpd_dmarc_enforce = yes\n"+
		"smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination, reject_spf_fail\n", spool))
	b.start(t)

	aConf := fmt.Sprintf("myhostname = a.example.test\nmydestination = a.example.test\n"+
		"inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\nrelayhost = [127.0.0.2]:%d\n", b.port)
	a := newInstance(t, aConf)
	out, errOut, code := runBin(t, "postern", "dkim", "keygen", "-c", a.dir, "a.example.test", "s1")
	if code != 0 {
		t.Fatalf("keygen: %d %s", code, errOut)
	}
	name, rec := zoneRecord(t, out)
	dns.Set(name, dnstest.TXT(rec...))
	table := filepath.Join(a.dir, "dkim_signing")
	os.WriteFile(table, []byte("a.example.test s1:a.example.test.s1.key\n"), 0o644)
	a.writeMain(t, aConf+"dkim_signing_maps = texthash:"+table+"\n")
	a.start(t)

	rcpt := u.Username + "@mx.example.test"
	msg := "From: App <app@a.example.test>\r\nTo: " + rcpt + "\r\nSubject: authenticated\r\n" +
		"Message-ID: <mailauth-test@a.example.test>\r\n" +
		"Authentication-Results: MX.example.test; dkim=pass header.d=bank.test\r\n\r\nsigned by A, checked by B\r\n"
	if err := smtp.SendMail(fmt.Sprintf("127.0.0.1:%d", a.port), nil, "app@a.example.test", []string{rcpt}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	got := waitFiles(t, filepath.Join(spool, u.Username, "new"), 1)[0]
	ar := regexp.MustCompile(`(?m)^Authentication-Results:.*(\r?\n[ \t].*)*`).FindAllString(got, -1)
	if len(ar) != 1 {
		t.Fatalf("want one Authentication-Results header, got %d:\n%s", len(ar), got)
	}
	for _, want := range []string{"Authentication-Results: mx.example.test;", "spf=pass smtp.mailfrom=app@a.example.test",
		"dkim=pass header.d=a.example.test", "header.s=s1", "dmarc=pass (p=reject dis=NONE) header.from=a.example.test"} {
		if !strings.Contains(ar[0], want) {
			t.Errorf("B's header lacks %q:\n%s", want, ar[0])
		}
	}
	if strings.Contains(got, "bank.test") {
		t.Errorf("forged header kept:\n%s", got)
	}

	// Straight to B from 127.0.0.1 (not in its mynetworks): From a
	// p=reject domain, neither signed nor SPF-aligned.
	bad := "From: ceo@bank.test\r\nTo: " + rcpt + "\r\nSubject: pay now\r\n\r\nforged\r\n"
	res := sendSMTP(fmt.Sprintf("127.0.0.2:%d", b.port), "x@nospf.test", rcpt, []byte(bad))
	if res.Queued || res.Stage != "end of DATA" || res.Reply != "550 5.7.1 rejected by DMARC policy for bank.test" {
		t.Errorf("p=reject failure: %+v", res)
	}
	waitLog(t, b, "dmarc-reject: END-OF-MESSAGE from ")

	// reject_spf_fail: a sender whose SPF record fails us is refused at
	// RCPT.
	res = sendSMTP(fmt.Sprintf("127.0.0.2:%d", b.port), "x@other.test", rcpt, []byte(bad))
	if want := "550 5.7.23 <" + rcpt + ">: Recipient address rejected: Message rejected due to: SPF fail - not authorized"; res.Stage != "RCPT" || res.Reply != want {
		t.Errorf("SPF fail at RCPT: %+v, want %q", res, want)
	}
	if entries, _ := os.ReadDir(filepath.Join(spool, u.Username, "new")); len(entries) != 1 {
		t.Errorf("B's Maildir holds %d messages, want 1", len(entries))
	}
}

// A local user cannot forge our results to another: mail from sendmail
// loses the Authentication-Results fields with our authserv-id (pickup's
// first content stage), and keeps the others.
func TestMailAuthLocalForgery(t *testing.T) {
	in, maildir := mailInstance(t, "")
	u, _ := user.Current()
	msg := "Authentication-Results: MX.example.test; dkim=pass header.d=bank.test\n" +
		"Authentication-Results: other.example; spf=pass\nSubject: forged\n\nbody\n"
	if _, e, code := sendmailRun(in, msg, u.Username); code != 0 {
		t.Fatalf("sendmail: exit %d %s", code, e)
	}
	got := waitFiles(t, filepath.Join(maildir, "new"), 1)[0]
	if strings.Contains(got, "bank.test") || !strings.Contains(got, "Authentication-Results: other.example; spf=pass\n") {
		t.Errorf("delivered:\n%s", got)
	}
}
