package smtpd_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/smtpd"
	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// stageRecorder is a content stage for tests: it records what it saw
// and does what do says.
type stageRecorder struct {
	mu      sync.Mutex
	origins []cleanup.Origin
	fields  []int
	do      func(m *cleanup.Message) cleanup.Verdict
}

func (s *stageRecorder) Apply(_ context.Context, m *cleanup.Message) cleanup.Verdict {
	s.mu.Lock()
	s.origins = append(s.origins, m.Origin)
	s.fields = append(s.fields, len(m.Header.Fields))
	s.mu.Unlock()
	return s.do(m)
}

// send runs one transaction with DATA or BDAT and returns the final
// reply.
func (cl *client) sendMessage(bdat bool, content, want string) string {
	cl.t.Helper()
	cl.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@mx.example.test>\r\n")
	cl.expect("250 2.1.0")
	cl.expect("250 2.1.5")
	if bdat {
		cl.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(content), content))
	} else {
		cl.send("DATA\r\n")
		cl.expect("354 ")
		cl.send(strings.ReplaceAll(content, "\r\n.", "\r\n..") + ".\r\n")
	}
	return cl.expect(want)
}

// Content stages see every message before it is queued, with DATA and
// BDAT, small and beyond the spool's memory: a stage's header and body
// edits are queued, Reject refuses with the stage's reply (never raw
// CR/LF), Discard answers 250 and queues nothing, Hold queues into the
// hold queue; each logs Postfix's cleanup line.
func TestContentStages(t *testing.T) {
	small := "Subject: test\r\nFrom: <a@example.test>\r\n\r\nhello\r\n"
	large := "Subject: large\r\n\r\n" + strings.Repeat(strings.Repeat("y", 98)+"\r\n", 1000) // 100 KB
	const client = "unknown[127.0.0.1]"
	const tail = "; from=<a@example.test> to=<b@mx.example.test> proto=ESMTP helo=<client.example.test>"
	tests := []struct {
		name    string
		do      func(m *cleanup.Message) cleanup.Verdict
		content string
		reply   string   // the final reply's start
		lines   []string // every line of the final reply, when checked
		queue   string   // "": nothing queued
		body    func(content string) string
		log     string
	}{
		{name: "prepend", content: small, reply: "250 2.0.0 Ok: ", queue: queue.Incoming,
			do: func(m *cleanup.Message) cleanup.Verdict {
				m.Header.Prepend("X-Stage", "seen")
				return cleanup.Verdict{}
			},
			body: func(c string) string { return "X-Stage: seen\r\n" + c }},
		{name: "prepend large", content: large, reply: "250 2.0.0 Ok: ", queue: queue.Incoming,
			do: func(m *cleanup.Message) cleanup.Verdict {
				m.Header.Prepend("X-Stage", "seen")
				return cleanup.Verdict{}
			},
			body: func(c string) string { return "X-Stage: seen\r\n" + c }},
		{name: "replace body", content: large, reply: "250 2.0.0 Ok: ", queue: queue.Incoming,
			do: func(m *cleanup.Message) cleanup.Verdict {
				if err := m.ReplaceBody(strings.NewReader("replaced\r\n")); err != nil {
					t.Error(err)
				}
				return cleanup.Verdict{}
			},
			body: func(c string) string { return "Subject: large\r\n\r\nreplaced\r\n" }},
		{name: "reject", content: small, reply: "550 5.7.1 go away",
			do: func(*cleanup.Message) cleanup.Verdict {
				return cleanup.Verdict{Action: cleanup.Reject, Reply: "550 5.7.1 go away"}
			},
			log: "0000000001: milter-reject: END-OF-MESSAGE from " + client + ": 5.7.1 go away" + tail},
		{name: "reject large, source dmarc", content: large, reply: "550 5.7.1 DMARC",
			do: func(*cleanup.Message) cleanup.Verdict {
				return cleanup.Verdict{Action: cleanup.Reject, Reply: "550 5.7.1 DMARC policy", Source: "dmarc"}
			},
			log: "0000000001: dmarc-reject: END-OF-MESSAGE from " + client + ": 5.7.1 DMARC policy" + tail},
		{name: "tempfail", content: small, reply: "451 4.7.1 later",
			do: func(*cleanup.Message) cleanup.Verdict {
				return cleanup.Verdict{Action: cleanup.Reject, Reply: "451 4.7.1 later"}
			}},
		{name: "reject with CR LF in the reply", content: small, reply: "550 ",
			lines: []string{"550-5.7.1 a\r\n", "550-5.7.1 b\r\n", "550 5.7.1 250 2.0.0 Ok: queued as FAKE\r\n"},
			do: func(*cleanup.Message) cleanup.Verdict {
				return cleanup.Verdict{Action: cleanup.Reject, Reply: "550 5.7.1 a\rb\r\n250 2.0.0 Ok: queued as FAKE\r\n"}
			}},
		{name: "reject without a reply code", content: small, reply: "550 5.7.1 Command rejected",
			do: func(*cleanup.Message) cleanup.Verdict {
				return cleanup.Verdict{Action: cleanup.Reject, Reply: "250 fine"}
			}},
		{name: "every recipient deleted", content: small, reply: "250 2.0.0 Ok: ",
			do: func(m *cleanup.Message) cleanup.Verdict {
				m.Env.Recipients = nil
				return cleanup.Verdict{}
			},
			log: "0000000001: from=<a@example.test>, nrcpt=0: every recipient was deleted by a content stage (milter); not queued"},
		{name: "discard", content: small, reply: "250 2.0.0 Ok: ",
			do:  func(*cleanup.Message) cleanup.Verdict { return cleanup.Verdict{Action: cleanup.Discard} },
			log: "0000000001: milter-discard: END-OF-MESSAGE from " + client + ": milter triggers DISCARD action" + tail},
		{name: "hold", content: large, reply: "250 2.0.0 Ok: ", queue: queue.Hold,
			do:   func(*cleanup.Message) cleanup.Verdict { return cleanup.Verdict{Action: cleanup.Hold} },
			body: func(c string) string { return c },
			log:  "0000000001: milter-hold: END-OF-MESSAGE from " + client + ": milter triggers HOLD action" + tail},
	}
	for _, tt := range tests {
		for _, bdat := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s bdat=%v", tt.name, bdat), func(t *testing.T) {
				st := &stageRecorder{do: tt.do}
				s := smtptest.NewServerWith(t, "mynetworks = 127.0.0.0/8\n", smtptest.Options{Sign: st, SpoolDir: t.TempDir()})
				cl := dial(t, s)
				cl.cmd("EHLO client.example.test", "250 ")
				last := cl.sendMessage(bdat, tt.content, tt.reply)
				if tt.lines != nil {
					// the lines before the last one were skipped by expect
					if last != tt.lines[len(tt.lines)-1] {
						t.Errorf("last reply line %q, want %q", last, tt.lines[len(tt.lines)-1])
					}
				}
				if bdat && strings.HasPrefix(tt.reply, "250") && !strings.Contains(last, fmt.Sprintf(" %d bytes queued as ", len(tt.content))) {
					t.Errorf("BDAT reply %q does not count %d bytes", last, len(tt.content))
				}
				msgs := s.Queue.Messages()
				if tt.queue == "" {
					if len(msgs) != 0 {
						t.Errorf("%d messages queued, want none", len(msgs))
					}
				} else {
					if len(msgs) != 1 {
						t.Fatalf("%d messages queued, want 1", len(msgs))
					}
					if msgs[0].Queue != tt.queue {
						t.Errorf("queued in %q, want %q", msgs[0].Queue, tt.queue)
					}
					got := string(msgs[0].Body)
					if want := tt.body(tt.content); strings.HasPrefix(got, "X-Stage") {
						if !strings.HasPrefix(got, "X-Stage: seen\r\nReceived: from client.example.test") || withoutReceived(got[len("X-Stage: seen\r\n"):]) != want[len("X-Stage: seen\r\n"):] {
							t.Errorf("queued %.200q…, want X-Stage, Received: and the content", got)
						}
					} else if !strings.HasPrefix(got, "Received: from client.example.test") || withoutReceived(got) != want {
						t.Errorf("queued %.200q…, want Received: and %.100q…", got, want)
					}
				}
				if tt.log != "" && !strings.Contains(s.Logged(), tt.log+"\n") {
					t.Errorf("log lacks %q:\n%s", tt.log, s.Logged())
				}
				// The session goes on in step, with a fresh transaction.
				st.do = func(*cleanup.Message) cleanup.Verdict { return cleanup.Verdict{} }
				cl.sendMessage(bdat, "Subject: next\r\n\r\nnext\r\n", "250 2.0.0 Ok: ")
				st.mu.Lock()
				defer st.mu.Unlock()
				if len(st.fields) != 2 || st.fields[1] != 2 {
					t.Fatalf("the stage saw header fields %v; want 2 (Received:, Subject:) in the second message", st.fields)
				}
				o := st.origins[0]
				if o.ClientAddr.String() != "127.0.0.1" || o.Helo != "client.example.test" || !o.MyNetworks || o.Service != "smtp" || o.Local || !o.Trusted() {
					t.Errorf("origin %+v", o)
				}
			})
		}
	}
}

