package main

import (
	"fmt"
	"net/smtp"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/testperm"
)

// cleanup's rewriting against a private Postfix 3.7 with the same
// main.cf and tables: the same messages over SMTP, every recipient
// delivered by the discard transport, and the queued envelope compared
// from the logs: the sender (from=), and each recipient with the
// address it was received as (to=, orig_to=), duplicates dropped alike.
func TestRewritingLikePostfix(t *testing.T) {
	needPostfix(t)
	tables := t.TempDir()
	testperm.OpenDirs(tables)
	for name, text := range map[string]string{
		"virtual": "team@valias.example a@mx.example.test, b@vmail.example far@remote.example\n" +
			"list@valias.example team@valias.example, c@remote.example, a@mx.example.test\n" +
			"self@valias.example self@valias.example, copy@remote.example\n" +
			"@catch.example catchall@mx.example.test\n" +
			"bob@valias.example robert@remote.example\n" +
			"@old.example @new.example\n" +
			"alias user\n",
		"rcanon": "info@mx.example.test contact@remote.example\n",
		"scanon": "who@mx.example.test First.Last@host.example.test\n",
	} {
		if err := os.WriteFile(filepath.Join(tables, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mainCf := fmt.Sprintf("myhostname = mx.example.test\nmydomain = example.test\nmyorigin = mx.example.test\n"+
		"mydestination = mx.example.test, localhost\ninet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.1/32\n"+
		"alias_maps =\nlocal_recipient_maps =\nrecipient_delimiter = +\n"+
		"virtual_alias_domains = valias.example, catch.example, old.example\n"+
		"virtual_alias_maps = texthash:%[1]s/virtual\nrecipient_canonical_maps = texthash:%[1]s/rcanon\n"+
		"sender_canonical_maps = texthash:%[1]s/scanon\nmasquerade_domains = example.test\n"+
		"local_transport = discard\nvirtual_transport = discard\ndefault_transport = discard\nrelay_transport = discard\n", tables)
	messages := [][]string{
		{"team@valias.example"},
		{"list@valias.example", "a@mx.example.test"},
		{"self@valias.example"},
		{"anyone@catch.example", "bob+news@valias.example"},
		{"Joe@old.example", "info@mx.example.test", "alias@mx.example.test"},
		{"info+x@mx.example.test", "plain@remote.example"},
	}
	pf := startPostfix(t, mainCf)
	pt, _ := mailInstance(t, mainCf)
	for _, rcpts := range messages {
		for _, port := range []int{pf.port, pt.port} {
			msg := "From: who@mx.example.test\r\nSubject: rewriting\r\n\r\nhello\r\n"
			if err := smtp.SendMail(fmt.Sprintf("127.0.0.1:%d", port), nil, "who@mx.example.test", rcpts, []byte(msg)); err != nil {
				t.Fatalf("%v to %d: %v", rcpts, port, err)
			}
		}
	}
	// self@valias.example keeps itself, in a virtual alias domain: it
	// bounces, and the notice (from=<>) is queued too, in its own time.
	want := envelopes(t, pf.maillog, len(messages)+1)
	got := envelopes(t, func() string { return pt.maillog(t) }, len(messages)+1)
	if len(got) != len(want) {
		t.Fatalf("postern queued %d messages, Postfix %d:\n%q\n%q", len(got), len(want), got, want)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("message %d:\npostern %q\nPostfix %q", i, got[i], want[i])
		}
	}
}

var (
	fromLine = regexp.MustCompile(`: ([0-9A-Za-z]+): from=<([^>]*)>, size=\d+, nrcpt=(\d+)`)
	toLine   = regexp.MustCompile(`: ([0-9A-Za-z]+): to=<([^>]*)>(?:, orig_to=<([^>]*)>)?, relay=`)
)

// envelopes waits until n messages are removed from the queue of the
// instance whose log is read by maillog, and returns each message's
// envelope in arrival order: "from=… nrcpt=…" and its sorted
// "to=… orig_to=…" lines.
func envelopes(t *testing.T, maillog func() string, n int) [][]string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(maillog(), ": removed") < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d messages never left the queue:\n%s", n, maillog())
		}
		time.Sleep(50 * time.Millisecond)
	}
	log := maillog()
	var order []string
	byID := map[string][]string{}
	for _, m := range fromLine.FindAllStringSubmatch(log, -1) {
		if _, ok := byID[m[1]]; !ok {
			order = append(order, m[1])
		}
		byID[m[1]] = []string{"from=" + m[2] + " nrcpt=" + m[3]}
	}
	var out [][]string
	for _, id := range order {
		var rcpts []string
		for _, m := range toLine.FindAllStringSubmatch(log, -1) {
			if m[1] == id {
				rcpts = append(rcpts, "to="+m[2]+" orig_to="+m[3])
			}
		}
		slices.Sort(rcpts)
		out = append(out, append(byID[id], rcpts...))
	}
	// Bounce notices last: they are queued when the bounce happens.
	slices.SortStableFunc(out, func(a, b []string) int {
		return strings.Compare(fmt.Sprint(strings.HasPrefix(a[0], "from= ")), fmt.Sprint(strings.HasPrefix(b[0], "from= ")))
	})
	return out
}

