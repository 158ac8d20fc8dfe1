package mastercf

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/config"
)

// TestMain replaces /etc/services with a fixed table so that results do
// not depend on the machine.
func TestMain(m *testing.M) {
	ports := map[string]int{"smtp": 25, "submission": 587, "smtps": 465, "submissions": 465}
	lookupPort = func(_, name string) (int, error) {
		if p, ok := ports[name]; ok {
			return p, nil
		}
		return 0, errors.New("unknown port")
	}
	os.Exit(m.Run())
}

func TestParseFields(t *testing.T) {
	in := "# comment\n" +
		"smtp      inet  n       -       y       -       -       smtpd\n" +
		"submission inet n - y - - smtpd\n" +
		"  -o syslog_name=postfix/submission\n" +
		"#  -o commented=out\n" +
		"  -o { smtpd_client_restrictions = permit_sasl_authenticated , reject }\n" +
		"  -oabc=def -vo x=y -D\n" +
		"pickup unix n - y 60? 1 pickup\n" +
		"pipe unix - n n - - pipe flags=R {user = x} argv=/bin/x\n"
	f, diags := Parse("master.cf", in)
	if len(diags) != 0 {
		t.Fatalf("unexpected diags: %v", diags)
	}
	want := []*Service{
		{Name: "smtp", Type: "inet", Private: "n", Unpriv: "-", Chroot: "y", Wakeup: "-", MaxProc: "-",
			Command: "smtpd", Line: 2},
		{Name: "submission", Type: "inet", Private: "n", Unpriv: "-", Chroot: "y", Wakeup: "-", MaxProc: "-",
			Command: "smtpd", Line: 3,
			Args: []string{"-o", "syslog_name=postfix/submission",
				"-o", "smtpd_client_restrictions=permit_sasl_authenticated , reject",
				"-o", "abc=def", "-v", "-o", "x=y", "-D"},
			Overrides: []Override{{"syslog_name", "postfix/submission"},
				{"smtpd_client_restrictions", "permit_sasl_authenticated , reject"}, {"abc", "def"}, {"x", "y"}}},
		{Name: "pickup", Type: "unix", Private: "n", Unpriv: "-", Chroot: "y", Wakeup: "60?", MaxProc: "1",
			Command: "pickup", Line: 8},
		{Name: "pipe", Type: "unix", Private: "-", Unpriv: "n", Chroot: "n", Wakeup: "-", MaxProc: "-",
			Command: "pipe", Args: []string{"flags=R", "user = x", "argv=/bin/x"}, Line: 9},
	}
	if !reflect.DeepEqual(f.Services, want) {
		for i := range f.Services {
			t.Errorf("service %d:\n got %#v", i, *f.Services[i])
		}
		t.FailNow()
	}
	s := f.Find("pickup", "unix")
	if s == nil || s.IsPrivate() || !s.IsUnpriv() || !s.IsChroot(config.CompatLevel{Major: 3, Minor: 6}) {
		t.Errorf("pickup flags: %+v", s)
	}
	if sec, cond, err := s.WakeupTime(); sec != 60 || !cond || err != nil {
		t.Errorf("pickup wakeup = %d %v %v", sec, cond, err)
	}
	if n, err := s.ProcessLimit(100); n != 1 || err != nil {
		t.Errorf("pickup maxproc = %d %v", n, err)
	}
	smtp := f.Find("smtp", "inet")
	if n, _ := smtp.ProcessLimit(100); n != 100 {
		t.Errorf("default maxproc = %d", n)
	}
	if sec, cond, _ := smtp.WakeupTime(); sec != 0 || cond {
		t.Errorf("default wakeup = %d %v", sec, cond)
	}
	pipe := f.Find("pipe", "unix")
	if pipe.IsChroot(config.CompatLevel{Major: 3}) || pipe.IsUnpriv() {
		t.Errorf("explicit n flags ignored")
	}
	legacy := &Service{Chroot: "-"}
	if !legacy.IsChroot(config.CompatLevel{}) || legacy.IsChroot(config.CompatLevel{Major: 1}) {
		t.Errorf("chroot default must be y below compatibility_level 1 and n from 1 on")
	}
	if v, ok := f.Find("submission", "inet").Param("x"); v != "y" || !ok {
		t.Errorf("Param(x) = %q %v", v, ok)
	}
}

func TestHostPort(t *testing.T) {
	for _, tc := range []struct {
		name, host string
		port       int
		err        string
	}{
		{"25", "", 25, ""},
		{"smtp", "", 25, ""},
		{":submission", "", 587, ""},
		{"127.0.0.1:10025", "127.0.0.1", 10025, ""},
		{"[::1]:smtp", "::1", 25, ""},
		{"[ipv6:2001:db8::1]:25", "2001:db8::1", 25, ""},
		{"[mx.example.com]:smtps", "mx.example.com", 465, ""},
		{"mx.example.com:2525", "mx.example.com", 2525, ""},
		{"::1:25", "::1", 25, ""},
		{"smtpx", "", 0, `unknown port name "smtpx"`},
		{"SMTP", "", 0, "lower case"},
		{"25x", "", 0, "garbage after numerical port"},
		{"0", "", 0, "out of range"},
		{"65536", "", 0, "out of range"},
		{"host:", "", 0, "missing port"},
		{"[::1]", "", 0, "missing port"},
		{"[::1", "", 0, `missing "]"`},
		{"[::1]x:25", "", 0, `after "]"`},
		{"[]:25", "", 0, "no host"},
		{"[ipv6:1.2.3.4]:25", "", 0, "malformed IPv6"},
		{"bad!host:25", "", 0, "not a valid hostname"},
		{"1.2.3:25", "", 0, "not a valid hostname"},
	} {
		host, port, err := (&Service{Name: tc.name, Type: Inet}).HostPort()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("HostPort(%q) error = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || host != tc.host || port != tc.port {
			t.Errorf("HostPort(%q) = %q %d %v, want %q %d", tc.name, host, port, err, tc.host, tc.port)
		}
	}
	if _, _, err := (&Service{Name: "smtp", Type: Unix}).HostPort(); err == nil {
		t.Errorf("HostPort on a unix service must fail")
	}
}