// The spool of a held message is released on every path: a large
// message whose client hangs up in the middle, and one a stage rejects,
// leave no file open in the spool directory.
func TestContentSpoolReleased(t *testing.T) {
	dir := t.TempDir()
	st := &stageRecorder{do: func(*cleanup.Message) cleanup.Verdict {
		return cleanup.Verdict{Action: cleanup.Reject, Reply: "554 5.7.1 no"}
	}}
	s := smtptest.NewServerWith(t, "mynetworks = 127.0.0.0/8\n", smtptest.Options{Checks: st, SpoolDir: dir})
	large := "Subject: large\r\n\r\n" + strings.Repeat(strings.Repeat("z", 98)+"\r\n", 2000)
	cl := dial(t, s)
	cl.cmd("EHLO client.example.test", "250 ")
	cl.sendMessage(false, large, "554 5.7.1 no")
	waitNoSpool(t, dir)
	cl.sendMessage(true, large, "554 5.7.1 no")
	waitNoSpool(t, dir)

	cl = dial(t, s)
	cl.cmd("EHLO client.example.test", "250 ")
	cl.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@mx.example.test>\r\nDATA\r\n")
	cl.expect("250 2.1.0")
	cl.expect("250 2.1.5")
	cl.expect("354 ")
	cl.send(large) // no end: the spool is a file now
	waitSpool(t, dir)
	cl.c.Close()
	waitNoSpool(t, dir)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("spool directory holds %d names", len(entries))
	}
	if n := len(s.Queue.Messages()); n != 0 {
		t.Errorf("%d messages queued", n)
	}
}

