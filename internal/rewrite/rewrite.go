package rewrite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/queue"
)

// Class is a set of Postfix's address classes (canonical_classes,
// masquerade_classes).
type Class uint8

// The address classes.
const (
	EnvelopeSender Class = 1 << iota
	EnvelopeRecipient
	HeaderSender
	HeaderRecipient
)

// Config is what the rewriting does; Open and IsLocal must be set when a
// table is.
type Config struct {
	VirtualAlias       []string // virtual_alias_maps
	Canonical          []string // canonical_maps
	SenderCanonical    []string // sender_canonical_maps
	RecipientCanonical []string // recipient_canonical_maps
	// CanonicalClasses, SenderClasses, RecipientClasses: canonical_classes,
	// sender_canonical_classes, recipient_canonical_classes.
	CanonicalClasses, SenderClasses, RecipientClasses Class
	// Masquerade: masquerade_domains, lower case, "!" kept.
	Masquerade []string
	// MasqueradeExceptions: masquerade_exceptions, local parts (lower
	// case) or type:table references.
	MasqueradeExceptions []string
	MasqueradeClasses    Class // masquerade_classes
	Delimiter            string
	// PropagateCanonical, PropagateVirtual: propagate_unmatched_extensions
	// names canonical, virtual.
	PropagateCanonical, PropagateVirtual bool
	ExpansionLimit, RecursionLimit       int // virtual_alias_{expansion,recursion}_limit
	// MessageLimit: virtual_alias_message_limit (postern only), the most
	// recipients a message may have after rewriting, all original
	// recipients together (0: no limit).
	MessageLimit int
	// LengthLimit: virtual_alias_address_length_limit, the longest
	// address an expansion may give (0: any).
	LengthLimit int
	// Open opens a table (cached by the caller).
	Open func(spec string) (maps.Table, error)
	// IsLocal: the domain is $myorigin, in $mydestination or an address
	// literal of this host (the user and user+ext keys are tried).
	IsLocal func(domain string) (bool, error)
	// Qualify makes an unqualified table result (user) a full address
	// (user@$myorigin), as Postfix's mail_addr_crunch does.
	Qualify func(addr string) string
	Log     *slog.Logger
}

// Rewriter rewrites envelopes (Envelope) and headers (HeaderStage).
type Rewriter struct{ c Config }

// New returns a Rewriter for c.
func New(c Config) *Rewriter { return &Rewriter{c: c} }

// Error is a message that cannot be queued now: a table could not
// answer, or an expansion went beyond its limits (a loop). Reply is the
// SMTP reply (451); the sender keeps the message and tries again.
type Error struct {
	Reply string
	Err   error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// SMTPReply is the reply an SMTP server gives for e.
func (e *Error) SMTPReply() string { return e.Reply }

// lookupError is a table that cannot answer.
func lookupError(table, addr string, err error) *Error {
	return &Error{Reply: "451 4.3.0 Error: temporary lookup failure",
		Err: fmt.Errorf("%s map lookup problem for %s -- message not accepted, try again later: %w", table, addr, err)}
}

// ErrLimit is wrapped by the Error of an expansion beyond
// virtual_alias_expansion_limit or virtual_alias_recursion_limit.
var ErrLimit = errors.New("alias expansion limit")

func limitError(format string, args ...any) *Error {
	return &Error{Reply: "451 4.6.0 Alias expansion error",
		Err: fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrLimit)}
}

// Active reports whether anything is rewritten in envelopes.
func (r *Rewriter) Active() bool {
	if r == nil {
		return false
	}
	c := &r.c
	return (len(c.VirtualAlias) > 0 || len(c.Canonical) > 0 && c.CanonicalClasses&(EnvelopeSender|EnvelopeRecipient) != 0 ||
		len(c.SenderCanonical) > 0 && c.SenderClasses&EnvelopeSender != 0 ||
		len(c.RecipientCanonical) > 0 && c.RecipientClasses&EnvelopeRecipient != 0 ||
		len(c.Masquerade) > 0 && c.MasqueradeClasses&(EnvelopeSender|EnvelopeRecipient) != 0)
}

