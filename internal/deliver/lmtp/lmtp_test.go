package lmtp

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/deliver/smtp"
	"github.com/postern-mta/postern/internal/queue"
)

const body = "Subject: test\r\n\r\n.leading dot\r\nhello\r\n"

func request(nexthop string, rcpts ...string) *deliver.Request {
	env := &queue.Envelope{Sender: "sender@example.test", Arrival: time.Now()}
	req := &deliver.Request{ID: "4abc", Env: env, Nexthop: nexthop, Size: int64(len(body)),
		Content: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }}
	for i, r := range rcpts {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: r})
		req.Rcpts = append(req.Rcpts, i)
	}
	return req
}

func newAgent(t *testing.T, mod func(*smtp.Config)) *smtp.Agent {
	t.Helper()
	cfg := DefaultConfig()
	cfg.MyHostname = "mail.example.test"
	cfg.Timeouts.Connect = 10 * time.Second
	if mod != nil {
		mod(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// sockDir is a short directory for unix sockets (sun_path holds 108
// bytes; t.TempDir's names can be long).
func sockDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "lmtp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

type want struct {
	kind   deliver.Kind
	dsn    string
	reason string // substring
	relay  string
}

func check(t *testing.T, got []deliver.Result, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("%d results, want %d: %+v", len(got), len(wants), got)
	}
	for i, w := range wants {
		g := got[i]
		if g.Rcpt != i || g.Kind != w.kind || g.DSN != w.dsn || !strings.Contains(g.Reason, w.reason) || g.Relay != w.relay {
			t.Errorf("result %d = %+v, want %+v", i, g, w)
		}
	}
}

// Each recipient gets its own reply after the end of data: one
// delivered, one deferred (over quota), one bounced; the envelope went
// in one pipelined burst over a relative unix: socket.
func TestPerRecipientReplies(t *testing.T) {
	dir := sockDir(t)
	os.Mkdir(filepath.Join(dir, "private"), 0o755)
	f := newFake(t, "unix", filepath.Join(dir, "private", "dovecot-lmtp"))
	f.dataReply["full@d1.test"] = "452 4.2.2 <full@d1.test> Quota exceeded (mailbox for user is full)"
	f.dataReply["gone@d1.test"] = "550 5.1.1 <gone@d1.test> User doesn't exist"
	a := newAgent(t, func(c *smtp.Config) { c.SocketDir = dir })
	res := a.Deliver(context.Background(), request("unix:private/dovecot-lmtp", "ok@d1.test", "full@d1.test", "gone@d1.test"))
	relay := "mail.example.test[private/dovecot-lmtp]"
	check(t, res, []want{
		{deliver.Sent, "2.0.0", "250 2.0.0 <ok@d1.test> abc123 Saved", relay},
		{deliver.Deferred, "4.2.2", "host mail.example.test[private/dovecot-lmtp] said: 452 4.2.2 <full@d1.test> Quota exceeded (mailbox for user is full) (in reply to end of DATA command)", relay},
		{deliver.Bounced, "5.1.1", "said: 550 5.1.1 <gone@d1.test> User doesn't exist (in reply to end of DATA command)", relay},
	})
	if res[0].Reason != "250 2.0.0 <ok@d1.test> abc123 Saved" {
		t.Errorf("sent reason %q", res[0].Reason)
	}
	_, cmds, pipelined, msgs := f.snapshot()
	if !pipelined {
		t.Errorf("MAIL, RCPT and DATA were not pipelined: %q", cmds)
	}
	if len(cmds) < 1 || cmds[0] != "LHLO mail.example.test" {
		t.Errorf("commands %q: want LHLO first", cmds)
	}
	if len(msgs) != 1 || msgs[0] != "Subject: test\r\n\r\n..leading dot\r\nhello\r\n" {
		t.Errorf("message %q", msgs)
	}
}

// A recipient refused at RCPT is settled then; the others are delivered
// and the server answers once per accepted recipient. Without
// PIPELINING the client waits for each reply.
func TestRcptRefusedNoPipelining(t *testing.T) {
	f := newFake(t, "tcp", "127.0.0.1:0")
	f.pipelining = false
	f.rcptReply["nouser@d2.test"] = "550 5.1.1 <nouser@d2.test> User doesn't exist"
	f.rcptReply["busy@d2.test"] = "451 4.3.0 <busy@d2.test> Temporary internal error"
	a := newAgent(t, nil)
	nexthop := "inet:" + f.ln.Addr().String()
	res := a.Deliver(context.Background(), request(nexthop, "a@d2.test", "nouser@d2.test", "busy@d2.test", "b@d2.test"))
	relay := "127.0.0.1[127.0.0.1]:" + strings.Split(f.ln.Addr().String(), ":")[1]
	check(t, res, []want{
		{deliver.Sent, "2.0.0", "<a@d2.test> abc123 Saved", relay},
		{deliver.Bounced, "5.1.1", "said: 550 5.1.1 <nouser@d2.test> User doesn't exist (in reply to RCPT TO command)", relay},
		{deliver.Deferred, "4.3.0", "(in reply to RCPT TO command)", relay},
		{deliver.Sent, "2.0.0", "<b@d2.test> abc123 Saved", relay},
	})
	if _, cmds, pipelined, _ := f.snapshot(); pipelined {
		t.Errorf("pipelined without PIPELINING: %q", cmds)
	}
}

// A server that sends one reply too many after the data leaves it
// unread: that session is not cached, so the next message goes over a
// new one instead of every reply being taken for the previous command's.
func TestExtraReplyNotCached(t *testing.T) {
	dir := sockDir(t)
	sock := filepath.Join(dir, "lmtp")
	f := newFake(t, "unix", sock)
	f.extraReply = "250 2.0.0 extra"
	a := newAgent(t, func(c *smtp.Config) { c.ConnectionCache = true; c.CacheTimeLimit = time.Minute })
	relay := "mail.example.test[" + sock + "]"
	for range 2 {
		res := a.Deliver(context.Background(), request("unix:"+sock, "u@d.test", "v@d.test"))
		check(t, res, []want{{deliver.Sent, "2.0.0", "<u@d.test> abc123 Saved", relay}, {deliver.Sent, "2.0.0", "<v@d.test> abc123 Saved", relay}})
	}
	if conns, cmds, _, _ := f.snapshot(); conns != 2 {
		t.Errorf("%d connections, want 2: %q", conns, cmds)
	}
}

// A success reply where 354 was due is an unexpected reply: deferred
// with 4.5.0, never a failure with a 2.x.x status.
func TestUnexpectedSuccessReply(t *testing.T) {
	f := newFake(t, "tcp", "127.0.0.1:0")
	f.dataCmd = "250 2.0.0 Ok"
	a := newAgent(t, nil)
	res := a.Deliver(context.Background(), request("inet:"+f.ln.Addr().String(), "u@d.test"))
	relay := "127.0.0.1[127.0.0.1]:" + strings.Split(f.ln.Addr().String(), ":")[1]
	check(t, res, []want{{deliver.Deferred, "4.5.0", "said: 250 2.0.0 Ok (in reply to DATA command)", relay}})
}

// A pipelining server that answers DATA with 354 though it refused every
// RCPT owes no reply after the data (RFC 2033 4.2): the client sends
// "." and QUIT instead of waiting lmtp_data_done_timeout for a reply.
func TestDataWithoutRecipients(t *testing.T) {
	f := newFake(t, "tcp", "127.0.0.1:0")
	f.dataAlways = true
	f.rcptReply["a@d.test"] = "550 5.1.1 <a@d.test> User doesn't exist"
	f.rcptReply["b@d.test"] = "452 4.2.2 <b@d.test> Quota exceeded"
	a := newAgent(t, func(c *smtp.Config) { c.Timeouts.DataDone = time.Hour })
	// Without the fix the client waits for a reply until ctx ends.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := a.Deliver(ctx, request("inet:"+f.ln.Addr().String(), "a@d.test", "b@d.test"))
	relay := "127.0.0.1[127.0.0.1]:" + strings.Split(f.ln.Addr().String(), ":")[1]
	check(t, res, []want{
		{deliver.Bounced, "5.1.1", "(in reply to RCPT TO command)", relay},
		{deliver.Deferred, "4.2.2", "(in reply to RCPT TO command)", relay},
	})
	if ctx.Err() != nil {
		t.Errorf("the client waited for a reply after the data: %v", ctx.Err())
	}
	// The server reads QUIT after the client has gone on.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		_, cmds, _, _ := f.snapshot()
		if len(cmds) > 0 && cmds[len(cmds)-1] == "QUIT" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("commands %q: want QUIT after the data", cmds)
		}
	}
}

