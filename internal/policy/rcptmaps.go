package policy

import (
	"context"
	"fmt"
	"strings"

	"github.com/postern-mta/postern/internal/address"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/route"
)

// classTables are the address classes beyond mydestination and
// relay_domains (ADDRESS_CLASS_README) and the tables that list each
// class's valid recipients, which reject_unlisted_recipient and
// reject_unlisted_sender consult (Postfix's check_rcpt_maps). The local
// class's table is Policy.LocalRecipient (localrcpt.go).
type classTables struct {
	alias   *matchList // virtual_alias_domains
	mailbox *matchList // virtual_mailbox_domains
	// aliasMaps: virtual_alias_maps, whose keys are known recipients in
	// every class; mailboxMaps: virtual_mailbox_maps; relayMaps:
	// relay_recipient_maps. Empty accepts every recipient of the class
	// (but the virtual alias class, which has no table of its own).
	aliasMaps, mailboxMaps, relayMaps []string
	// rcptCanonMaps, canonMaps: recipient_canonical_maps and
	// canonical_maps, whose keys are known recipients too (Postfix's
	// check_rcpt_maps: cleanup rewrites them).
	rcptCanonMaps, canonMaps []string
	showTable                bool // show_user_unknown_table_name
	unlistedSender           bool // smtpd_reject_unlisted_sender
}

func (ct *classTables) read(cfg *config.Config) error {
	var err error
	if ct.alias, err = newMatchList(cfg, "virtual_alias_domains"); err != nil {
		return err
	}
	if ct.mailbox, err = newMatchList(cfg, "virtual_mailbox_domains"); err != nil {
		return err
	}
	for name, dst := range map[string]*[]string{"virtual_alias_maps": &ct.aliasMaps,
		"virtual_mailbox_maps": &ct.mailboxMaps, "relay_recipient_maps": &ct.relayMaps,
		"recipient_canonical_maps": &ct.rcptCanonMaps, "canonical_maps": &ct.canonMaps} {
		if *dst, err = cfg.List(name); err != nil {
			return err
		}
	}
	if ct.showTable, err = cfg.Bool("show_user_unknown_table_name"); err != nil {
		return err
	}
	ct.unlistedSender, err = cfg.Bool("smtpd_reject_unlisted_sender")
	return err
}

// IsVirtualAliasDomain reports whether a domain is in virtual_alias_domains.
func (p *Policy) IsVirtualAliasDomain(domain string) (bool, error) {
	return p.classes.alias.matchDomain(strings.TrimSuffix(domain, "."), p.open)
}

// IsVirtualMailboxDomain reports whether a domain is in
// virtual_mailbox_domains.
func (p *Policy) IsVirtualMailboxDomain(domain string) (bool, error) {
	return p.classes.mailbox.matchDomain(strings.TrimSuffix(domain, "."), p.open)
}

// Classes are the domain lists that decide an address class, for the
// queue manager's routing (internal/route) and for relay control here.
func (p *Policy) Classes() route.Classes {
	return route.Classes{IsLocal: p.isLocal, IsVirtualAlias: p.IsVirtualAliasDomain,
		IsVirtual: p.IsVirtualMailboxDomain, IsRelay: p.IsRelayDomain}
}

// classOf is the class of r, a result of resolveRecipient: local when
// opt says so (whatever routing operators its local part keeps), else by
// the domain lists in trivial-rewrite's order.
func (p *Policy) classOf(r address.Address, opt address.ResolveOptions) (route.Class, error) {
	if opt.LocalClass(r) {
		return route.Local, nil
	}
	if r.Domain == "" {
		return route.Default, nil
	}
	cs := p.Classes()
	cs.IsLocal = nil // decided above, with the resolver's own rules
	return cs.Of(r.Domain)
}

// find reports whether one of keys is in one of the tables, each key
// against every table before the next, as Postfix's maps_find does. A
// table that cannot answer is a *TableError.
func (p *Policy) find(specs, keys []string) (bool, error) {
	for _, key := range keys {
		for _, spec := range specs {
			t, err := p.open(spec)
			if err != nil {
				return false, &TableError{Table: spec, Key: key, Open: true, Err: err}
			}
			_, ok, err := t.Lookup(key)
			if err != nil {
				return false, &TableError{Table: spec, Key: key, Err: err}
			}
			if ok {
				return true, nil
			}
		}
	}
	return false, nil
}

// addrKeys are the keys Postfix's mail_addr_find tries for addr: in a
// local domain those of localKeys; elsewhere the address, the address
// without its extension (recipient_delimiter), and the catch-all
// "@domain".
func addrKeys(addr, delim string, local bool) []string { return lookupKeys(addr, delim, local) }