// Envelope rewrites env's sender and recipients as Postfix's cleanup
// does before it queues a message: the sender through
// sender_canonical_maps, canonical_maps and masquerading; each recipient
// through recipient_canonical_maps, canonical_maps, masquerading (each
// when its class says so), then virtual_alias_maps. A recipient that
// changes keeps the address it was received as (Orig: orig_to=, DSN);
// duplicates are dropped. On error env is unchanged and nothing must be
// queued. Warnings are logged under env.ID.
func (r *Rewriter) Envelope(_ context.Context, env *queue.Envelope) error {
	if !r.Active() {
		return nil
	}
	sender := env.Sender
	if sender != "" {
		var err error
		if sender, err = r.sender(sender, EnvelopeSender, env.ID); err != nil {
			return r.fail(env.ID, err)
		}
	}
	out := make([]queue.Recipient, 0, len(env.Recipients))
	type dupKey struct{ orcpt, notify, orig, addr string }
	seen := map[dupKey]bool{}
	for _, rc := range env.Recipients {
		addr, err := r.recipient(rc.Addr, EnvelopeRecipient, env.ID)
		if err != nil {
			return r.fail(env.ID, err)
		}
		list := []string{addr}
		if len(r.c.VirtualAlias) > 0 {
			if list, err = r.expand(addr); err != nil {
				return r.fail(env.ID, err)
			}
		}
		for _, a := range list {
			n := rc
			if a != rc.Addr {
				n.Orig = rc.Original()
				n.Addr = a
			}
			key := dupKey{n.ORcpt, n.Notify, n.Original(), n.Addr}
			if seen[key] {
				continue
			}
			if r.c.MessageLimit > 0 && len(out) >= r.c.MessageLimit {
				return r.fail(env.ID, limitError("unreasonable virtual_alias_maps expansion size for message: more than %d recipients (virtual_alias_message_limit) -- message not accepted, try again later", r.c.MessageLimit))
			}
			seen[key] = true
			out = append(out, n)
		}
	}
	env.Sender, env.Recipients = sender, out
	return nil
}

// sender is an address of the sender class (envelope or header).
func (r *Rewriter) sender(addr string, class Class, id string) (string, error) {
	return r.canonical(addr, class, r.c.SenderCanonical, r.c.SenderClasses, "sender_canonical_maps", id)
}

// recipient is an address of the recipient class (envelope or header),
// before virtual alias expansion.
func (r *Rewriter) recipient(addr string, class Class, id string) (string, error) {
	return r.canonical(addr, class, r.c.RecipientCanonical, r.c.RecipientClasses, "recipient_canonical_maps", id)
}

// canonical is cleanup's order for an address of class: the class's own
// canonical table (own, applied in ownClasses, named ownName in
// warnings), then canonical_maps, then masquerading.
func (r *Rewriter) canonical(addr string, class Class, own []string, ownClasses Class, ownName, id string) (string, error) {
	var err error
	if len(own) > 0 && ownClasses&class != 0 {
		if addr, err = r.map11(addr, own, ownName, id); err != nil {
			return "", err
		}
	}
	if len(r.c.Canonical) > 0 && r.c.CanonicalClasses&class != 0 {
		if addr, err = r.map11(addr, r.c.Canonical, "canonical_maps", id); err != nil {
			return "", err
		}
	}
	if len(r.c.Masquerade) > 0 && r.c.MasqueradeClasses&class != 0 {
		return r.masquerade(addr)
	}
	return addr, nil
}

// fail logs err as Postfix's cleanup warns and returns it.
func (r *Rewriter) fail(id string, err error) error {
	if r.c.Log != nil {
		if id == "" {
			id = "NOQUEUE"
		}
		r.c.Log.Warn(fmt.Sprintf("%s: %v", id, err))
	}
	return err
}

func (r *Rewriter) warn(format string, args ...any) {
	if r.c.Log != nil {
		r.c.Log.Warn(fmt.Sprintf(format, args...))
	}
}

// splitAt splits an address at its last '@'.
func splitAt(addr string) (local, domain string) {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[:i], addr[i+1:]
	}
	return addr, ""
}
