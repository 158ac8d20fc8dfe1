package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/inetaddr/inetaddrtest"
	"github.com/postern-mta/postern/internal/testperm"
)

// postern check reports what would stop the passwd-file backend, with
// the file's line, and a file that the daemon cannot re-read or that
// everyone can read.
func TestPasswdFile(t *testing.T) {
	const good = "alice:{BLF-CRYPT}$2y$05$M3J4pXnWVrgdOTartJseFOJ37OXAnNW0FUI/ijptuupTmSeSzyG16\n"
	tests := []struct {
		name, content string
		mode          os.FileMode
		gid           int // -1: root's
		want          string
	}{
		{"missing", "", 0, -1, "error MAIN:3: parameter smtpd_sasl_path: passwd-file USERS: no such file or directory (create it with \"postern passwd USER\")"},
		{"bad line", "# users\n" + good + "bob:{PLAIN}x\n", 0o640, 65534, "error USERS:3: user bob: unsupported password scheme {PLAIN}"},
		{"world-readable", good, 0o644, 65534, "warning MAIN:3: parameter smtpd_sasl_path: passwd-file USERS is readable by everyone (mode 644)"},
		{"mail_owner cannot read", good, 0o640, -1, "error MAIN:3: parameter smtpd_sasl_path: passwd-file USERS (mode 640) cannot be read by mail_owner nobody"},
		{"good", good, 0o640, 65534, ""},
		{"capitals", "# c\n" + strings.Replace(good, "alice", "Alice", 1), 0o640, 65534, "warning USERS:2: user Alice has capitals: postern matches it as alice, but Dovecot (auth_username_format = %Lu) never would; write alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			users := filepath.Join(dir, "users")
			os.WriteFile(filepath.Join(dir, "main.cf"), []byte("mail_owner = nobody\nsmtpd_sasl_type = passwd-file\nsmtpd_sasl_path = users\n"), 0o644)
			if tt.mode != 0 {
				os.WriteFile(users, []byte(tt.content), tt.mode)
				os.Chmod(users, tt.mode)
				os.Chown(users, 0, max(tt.gid, 0))
			}
			queue := t.TempDir()
			testperm.OpenDirs(queue)
			rep := Run(dir, Options{Sys: inetaddrtest.Standard(), Hostname: "mail",
				Overrides: map[string]string{"queue_directory": queue, "data_directory": queue, "alias_maps": "", "alias_database": ""}})
			var got []string
			for _, d := range rep.Diags {
				if strings.Contains(d.File+d.Msg, users) {
					sev := "warning"
					if d.Severity == 1 {
						sev = "error"
					}
					line := strings.ReplaceAll(sev+" "+d.String(), users, "USERS")
					got = append(got, strings.ReplaceAll(line, filepath.Join(dir, "main.cf"), "MAIN"))
				}
			}
			if tt.want == "" {
				if len(got) != 0 {
					t.Errorf("unexpected: %q", got)
				}
				return
			}
			if os.Geteuid() != 0 && strings.Contains(tt.want, "mail_owner") {
				t.Skip("not root: mail_owner's access is judged only as root")
			}
			if len(got) != 1 || !strings.HasPrefix(got[0], tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}
