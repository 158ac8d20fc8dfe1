package bounce

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/queue"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var (
	arrival      = time.Date(2026, 11, 24, 16, 22, 31, 0, time.UTC)
	now          = arrival.Add(90 * time.Minute)
	baseBoundary = "ORIGINALID." + strconv.FormatInt(now.Unix(), 10) + "/mx.example.test"
)

const original7bit = "Received: from client.example.net (client.example.net [198.51.100.5])\r\n" +
	"\tby mx.example.test (postern) with ESMTP\r\n" +
	"\tfor <bob@remote.example.net>; Tue, 24 Nov 2026 16:22:31 +0000 (UTC)\r\n" +
	"From: Alice <alice@example.test>\r\n" +
	"To: Bob <bob@remote.example.net>\r\n" +
	"Subject: Lunch\r\n" +
	"Message-ID: <lunch@example.test>\r\n" +
	"\r\n" +
	"Shall we meet at noon?\r\n" +
	"-- \r\n" +
	"Alice\r\n"

// goldenCase is one notice: a base failure report that each case changes.
type goldenCase struct {
	name    string
	content string // original content; "-" for none (nil Content)
	edit    func(p *Params)
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{"01-failure", original7bit, func(p *Params) {}},
		{"02-delay", original7bit, func(p *Params) {
			p.Kind = Delay
			p.Status[0] = queue.RcptStatus{State: queue.Pending, Action: "delayed", DSN: "4.4.1",
				Reason: "connect to mx.remote.example.net[192.0.2.25]:25: Connection refused"}
			p.DelayWarning = 4 * time.Hour
		}},
		{"03-success", original7bit, func(p *Params) {
			p.Kind = Success
			p.Env.Recipients[0].Notify = "SUCCESS"
			p.Status[0] = queue.RcptStatus{State: queue.Sent, Action: "relayed", DSN: "2.0.0",
				Reason: "250 2.0.0 Ok: queued as 4XyZ", RemoteMTA: "dns; mx.remote.example.net",
				Diagnostic: "smtp; 250 2.0.0 Ok: queued as 4XyZ"}
		}},
		{"04-ret-hdrs", original7bit, func(p *Params) { p.Env.Ret = "HDRS" }},
		{"05-envid-orcpt", original7bit, func(p *Params) {
			p.Env.EnvID = "QQ314159"
			p.Env.Recipients[0].ORcpt = "rfc822;bob@old.example.net"
		}},
		{"06-multiple-recipients", original7bit, func(p *Params) {
			p.Env.Recipients = append(p.Env.Recipients,
				queue.Recipient{Addr: "carol@remote.example.net", Notify: "FAILURE,DELAY"},
				queue.Recipient{Addr: "dave@vmail.example.test"})
			p.Status = append(p.Status,
				queue.RcptStatus{State: queue.Bounced, DSN: "5.2.2",
					Reason:     "host mx.remote.example.net[192.0.2.25] said: 552 5.2.2 <carol@remote.example.net>: Mailbox full, the user has exceeded the storage quota of this service (in reply to RCPT TO command)",
					RemoteMTA:  "dns; mx.remote.example.net",
					Diagnostic: "smtp; 552 5.2.2 <carol@remote.example.net>: Mailbox full, the user has exceeded the storage quota of this service"},
				queue.RcptStatus{State: queue.Bounced, DSN: "5.1.1", Reason: `unknown user: "dave@vmail.example.test"`})
			p.Rcpts = []int{0, 1, 2}
		}},
		{"07-8bit", strings.Replace(original7bit, "Shall we meet at noon?", "Mittagessen um zwölf? Grüße", 1), func(p *Params) {
			p.Env.EightBit = true
		}},
		{"08-oversize", original7bit + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n", 800), func(p *Params) {}},
		{"09-double-bounce", original7bit, func(p *Params) {
			p.Env.Sender = ""
			p.To = DoubleBounce
			p.Postmaster = "postmaster"
		}},
		{"10-postmaster-copy", original7bit, func(p *Params) {
			p.To = PostmasterCopy
			p.Postmaster = "postmaster"
		}},
		{"11-smtputf8", strings.Replace(original7bit, "Bob <bob@remote.example.net>", "Jürgen <jürgen@bücher.example>", 1), func(p *Params) {
			p.Env.SMTPUTF8, p.Env.EightBit = true, true
			p.Env.Sender = "andré@example.test"
			p.Env.Recipients[0].Addr = "jürgen@bücher.example"
			p.Status[0].Reason = "host mx.bücher.example[192.0.2.26] said: 550 5.1.1 unbekannt"
			p.Status[0].RemoteMTA = "dns; mx.bücher.example"
			p.Status[0].Diagnostic = "smtp; 550 5.1.1 unbekannt"
		}},
		{"12-content-unavailable", "-", func(p *Params) {}},
		{"13-boundary-collision", original7bit + "--" + baseBoundary + "\r\n--" + baseBoundary + ".1--\r\n", func(p *Params) {}},
		{"14-control-characters", original7bit, func(p *Params) {
			p.Status[0].Reason = "550 evil\r\nSubject: forged\r\n\r\n--" + baseBoundary + "--"
			p.Status[0].Diagnostic = "smtp; 550 evil\r\nX-Injected: yes"
			p.Env.EnvID = "id\r\nX-Injected: yes"
		}},
	}
}

