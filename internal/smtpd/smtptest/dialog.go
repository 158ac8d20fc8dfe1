package smtptest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dnstest"
)

// Dialog is a scripted SMTP conversation, one directive per line:
//
//	cf: name = value   main.cf line for the server (before the first C:)
//	dns: NAME TYPE DATA a record of the DNS zone the server alone sees
//	                   (dnstest.ParseRecord's form); without dns: lines
//	                   the server does no client name lookups
//	from: 127.0.0.5    the client's source address
//	C: EHLO x          a command line (CRLF added); consecutive C: and R:
//	R: "go string"     lines are sent in one write: pipelining
//	S: 250 2.1.0 Ok    the next reply line, byte for byte
//	queued: 1          messages in the queue now
//	body~ "text"       the last queued message contains text
//	rcpts: a@b c@d     the last queued message's recipients
//	origs: a - c       their addresses as the client wrote them ("-": same)
//	sender: a@b        the last queued message's sender ("" for <>)
//	log~ "text"        a server log line so far contains text
//	closed             the server has closed the connection
type Dialog struct {
	Name  string
	Cf    string
	From  string
	Zone  dnstest.Zone // from dns: lines
	steps []step
}

type step struct {
	kind, arg string
	line      int
}

// ReadDialog parses a dialog file.
func ReadDialog(path string) (*Dialog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	d := &Dialog{Name: path, From: "127.0.0.1"}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		kind, arg, _ := strings.Cut(l, ":")
		if l == "closed" {
			kind = "closed"
		} else if k, a, ok := strings.Cut(l, "~ "); ok && !strings.Contains(k, ":") {
			kind, arg = k+"~", " "+a
		}
		arg = strings.TrimPrefix(arg, " ")
		switch kind {
		case "cf":
			d.Cf += arg + "\n"
		case "from":
			d.From = arg
		case "dns":
			name, rec, err := dnstest.ParseRecord(arg)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, i+1, err)
			}
			if d.Zone == nil {
				d.Zone = dnstest.Zone{}
			}
			d.Zone[name] = append(d.Zone[name], rec)
		case "C", "S", "queued", "rcpts", "origs", "sender", "closed":
			d.steps = append(d.steps, step{kind, arg, i + 1})
		case "R", "body~", "log~":
			s, err := strconv.Unquote(arg)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, i+1, err)
			}
			d.steps = append(d.steps, step{kind, s, i + 1})
		default:
			return nil, fmt.Errorf("%s:%d: unknown directive %q", path, i+1, l)
		}
	}
	return d, nil
}

// Start starts a server for the dialog: its cf: lines, and, if it has
// dns: lines, a test DNS server answering from them as its only DNS.
func (d *Dialog) Start(t testing.TB) *Server {
	t.Helper()
	if d.Zone == nil {
		return NewServer(t, d.Cf, nil)
	}
	dns := dnstest.Start(t, d.Zone)
	return NewServerWith(t, d.Cf, Options{Resolver: dns.Resolver()})
}

// Run plays the dialog against s.
func (d *Dialog) Run(t *testing.T, s *Server) {
	t.Helper()
	d.play(t, s.Addr, s, nil)
}

// Exchange plays only the conversation (C:, R:, S: and closed) against
// the SMTP server at addr, comparing each reply line after norm (nil:
// as it is): for checking a dialog against another implementation, such
// as Postfix. Steps that look inside the server (queued, body~, rcpts,
// log~) are skipped.
func (d *Dialog) Exchange(t *testing.T, addr string, norm func(string) string) {
	t.Helper()
	d.play(t, addr, nil, norm)
}

// HasConversation reports whether the dialog talks at all (some have
// only server-side checks).
func (d *Dialog) HasConversation() bool {
	for _, st := range d.steps {
		if st.kind == "S" {
			return true
		}
	}
	return false
}

func (d *Dialog) play(t *testing.T, addr string, s *Server, norm func(string) string) {
	t.Helper()
	if norm == nil {
		norm = func(l string) string { return l }
	}
	dialer := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(d.From)}}
	c, err := dialer.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	var pending strings.Builder
	flush := func() {
		if pending.Len() > 0 {
			c.Write([]byte(pending.String()))
			pending.Reset()
		}
	}
	for _, st := range d.steps {
		where := fmt.Sprintf("%s:%d", d.Name, st.line)
		if st.kind != "C" && st.kind != "R" {
			flush()
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if s == nil && st.kind != "C" && st.kind != "R" && st.kind != "S" && st.kind != "closed" {
			continue // looks inside our server
		}
		switch st.kind {
		case "C":
			pending.WriteString(st.arg + "\r\n")
		case "R":
			pending.WriteString(st.arg)
		case "S":
			got, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: want %q, read error %v", where, st.arg, err)
			}
			if norm(got) != norm(st.arg+"\r\n") {
				t.Fatalf("%s: got %q, want %q", where, got, st.arg+"\r\n")
			}
		case "closed":
			if got, err := br.ReadString('\n'); err != io.EOF {
				t.Fatalf("%s: connection still open: read %q, %v", where, got, err)
			}
		case "queued":
			n, _ := strconv.Atoi(st.arg)
			if !eventually(func() bool { return len(s.Queue.Messages()) == n }) {
				t.Fatalf("%s: %d messages queued, want %d", where, len(s.Queue.Messages()), n)
			}
		case "log~":
			if !eventually(func() bool { return strings.Contains(s.Logged(), st.arg) }) {
				t.Fatalf("%s: no log line contains %q; log:\n%s", where, st.arg, s.Logged())
			}
		case "body~", "rcpts", "origs", "sender":
			msgs := s.Queue.Messages()
			if len(msgs) == 0 {
				t.Fatalf("%s: nothing queued", where)
			}
			m := msgs[len(msgs)-1]
			if st.kind == "body~" && !strings.Contains(string(m.Body), st.arg) {
				t.Fatalf("%s: body lacks %q:\n%s", where, st.arg, m.Body)
			}
			if st.kind == "rcpts" || st.kind == "origs" {
				var got []string
				for _, r := range m.Envelope.Recipients {
					switch {
					case st.kind == "rcpts":
						got = append(got, r.Addr)
					case r.Orig == "":
						got = append(got, "-")
					default:
						got = append(got, r.Orig)
					}
				}
				if strings.Join(got, " ") != st.arg {
					t.Fatalf("%s: %s %q, want %q", where, st.kind, strings.Join(got, " "), st.arg)
				}
			}
			if st.kind == "sender" && m.Envelope.Sender != st.arg {
				t.Fatalf("%s: sender %q, want %q", where, m.Envelope.Sender, st.arg)
			}
		}
	}
	flush()
}

// eventually waits for cond, which the server makes true when it gets
// there (a log line, a queued message), for at most 10 seconds: no guess
// at how long a busy machine takes.
func eventually(cond func() bool) bool {
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}
