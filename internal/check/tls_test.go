package check

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/diraccess"
	"github.com/postern-mta/postern/internal/inetaddr/inetaddrtest"
	"github.com/postern-mta/postern/internal/smtpd/smtptest"
	"github.com/postern-mta/postern/internal/testperm"
)

// selfSigned returns a key PEM and a certificate PEM for name.
func selfSigned(t *testing.T, name string, notAfter time.Time) (keyPEM, certPEM []byte) {
	return smtptest.PEM(t, smtptest.NewCertValid(t, name, time.Now().Add(-48*time.Hour), notAfter))
}

// postern check on the SMTP server's TLS settings: each problem is
// reported with its file, line and parameter.
func TestTLSChecks(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	year := time.Now().AddDate(1, 0, 0)
	k, c := selfSigned(t, "mail.example.test", year)
	good := write("good.pem", append(k, c...), 0o600)
	open := write("open.pem", append(k, c...), 0o644)
	k2, _ := selfSigned(t, "mail.example.test", year)
	mismatch := write("mismatch.pem", append(k2, c...), 0o600)
	ke, ce := selfSigned(t, "mail.example.test", time.Now().Add(-time.Hour))
	expired := write("expired.pem", append(ke, ce...), 0o600)
	ks, cs := selfSigned(t, "mail.example.test", time.Now().Add(10*24*time.Hour))
	soon := write("soon.pem", append(ks, cs...), 0o600)
	ko, co := selfSigned(t, "other.example", year)
	other := write("other.pem", append(ko, co...), 0o600)

	for _, tc := range []struct {
		name, main, master string
		want               []string // substrings of report lines
		not                []string
	}{
		{"good", "smtpd_tls_chain_files = " + good + "\n", "", nil, []string{"smtpd_tls"}},
		{"mismatch", "smtpd_tls_chain_files = " + mismatch + "\n", "",
			[]string{"main.cf:2: parameter smtpd_tls_chain_files: smtpd_tls_chain_files: " + mismatch + ": tls: private key does not match public key"}, nil},
		{"legacy mismatch", "smtpd_tls_cert_file = " + good + "\nsmtpd_tls_key_file = " + mismatch + "\n", "",
			[]string{"main.cf:2: parameter smtpd_tls_cert_file: smtpd_tls_cert_file " + good + " with smtpd_tls_key_file " + mismatch + ": tls: private key does not match public key"}, nil},
		{"expired", "smtpd_tls_chain_files = " + expired + "\n", "",
			[]string{"main.cf:2: warning: parameter smtpd_tls_chain_files: the certificate for mail.example.test expired on"}, nil},
		{"expiring", "smtpd_tls_chain_files = " + soon + "\n", "",
			[]string{"main.cf:2: warning: parameter smtpd_tls_chain_files: the certificate for mail.example.test expires in 9 days"}, nil},
		{"other name", "smtpd_tls_chain_files = " + other + "\n", "",
			[]string{"main.cf:2: warning: parameter smtpd_tls_chain_files: the certificate for other.example does not cover myhostname = mail.example.test"}, nil},
		{"readable key", "smtpd_tls_cert_file = " + open + "\n", "",
			[]string{"main.cf:2: warning: parameter smtpd_tls_cert_file: the private key file " + open + " is readable by its group or by everybody (mode 0644)"}, nil},
		{"unreadable", "smtpd_tls_chain_files = " + filepath.Join(dir, "missing.pem") + "\n", "",
			[]string{"main.cf:2: parameter smtpd_tls_chain_files: cannot read " + filepath.Join(dir, "missing.pem") + ": no such file or directory"}, nil},
		{"encrypt without certificate", "smtpd_tls_security_level = encrypt\n", "",
			[]string{"main.cf:2: parameter smtpd_tls_security_level: TLS is required but no certificate is configured"}, nil},
		{"legacy enforce without certificate", "smtpd_enforce_tls = yes\n", "",
			[]string{"main.cf:2: parameter smtpd_enforce_tls: TLS is required but no certificate is configured"}, nil},
		{"may without certificate", "smtpd_use_tls = yes\n", "",
			[]string{"main.cf:2: warning: parameter smtpd_use_tls: no certificate is configured (smtpd_tls_chain_files or smtpd_tls_cert_file): STARTTLS is not offered"}, nil},
		{"wrappermode in master.cf", "", "smtps inet n - y - - smtpd\n  -o smtpd_tls_wrappermode=yes\n",
			[]string{"master.cf:2: service smtps/inet: -o smtpd_tls_wrappermode: TLS is required but no certificate is configured"}, nil},
		{"protocols", "smtpd_tls_chain_files = " + good + "\nsmtpd_tls_protocols = !TLSv1.2\n", "",
			[]string{"main.cf:3: parameter smtpd_tls_protocols: \"!TLSv1.2\" leaves a gap below TLSv1.3"}, nil},
		{"ciphers", "smtpd_tls_chain_files = " + good + "\nsmtpd_tls_exclude_ciphers = RC4, SNAKEOIL\nsmtpd_tls_mandatory_ciphers = null\n", "",
			[]string{"main.cf:3: warning: parameter smtpd_tls_exclude_ciphers: unknown cipher name \"SNAKEOIL\"",
				"main.cf:4: parameter smtpd_tls_mandatory_ciphers: cipher grade null"}, nil},
		{"SNI", "smtpd_tls_chain_files = " + good + "\ntls_server_sni_maps = inline:{mail.example.test=" + good + ", .old.example=" + expired + ", bad.example=" + mismatch + "}\n", "",
			[]string{"main.cf:3: warning: parameter tls_server_sni_maps: the certificate for mail.example.test expired",
				"main.cf:3: warning: parameter tls_server_sni_maps: the certificate for mail.example.test does not cover its name .old.example",
				"main.cf:3: parameter tls_server_sni_maps: inline:{mail.example.test=" + good + ", .old.example=" + expired + ", bad.example=" + mismatch + "}: bad.example: tls_server_sni_maps: " + mismatch + ": tls: private key does not match"},
			[]string{"myhostname = mail.example.test"}},
		{"DSA", "smtpd_tls_dcert_file = " + good + "\n", "",
			[]string{"main.cf:2: parameter smtpd_tls_dcert_file: DSA certificates are not supported"}, nil},
		{"tickets", "smtpd_tls_chain_files = " + good + "\ntls_session_ticket_cipher = aes-512-xyz\n", "",
			[]string{"main.cf:3: parameter tls_session_ticket_cipher: unknown value"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cdir := t.TempDir()
			os.WriteFile(filepath.Join(cdir, "main.cf"), []byte("myhostname = mail.example.test\n"+tc.main), 0o644)
			master := "smtp inet n - y - - smtpd\n" + tc.master
			os.WriteFile(filepath.Join(cdir, "master.cf"), []byte(master), 0o644)
			queue := t.TempDir()
			testperm.OpenDirs(queue)
			rep := Run(cdir, Options{Sys: inetaddrtest.Standard(), Hostname: "mail",
				Overrides: map[string]string{"queue_directory": queue, "data_directory": queue, "alias_maps": "", "alias_database": ""}})
			var out bytes.Buffer
			rep.Write(&out, false)
			got := strings.ReplaceAll(out.String(), cdir+"/", "")
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in\n%s", w, got)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("unexpected %q in\n%s", n, got)
				}
			}
		})
	}
}

