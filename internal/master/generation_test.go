package master

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/inetaddr/inetaddrtest"
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
