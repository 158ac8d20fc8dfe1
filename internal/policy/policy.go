// Package policy is the SMTP server's access control: the
// smtpd_*_restrictions lists, evaluated as Postfix evaluates them —
// left to right, the first restriction that decides ends the list — with
// Postfix's reply codes and texts. Each restriction is a small function
// that returns a verdict or Next; access tables and restriction classes
// can name further restrictions. check_policy_service asks an external
// policy server (policysvc.go; the protocol is internal/policyclient)
// and applies its answer as an access table result.
package policy

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/postern-mta/postern/internal/address"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/restriction"
	"github.com/postern-mta/postern/internal/spf"
)

// Request is what restrictions look at: the session so far.
type Request struct {
	ClientAddr  netip.Addr
	ClientName  string // verified host name, or "unknown"
	ReverseName string // PTR name even if not verified, or ""
	// ClientNameTemp, ReverseNameTemp: the name is unknown because DNS
	// failed temporarily (Postfix's SMTPD_PEER_CODE_TEMP), so
	// reject_unknown_(reverse_)client_hostname answer 450 whatever
	// unknown_client_reject_code says.
	ClientNameTemp, ReverseNameTemp bool
	Helo                            string
	Sender                          string // without brackets; "" is the null sender
	Recipient                       string // the RCPT being checked, as the client wrote it (no route)
	RcptAddr                        address.Address
	SASLUser                        string
	SASLMethod                      string // the AUTH mechanism, with SASLUser
	// Pipelined: at some point in the session the client sent more input
	// where it had to wait for our reply (see internal/pipelining); the
	// flag stays set for the rest of the session, as Postfix's does for
	// reject_unauth_pipelining.
	Pipelined bool
	// TLS: the session is encrypted (STARTTLS or wrapper mode). CCert
	// is the client's certificate, nil when it presented none.
	TLS   bool
	CCert *ClientCert
	// Session, when set, answers the policy service attributes only the
	// SMTP session knows (protocol_state, queue_id, size, server_port,
	// encryption_cipher, ...: see policysvc.go); ok false leaves the
	// attribute to its default.
	Session func(name string) (value string, ok bool)
}

// ClientCert is what the client certificate restrictions look at.
type ClientCert struct {
	// Fingerprint and PublicKeyFingerprint: of the certificate and of
	// its public key, with smtpd_tls_fingerprint_digest, in Postfix's
	// form (tlsconf.Fingerprint).
	Fingerprint, PublicKeyFingerprint string
	// CN and Issuer: the subject's and the issuer's common names.
	CN, Issuer string
	// Trusted: the chain verifies against smtpd_tls_CAfile/CApath.
	Trusted bool
}

// Client is Postfix's "name[addr]" form of the client.
func (r *Request) Client() string {
	name := r.ClientName
	if name == "" {
		name = "unknown"
	}
	return fmt.Sprintf("%s[%s]", name, r.ClientAddr)
}

func (r *Request) subject(st Stage) string {
	switch st {
	case Client:
		return r.Client()
	case Helo:
		return r.Helo
	case Sender:
		return r.Sender
	case Recipient:
		return r.Recipient
	case Data:
		return "DATA"
	case EndOfData:
		return "END-OF-MESSAGE"
	case clientCert:
		if r.CCert != nil {
			return r.CCert.CN
		}
	}
	return "ETRN"
}

