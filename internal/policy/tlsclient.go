package policy

import (
	"context"
	"strings"
)

// clientCert is the pseudo-stage of check_ccert_access replies:
// "<CN>: Client certificate rejected: …", as Postfix words them.
const clientCert Stage = 100

// permitTLSAllClientCerts permits a client whose certificate verified
// against smtpd_tls_CAfile/CApath (Postfix: TLS_CERT_IS_TRUSTED), and,
// as Postfix's does, one listed in relay_clientcerts.
func permitTLSAllClientCerts(_ context.Context, p *Policy, e *eval, _ string) Verdict {
	return p.tlsClientCerts(e, true)
}

// permitTLSClientCerts permits a client whose certificate fingerprint,
// or public key fingerprint, is a key of a relay_clientcerts table. As
// in Postfix, the certificate need not be trusted: the fingerprint
// names it exactly.
func permitTLSClientCerts(_ context.Context, p *Policy, e *eval, _ string) Verdict {
	return p.tlsClientCerts(e, false)
}

func (p *Policy) tlsClientCerts(e *eval, all bool) Verdict {
	c := e.req.CCert
	if !e.req.TLS {
		return Verdict{}
	}
	if c == nil {
		if all {
			p.warnNoAsk("permit_tls_all_clientcerts")
		} else {
			p.warnNoAsk("permit_tls_clientcerts")
		}
		return Verdict{}
	}
	if all && c.Trusted {
		return Verdict{Kind: Permit}
	}
	for _, spec := range p.relayCerts {
		t, err := p.open(spec)
		if err != nil {
			p.warn("%v", &TableError{Table: spec, Open: true, Err: err})
			return rejectf(451, "4.3.5", e.req.subject(e.st), e.st, "Server configuration error")
		}
		for _, fp := range []string{c.Fingerprint, c.PublicKeyFingerprint} {
			_, found, err := t.Lookup(fp)
			if err != nil {
				p.warn("relay_clientcerts: lookup error for fingerprint '%s', pkey fingerprint %s", c.Fingerprint, c.PublicKeyFingerprint)
				return rejectf(451, "4.3.5", e.req.subject(e.st), e.st, "Server configuration error")
			}
			if found {
				return Verdict{Kind: Permit}
			}
		}
	}
	return Verdict{}
}

// checkCCertAccess is check_ccert_access type:table: the certificate
// fingerprint, then the public key fingerprint, are looked up as access(5)
// keys; the first that decides wins (Postfix's default search order;
// postern does not take the {type:table, {search_order}} form). Replies
// name the certificate's CN: "<CN>: Client certificate rejected: …".
func checkCCertAccess(ctx context.Context, p *Policy, e *eval, spec string) Verdict {
	c := e.req.CCert
	if !e.req.TLS {
		return Verdict{}
	}
	if c == nil {
		p.warnNoAsk("check_ccert_access")
		return Verdict{}
	}
	if strings.HasPrefix(spec, "{") {
		p.warn("check_ccert_access: the {table, {search_order}} form is not implemented")
		return serverConfigError
	}
	t, err := p.open(spec)
	if err != nil {
		p.warn("%v", &TableError{Table: spec, Open: true, Err: err})
		return rejectf(451, "4.3.5", c.CN, clientCert, "Server configuration error")
	}
	for _, fp := range []string{c.Fingerprint, c.PublicKeyFingerprint} {
		v, found, err := t.Lookup(fp)
		if err != nil {
			p.warn("%s lookup error: %v", spec, err)
			return rejectf(451, "4.3.5", c.CN, clientCert, "Server configuration error")
		}
		if !found {
			continue
		}
		if v := p.accessResult(ctx, e, clientCert, strings.TrimSpace(v)); v.Kind != Next {
			return v
		}
	}
	return Verdict{}
}

// warnNoAsk is Postfix's warning for a client certificate restriction
// that can never match because no certificate is asked for.
func (p *Policy) warnNoAsk(name string) {
	if !p.askCCert {
		p.warn("%s is requested, but \"smtpd_tls_ask_ccert = no\"", name)
	}
}