func TestDefault(t *testing.T) {
	f, diags := Parse("master.cf", Default())
	if len(diags) != 0 {
		t.Fatalf("default master.cf has problems: %v", diags)
	}
	s := f.Find("smtp", "inet")
	if s == nil || strings.Join(s.columns(), " ") != "smtp inet n - y - - smtpd" {
		t.Errorf("default smtp service = %+v", s)
	}
	for _, name := range []string{"pickup", "cleanup", "qmgr", "rewrite", "bounce", "defer", "trace", "verify",
		"flush", "proxymap", "smtp", "relay", "showq", "error", "retry", "discard", "local", "virtual", "lmtp",
		"anvil", "scache", "tlsmgr"} {
		if f.Find(name, Unix) == nil {
			t.Errorf("default master.cf lacks %s/unix", name)
		}
	}
	for _, want := range []string{"\n#submission inet n", "\n#submissions     inet  n", "smtpd_tls_wrappermode=yes"} {
		if !strings.Contains(Default(), want) {
			t.Errorf("default master.cf lacks %q", want)
		}
	}
}

// The bundled master.cf carries Postfix 3.7's commented-out submission
// and submissions entries verbatim (testdata/postfix-3.7-submission.txt,
// itself compared with Debian's /usr/share/postfix/master.cf.dist when
// that is installed), and uncommented as its comment says they are two
// smtpd services on 587 and 465 with Postfix's -o options.
func TestDefaultSubmissionIsPostfix(t *testing.T) {
	stock, err := os.ReadFile("testdata/postfix-3.7-submission.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(Default(), string(stock)) {
		t.Errorf("the bundled master.cf does not contain Postfix's submission entries verbatim:\n%s", stock)
	}
	if dist, err := os.ReadFile("/usr/share/postfix/master.cf.dist"); err == nil {
		if !strings.Contains(string(dist), string(stock)) {
			t.Errorf("testdata/postfix-3.7-submission.txt differs from /usr/share/postfix/master.cf.dist")
		}
	} else {
		t.Logf("no /usr/share/postfix/master.cf.dist (Debian's postfix): compared with the stored copy only")
	}
	f, diags := Parse("master.cf", UncommentSubmission(Default()))
	if len(diags) != 0 {
		t.Fatalf("uncommented: %v", diags)
	}
	for name, want := range map[string][]Override{
		"submission": {{"syslog_name", "postfix/submission"}, {"smtpd_tls_security_level", "encrypt"},
			{"smtpd_sasl_auth_enable", "yes"}, {"smtpd_tls_auth_only", "yes"}, {"smtpd_reject_unlisted_recipient", "no"},
			{"smtpd_client_restrictions", ""}, {"smtpd_helo_restrictions", ""}, {"smtpd_sender_restrictions", ""},
			{"smtpd_relay_restrictions", ""}, {"smtpd_recipient_restrictions", "permit_sasl_authenticated,reject"},
			{"milter_macro_daemon_name", "ORIGINATING"}},
		"submissions": {{"syslog_name", "postfix/submissions"}, {"smtpd_tls_wrappermode", "yes"},
			{"smtpd_sasl_auth_enable", "yes"}, {"smtpd_reject_unlisted_recipient", "no"},
			{"smtpd_client_restrictions", ""}, {"smtpd_helo_restrictions", ""}, {"smtpd_sender_restrictions", ""},
			{"smtpd_relay_restrictions", ""}, {"smtpd_recipient_restrictions", "permit_sasl_authenticated,reject"},
			{"milter_macro_daemon_name", "ORIGINATING"}},
	} {
		s := f.Find(name, Inet)
		if s == nil || s.Command != "smtpd" {
			t.Fatalf("uncommented: no %s/inet smtpd service", name)
		}
		if !reflect.DeepEqual(s.Overrides, want) {
			t.Errorf("%s overrides = %q, want %q", name, s.Overrides, want)
		}
	}
	if f.Find("127.0.0.1:submission", Inet) != nil {
		t.Errorf("the loopback-only variant was uncommented too")
	}
}

// The README's submission and submissions entries are the bundled
// master.cf's, uncommented.
func TestREADMESubmissionEntries(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "\n    submission inet n")
	end := strings.Index(text, "\n    $ postern passwd")
	if start < 0 || end < start {
		t.Fatal("README lacks the submission entries")
	}
	var b strings.Builder
	for _, l := range strings.Split(text[start+1:end], "\n") {
		b.WriteString(strings.TrimPrefix(l, "    ") + "\n")
	}
	got, diags := Parse("README", b.String())
	want, _ := Parse("master.cf", UncommentSubmission(Default()))
	if len(diags) != 0 {
		t.Fatalf("README entries: %v", diags)
	}
	for _, name := range []string{"submission", "submissions"} {
		g, w := got.Find(name, Inet), want.Find(name, Inet)
		if g == nil || w == nil || !reflect.DeepEqual(g.Overrides, w.Overrides) || strings.Join(g.columns(), " ") != strings.Join(w.columns(), " ") {
			t.Errorf("README's %s entry differs from the bundled one:\n%+v\n%+v", name, g, w)
		}
	}
}
