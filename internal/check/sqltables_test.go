package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/inetaddr/inetaddrtest"
	"github.com/postern-mta/postern/internal/testperm"
)

// A table file mail_owner cannot read is an error: the daemon opens
// tables after dropping to mail_owner, so every lookup would fail.
func TestSQLTableUnreadableByMailOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: mail_owner's access is judged only when check runs as root")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	cf := filepath.Join(dir, "pgsql.cf")
	os.WriteFile(cf, []byte("hosts = unix:/run/postgresql\ndbname = mail\nquery = SELECT 1 WHERE '%s' = 'x'\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("mail_owner = nobody\nvirtual_alias_maps =\nsmtpd_sender_login_maps = pgsql:"+cf+"\n"), 0o644)
	queue := t.TempDir()
	testperm.OpenDirs(queue)
	rep := Run(dir, Options{Sys: inetaddrtest.Standard(), Hostname: "mail",
		Overrides: map[string]string{"queue_directory": queue, "data_directory": queue, "alias_maps": "", "alias_database": ""}})
	found := false
	for _, d := range rep.Diags {
		if d.File == cf && d.Severity == config.Error && strings.Contains(d.Msg, "nobody cannot read it") {
			found = true
		}
	}
	if !found {
		t.Errorf("no error about mail_owner reading %s: %v", cf, rep.Diags)
	}
}
