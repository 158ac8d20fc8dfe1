package policy

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/address"
	"github.com/postern-mta/postern/internal/route"
)

// handler is one restriction: it returns a verdict, or Next.
type handler func(ctx context.Context, p *Policy, e *eval, arg string) Verdict

var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"permit": func(context.Context, *Policy, *eval, string) Verdict { return Verdict{Kind: Permit} },
		"reject": func(_ context.Context, p *Policy, e *eval, _ string) Verdict {
			return rejectf(p.codes.reject, "5.7.1", e.req.subject(e.st), e.st, "Access denied")
		},
		"defer": func(_ context.Context, p *Policy, e *eval, _ string) Verdict {
			return rejectf(p.codes.deferCode, "4.3.2", e.req.subject(e.st), e.st, "Try again later")
		},
		"defer_if_permit": func(_ context.Context, _ *Policy, e *eval, _ string) Verdict {
			v := rejectf(450, "4.7.0", e.req.subject(e.st), e.st, "defer_if_permit requested")
			if e.warnNext {
				return v // warn_if_reject: logged, not deferred
			}
			e.deferIfPermit(v)
			return Verdict{}
		},
		"defer_if_reject": func(_ context.Context, _ *Policy, e *eval, _ string) Verdict {
			e.deferIfReject = true
			return Verdict{}
		},
		"warn_if_reject": func(_ context.Context, _ *Policy, e *eval, _ string) Verdict { e.warnNext = true; return Verdict{} },
		"sleep":          sleep,

		"permit_mynetworks": permitMynetworks,
		"reject_unauth_destination": func(_ context.Context, p *Policy, e *eval, _ string) Verdict {
			return p.unauthDestination(e, p.codes.relay)
		},
		"defer_unauth_destination": func(_ context.Context, p *Policy, e *eval, _ string) Verdict {
			return p.unauthDestination(e, p.codes.relay-100)
		},
		"permit_auth_destination":    permitAuthDestination,
		"permit_tls_clientcerts":     permitTLSClientCerts,
		"permit_tls_all_clientcerts": permitTLSAllClientCerts,
		"check_ccert_access":         checkCCertAccess,
		"reject_unauth_pipelining":   unauthPipelining,

		"reject_invalid_helo_hostname":  invalidHelo,
		"reject_invalid_hostname":       invalidHelo,
		"reject_non_fqdn_helo_hostname": nonFQDNHelo,
		"reject_non_fqdn_hostname":      nonFQDNHelo,
		"reject_non_fqdn_sender": func(_ context.Context, p *Policy, e *eval, _ string) Verdict {
			return p.nonFQDNAddress(e, e.req.Sender, Sender)
		},
		"reject_non_fqdn_recipient": func(_ context.Context, p *Policy, e *eval, _ string) Verdict {
			return p.nonFQDNAddress(e, e.req.Recipient, Recipient)
		},
		"reject_unknown_sender_domain": func(ctx context.Context, p *Policy, e *eval, _ string) Verdict {
			return p.unknownAddress(ctx, e, Sender)
		},
		"reject_unknown_recipient_domain": func(ctx context.Context, p *Policy, e *eval, _ string) Verdict {
			return p.unknownAddress(ctx, e, Recipient)
		},
		"reject_unlisted_recipient":              unlistedRecipient,
		"reject_unlisted_sender":                 unlistedSender,
		"reject_unknown_client_hostname":         unknownClient,
		"reject_unknown_client":                  unknownClient,
		"reject_unknown_reverse_client_hostname": unknownReverseClient,
		"reject_unknown_helo_hostname":           unknownHelo,
		"reject_unknown_hostname":                unknownHelo,
		"reject_rbl_client":                      rblClient,
		"reject_spf_fail":                        rejectSPFFail,
		"check_policy_service":                   checkPolicyService,

		"check_client_access": func(ctx context.Context, p *Policy, e *eval, t string) Verdict {
			return p.access(ctx, e, t, Client, p.clientLookup(e.req))
		},
		"check_helo_access": func(ctx context.Context, p *Policy, e *eval, t string) Verdict {
			return p.access(ctx, e, t, Helo, p.heloLookup(e.req))
		},
		"check_sender_access": func(ctx context.Context, p *Policy, e *eval, t string) Verdict {
			return p.addressAccess(ctx, e, t, Sender, e.req.Sender, address.Address{})
		},
		"check_recipient_access": func(ctx context.Context, p *Policy, e *eval, t string) Verdict {
			return p.addressAccess(ctx, e, t, Recipient, e.req.Recipient, e.req.RcptAddr)
		},
	}
	for name, h := range authHandlers {
		handlers[name] = h
	}
}

func permitIf(ok bool) Verdict {
	if ok {
		return Verdict{Kind: Permit}
	}
	return Verdict{}
}

func sleep(ctx context.Context, _ *Policy, _ *eval, arg string) Verdict {
	n, _ := strconv.Atoi(arg)
	select {
	case <-time.After(time.Duration(n) * time.Second):
	case <-ctx.Done():
	}
	return Verdict{}
}

func permitMynetworks(_ context.Context, p *Policy, e *eval, _ string) Verdict {
	ok, err := p.mynetworks.matchClient(e.req.ClientAddr, e.req.ClientName, p.open)
	if err != nil {
		p.warnTable(err)
		return lookupFailure(e.req.subject(e.st))
	}
	return permitIf(ok)
}

// authDestination: the recipient, resolved as trivial-rewrite does, has
// no sender-specified routing left and its domain is this server's
// (local, virtual alias or virtual mailbox class) or in relay_domains.
func (p *Policy) authDestination(e *eval) (bool, error) {
	r, opt, err := p.resolveRecipient(e.req.RcptAddr, e.req.Recipient)
	if err != nil || r.Routed() {
		return false, err
	}
	class, err := p.classOf(r, opt)
	return class.Final() || class == route.Relay, err
}