// Policy holds the restriction lists and what they consult.
type Policy struct {
	cfg        *config.Config
	lists      map[string][]string
	mynetworks *matchList
	local      *matchList // mydestination
	relay      *matchList // relay_domains
	exclusions *matchList // smtpd_forbid_bare_newline_exclusions
	hoggers    *matchList // smtpd_client_event_limit_exceptions
	own        []netip.Addr
	open       TableOpener
	codes      codes
	hostname   string
	delimiter  string
	parentAcc  bool // smtpd_access_maps in parent_domain_matches_subdomains
	// relayCerts: relay_clientcerts; askCCert: smtpd_tls_ask_ccert (the
	// client certificate restrictions warn when no certificate is asked for).
	relayCerts []string
	askCCert   bool
	// rewrite is trivial-rewrite's configuration (myorigin,
	// append_at_myorigin, ...); resolveOptions adds the local domains.
	rewrite      address.ResolveOptions
	resolving    address.ResolveOptions // rewrite, lookup errors ignored (Resolve)
	doubleBounce string                 // double_bounce_sender
	unlisted     bool                   // smtpd_reject_unlisted_recipient
	// classes: the virtual alias and mailbox domains and every class's
	// recipient tables (rcptmaps.go).
	classes classTables
	// LocalRecipient reports whether an address in a local domain is a
	// known recipient (reject_unlisted_recipient); New sets it from
	// local_recipient_maps; nil accepts every local part.
	LocalRecipient func(addr string) (bool, error)
	// Warn receives "warning:" log lines (unknown restriction, ...).
	Warn func(msg string)
	// Resolver answers the DNS lookups of reject_unknown_sender_domain,
	// reject_unknown_recipient_domain, reject_unknown_helo_hostname and
	// reject_rbl_client; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// SPFResolver answers reject_spf_fail's SPF lookups (the mail
	// authentication checks' cache, so the header's SPF result costs no
	// new query); nil means net.DefaultResolver.
	SPFResolver spf.Resolver

	dns dnsSettings
	// auth: smtpd_sasl_auth_enable and what the AUTH restrictions use
	// (senderlogin.go).
	auth authSettings

	mu     sync.Mutex
	tables map[string]Table

	// svc: check_policy_service's settings and client pools (policysvc.go).
	svc policyServices
}

// New builds a policy from the configuration. open opens lookup tables.
func New(ctx context.Context, cfg *config.Config, open TableOpener) (*Policy, error) {
	p := &Policy{cfg: cfg, lists: map[string][]string{}, tables: map[string]Table{}}
	p.open = p.cachedOpener(open)
	var err error
	for _, name := range []string{"smtpd_client_restrictions", "smtpd_helo_restrictions", "smtpd_sender_restrictions",
		"smtpd_relay_restrictions", "smtpd_recipient_restrictions", "smtpd_data_restrictions",
		"smtpd_end_of_data_restrictions", "smtpd_etrn_restrictions"} {
		if p.lists[name], err = cfg.List(name); err != nil {
			return nil, err
		}
	}
	classes, err := cfg.List("smtpd_restriction_classes")
	if err != nil {
		return nil, err
	}
	for _, c := range classes {
		if p.lists[c], err = cfg.List(c); err != nil {
			return nil, err
		}
	}
	if p.mynetworks, err = newMatchList(cfg, "mynetworks"); err != nil {
		return nil, err
	}
	if p.local, err = newMatchList(cfg, "mydestination"); err != nil {
		return nil, err
	}
	if p.relay, err = newMatchList(cfg, "relay_domains"); err != nil {
		return nil, err
	}
	if p.exclusions, err = newMatchList(cfg, "smtpd_forbid_bare_newline_exclusions"); err != nil {
		return nil, err
	}
	if p.hoggers, err = newMatchList(cfg, "smtpd_client_event_limit_exceptions"); err != nil {
		return nil, err
	}
	if p.own, err = cfg.OwnAddresses(ctx); err != nil {
		return nil, err
	}
	if p.delimiter, err = cfg.Get("recipient_delimiter"); err != nil {
		return nil, err
	}
	parents, _ := cfg.List("parent_domain_matches_subdomains")
	for _, n := range parents {
		p.parentAcc = p.parentAcc || n == "smtpd_access_maps"
	}
	if p.LocalRecipient, err = p.localRecipientMaps(cfg); err != nil {
		return nil, err
	}
	if p.codes, err = readCodes(cfg); err != nil {
		return nil, err
	}
	if p.dns, err = readDNSSettings(cfg); err != nil {
		return nil, err
	}
	if p.hostname, err = cfg.Get("myhostname"); err != nil {
		return nil, err
	}
	if p.rewrite, err = address.RewriteOptions(cfg.Get, cfg.Bool); err != nil {
		return nil, err
	}
	p.resolving = p.rewrite
	p.resolving.IsLocal = func(d string) bool { ok, _ := p.isLocal(d); return ok }
	if p.doubleBounce, err = cfg.Get("double_bounce_sender"); err != nil {
		return nil, err
	}
	if p.unlisted, err = cfg.Bool("smtpd_reject_unlisted_recipient"); err != nil {
		return nil, err
	}
	if err = p.classes.read(cfg); err != nil {
		return nil, err
	}
	if p.relayCerts, err = cfg.List("relay_clientcerts"); err != nil {
		return nil, err
	}
	if p.askCCert, err = cfg.Bool("smtpd_tls_ask_ccert"); err != nil {
		return nil, err
	}
	if err = p.readAuth(cfg); err != nil {
		return nil, err
	}
	if err = p.svc.read(cfg); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Policy) cachedOpener(open TableOpener) TableOpener {
	return func(spec string) (Table, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if t, ok := p.tables[spec]; ok {
			return t, nil
		}
		if open == nil {
			return nil, fmt.Errorf("table %s: lookup tables are not available", spec)
		}
		t, err := open(spec)
		if err != nil {
			return nil, err
		}
		p.tables[spec] = t
		return t, nil
	}
}