// checkRcptMaps is Postfix's check_rcpt_maps for an address (st: Recipient
// or Sender) as the client wrote it (raw; a, when not zero, parsed):
// resolved as trivial-rewrite does, it must be known in its class — a key
// of recipient_canonical_maps, canonical_maps or virtual_alias_maps in
// any class (measured with Postfix 3.7); in the local class
// local_recipient_maps (postmaster and the bounce senders are absorbed);
// the virtual alias class has no other table; virtual_mailbox_maps and
// relay_recipient_maps for theirs, when set. A table that cannot answer
// is logged by name and gets 451 4.3.0.
func (p *Policy) checkRcptMaps(raw string, a address.Address, st Stage) Verdict {
	r, opt, err := p.resolveRecipient(a, raw)
	if err != nil {
		p.warnTable(err)
		return lookupFailure(raw)
	}
	class, err := p.classOf(r, opt)
	if err != nil {
		p.warnTable(err)
		return lookupFailure(raw)
	}
	addr := r.String()
	for _, specs := range [][]string{p.classes.rcptCanonMaps, p.classes.canonMaps, p.classes.aliasMaps} {
		if len(specs) == 0 {
			continue
		}
		known, err := p.find(specs, addrKeys(addr, p.delimiter, class == route.Local))
		if err != nil {
			p.warnTable(err)
			return lookupFailure(raw)
		}
		if known {
			return Verdict{}
		}
	}
	var specs []string
	code, table := 0, ""
	switch class {
	case route.VirtualAlias:
		return p.userUnknown(p.codes.unknownAlias, raw, st, "virtual alias")
	case route.Local:
		if p.LocalRecipient == nil || p.absorbed(r.Local) {
			return Verdict{}
		}
		known, err := p.LocalRecipient(addr)
		if err != nil {
			p.warnTable(err)
			return lookupFailure(raw)
		}
		if known {
			return Verdict{}
		}
		return p.userUnknown(p.codes.unknownLocal, raw, st, "local recipient")
	case route.Virtual:
		specs, code, table = p.classes.mailboxMaps, p.codes.unknownMailbox, "virtual mailbox"
	case route.Relay:
		specs, code, table = p.classes.relayMaps, p.codes.unknownRelay, "relay recipient"
	}
	if len(specs) == 0 {
		return Verdict{}
	}
	known, err := p.find(specs, addrKeys(addr, p.delimiter, false))
	if err != nil {
		p.warnTable(err)
		return lookupFailure(raw)
	}
	if known {
		return Verdict{}
	}
	return p.userUnknown(code, raw, st, table)
}

// userUnknown is Postfix's reply for an address its class does not know:
// "550 5.1.1 <u@d>: Recipient address rejected: User unknown in virtual
// mailbox table"; a sender gets 5.1.0, but 5.1.7 in the virtual alias
// class, whose reply Postfix derives from the error transport's "5.1.1"
// (smtpd_dsn_fix; measured with Postfix 3.7.11).
func (p *Policy) userUnknown(code int, raw string, st Stage, table string) Verdict {
	dsn, text := "5.1.1", "User unknown"
	switch {
	case st == Sender && table == "virtual alias":
		dsn = "5.1.7"
	case st == Sender:
		dsn = "5.1.0"
	}
	if p.classes.showTable {
		text += " in " + table + " table"
	}
	return rejectf(code, dsn, raw, st, text)
}

// unlistedSender is reject_unlisted_sender: the sender, as trivial-rewrite
// resolves it, must be a known address of its class. The null sender
// passes.
func unlistedSender(_ context.Context, p *Policy, e *eval, _ string) Verdict {
	if e.st < Sender || e.req.Sender == "" {
		return Verdict{}
	}
	return p.checkRcptMaps(e.req.Sender, address.Address{}, Sender)
}

// UnlistedSender is the implicit reject_unlisted_sender check that runs
// after smtpd_sender_restrictions permit (smtpd_reject_unlisted_sender =
// yes, default no).
func (p *Policy) UnlistedSender(ctx context.Context, req *Request) Verdict {
	if !p.classes.unlistedSender {
		return Verdict{}
	}
	return unlistedSender(ctx, p, &eval{req: req, st: Sender}, "")
}

// RecipientKnown reports whether a fully qualified recipient is known in
// its address class, as reject_unlisted_recipient decides (sendmail -bv
// asks it); an error means a table could not answer.
func (p *Policy) RecipientKnown(addr string) (bool, error) {
	v := p.checkRcptMaps(addr, address.Address{}, Recipient)
	if v.Kind == Reject && v.Temporary() {
		return false, fmt.Errorf("%s", strings.TrimPrefix(v.Reply, "451 4.3.0 "))
	}
	return v.Kind != Reject, nil
}
