package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/address"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/master"
	"github.com/postern-mta/postern/internal/policy"
	"github.com/postern-mta/postern/internal/route"
	"github.com/postern-mta/postern/internal/sendmail"
)

// verifyReport is sendmail -bv: for each recipient, what postern would
// do with it — its route and, for local recipients, whether
// local_recipient_maps knows them — mailed to the sender as a "Mail
// Delivery Status Report" from MAILER-DAEMON, as Postfix does. Like
// Postfix it prints nothing. Unlike Postfix it decides from the
// configuration alone: it does not probe remote servers.
func verifyReport(cfg *config.Config, o *sendmail.Options, sender string) (string, error) {
	if len(o.Recipients) == 0 {
		return "", &sendmail.Error{Code: sendmail.ExUsage, Msg: "-bv: no recipient addresses"}
	}
	pol, err := policy.New(context.Background(), cfg, master.OpenTable)
	if err != nil {
		return "", err
	}
	rt, err := master.NewRouter(cfg, pol)
	if err != nil {
		return "", err
	}
	origin, _ := cfg.Get("myorigin")
	host, _ := cfg.Get("myhostname")
	var lines []string
	for _, r := range o.Recipients {
		addr := r // as cleanup would queue it: bob is bob@$myorigin
		if p, rest, err := (address.Options{Rcpt: true}).ParsePath("<"+r+">", true); err == nil && rest == "" && !p.Null {
			addr = pol.Canonical(p.Addr).String()
		} else if !strings.Contains(addr, "@") {
			addr += "@" + origin
		}
		lines = append(lines, "<"+addr+">: "+verdict(pol, rt, addr))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\n", host)
	fmt.Fprintf(&b, "To: %s\n", sender)
	b.WriteString("Subject: Mail Delivery Status Report\n")
	fmt.Fprintf(&b, "Date: %s\n", time.Now().Format(time.RFC1123Z))
	b.WriteString("Auto-Submitted: auto-replied\n\n")
	fmt.Fprintf(&b, "This is the mail system at host %s.\n\n", host)
	b.WriteString("Enclosed is the mail delivery report that you requested.\n\n")
	b.WriteString("                   The mail system\n\n")
	b.WriteString(strings.Join(lines, "\n") + "\n")
	return b.String(), nil
}

// errorDSN is the enhanced status code that may open an error route's
// reason ("5.1.1 User unknown in virtual alias table").
var errorDSN = regexp.MustCompile(`^[245]\.\d{1,3}\.\d{1,3}\s+`)

// verdict is one report line's text, worded as Postfix's delivery
// agents word their verify results.
func verdict(pol *policy.Policy, rt *route.Router, addr string) string {
	r, err := rt.Resolve(addr)
	if err != nil {
		return "address resolver failure: " + err.Error()
	}
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	if class, _ := rt.Classes().Of(domain); class == route.Virtual && r.Transport == "virtual" {
		// virtual(8)'s words, for virtual_mailbox_maps.
		known, err := pol.RecipientKnown(addr)
		switch {
		case err != nil:
			return "temporary failure: " + err.Error()
		case !known:
			return fmt.Sprintf("unknown user: %q", strings.ToLower(addr))
		}
		return "delivery via virtual: delivers to mailbox"
	}
	switch r.Transport {
	case "local":
		if pol.LocalRecipient != nil {
			known, err := pol.LocalRecipient(addr)
			if err != nil {
				return "temporary failure: " + err.Error()
			}
			if !known {
				local, _, _ := strings.Cut(addr, "@")
				return fmt.Sprintf("unknown user: %q", strings.ToLower(local))
			}
		}
		return "delivery via local: delivers to mailbox"
	case "discard":
		return "delivery via discard: " + r.Nexthop
	case "error":
		// The error transport's reason, without its status code.
		return "undeliverable: " + errorDSN.ReplaceAllString(r.Nexthop, "")
	}
	return fmt.Sprintf("delivery via %s to %s: deliverable (not probed)", r.Transport, r.Nexthop)
}