// Next-hop forms Postfix's lmtp accepts for TCP: inet:host:port,
// inet:[addr]:port, host:port, [addr]:port; "localhost" is found in
// /etc/hosts.
func TestInetNexthops(t *testing.T) {
	f := newFake(t, "tcp", "127.0.0.1:0")
	port := strings.Split(f.ln.Addr().String(), ":")[1]
	a := newAgent(t, func(c *smtp.Config) { c.ConnectionCache = false })
	for _, nh := range []string{"inet:127.0.0.1:" + port, "inet:[127.0.0.1]:" + port, "127.0.0.1:" + port,
		"[127.0.0.1]:" + port, "inet:localhost:" + port} {
		res := a.Deliver(context.Background(), request(nh, "u@d.test"))
		if len(res) != 1 || res[0].Kind != deliver.Sent || !strings.HasSuffix(res[0].Relay, "[127.0.0.1]:"+port) {
			t.Errorf("%s: %+v", nh, res)
		}
	}
}

// A missing socket defers with Postfix's text and relay=none.
func TestConnectFailure(t *testing.T) {
	a := newAgent(t, func(c *smtp.Config) { c.SocketDir = sockDir(t) })
	res := a.Deliver(context.Background(), request("unix:private/dovecot-lmtp", "u@d.test"))
	check(t, res, []want{{deliver.Deferred, "4.4.1",
		"connect to mail.example.test[private/dovecot-lmtp]: No such file or directory", "none"}})
}

