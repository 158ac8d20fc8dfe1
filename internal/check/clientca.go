package check

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/postern-mta/postern/internal/tlsconf"
)

// publicBundles are the system trust stores of common distributions:
// as smtpd_tls_CAfile or smtpd_tls_CApath they trust every public CA.
var publicBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Alpine
	"/etc/ssl/certs",                                    // Debian's hashed directory
	"/etc/ssl/cert.pem",                                 // Alpine, macOS, BSD
	"/etc/ssl/ca-bundle.pem",                            // SUSE
	"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL
	"/etc/pki/tls/certs",                                // Fedora, RHEL
	"/etc/pki/tls/cert.pem",                             // Fedora, RHEL
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // Fedora, RHEL
	"/usr/share/ca-certificates",                        // Debian's sources
	"/usr/local/share/certs/ca-root-nss.crt",            // FreeBSD
}

// maxDedicatedRoots: more self-signed roots than this in the client CA
// files is a public trust store, not a dedicated CA.
const maxDedicatedRoots = 3

// publicClientCA says why smtpd_tls_CAfile / smtpd_tls_CApath trust
// public CAs ("" when they do not): a system trust store, or more roots
// than a dedicated CA has.
func (c *checker) publicClientCA() string {
	file, dir := c.value("smtpd_tls_CAfile"), c.value("smtpd_tls_CApath")
	for _, p := range [][2]string{{"smtpd_tls_CAfile", file}, {"smtpd_tls_CApath", dir}} {
		if p[1] == "" {
			continue
		}
		resolved, err := filepath.EvalSymlinks(p[1])
		if err != nil {
			resolved = p[1]
		}
		for _, b := range publicBundles {
			if filepath.Clean(p[1]) == b || resolved == b {
				return fmt.Sprintf("%s = %s is the system's store of public CAs", p[0], p[1])
			}
		}
	}
	if n, err := tlsconf.CARoots(file, dir); err == nil && n > maxDedicatedRoots {
		return fmt.Sprintf("smtpd_tls_CAfile/smtpd_tls_CApath hold %d root CAs, not one dedicated CA", n)
	}
	return ""
}

// asksCcert reports whether the SMTP server asks clients for a
// certificate: smtpd_tls_ask_ccert, or smtpd_tls_req_ccert where TLS is
// required.
func (c *checker) asksCcert() bool {
	return c.yes("smtpd_tls_ask_ccert") || c.yes("smtpd_tls_req_ccert") && c.tlsRequired()
}

func (c *checker) yes(name string) bool { v, err := c.cfg.Bool(name); return err == nil && v }

// tlsRequired: smtpd_tls_security_level = encrypt (or its legacy
// smtpd_enforce_tls), or wrapper mode.
func (c *checker) tlsRequired() bool {
	level := strings.ToLower(c.value("smtpd_tls_security_level"))
	if level == "" && c.yes("smtpd_enforce_tls") {
		level = "encrypt"
	}
	return level == "encrypt" || c.yes("smtpd_tls_wrappermode")
}

// strangerHasCert: permit_tls_all_clientcerts lets a stranger through,
// as anybody can buy a certificate from a public CA the server trusts.
func (c *checker) strangerHasCert() bool {
	return c.asksCcert() && c.publicClientCA() != ""
}

// clientCA warns, as postconf(5) does, that permit_tls_all_clientcerts
// is safe only with a dedicated CA, and that client CA files without a
// self-signed root trust nobody.
func (c *checker) clientCA() {
	if !c.asksCcert() {
		return
	}
	if why := c.publicClientCA(); why != "" {
		for _, list := range restrictionLists {
			items, _ := c.cfg.List(list)
			for _, it := range items {
				if strings.EqualFold(it, "permit_tls_all_clientcerts") {
					c.warnf(list, "permit_tls_all_clientcerts trusts any client certificate a trusted CA signed, and %s: anybody with a certificate from one of them passes; use a dedicated CA in smtpd_tls_CAfile, or permit_tls_clientcerts with relay_clientcerts", why)
				}
			}
		}
	}
	file, dir := c.value("smtpd_tls_CAfile"), c.value("smtpd_tls_CApath")
	if n, err := tlsconf.CARoots(file, dir); err == nil && n == 0 && (file != "" || dir != "") {
		param := "smtpd_tls_CAfile"
		if file == "" {
			param = "smtpd_tls_CApath"
		}
		c.warnf(param, "no self-signed root certificate: no client certificate can be trusted (its chain must reach a root, as with OpenSSL: add the root CA that issued the intermediates)")
	}
}

// restrictionLists are the SMTP server's restriction lists.
var restrictionLists = []string{"smtpd_client_restrictions", "smtpd_helo_restrictions", "smtpd_sender_restrictions",
	"smtpd_relay_restrictions", "smtpd_recipient_restrictions", "smtpd_data_restrictions", "smtpd_end_of_data_restrictions"}