// mail_owner must be able to read the certificate files: the daemon
// reads them again, as mail_owner, when they change and at reload. A key
// readable through mail_owner's group draws no "group-readable" warning.
func TestTLSFilesReadableByMailOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: judges access for mail_owner nobody on root-owned files")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	k, c := selfSigned(t, "mail.example.test", time.Now().AddDate(1, 0, 0))
	pem := filepath.Join(dir, "mx.pem")
	os.WriteFile(pem, append(k, c...), 0o600)
	run := func() string {
		cdir := t.TempDir()
		os.WriteFile(filepath.Join(cdir, "main.cf"), []byte("myhostname = mail.example.test\nmail_owner = nobody\nsmtpd_tls_chain_files = "+pem+"\n"), 0o644)
		os.WriteFile(filepath.Join(cdir, "master.cf"), []byte("smtp inet n - y - - smtpd\n"), 0o644)
		queue := t.TempDir()
		testperm.OpenDirs(queue)
		rep := Run(cdir, Options{Sys: inetaddrtest.Standard(), Hostname: "mail",
			Overrides: map[string]string{"queue_directory": queue, "data_directory": queue, "alias_maps": "", "alias_database": ""}})
		var out bytes.Buffer
		rep.Write(&out, false)
		return out.String()
	}
	got := run()
	if !strings.Contains(got, "warning: parameter smtpd_tls_chain_files: "+pem+": nobody cannot read it (mode 600, owner root)") {
		t.Errorf("mode 600 root key:\n%s", got)
	}
	nogroup, err := diraccessLookup("nobody")
	if err != nil {
		t.Skip(err)
	}
	os.Chown(pem, 0, nogroup)
	os.Chmod(pem, 0o640)
	if got := run(); strings.Contains(got, "smtpd_tls_chain_files") {
		t.Errorf("mode 640 with nobody's group:\n%s", got)
	}
}

func diraccessLookup(name string) (int, error) {
	u, err := diraccess.Lookup(name)
	return u.GID, err
}