func (p *Policy) warn(format string, args ...any) {
	if p.Warn != nil {
		p.Warn(fmt.Sprintf(format, args...))
	}
}

// eval is the state of one list evaluation for one command: the
// conditional defer_if_* and warn_if_reject flags carry across nested
// classes and table results.
type eval struct {
	req *Request
	st  Stage
	// deferred is the first defer_if_permit reply (from the restriction,
	// an access table or a *_tempfail_action): it replaces a permit.
	deferred      Verdict
	deferIfReject bool
	warnNext      bool
	depth         int
	prepend       []string // PREPEND actions (Verdict.Prepend)
	hold          string   // the first HOLD action (Verdict.Hold)
}

// Check evaluates the named restriction list (a parameter name) for the
// stage. An empty or exhausted list permits.
func (p *Policy) Check(ctx context.Context, list string, st Stage, req *Request) Verdict {
	e := &eval{req: req, st: st}
	v := p.run(ctx, e, p.lists[list])
	if v.Kind != Reject && e.deferred.Kind == Reject {
		d := e.deferred
		d.DeferIfPermit = true
		return d
	}
	v.Prepend, v.Hold = e.prepend, e.hold
	return v
}

// deferIfPermit raises the defer_if_permit flag with its reply; the
// first reason is kept, as Postfix's defer_if() does.
func (e *eval) deferIfPermit(v Verdict) {
	if e.deferred.Kind != Reject {
		e.deferred = v
	}
}

func (p *Policy) run(ctx context.Context, e *eval, list []string) Verdict {
	if e.depth++; e.depth > 20 {
		p.warn("restriction classes nested too deeply (a loop?)")
		return serverConfigError
	}
	defer func() { e.depth-- }()
	for i := 0; i < len(list); i++ {
		name := strings.ToLower(list[i])
		arg := ""
		if spec, ok := restriction.Lookup(name); ok && spec.Arg != restriction.NoArg {
			if i+1 >= len(list) {
				p.warn("restriction %s needs an argument", name)
				return serverConfigError
			}
			i++
			arg = list[i]
		}
		v := p.one(ctx, e, name, arg)
		if v.Kind == Next {
			continue
		}
		if v.Kind == Reject {
			if e.warnNext {
				e.warnNext = false
				p.warn("reject warning: %s", v.Reply)
				continue
			}
			if e.deferIfReject && !v.Temporary() {
				v.Reply = "450 4" + v.Reply[5:]
			}
		}
		return v
	}
	return Verdict{Kind: Next}
}

// one evaluates a single restriction or class.
func (p *Policy) one(ctx context.Context, e *eval, name, arg string) Verdict {
	warnNext := e.warnNext
	e.warnNext = false
	if fn, ok := handlers[name]; ok {
		e.warnNext = warnNext
		return fn(ctx, p, e, arg)
	}
	if list, ok := p.lists[name]; ok && !strings.HasPrefix(name, "smtpd_") {
		e.warnNext = warnNext
		return p.run(ctx, e, list)
	}
	p.warn("unknown smtpd restriction: %q", name)
	return serverConfigError
}

