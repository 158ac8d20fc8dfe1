package master

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/inetaddr/inetaddrtest"
	"github.com/postern-mta/postern/internal/smtpd"
)

// Without master.cf, a configuration runs the bundled default, and the
// daemon logs a warning that says so and names the services; with one,
// it names that file's services.
func TestGenerationSaysWhichServices(t *testing.T) {
	dir := t.TempDir()
	main := "queue_directory = " + dir + "/q\ndata_directory = " + dir + "/d\nmail_owner = root\nmyhostname = mx.example.test\ninet_interfaces = loopback-only\nalias_maps =\nalias_database =\n"
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte(main), 0o644)
	logged := func() string {
		g, err := load(context.Background(), dir, inetaddrtest.Standard())
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		g.logServices(slog.New(slog.NewTextHandler(&b, nil)))
		return b.String()
	}
	master := filepath.Join(dir, "master.cf")
	if got := logged(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, master+" does not exist: using the bundled default: smtp inet on port 25 (smtpd), pickup,") {
		t.Errorf("without master.cf: %s", got)
	}
	os.WriteFile(master, []byte("2525 inet n - n - - smtpd\n"), 0o644)
	if got := logged(); !strings.Contains(got, "level=INFO") || !strings.Contains(got, master+": services 2525 inet on port 2525 (smtpd)") {
		t.Errorf("with master.cf: %s", got)
	}
}

// A ${stress?…} restriction applies to the sessions under stress: the
// generation builds the policy with stress = yes too (it was built from
// the configuration without stress only, so the restriction never
// applied).
func TestStressRestrictions(t *testing.T) {
	dir := t.TempDir()
	main := "myhostname = mx.example.test\nmynetworks = 127.0.0.0/8\nalias_maps =\n" +
		"smtpd_client_restrictions = ${stress?{reject}}\n"
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte(main), 0o644)
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := newSMTP(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.LookupClient = nil
	rcptReply := func(stress bool) string {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			if c, err := l.Accept(); err == nil {
				srv.Serve(context.Background(), c, smtpd.Conn{Stress: stress})
			}
		}()
		c, err := net.Dial("tcp4", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		r := bufio.NewReader(c)
		last := func() string { // the last line of a reply
			for {
				line, err := r.ReadString('\n')
				if err != nil || len(line) < 4 || line[3] != '-' {
					return strings.TrimSpace(line)
				}
			}
		}
		last()
		for _, cmd := range []string{"EHLO client.example.test", "MAIL FROM:<a@example.test>"} {
			fmt.Fprintf(c, "%s\r\n", cmd)
			last()
		}
		fmt.Fprintf(c, "RCPT TO:<b@remote.example.test>\r\n")
		return last()
	}
	if got := rcptReply(false); !strings.HasPrefix(got, "250 ") {
		t.Errorf("without stress: RCPT got %q, want 250", got)
	}
	if got := rcptReply(true); !strings.HasPrefix(got, "554 5.7.1 ") || !strings.Contains(got, "Client host rejected") {
		t.Errorf("under stress: RCPT got %q, want the client rejected", got)
	}
}