// Idle sessions are reused (after an RSET probe) by the next message
// to the same next hop; with the cache off each message connects anew.
func TestConnectionReuse(t *testing.T) {
	for _, cache := range []bool{true, false} {
		dir := sockDir(t)
		sock := filepath.Join(dir, "lmtp")
		f := newFake(t, "unix", sock)
		a := newAgent(t, func(c *smtp.Config) { c.ConnectionCache = cache; c.CacheTimeLimit = time.Minute })
		var uses []int
		for range 3 {
			res := a.Deliver(context.Background(), request("unix:"+sock, "u@d.test"))
			if res[0].Kind != deliver.Sent {
				t.Fatalf("%+v", res)
			}
			uses = append(uses, res[0].ConnUse)
		}
		conns, cmds, _, _ := f.snapshot()
		rsets := 0
		for _, c := range cmds {
			if c == "RSET" {
				rsets++
			}
		}
		if cache && (conns != 1 || rsets != 2 || !slices.Equal(uses, []int{0, 2, 3})) {
			t.Errorf("cache on: %d connections, %d RSET, conn_use %v; want 1, 2, [0 2 3]", conns, rsets, uses)
		}
		if !cache && (conns != 3 || rsets != 0) {
			t.Errorf("cache off: %d connections, %d RSET; want 3, 0", conns, rsets)
		}
	}
}

// lmtp_data_done_timeout: a server that never answers the end of data
// defers every recipient, with the warning that the message may be
// delivered twice.
func TestDataDoneTimeout(t *testing.T) {
	dir := sockDir(t)
	sock := filepath.Join(dir, "lmtp")
	f := newFake(t, "unix", sock)
	f.stallData = true
	a := newAgent(t, func(c *smtp.Config) { c.Timeouts.DataDone = 300 * time.Millisecond })
	res := a.Deliver(context.Background(), request("unix:"+sock, "a@d.test", "b@d.test"))
	relay := "mail.example.test[" + sock + "]"
	reason := "conversation with " + relay + " timed out while sending end of data -- message may be sent more than once"
	check(t, res, []want{{deliver.Deferred, "4.4.2", reason, relay}, {deliver.Deferred, "4.4.2", reason, relay}})
}

// The timeouts are per stage: a long lmtp_data_done_timeout does not
// stretch a short lmtp_lhlo_timeout.
func TestLHLOTimeout(t *testing.T) {
	dir := sockDir(t)
	sock := filepath.Join(dir, "lmtp")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			io.Copy(io.Discard, c) // no greeting
		}
	}()
	a := newAgent(t, func(c *smtp.Config) { c.Timeouts.Helo = 300 * time.Millisecond })
	res := a.Deliver(context.Background(), request("unix:"+sock, "a@d.test"))
	check(t, res, []want{{deliver.Deferred, "4.4.2",
		"timed out while receiving the initial server greeting", "mail.example.test[" + sock + "]"}})
}
