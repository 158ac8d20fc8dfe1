package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/inetaddr/inetaddrtest"
)

// maxproc beyond the file descriptor budget is warned about: clients
// beyond the budget would wait in the backlog although maxproc admits
// them (issue 19: 10,000 sessions need the hard limit to match).
func TestSessionBudget(t *testing.T) {
	budget := func(_, milters int) (int, uint64) { return 6100 / (1 + milters), 10000 }
	for _, tc := range []struct {
		name, master, main string
		warn               bool
	}{
		{name: "default maxproc", master: "smtp inet n - n - - smtpd\n"},
		{name: "within", master: "smtp inet n - n - 5000 smtpd\nsubmission inet n - n - 1000 smtpd\n"},
		{name: "beyond", master: "smtp inet n - n - 10000 smtpd\n", warn: true},
		{name: "beyond together", master: "smtp inet n - n - 5000 smtpd\nsubmission inet n - n - 2000 smtpd\n", warn: true},
		{name: "default_process_limit", master: "smtp inet n - n - - smtpd\n", main: "default_process_limit = 7000\n", warn: true},
		{name: "no limit", master: "smtp inet n - n - 0 smtpd\n"},
		{name: "postscreen", master: "smtp inet n - n - 1 postscreen\nsmtpd pass - - n - 9000 smtpd\n", warn: true},
		{name: "not smtpd", master: "smtp inet n - n - 10000 smtpd\nsmtp unix - - n - 20000 smtp\n", warn: true},
		{name: "not smtpd within", master: "smtp inet n - n - 100 smtpd\nsmtp unix - - n - 20000 smtp\n"},
		// review 19 M2: each session holds a connection per milter
		{name: "milters", master: "smtp inet n - n - 5000 smtpd\n", main: "smtpd_milters = inet:127.0.0.1:8891\n", warn: true},
		{name: "milters overridden", master: "smtp inet n - n - 5000 smtpd -o smtpd_milters=\n", main: "smtpd_milters = inet:127.0.0.1:8891\n"},
		{name: "milters of a service", master: "smtp inet n - n - 5000 smtpd -o smtpd_milters=inet:127.0.0.1:8891\n", warn: true},
		{name: "milters within", master: "smtp inet n - n - 3000 smtpd\n", main: "smtpd_milters = inet:127.0.0.1:8891\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "main.cf"), []byte("myhostname = mail.example.com\nalias_maps =\nalias_database =\n"+tc.main), 0o644)
			os.WriteFile(filepath.Join(dir, "master.cf"), []byte(tc.master), 0o644)
			rep := Run(dir, Options{Sys: inetaddrtest.Standard(), Hostname: "mail",
				Overrides:     map[string]string{"queue_directory": dir, "data_directory": dir},
				SessionBudget: budget})
			warned := false
			for _, d := range rep.Diags {
				if strings.Contains(d.Msg, "file descriptor limit allows") {
					warned = true
					if !strings.Contains(d.Msg, "hard RLIMIT_NOFILE 10000") || d.File != filepath.Join(dir, "master.cf") {
						t.Errorf("warning %s: %s", d.File, d.Msg)
					}
				}
			}
			if warned != tc.warn {
				t.Errorf("warned %v, want %v: %v", warned, tc.warn, rep.Diags)
			}
		})
	}
}
