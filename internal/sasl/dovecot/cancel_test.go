package dovecot

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/sasl"
)

// cancelServer answers LOGIN with CONT (Username:), CRAM-MD5 with a CONT
// whose data is not base64, PLAIN for "slow" never, and other PLAIN
// with OK. A CANCEL goes to cancels, and is answered as a newer Dovecot
// does (CANCELLED), then with a late FAIL: the client must ignore both.
func cancelServer(cancels chan<- string) func(fc *fconn) {
	return func(fc *fconn) {
		if !fc.handshake(stdHandshake) {
			return
		}
		for {
			s, ok := fc.readLine()
			if !ok {
				return
			}
			f := strings.Split(s, "\t")
			switch {
			case f[0] == "CANCEL":
				cancels <- s
				fc.send("CANCELLED\t" + f[1] + "\nFAIL\t" + f[1] + "\n")
			case f[0] == "AUTH" && f[2] == "LOGIN":
				fc.send("CONT\t" + f[1] + "\tVXNlcm5hbWU6\n")
			case f[0] == "AUTH" && f[2] == "CRAM-MD5":
				fc.send("CONT\t" + f[1] + "\t!!!\n")
			case f[0] == "AUTH" && strings.HasSuffix(s, "resp="+base64.StdEncoding.EncodeToString(plain("slow", "pw"))):
			case f[0] == "AUTH":
				fc.send("OK\t" + f[1] + "\tuser=fast\n")
			}
		}
	}
}

func openIDs(c *Client) (*conn, int) {
	c.mu.Lock()
	cn := c.cur
	c.mu.Unlock()
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn, len(cn.open)
}

// An exchange that ends with Dovecot still holding its request (the
// SMTP client answered "*" or hung up; Dovecot sent bad data; its reply
// is overdue) is cancelled there: Dovecot never times such a request
// out. The id is forgotten, CANCELLED and late replies are ignored, the
// connection is kept and closes again when idle.
func TestCloseCancels(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mech    string
		initial []byte
		timeout time.Duration // of Next
		next    bool          // Next succeeds (a challenge), then Close
	}{
		{"abandoned after a challenge", "LOGIN", nil, 10 * time.Second, true},
		{"bad data in CONT", "CRAM-MD5", nil, 10 * time.Second, false},
		{"reply overdue", "PLAIN", plain("slow", "pw"), 100 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cancels := make(chan string, 8)
			f := newFake(t, cancelServer(cancels))
			c := f.client()
			c.IdleTimeout = time.Second
			defer c.Close()
			ctx := ctxT(t, 10*time.Second)
			ex, _ := c.Start(ctx, tc.mech, sasl.Client{}, tc.initial)
			nctx := ctxT(t, tc.timeout)
			st, err := ex.Next(nctx, nil)
			if tc.next && (err != nil || st.Done) {
				t.Fatalf("first step: %+v %v", st, err)
			}
			if !tc.next && err == nil {
				t.Fatalf("first step: %+v, want an error", st)
			}
			ex.Close()
			ex.Close() // a no-op
			select {
			case got := <-cancels:
				if got != "CANCEL\t1" {
					t.Errorf("sent %q, want CANCEL\\t1", got)
				}
			case <-ctx.Done():
				t.Fatalf("no CANCEL; the server got %q", f.received())
			}
			cn, n := openIDs(c)
			if n != 0 {
				t.Errorf("%d requests still open", n)
			}
			// CANCELLED and the late FAIL are ignored: the next
			// exchange gets its own reply on the same connection.
			if st, _, err := run(ctx, c, "PLAIN", plain("alice@v.test", "secret")); err != nil || st.User != "fast" {
				t.Fatalf("next exchange: %+v %v", st, err)
			}
			select { // the event: idle close arms again
			case <-cn.dead:
			case <-ctx.Done():
				t.Fatal("not closed while idle")
			}
			if err := cn.broken(); err != errIdle {
				t.Errorf("closed with %v", err)
			}
			var sent int
			for _, l := range f.received() {
				if strings.HasPrefix(l, "CANCEL") {
					sent++
				}
			}
			if sent != 1 {
				t.Errorf("%d CANCEL lines, want 1", sent)
			}
		})
	}
}

// After the outcome (OK or FAIL) Close sends nothing: Dovecot has
// already forgotten the request.
func TestCloseAfterOutcome(t *testing.T) {
	cancels := make(chan string, 8)
	f := newFake(t, cancelServer(cancels))
	c := f.client()
	defer c.Close()
	ctx := ctxT(t, 10*time.Second)
	ex, _ := c.Start(ctx, "PLAIN", sasl.Client{}, plain("alice@v.test", "secret"))
	if st, err := ex.Next(ctx, nil); err != nil || !st.Done {
		t.Fatalf("%+v %v", st, err)
	}
	ex.Close()
	ex.Close()
	// A LOGIN abandoned afterwards is cancelled: its CANCEL is the
	// first the server sees.
	ex2, _ := c.Start(ctx, "LOGIN", sasl.Client{}, nil)
	if _, err := ex2.Next(ctx, nil); err != nil {
		t.Fatal(err)
	}
	ex2.Close()
	select {
	case got := <-cancels:
		if got != "CANCEL\t2" {
			t.Errorf("sent %q, want CANCEL\\t2 only", got)
		}
	case <-ctx.Done():
		t.Fatal("no CANCEL")
	}
	// Never started, never sent: nothing to close.
	ex3, _ := c.Start(ctx, "LOGIN", sasl.Client{}, nil)
	ex3.Close()
	if _, n := openIDs(c); n != 0 {
		t.Errorf("%d requests open", n)
	}
}

// At most MaxPending requests are in progress on the connection; beyond,
// a new exchange fails at once (454) without reaching Dovecot, and one
// closed makes room.
func TestMaxPending(t *testing.T) {
	cancels := make(chan string, 8)
	f := newFake(t, cancelServer(cancels))
	c := f.client()
	c.MaxPending = 2
	defer c.Close()
	ctx := ctxT(t, 10*time.Second)
	var exs []sasl.Exchange
	for range 2 {
		ex, _ := c.Start(ctx, "LOGIN", sasl.Client{}, nil)
		if _, err := ex.Next(ctx, nil); err != nil {
			t.Fatal(err)
		}
		exs = append(exs, ex)
	}
	ex, _ := c.Start(ctx, "PLAIN", sasl.Client{}, plain("alice@v.test", "secret"))
	if _, err := ex.Next(ctx, nil); !errors.Is(err, errTooMany) {
		t.Fatalf("third request: %v, want %v", err, errTooMany)
	}
	ex.Close()
	auths := 0
	for _, l := range f.received() {
		if strings.HasPrefix(l, "AUTH") {
			auths++
		}
	}
	if auths != 2 {
		t.Errorf("%d AUTH lines sent, want 2", auths)
	}
	exs[0].Close()
	<-cancels
	if st, _, err := run(ctx, c, "PLAIN", plain("alice@v.test", "secret")); err != nil || st.User != "fast" {
		t.Fatalf("after a Close: %+v %v", st, err)
	}
	exs[1].Close()
}
