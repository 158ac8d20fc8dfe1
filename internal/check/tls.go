package check

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/diraccess"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/mastercf"
	"github.com/postern-mta/postern/internal/tlsconf"
)

// certWarnBefore: a certificate expiring sooner than this is a warning.
const certWarnBefore = 30 * 24 * time.Hour

// smtpdTLS checks the SMTP server's TLS settings as tlsconf will use
// them: certificates that load, match their keys, are valid now and for
// a while, cover $myhostname, with private keys only their owner reads;
// protocol and cipher lists Go can apply; and a certificate wherever
// TLS is required.
func (c *checker) smtpdTLS() {
	c.tlsLevel(c.cfg, nil)
	src, err := tlsconf.Certificates(c.cfg)
	if err != nil {
		if !c.failed["smtpd_tls_dcert_file"] {
			c.errorf("smtpd_tls_dcert_file", "%v", err)
		}
		return
	}
	c.tlsLists()
	// master.cf services that require TLS without a certificate
	if c.master != nil {
		for _, s := range c.master.Services {
			if s.Command == "smtpd" && len(s.Overrides) > 0 {
				cfg := c.cfg
				for _, o := range s.Overrides {
					cfg = cfg.With(o.Name, o.Value)
				}
				c.tlsLevel(cfg, s)
			}
		}
	}
	if src.Empty() {
		return
	}
	c.tlsFiles(src)
	if sni := c.value("tls_server_sni_maps"); sni != "" {
		for _, spec := range config.Fields(sni) {
			if t, err := maps.Open(spec); err != nil {
				c.errorf("tls_server_sni_maps", "%v", err)
			} else {
				c.sniEntries(t)
				maps.Close(t)
			}
		}
	}
	if ca, path := c.value("smtpd_tls_CAfile"), c.value("smtpd_tls_CApath"); path != "" {
		if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
			c.errorf("smtpd_tls_CApath", "%s is not a readable directory", path)
		}
	} else if ca == "" && (c.value("smtpd_tls_ask_ccert") == "yes" || c.value("smtpd_tls_req_ccert") == "yes") {
		c.warnf("smtpd_tls_ask_ccert", "client certificates are requested, but smtpd_tls_CAfile and smtpd_tls_CApath are empty: none can be trusted")
	}
}

// tlsLevel reports a level that requires TLS (or wrapper mode) without a
// certificate, and a level may that cannot offer it.
func (c *checker) tlsLevel(cfg *config.Config, s *mastercf.Service) {
	level, err := tlsconf.Level(cfg)
	if err != nil {
		return // reported as the parameter's own error
	}
	src, err := tlsconf.Certificates(cfg)
	if err != nil || !src.Empty() {
		return
	}
	wrapper := strings.EqualFold(valueOf(cfg, "smtpd_tls_wrappermode"), "yes")
	param := "smtpd_tls_security_level"
	if valueOf(cfg, param) == "" {
		param = map[string]string{"encrypt": "smtpd_enforce_tls", "may": "smtpd_use_tls"}[level]
	}
	var sev config.Severity
	var msg string
	switch {
	case level == "encrypt" || wrapper:
		if wrapper {
			param = "smtpd_tls_wrappermode"
		}
		sev, msg = config.Error, "TLS is required but no certificate is configured (smtpd_tls_chain_files or smtpd_tls_cert_file): every session would fail"
	case level == "may":
		sev, msg = config.Warning, "no certificate is configured (smtpd_tls_chain_files or smtpd_tls_cert_file): STARTTLS is not offered"
	default:
		return
	}
	if s != nil {
		if _, set := s.Param(param); set {
			c.masterDiag(sev, s, fmt.Sprintf("-o %s: %s", param, msg))
		}
		return
	}
	c.add(sev, param, fmt.Errorf("%s", msg))
}

func valueOf(cfg *config.Config, name string) string {
	v, _ := cfg.Get(name)
	return v
}

// tlsLists checks the protocol and cipher lists.
func (c *checker) tlsLists() {
	for _, p := range []string{"smtpd_tls_protocols", "smtpd_tls_mandatory_protocols"} {
		if _, _, err := tlsconf.ParseProtocols(c.value(p)); err != nil && !c.failed[p] {
			c.errorf(p, "%v", err)
		}
	}
	for _, p := range [][2]string{{"smtpd_tls_ciphers", "smtpd_tls_exclude_ciphers"},
		{"smtpd_tls_mandatory_ciphers", "smtpd_tls_mandatory_exclude_ciphers"}} {
		if _, err := tlsconf.Grade(c.value(p[0])); err != nil {
			c.errorf(p[0], "%v", err)
			continue
		}
		_, warnings, err := tlsconf.Ciphers(c.value(p[0]), c.value(p[1]))
		if err != nil {
			c.errorf(p[1], "%v", err)
		}
		for _, w := range warnings {
			c.warnf(p[1], "%s", w)
		}
	}
}

