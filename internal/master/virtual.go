package master

import (
	"fmt"
	"log/slog"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/deliver/mailstore"
	"github.com/postern-mta/postern/internal/deliver/virtual"
)

// virtualConfig is the virtual delivery agent's part of main.cf.
// virtual_mailbox_maps is shared with the address classes (routing and
// smtpd's recipient check).
func virtualConfig(cfg *config.Config, log *slog.Logger) (virtual.Config, error) {
	p := params{cfg: cfg}
	vc := virtual.Defaults()
	vc.MailboxBase = p.get("virtual_mailbox_base")
	for _, spec := range p.list("virtual_mailbox_maps") {
		vc.MailboxMaps = append(vc.MailboxMaps, openOrFail(spec))
	}
	for _, spec := range p.list("virtual_uid_maps") {
		vc.UIDMaps = append(vc.UIDMaps, openOrFail(spec))
	}
	for _, spec := range p.list("virtual_gid_maps") {
		vc.GIDMaps = append(vc.GIDMaps, openOrFail(spec))
	}
	vc.MinimumUID = p.num("virtual_minimum_uid")
	vc.MailboxLimit = p.num("virtual_mailbox_limit")
	vc.MessageSizeLimit = p.num("message_size_limit")
	locks, err := mailstore.DefaultLocks().ParseLocks(p.list("virtual_mailbox_lock"))
	p.keep(err)
	vc.Locks = locks
	vc.RecipientDelimiter = p.get("recipient_delimiter")
	vc.MyHostname = p.get("myhostname")
	vc.Logger = log.With("program", "postern/virtual")
	return vc, p.err
}

// newVirtualAgent is the virtual transport's agent. A configuration the
// agent cannot work with (no virtual_mailbox_base, the default) makes
// an agent that defers its mail with the reason, as Postfix's virtual(8)
// exits with it: mail for virtual mailboxes waits, other mail flows.
func newVirtualAgent(cfg *config.Config, log *slog.Logger) (deliver.Agent, error) {
	vc, err := virtualConfig(cfg, log)
	if err != nil {
		return nil, err
	}
	a, err := virtual.New(vc)
	if err != nil {
		return deliver.Unavailable{Reason: fmt.Sprintf("virtual delivery is not configured: %v", err)}, nil
	}
	return a, nil
}
