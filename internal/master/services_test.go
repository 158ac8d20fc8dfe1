package master

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/inetaddr/inetaddrtest"
)

// Services without -o run on main.cf's server (no extra cost), services
// with the same -o share one, others get their own, with their settings;
// a $service_name reference gives each service its own. The queue
// manager's policy stays main.cf's.
func TestServersPerService(t *testing.T) {
	dir := t.TempDir()
	main := "queue_directory = " + dir + "/q\ndata_directory = " + dir + "/d\nmail_owner = root\nmyhostname = mx.example.test\n" +
		"inet_interfaces = loopback-only\nalias_maps =\nalias_database =\n"
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte(main), 0o644)
	os.WriteFile(filepath.Join(dir, "master.cf"), []byte(
		"2525 inet n - n - - smtpd\n"+
			"2526 inet n - n - - smtpd\n"+
			"2527 inet n - n - - smtpd\n  -o smtpd_timeout=20s\n"+
			"2528 inet n - n - - smtpd\n  -o smtpd_timeout=20s\n"+
			"2529 inet n - n - - smtpd\n  -o syslog_name=postfix/$service_name\n"+
			"2530 inet n - n - - smtpd\n  -o syslog_name=postfix/$service_name\n"+
			"2531 inet n - n - - smtpd\n  -o syslog_name=mail/x\n"+
			"2532 inet n - n - - smtpd\n  -o smtpd_client_restrictions=${stress?{reject}}\n"), 0o644)
	g, err := load(context.Background(), dir, inetaddrtest.Standard())
	if err != nil {
		t.Fatal(err)
	}
	if g.server("2525") != g.smtp || g.server("2526") != g.smtp {
		t.Errorf("services without -o do not share main.cf's server")
	}
	if g.server("2527") != g.server("2528") || g.server("2527") == g.smtp {
		t.Errorf("services with the same -o: %p %p (main %p)", g.server("2527"), g.server("2528"), g.smtp)
	}
	if g.server("2529") == g.server("2530") {
		t.Errorf("services whose -o refer to $service_name share a server")
	}
	if n := len(g.distinctServers()); n != 6 {
		t.Errorf("%d distinct servers, want 6", n)
	}
	if g.smtp.StressPolicy != nil || g.server("2532").StressPolicy == nil {
		t.Errorf("a ${stress?…} -o: stress policy %p (main.cf's %p)", g.server("2532").StressPolicy, g.smtp.StressPolicy)
	}
	if d := g.server("2527").Config; d == g.smtp.Config {
		t.Errorf("the -o service has main.cf's smtpd config")
	}
	for svc, want := range map[string]string{"2525": "postern/smtpd", "2527": "postern/smtpd",
		"2529": "postern/2529/smtpd", "2530": "postern/2530/smtpd", "2531": "mail/x/smtpd"} {
		if got := g.programs[g.server(svc)]; got != want {
			t.Errorf("service %s logs as %q, want %q", svc, got, want)
		}
	}
}

// The log program name of a service: its -o syslog_name with Postfix's
// "postfix" (or main.cf's syslog_name) read as postern's.
func TestProgramName(t *testing.T) {
	for _, tc := range []struct{ mainCf, syslog, want string }{
		{"", "", "postern/smtpd"},
		{"", "postfix/submission", "postern/submission/smtpd"},
		{"", "postern/submission", "postern/submission/smtpd"},
		{"", "postern", "postern/smtpd"},
		{"syslog_name = mail\n", "mail/submission", "postern/submission/smtpd"},
		{"syslog_name = mail\n", "postfix/submission", "postern/submission/smtpd"},
		{"", "other", "other/smtpd"},
	} {
		main := config.New("", config.ParseMain("main.cf", tc.mainCf))
		svc := main
		if tc.syslog != "" {
			svc = main.With("syslog_name", tc.syslog)
		}
		if got := programName(main, svc); got != tc.want {
			t.Errorf("main.cf %q, -o syslog_name=%s: %q, want %q", tc.mainCf, tc.syslog, got, tc.want)
		}
	}
}