// tlsFiles loads the certificates as the server will.
func (c *checker) tlsFiles(src tlsconf.Source) {
	// unreadable files: blame the parameter naming each
	params := map[string]string{}
	for _, f := range src.Chain {
		params[f] = src.Param
	}
	for _, p := range src.Pairs {
		params[p.Key], params[p.Cert] = p.KeyParam, p.CertParam // one file: the cert's
	}
	unreadable := false
	seen := map[string]bool{}
	for _, f := range src.Files() {
		if seen[f] {
			continue
		}
		seen[f] = true
		data, err := os.ReadFile(f)
		if err != nil {
			unreadable = true
			if !c.failed[params[f]] {
				c.errorf(params[f], "cannot read %s: %v", f, unwrap(err))
			}
			continue
		}
		owner, asOwner := c.mailOwner()
		if asOwner {
			if err := diraccess.Readable(f, owner); err != nil {
				c.warnf(params[f], "%s: %v; the daemon runs as mail_owner and reads certificates again when they change and at postern reload, so a renewed one would not load: give the file to %s's group (chgrp %s; chmod 0640) and let it search the directories above", f, err, owner.Name, owner.Name)
			}
		}
		if hasPrivateKey(data) {
			if fi, err := os.Stat(f); err == nil {
				perm := fi.Mode().Perm()
				groupOK := asOwner && diraccess.InGroup(fi, owner) // the group that must read it
				if perm&0o004 != 0 || perm&0o040 != 0 && !groupOK {
					c.warnf(params[f], "the private key file %s is readable by its group or by everybody (mode %04o): make it 0600, or 0640 with mail_owner's group", f, perm)
				}
			}
		}
	}
	if unreadable {
		return
	}
	certs, err := src.Load()
	if err != nil {
		c.errorf(src.Param, "%v", err)
		return
	}
	now := time.Now()
	host := c.value("myhostname")
	for _, cert := range certs {
		c.tlsCert(src.Param, cert, now, host, "myhostname = "+host)
	}
}

// tlsCert checks one certificate's dates and that it covers host, which
// the message calls what.
func (c *checker) tlsCert(param string, cert tls.Certificate, now time.Time, host, what string) {
	leaf := cert.Leaf
	if leaf == nil {
		return
	}
	name := tlsconf.Subject(leaf)
	switch left := leaf.NotAfter.Sub(now); {
	case left <= 0:
		// a warning, not an error: the daemon starts and serves it, as
		// Postfix does (only a replacement while running is refused)
		c.warnf(param, "the certificate for %s expired on %s: it is served, but clients that verify certificates fail: renew it", name, leaf.NotAfter.UTC().Format(time.DateOnly))
	case left < certWarnBefore:
		c.warnf(param, "the certificate for %s expires in %d days (%s): renew it", name, int(left.Hours()/24), leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	if now.Before(leaf.NotBefore) {
		c.warnf(param, "the certificate for %s is not valid before %s", name, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if host != "" && leaf.VerifyHostname(host) != nil {
		c.warnf(param, "the certificate for %s does not cover %s: clients that check the name will fail (it covers %s)", name, what, strings.Join(leaf.DNSNames, ", "))
	}
}

// sniEntries loads the certificates of every entry of a table that can
// be listed (not pattern tables): a bad one would otherwise show only
// when a client asks for its name.
func (c *checker) sniEntries(t maps.Table) {
	var buf bytes.Buffer
	if maps.Dump(&buf, t) != nil {
		return
	}
	now := time.Now()
	for _, line := range strings.Split(buf.String(), "\n") {
		name, value, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		certs, err := tlsconf.Source{Param: "tls_server_sni_maps", Chain: config.Fields(value)}.Load()
		if err != nil {
			c.errorf("tls_server_sni_maps", "%s: %s: %v", t.Name(), name, err)
			continue
		}
		host := name
		if strings.HasPrefix(host, ".") {
			host = "host" + host
		}
		for _, cert := range certs {
			c.tlsCert("tls_server_sni_maps", cert, now, host, "its name "+name)
		}
	}
}

func hasPrivateKey(data []byte) bool {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			return true
		}
	}
}

// unwrap drops Go's "open PATH:" from a file error.
func unwrap(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
