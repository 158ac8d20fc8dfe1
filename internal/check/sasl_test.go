package check

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/inetaddr/inetaddrtest"
)

// A Dovecot socket mail_owner cannot connect to is a warning naming
// the socket, the parameter and the fix.
func TestDovecotSocketAccess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("judging access for mail_owner needs root")
	}
	dir, err := os.MkdirTemp("", "postern-check-sasl-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	sock := filepath.Join(dir, "auth")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	main := "myhostname = host.example.test\ninet_interfaces = loopback-only\nsmtpd_sasl_auth_enable = yes\n" +
		"smtpd_sasl_type = dovecot\nsmtpd_sasl_path = " + sock + "\nmail_owner = nobody\n"
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	over := map[string]string{"queue_directory": dir, "data_directory": dir, "alias_maps": "", "alias_database": ""}
	warned := func() bool {
		rep := Run(dir, Options{Sys: inetaddrtest.Standard(), Hostname: "mail", Overrides: over})
		for _, d := range rep.Diags {
			if d.Param == "smtpd_sasl_path" && strings.Contains(d.Msg, "cannot connect to Dovecot's auth socket") &&
				strings.Contains(d.Msg, sock) && strings.Contains(d.Msg, "mail_owner nobody") {
				return true
			}
		}
		return false
	}
	os.Chmod(sock, 0o600)
	if !warned() {
		t.Error("no warning for a socket mode 0600 owned by root")
	}
	os.Chmod(sock, 0o666)
	if warned() {
		t.Error("warning for a socket mode 0666")
	}
}
