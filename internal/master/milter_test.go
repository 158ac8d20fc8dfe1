package master

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/inetaddr/inetaddrtest"
	"github.com/postern-mta/postern/internal/milter"
)

// smtpd_milters set with -o in master.cf applies to that service only,
// with its own milter_* settings; non_smtpd_milters becomes pickup's
// first content stage; a relative unix: path is under queue_directory.
func TestMiltersPerService(t *testing.T) {
	dir := t.TempDir()
	main := "queue_directory = " + dir + "/q\ndata_directory = " + dir + "/d\nmail_owner = root\nmyhostname = mx.example.test\n" +
		"inet_interfaces = loopback-only\nalias_maps =\nalias_database =\n" +
		"non_smtpd_milters = unix:private/dkim\nmilter_default_action = accept\n"
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte(main), 0o644)
	os.WriteFile(filepath.Join(dir, "master.cf"), []byte(
		"2525 inet n - n - - smtpd\n"+
			"2526 inet n - n - - smtpd\n  -o smtpd_milters=inet:127.0.0.1:8891\n  -o milter_command_timeout=5s\n"+
			"2527 inet n - n - - smtpd\n  -o { smtpd_milters = { inet:127.0.0.1:11332, default_action=reject, content_timeout=2m } }\n"), 0o644)
	g, err := load(context.Background(), dir, inetaddrtest.Standard())
	if err != nil {
		t.Fatal(err)
	}
	if g.smtp.Milters != nil || g.server("2525").Milters != nil {
		t.Errorf("main.cf's server has milters %+v", g.smtp.Milters)
	}
	m := g.server("2526").Milters
	if m == nil || len(m.Specs) != 1 || m.Specs[0].Name != "inet:127.0.0.1:8891" || m.Specs[0].CommandTimeout != 5*time.Second ||
		m.Specs[0].DefaultAction != "accept" || m.DaemonName != "mx.example.test" || len(m.Macros.Connect) != 5 {
		t.Errorf("service 2526 milters %+v", m)
	}
	m = g.server("2527").Milters
	if m == nil || len(m.Specs) != 1 || m.Specs[0].Address != "127.0.0.1:11332" || m.Specs[0].DefaultAction != "reject" ||
		m.Specs[0].ContentTimeout != 2*time.Minute || m.Specs[0].CommandTimeout != 30*time.Second {
		t.Errorf("service 2527 milters %+v", m)
	}
	var ls *milter.LocalStage
	for _, s := range g.pickupStages {
		if l, ok := s.(*milter.LocalStage); ok {
			ls = l
		}
	}
	if ls == nil {
		t.Fatal("no pickup stage for non_smtpd_milters")
	}
	if len(ls.Specs) != 1 || ls.Specs[0].Network != "unix" || ls.Specs[0].Address != filepath.Join(dir, "q", "private/dkim") {
		t.Errorf("pickup stage %#v", ls)
	}
}