// Header rewriting against Postfix 3.7: the same message from a client
// on one of our own addresses, relayed to a sink by both; the address
// fields arrive alike.
func TestHeaderRewritingLikePostfix(t *testing.T) {
	needPostfix(t)
	tables := t.TempDir()
	testperm.OpenDirs(tables)
	for name, text := range map[string]string{
		"scanon": "who@mx.example.test First.Last@host.example.test\n",
		"rcanon": "info@mx.example.test contact@partner.example\n@old.example @new.example\n",
	} {
		if err := os.WriteFile(filepath.Join(tables, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fields := []string{"From", "To", "Cc", "Reply-To", "Sender", "Resent-From", "Resent-To", "Subject"}
	msg := "From: Who Ever <who@mx.example.test>\r\nTo: info@mx.example.test,\r\n\tAnn <ann@old.example>\r\n" +
		"Cc: joe (a comment), \"Doe, J\" <j@host.example.test>, team: who@mx.example.test;\r\n" +
		"Reply-To: who@mx.example.test\r\nSender: <who@mx.example.test>\r\nResent-From: who@mx.example.test\r\n" +
		"Resent-To: INFO@mx.example.test\r\nSubject: who@mx.example.test\r\n\r\nhello who@mx.example.test\r\n"
	heads := map[string][]string{}
	for _, name := range []string{"postfix", "postern"} {
		sink := startSink(t)
		mainCf := fmt.Sprintf("myhostname = mx.example.test\nmydomain = example.test\nmyorigin = mx.example.test\n"+
			"mydestination = mx.example.test\ninet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.1/32\nalias_maps =\n"+
			"local_recipient_maps =\nsender_canonical_maps = texthash:%[1]s/scanon\nrecipient_canonical_maps = texthash:%[1]s/rcanon\n"+
			"masquerade_domains = example.test\nrelayhost = [127.0.0.1]:%[2]d\nsmtp_tls_security_level = none\n", tables, sink.port)
		var port int
		if name == "postfix" {
			port = startPostfix(t, mainCf).port
		} else {
			in, _ := mailInstance(t, mainCf)
			port = in.port
		}
		if err := smtp.SendMail(fmt.Sprintf("127.0.0.1:%d", port), nil, "who@mx.example.test", []string{"x@remote.example"}, []byte(msg)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		select {
		case m := <-sink.got:
			heads[name] = addressFields(string(m.data), fields)
		case <-time.After(30 * time.Second):
			t.Fatalf("%s relayed nothing", name)
		}
	}
	if !slices.Equal(heads["postern"], heads["postfix"]) {
		t.Errorf("postern:\n%s\nPostfix:\n%s", strings.Join(heads["postern"], "\n"), strings.Join(heads["postfix"], "\n"))
	}
}

// addressFields returns the named fields of a message's header, folded
// lines joined, in the order of names.
func addressFields(data string, names []string) []string {
	header, _, _ := strings.Cut(data, "\r\n\r\n")
	header = strings.NewReplacer("\r\n\t", " ", "\r\n ", " ").Replace(header)
	var out []string
	for _, n := range names {
		for _, l := range strings.Split(header, "\r\n") {
			if strings.HasPrefix(strings.ToLower(l), strings.ToLower(n)+":") {
				out = append(out, l)
			}
		}
	}
	return out
}
