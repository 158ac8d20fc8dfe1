package tlsconf

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/maps"
)

// New reads cfg. It returns nil, nil when the service offers no TLS:
// no certificate is configured and nothing asks for TLS.
func New(cfg *config.Config) (*Server, error) {
	return newAt(cfg, time.Now)
}

func newAt(cfg *config.Config, now func() time.Time) (*Server, error) {
	r := reader{cfg: cfg}
	src, err := Certificates(cfg)
	if err != nil {
		return nil, err
	}
	level, err := Level(cfg)
	if err != nil {
		return nil, err
	}
	wrapper := r.boolean("smtpd_tls_wrappermode")
	if src.Empty() {
		if level == "encrypt" || wrapper {
			return nil, fmt.Errorf("smtpd_tls_security_level = encrypt (or smtpd_tls_wrappermode) needs a certificate: set smtpd_tls_chain_files or smtpd_tls_cert_file")
		}
		return nil, r.err
	}
	s := &Server{now: now}
	var expired error
	if s.certs, expired, err = newCertStore(src, now); err != nil {
		return nil, err
	}
	if expired != nil {
		s.warnings = append(s.warnings, fmt.Sprintf("%s: %v: serving it anyway; renew it", src.Param, expired))
	}
	s.certs.warn = func(m string) { s.logger().Warn(m) }
	s.certs.info = func(m string) { s.logger().Info(m) }
	tc := &tls.Config{GetCertificate: s.getCertificate, SessionTicketsDisabled: true}

	protoParam, cipherParam, excludeParam := "smtpd_tls_protocols", "smtpd_tls_ciphers", "smtpd_tls_exclude_ciphers"
	if level == "encrypt" {
		protoParam, cipherParam, excludeParam = "smtpd_tls_mandatory_protocols", "smtpd_tls_mandatory_ciphers", "smtpd_tls_mandatory_exclude_ciphers"
	}
	if tc.MinVersion, tc.MaxVersion, err = ParseProtocols(r.get(protoParam)); err != nil {
		return nil, fmt.Errorf("%s: %w", protoParam, err)
	}
	var warnings []string
	if tc.CipherSuites, warnings, err = Ciphers(r.get(cipherParam), r.get(excludeParam)); err != nil {
		return nil, fmt.Errorf("%s/%s: %w", cipherParam, excludeParam, err)
	}
	for _, w := range warnings {
		s.warnings = append(s.warnings, excludeParam+": "+w)
	}
	if len(tc.CipherSuites) == 0 && tc.MinVersion < tls.VersionTLS13 {
		return nil, fmt.Errorf("%s excludes every TLS 1.2 cipher suite of %s = %s: allow one or use only TLSv1.3 in %s",
			excludeParam, cipherParam, r.get(cipherParam), protoParam)
	}

	if r.boolean("smtpd_tls_ask_ccert") || r.boolean("smtpd_tls_req_ccert") {
		tc.ClientAuth = tls.RequestClientCert
	}
	if s.cas, err = loadCAs(r.get("smtpd_tls_CAfile"), r.get("smtpd_tls_CApath")); err != nil {
		return nil, err
	}
	if tc.ClientAuth != tls.NoClientCert && s.cas != nil {
		tc.ClientCAs = s.cas.all // their names go in the certificate request
	}
	if s.cas != nil && s.cas.n == 0 {
		s.warnings = append(s.warnings, "smtpd_tls_CAfile/smtpd_tls_CApath: no self-signed root certificate: no client certificate can be trusted (a chain must reach a root, as in OpenSSL)")
	}
	s.verifyDepth = int(r.integer("smtpd_tls_ccert_verifydepth"))

	if r.get("tls_session_ticket_cipher") != "" {
		if timeout := r.duration("smtpd_tls_session_cache_timeout"); timeout > 0 {
			tc.SessionTicketsDisabled = false
			ticketAge(tc, timeout, now)
		}
	}
	if sniSpec := r.list("tls_server_sni_maps"); len(sniSpec) > 0 {
		s.sni = &sniMaps{now: now, stores: map[string]*certStore{}, warn: s.certs.warn, info: s.certs.info}
		for _, spec := range sniSpec {
			t, err := maps.Open(spec)
			if err != nil {
				return nil, fmt.Errorf("tls_server_sni_maps: %w", err)
			}
			s.sni.tables = append(s.sni.tables, t)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	s.tc = tc
	return s, nil
}

// Ciphers returns the TLS 1.2 suites of a grade less an exclusion list,
// with warnings for exclusions postern does not know.
func Ciphers(grade, exclude string) ([]uint16, []string, error) {
	ids, err := Grade(grade)
	if err != nil {
		return nil, nil, err
	}
	return Exclude(ids, exclude)
}

// Level is the SMTP server's TLS security level: smtpd_tls_security_level,
// or when it is empty the legacy smtpd_enforce_tls (encrypt) and
// smtpd_use_tls (may); else none.
func Level(cfg *config.Config) (string, error) {
	r := reader{cfg: cfg}
	level := r.get("smtpd_tls_security_level")
	switch {
	case level != "":
	case r.boolean("smtpd_enforce_tls"):
		level = "encrypt"
	case r.boolean("smtpd_use_tls"):
		level = "may"
	default:
		level = "none"
	}
	return level, r.err
}

// Certificates returns the server's default certificate files:
// smtpd_tls_chain_files when set, else the legacy RSA and ECDSA pairs.
// A DSA certificate is an error: Go has no DSA in TLS.
func Certificates(cfg *config.Config) (Source, error) {
	r := reader{cfg: cfg}
	if d := r.get("smtpd_tls_dcert_file"); d != "" {
		return Source{}, fmt.Errorf("smtpd_tls_dcert_file = %s: DSA certificates are not supported by Go's TLS: use an RSA or ECDSA certificate", d)
	}
	src := Source{Param: "smtpd_tls_chain_files", Chain: r.list("smtpd_tls_chain_files")}
	if len(src.Chain) == 0 {
		src.Param = "smtpd_tls_cert_file"
		for _, p := range []Pair{{CertParam: "smtpd_tls_cert_file", KeyParam: "smtpd_tls_key_file"},
			{CertParam: "smtpd_tls_eccert_file", KeyParam: "smtpd_tls_eckey_file"}} {
			p.Cert, p.Key = r.get(p.CertParam), r.get(p.KeyParam)
			if p.Cert == "" {
				continue
			}
			if p.Key == "" {
				p.Key = p.Cert
			}
			src.Pairs = append(src.Pairs, p)
		}
	}
	return src, r.err
}

// reader reads parameters, keeping the first error.
type reader struct {
	cfg *config.Config
	err error
}

func (r *reader) get(name string) string {
	v, err := r.cfg.Get(name)
	if err != nil && r.err == nil {
		r.err = err
	}
	return v
}

func (r *reader) list(name string) []string { return config.Fields(r.get(name)) }

func (r *reader) boolean(name string) bool {
	v := r.get(name)
	if v == "" {
		return false
	}
	b, err := config.ParseBool(v)
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("parameter %s: %w", name, err)
	}
	return b
}

func (r *reader) integer(name string) int64 {
	n, err := r.cfg.Int(name)
	if err != nil && r.err == nil {
		r.err = err
	}
	return n
}

func (r *reader) duration(name string) time.Duration {
	d, err := r.cfg.Duration(name)
	if err != nil && r.err == nil {
		r.err = err
	}
	return d
}