// addressAccess is check_sender_access and check_recipient_access: the
// table is searched for the address as trivial-rewrite resolves it, so
// <user> is looked up as user@$myorigin and user%remote@local as
// user@remote (Postfix's check_mail_access; measured: RCPT TO:<known>
// looks up "known@mail.example.test"). Replies name addr as written.
func (p *Policy) addressAccess(ctx context.Context, e *eval, table string, st Stage, addr string, a address.Address) Verdict {
	if e.st < st || addr == "" {
		return p.access(ctx, e, table, st, p.addressLookup(addr, st == Sender))
	}
	r, _, err := p.resolveRecipient(a, addr)
	if err != nil {
		p.warnTable(err)
		return lookupFailure(addr)
	}
	return p.access(ctx, e, table, st, p.addressLookup(r.String(), st == Sender))
}

// parseRecipient is for requests built without a parsed address (tests).
// resolveRecipient resolves a (parsed from raw when a is zero) as
// trivial-rewrite does, and returns the options it used, for their
// Local and LocalClass; a table that could not answer while resolving
// (mydestination, relay_domains) is the error.
func (p *Policy) resolveRecipient(a address.Address, raw string) (address.Address, address.ResolveOptions, error) {
	if a == (address.Address{}) {
		a = parseRecipient(raw)
	}
	var lookupErr error
	opt := p.resolveOptions(&lookupErr)
	r := address.Resolve(a, opt)
	return r, opt, lookupErr
}

func parseRecipient(s string) address.Address {
	path, _, err := address.Options{Rcpt: true}.ParsePath("<"+s+">", true)
	if err != nil {
		return address.Address{Local: s}
	}
	return path.Addr
}

func (p *Policy) unauthDestination(e *eval, code int) Verdict {
	if e.st != Recipient || e.req.Recipient == "" {
		return Verdict{}
	}
	ok, err := p.authDestination(e)
	if err != nil {
		p.warnTable(err)
		return lookupFailure(e.req.Recipient)
	}
	if ok {
		return Verdict{}
	}
	return plain(code, "5.7.1", e.req.Recipient, "Relay access denied")
}

func permitAuthDestination(_ context.Context, p *Policy, e *eval, _ string) Verdict {
	if e.st != Recipient {
		return Verdict{}
	}
	ok, err := p.authDestination(e)
	if err != nil {
		return lookupFailure(e.req.Recipient)
	}
	return permitIf(ok)
}

func unauthPipelining(_ context.Context, _ *Policy, e *eval, _ string) Verdict {
	if !e.req.Pipelined {
		return Verdict{}
	}
	return rejectf(503, "5.5.0", e.req.subject(e.st), e.st, "Improper use of SMTP command pipelining")
}

func invalidHelo(_ context.Context, p *Policy, e *eval, _ string) Verdict {
	h := e.req.Helo
	if h == "" || validHelo(h) {
		return Verdict{}
	}
	return rejectf(p.codes.invalidHost, "5.5.2", h, Helo, "Invalid name")
}

// validHelo accepts a hostname or an address literal.
func validHelo(h string) bool {
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		return net.ParseIP(strings.TrimPrefix(strings.ToLower(h[1:len(h)-1]), "ipv6:")) != nil
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 255 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return false
			}
		}
	}
	return true
}

func nonFQDNHelo(_ context.Context, p *Policy, e *eval, _ string) Verdict {
	h := e.req.Helo
	if h == "" || strings.HasPrefix(h, "[") || strings.Contains(strings.TrimSuffix(h, "."), ".") {
		return Verdict{}
	}
	return rejectf(p.codes.nonFQDN, "5.5.2", h, Helo, "need fully-qualified hostname")
}

func (p *Policy) nonFQDNAddress(e *eval, addr string, st Stage) Verdict {
	if addr == "" || e.st < st {
		return Verdict{}
	}
	_, domain := splitAddr(addr)
	if strings.HasPrefix(domain, "[") || strings.Contains(strings.TrimSuffix(domain, "."), ".") {
		return Verdict{}
	}
	return rejectf(p.codes.nonFQDN, "5.5.2", addr, st, "need fully-qualified address")
}

// unlistedRecipient is reject_unlisted_recipient: the recipient, as
// trivial-rewrite resolves it (<user> is user@$myorigin), must be known in
// its address class (checkRcptMaps); in the local class also when its
// local part keeps a routing operator (user%host@local with
// allow_percent_hack = no): Postfix tests the class, not the ROUTED flag.
func unlistedRecipient(_ context.Context, p *Policy, e *eval, _ string) Verdict {
	if e.st != Recipient || e.req.Recipient == "" {
		return Verdict{}
	}
	return p.checkRcptMaps(e.req.Recipient, e.req.RcptAddr, Recipient)
}

// warnTable logs a lookup failure: which table and why for a *TableError.
func (p *Policy) warnTable(err error) {
	var te *TableError
	if !errors.As(err, &te) {
		p.warn("%v", err)
		return
	}
	for _, w := range te.Warnings() {
		p.warn("%s", w)
	}
}

// splitAddr splits at the last '@'.
func splitAddr(addr string) (local, domain string) {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[:i], addr[i+1:]
	}
	return addr, ""
}

// Implements reports whether the engine evaluates the built-in
// restriction name; postern check refuses the others, which would answer
// every command they apply to with 451 4.3.5 Server configuration error.
func Implements(name string) bool {
	_, ok := handlers[strings.ToLower(name)]
	return ok
}
