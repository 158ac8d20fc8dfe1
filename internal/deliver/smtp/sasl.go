package smtp

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/postern-mta/postern/internal/maps"
)

// credentials looks up "user:password" in smtp_sasl_password_maps as
// smtp_sasl_passwd_lookup does: by the server's host name, then by the
// next hop as written ("[smtp.example.com]:587"), keys folded to lower
// case.
func (a *Agent) credentials(s *session, d destination) (user, pass string, found bool, err error) {
	for _, key := range []string{s.srv.host, d.site} {
		v, ok, err := maps.Query(strings.ToLower(key), a.cfg.SASLMaps...)
		if err != nil {
			return "", "", false, err
		}
		if ok {
			user, pass, _ = strings.Cut(v, ":")
			return user, pass, true, nil
		}
	}
	return "", "", false, nil
}

// authenticate logs in with AUTH PLAIN or LOGIN when the password table
// has credentials for this server (smtp_sasl_helo_login); without any,
// the session goes on unauthenticated. Plaintext mechanisms are used only
// where the smtp_sasl_*security_options for this session's protection
// allow them.
func (a *Agent) authenticate(ctx context.Context, s *session, d destination) *failure {
	user, pass, found, err := a.credentials(s, d)
	if err != nil {
		a.logf("warning: smtp_sasl_password_maps lookup error for %s: %v", s.srv.host, err)
		return localFailure(s, "4.3.0", "local data error while talking to %s", s.srv.namaddr())
	}
	if !found {
		return nil
	}
	var offered []string
	for _, m := range s.ext.mechs {
		if len(a.cfg.SASLMechanismFilter) == 0 || containsFold(a.cfg.SASLMechanismFilter, m) {
			offered = append(offered, m)
		}
	}
	if len(offered) == 0 {
		return localFailure(s, "4.7.0", "SASL authentication failed: server %s offered no compatible authentication mechanisms for this type of connection security", s.srv.namaddr())
	}
	plaintextOK := a.cfg.SASLPlaintext
	if s.tls != nil {
		plaintextOK = a.cfg.SASLPlaintextTLS
		if s.tlsOK {
			plaintextOK = a.cfg.SASLPlaintextVerified
		}
	}
	mech := ""
	for _, m := range []string{"PLAIN", "LOGIN"} {
		if plaintextOK && containsFold(offered, m) {
			mech = m
			break
		}
	}
	if mech == "" {
		return localFailure(s, "4.7.0", "SASL authentication failed; cannot authenticate to server %s: no mechanism available", s.srv.namaddr())
	}
	b64 := base64.StdEncoding.EncodeToString
	var steps []string
	line := "AUTH " + mech
	if mech == "PLAIN" {
		line += " " + b64([]byte("\x00"+user+"\x00"+pass))
		steps = []string{b64([]byte("\x00" + user + "\x00" + pass))}
	} else {
		steps = []string{b64([]byte(user)), b64([]byte(pass))}
	}
	r, err := s.command(line, a.cfg.Timeouts.Helo)
	for n := 0; err == nil && r.code/100 == 3; n++ {
		if n >= len(steps) {
			s.send("*") // cancel the exchange (RFC 4954)
			if r, err = s.read(a.cfg.Timeouts.Helo); err == nil {
				return localFailure(s, "4.7.0", "SASL authentication failed; cannot authenticate to server %s: unexpected challenge", s.srv.namaddr())
			}
			break
		}
		r, err = s.command(steps[n], a.cfg.Timeouts.Helo)
	}
	if err != nil {
		return streamFailure(ctx, s, err, "performing the EHLO handshake")
	}
	if r.code/100 != 2 {
		f := remoteFailure(s, r, "SASL authentication failed; server %s said: %s", s.srv.namaddr(), r.text)
		if a.cfg.SASLSoftBounce && f.dsn[0] == '5' {
			f.dsn = "4" + f.dsn[1:]
		}
		return f
	}
	return nil
}
