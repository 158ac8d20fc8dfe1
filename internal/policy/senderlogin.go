package policy

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/maps"
)

// authSettings are what the SMTP AUTH restrictions consult.
type authSettings struct {
	enabled    bool       // smtpd_sasl_auth_enable
	loginMaps  []string   // smtpd_sender_login_maps
	exceptions *matchList // smtpd_sasl_exceptions_networks
	myOrigin   string
}

func (p *Policy) readAuth(cfg *config.Config) error {
	var err error
	a := &p.auth
	if a.enabled, err = cfg.Bool("smtpd_sasl_auth_enable"); err != nil {
		return err
	}
	if a.loginMaps, err = cfg.List("smtpd_sender_login_maps"); err != nil {
		return err
	}
	if a.exceptions, err = newMatchList(cfg, "smtpd_sasl_exceptions_networks"); err != nil {
		return err
	}
	a.myOrigin = p.rewrite.MyOrigin
	return nil
}

// SASLException reports whether a client is in
// smtpd_sasl_exceptions_networks: EHLO does not offer it AUTH (it may
// still use it), as Postfix's sasl_client_exception. A list that cannot
// be read excepts nobody.
func (p *Policy) SASLException(addr netip.Addr, name string) bool {
	ok, err := p.auth.exceptions.matchClient(addr, name, p.open)
	return ok && err == nil
}

// The restrictions on authenticated clients and senders, as Postfix's
// smtpd_check.c implements them; the sender login ones need
// smtpd_sasl_auth_enable, as in Postfix (otherwise they are skipped
// with a warning).
var authHandlers = map[string]handler{
	"permit_sasl_authenticated": func(_ context.Context, _ *Policy, e *eval, _ string) Verdict {
		// Postfix's permit_sasl_auth: an ANONYMOUS login does not count.
		return permitIf(e.req.SASLUser != "" && !strings.EqualFold(e.req.SASLMethod, "anonymous"))
	},
	"reject_sender_login_mismatch": func(_ context.Context, p *Policy, e *eval, _ string) Verdict {
		return p.senderLogin(e, "reject_sender_login_mismatch", true, true, false)
	},
	"reject_authenticated_sender_login_mismatch": func(_ context.Context, p *Policy, e *eval, _ string) Verdict {
		return p.senderLogin(e, "reject_authenticated_sender_login_mismatch", true, false, false)
	},
	"reject_known_sender_login_mismatch": func(_ context.Context, p *Policy, e *eval, _ string) Verdict {
		return p.senderLogin(e, "reject_known_sender_login_mismatch", true, true, true)
	},
	"reject_unauthenticated_sender_login_mismatch": func(_ context.Context, p *Policy, e *eval, _ string) Verdict {
		return p.senderLogin(e, "reject_unauthenticated_sender_login_mismatch", false, true, false)
	},
}

// senderLogin checks the MAIL FROM address against smtpd_sender_login_maps:
// with auth, an authenticated client must be one of the address's
// owners (allowUnknown: unless the address has none); with unauth, an
// unauthenticated client may not use an address that has owners.
func (p *Policy) senderLogin(e *eval, name string, auth, unauth, allowUnknown bool) Verdict {
	if !p.auth.enabled {
		p.warn("restriction `%s' ignored: no SASL support", name)
		return Verdict{}
	}
	sender, user := e.req.Sender, e.req.SASLUser
	if sender == "" || len(p.auth.loginMaps) == 0 || (user == "" && !unauth) || (user != "" && !auth) {
		return Verdict{}
	}
	owners, found, err := p.senderOwners(sender)
	if err != nil {
		p.warnTable(err)
		return lookupFailure(sender)
	}
	if user == "" {
		if found {
			return Verdict{Kind: Reject, Reply: fmt.Sprintf("553 5.7.1 <%s>: Sender address rejected: not logged in", sender)}
		}
		return Verdict{}
	}
	if !found && allowUnknown {
		return Verdict{}
	}
	for _, o := range strings.FieldsFunc(owners, func(r rune) bool { return strings.ContainsRune(", \t\r\n", r) }) {
		if strings.EqualFold(o, user) {
			return Verdict{}
		}
	}
	return Verdict{Kind: Reject, Reply: fmt.Sprintf("553 5.7.1 <%s>: Sender address rejected: not owned by user %s", sender, user)}
}

// senderOwners looks the sender up in smtpd_sender_login_maps as
// Postfix's mail_addr_find does, rewritten as trivial-rewrite would
// (<user> is user@$myorigin): user+ext@domain, user@domain, then, in a
// local domain or $myorigin, user+ext and user, then @domain; each key
// in every table before the next key, pattern tables (regexp, pcre,
// cidr) only with the first. Errors are *TableError.
func (p *Policy) senderOwners(sender string) (string, bool, error) {
	r, _, err := p.resolveRecipient(parseRecipient(sender), sender)
	if err != nil {
		return "", false, err
	}
	addr := r.String()
	local, domain := splitAddr(addr)
	keys := []string{addr}
	bare := local
	if i := strings.IndexAny(local, p.delimiter); p.delimiter != "" && i > 0 && !unsplittable(strings.ToLower(local), p.delimiter) {
		bare = local[:i]
		keys = append(keys, bare+"@"+domain)
	}
	if ok, _ := p.isLocal(domain); domain == "" || ok || strings.EqualFold(domain, p.auth.myOrigin) {
		keys = append(keys, local)
		if bare != local {
			keys = append(keys, bare)
		}
	}
	if domain != "" {
		keys = append(keys, "@"+domain)
	}
	for i, key := range keys {
		for _, spec := range p.auth.loginMaps {
			t, err := p.open(spec)
			if err != nil {
				return "", false, &TableError{Table: spec, Key: key, Open: true, Err: err}
			}
			if i > 0 && maps.IsPattern(t) {
				continue
			}
			v, ok, err := t.Lookup(key)
			if err != nil {
				return "", false, &TableError{Table: spec, Key: key, Err: err}
			}
			if ok {
				return v, true, nil
			}
		}
	}
	return "", false, nil
}