// spoolFiles counts this process's open files in dir (named or not).
func spoolFiles(t *testing.T, dir string) int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(target, dir+"/") {
			n++
		}
	}
	return n
}

func waitSpool(t *testing.T, dir string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); spoolFiles(t, dir) == 0; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no spool file was opened")
		}
	}
}

func waitNoSpool(t *testing.T, dir string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); spoolFiles(t, dir) != 0; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a spool file is still open")
		}
	}
}

// withoutReceived removes the first header field (the Received: header
// smtpd prepends).
func withoutReceived(s string) string {
	for i := strings.Index(s, "\r\n"); i >= 0; {
		if i+2 >= len(s) || s[i+2] != ' ' && s[i+2] != '\t' {
			return s[i+2:]
		}
		j := strings.Index(s[i+2:], "\r\n")
		if j < 0 {
			break
		}
		i += 2 + j
	}
	return ""
}

// The stages learn an authenticated TLS client: SASL user and method,
// TLS, not in $mynetworks, and trusted for being authenticated.
func TestContentStagesOriginAuth(t *testing.T) {
	st := &stageRecorder{do: func(*cleanup.Message) cleanup.Verdict { return cleanup.Verdict{} }}
	s := smtptest.NewServerWith(t, "smtpd_tls_security_level = may\nsmtpd_sasl_auth_enable = yes\nmynetworks = 127.0.0.2/32\n"+
		smtptest.TLSConf(t, t.TempDir()), smtptest.Options{SASL: smtpd.NewFakeSASL(), Sign: st})
	c := dialTLSTest(t, s.Addr)
	c.reply()
	c.cmd("EHLO laptop.example", "250-")
	c.startTLS(clientTLS())
	c.cmd("EHLO laptop.example", "250-")
	c.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA==", "235 ")
	c.cmd("MAIL FROM:<alice@example.test>", "250 ")
	c.cmd("RCPT TO:<friend@remote.example>", "250 ")
	c.cmd("DATA", "354 ")
	c.cmd("Subject: t\r\n\r\nhello\r\n.", "250 2.0.0 Ok: queued as ")
	c.cmd("QUIT", "221 ")
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.origins) != 1 {
		t.Fatalf("%d origins", len(st.origins))
	}
	if o := st.origins[0]; o.SASLUser != "alice" || o.SASLMethod != "PLAIN" || !o.TLS || o.MyNetworks || !o.Trusted() || o.Helo != "laptop.example" {
		t.Errorf("origin %+v", o)
	}
}