// Unlisted is the implicit reject_unlisted_recipient check that runs after
// the RCPT lists permit (smtpd_reject_unlisted_recipient = yes); with
// no, it decides nothing (an explicit reject_unlisted_recipient in a list
// still applies).
func (p *Policy) Unlisted(ctx context.Context, req *Request) Verdict {
	if !p.unlisted {
		return Verdict{}
	}
	return unlistedRecipient(ctx, p, &eval{req: req, st: Recipient}, "")
}

// BareNewlineExempt reports whether a client is excluded from
// smtpd_forbid_bare_newline (smtpd_forbid_bare_newline_exclusions,
// default $mynetworks). A list that cannot be read exempts nobody.
func (p *Policy) BareNewlineExempt(addr netip.Addr) bool {
	ok, err := p.exclusions.matchClient(addr, "", p.open)
	return ok && err == nil
}

// EventLimitExempt reports whether a client is excluded from the
// per-client limits (smtpd_client_event_limit_exceptions, default
// $mynetworks), by address or verified name as Postfix's namadr lists
// match. A list that cannot be read exempts nobody.
func (p *Policy) EventLimitExempt(addr netip.Addr, name string) bool {
	ok, err := p.hoggers.matchClient(addr, name, p.open)
	return ok && err == nil
}

// MyNetworks reports whether a client matches $mynetworks (as
// permit_mynetworks tests it), by address or verified name. A list that
// cannot be read matches nobody.
func (p *Policy) MyNetworks(addr netip.Addr, name string) bool {
	ok, err := p.mynetworks.matchClient(addr, name, p.open)
	return ok && err == nil
}

// isLocal reports whether a domain is this server's: mydestination, or
// an address literal naming one of its own addresses.
func (p *Policy) isLocal(domain string) (bool, error) {
	if config.IsOwnAddressLiteral(domain, p.own) {
		return true, nil
	}
	return p.local.matchDomain(strings.TrimSuffix(domain, "."), p.open)
}

// resolveOptions are trivial-rewrite's as main.cf sets them; a lookup
// error is remembered in *lookupErr.
func (p *Policy) resolveOptions(lookupErr *error) address.ResolveOptions {
	o := p.rewrite
	o.IsLocal = func(d string) bool {
		ok, err := p.isLocal(d)
		if err != nil && *lookupErr == nil {
			*lookupErr = err
		}
		return ok
	}
	return o
}

// Resolve returns where a recipient really goes (percent hack, bang
// paths, quoted local parts, trailing dots resolved as Postfix does).
func (p *Policy) Resolve(a address.Address) address.Address {
	return address.Resolve(a, p.resolving)
}

// Canonical returns an address as cleanup queues it: <user> is
// user@$myorigin (see address.Canonical). The SMTP server queues senders
// so; recipients it queues resolved (Resolve), as Postfix delivers them.
func (p *Policy) Canonical(a address.Address) address.Address {
	return address.Canonical(a, p.rewrite)
}

// OpenTable opens a "type:name" table through the policy's cache, for
// cleanup's address rewriting (internal/rewrite).
func (p *Policy) OpenTable(spec string) (Table, error) { return p.open(spec) }

// IsOwnAddress reports whether addr is one of this host's addresses
// (inet_interfaces, proxy_interfaces): permit_inet_interfaces.
func (p *Policy) IsOwnAddress(addr netip.Addr) bool {
	return slices.Contains(p.own, addr.Unmap())
}

// IsLocal reports whether a domain is in the local class: mydestination,
// or an address literal of this host.
func (p *Policy) IsLocal(domain string) (bool, error) { return p.isLocal(domain) }

// IsRelayDomain reports whether a domain is in relay_domains.
func (p *Policy) IsRelayDomain(domain string) (bool, error) {
	return p.relay.matchDomain(strings.TrimSuffix(domain, "."), p.open)
}
