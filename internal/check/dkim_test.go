package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/dkim"
	"github.com/postern-mta/postern/internal/inetaddr/inetaddrtest"
	"github.com/postern-mta/postern/internal/testperm"
)

// postern check refuses what would stop the daemon's DKIM signer (a bad
// dkim_signing_maps entry, a missing, unsafe or unreadable key), naming
// the table, the entry, the file and the fix.
func TestDKIMSigning(t *testing.T) {
	key, err := dkim.GenerateKey(dkim.Ed25519, 0)
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := dkim.MarshalPrivateKey(key)
	tests := []struct {
		name, main, table string
		mode              os.FileMode // of KEYS/s.key; 0: none
		uid               int         // its owner: 65534 is nobody, mail_owner
		want              string
	}{
		{"good", "", "example.com s:s.key", 0o600, 65534, ""},
		{"missing key", "", "example.com s:s.key", 0, 0,
			`error MAIN:2: parameter dkim_signing_maps: table texthash:TABLE, entry example.com: selector s: key file KEYS/s.key: no such file or directory (make it with "postern dkim keygen example.com SELECTOR", or fix the entry)`},
		{"unsafe key", "", "example.com s:s.key", 0o644, 65534,
			`error MAIN:2: parameter dkim_signing_maps: table texthash:TABLE, entry example.com: selector s: key file KEYS/s.key is unsafe (mode 0644: readable by everyone or writable by others than its owner): run "chmod 0600 KEYS/s.key"`},
		{"malformed entry", "", "example.com s.key", 0o600, 65534,
			`error MAIN:2: parameter dkim_signing_maps: table texthash:TABLE, entry example.com: "s.key" is not SELECTOR:KEYFILE`},
		{"mail_owner cannot read", "", "example.com s:s.key", 0o600, 0,
			`error MAIN:2: parameter dkim_signing_maps: table texthash:TABLE, entry example.com: key file KEYS/s.key cannot be read by mail_owner nobody, as which postern reads it again at reload: run "chown nobody KEYS/s.key"`},
		{"relative key directory", "dkim_key_directory = dkim\n", "example.com s:s.key", 0o600, 65534,
			`error MAIN:3: parameter dkim_key_directory: "dkim" must be an absolute path`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			keys := filepath.Join(dir, "dkim")
			os.Mkdir(keys, 0o750)
			table := filepath.Join(dir, "signing")
			os.WriteFile(table, []byte(tt.table+"\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "main.cf"), []byte("mail_owner = nobody\ndkim_signing_maps = texthash:"+table+"\n"+tt.main), 0o644)
			if tt.mode != 0 {
				k := filepath.Join(keys, "s.key")
				os.WriteFile(k, pem, tt.mode)
				os.Chmod(k, tt.mode)
				os.Chown(k, tt.uid, 0)
			}
			queue := t.TempDir()
			testperm.OpenDirs(queue)
			rep := Run(dir, Options{Sys: inetaddrtest.Standard(), Hostname: "mail",
				Overrides: map[string]string{"queue_directory": queue, "data_directory": queue, "alias_maps": "", "alias_database": ""}})
			var got []string
			for _, d := range rep.Diags {
				if strings.Contains(d.Param, "dkim") {
					sev := "warning"
					if d.Severity == 1 {
						sev = "error"
					}
					line := strings.NewReplacer(keys, "KEYS", table, "TABLE", filepath.Join(dir, "main.cf"), "MAIN").Replace(sev + " " + d.String())
					got = append(got, line)
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
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// A pattern table cannot be checked ahead: postern check says so.
func TestDKIMSigningPatternTable(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "signing")
	os.WriteFile(table, []byte("/example/ s:s.key\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("dkim_signing_maps = regexp:"+table+"\n"), 0o644)
	queue := t.TempDir()
	testperm.OpenDirs(queue)
	rep := Run(dir, Options{Sys: inetaddrtest.Standard(), Hostname: "mail",
		Overrides: map[string]string{"queue_directory": queue, "data_directory": queue, "alias_maps": "", "alias_database": ""}})
	found := false
	for _, d := range rep.Diags {
		if d.Param == "dkim_signing_maps" {
			found = d.Severity != 1 && strings.Contains(d.Msg, "cannot be listed: its entries and keys are checked only when a message needs them")
		}
	}
	if !found {
		t.Errorf("no warning: %v", rep.Diags)
	}
}