// baseParams is a failure notice for one recipient of alice's message.
func baseParams(content string) *Params {
	p := &Params{
		Kind: Failure,
		ID:   "ORIGINALID",
		Env: &queue.Envelope{
			ID:         "ORIGINALID",
			Sender:     "alice@example.test",
			Recipients: []queue.Recipient{{Addr: "bob@remote.example.net"}},
			ClientAddr: "198.51.100.5",
			ClientName: "client.example.net",
			Helo:       "client.example.net",
			Protocol:   "ESMTP",
			Arrival:    arrival,
		},
		Rcpts: []int{0},
		Status: []queue.RcptStatus{{State: queue.Bounced, Action: "failed", DSN: "5.1.1",
			Reason:     "host mx.remote.example.net[192.0.2.25] said: 550 5.1.1 <bob@remote.example.net>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)",
			RemoteMTA:  "dns; mx.remote.example.net",
			Diagnostic: "smtp; 550 5.1.1 <bob@remote.example.net>: Recipient address rejected: User unknown in virtual mailbox table"}},
		Hostname: "mx.example.test",
		MailName: "postern",
		Now:      now,
		NewID:    "NOTICEID",
	}
	if content != "-" {
		p.Content = strings.NewReader(content)
	}
	return p
}

func composeCase(t *testing.T, c goldenCase) (*Params, *queue.Envelope, []byte) {
	t.Helper()
	p := baseParams(c.content)
	c.edit(p)
	env, out, err := Compose(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, env, out
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			_, _, got := composeCase(t, c)
			file := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs (go test -update rewrites it):\n%s", file, lineDiff(string(want), string(got)))
			}
		})
	}
}

// TestEnvelope checks whom each notice goes to and from whom.
func TestEnvelope(t *testing.T) {
	tests := map[string]struct {
		sender, rcpt       string
		eightBit, smtputf8 bool
	}{
		"01-failure":         {"", "alice@example.test", false, false},
		"07-8bit":            {"", "alice@example.test", true, false},
		"09-double-bounce":   {"double-bounce@mx.example.test", "postmaster@mx.example.test", false, false},
		"10-postmaster-copy": {"double-bounce@mx.example.test", "postmaster@mx.example.test", false, false},
		"11-smtputf8":        {"", "andré@example.test", true, true},
	}
	for _, c := range goldenCases() {
		want, ok := tests[c.name]
		if !ok {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			_, env, _ := composeCase(t, c)
			if env.ID != "NOTICEID" || env.Sender != want.sender || len(env.Recipients) != 1 ||
				env.Recipients[0].Addr != want.rcpt || env.EightBit != want.eightBit ||
				env.SMTPUTF8 != want.smtputf8 || !env.Arrival.Equal(now) {
				t.Errorf("envelope %+v, want sender %q rcpt %q 8bit %v smtputf8 %v",
					env, want.sender, want.rcpt, want.eightBit, want.smtputf8)
			}
		})
	}
}

// TestNullSender: null-sender mail never gets a notice of its own.
func TestNullSender(t *testing.T) {
	for _, sender := range []string{"", "double-bounce@mx.example.test", "Double-Bounce@MX.example.test"} {
		for _, kind := range []Kind{Failure, Delay, Success} {
			p := baseParams(original7bit)
			p.Env.Sender, p.Kind = sender, kind
			p.Env.Recipients[0].Notify = "SUCCESS,FAILURE,DELAY"
			if Wanted(kind, p.Env, 0, p.Hostname) {
				t.Errorf("Wanted(%v) for sender %q", kind, sender)
			}
			if _, _, err := Compose(p); err == nil || !strings.Contains(err.Error(), ErrNoNotice.Error()) {
				t.Errorf("Compose(%v) for sender %q: %v, want ErrNoNotice", kind, sender, err)
			}
		}
	}
}

// TestContentError: a content read error fails the notice.
func TestContentError(t *testing.T) {
	p := baseParams("-")
	p.Content = io.MultiReader(strings.NewReader("Subject: x\r\n"), errReader{})
	if _, _, err := Compose(p); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("err = %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }
