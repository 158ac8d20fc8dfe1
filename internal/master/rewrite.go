package master

import (
	"log/slog"
	"strings"

	"github.com/postern-mta/postern/internal/address"
	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/policy"
	"github.com/postern-mta/postern/internal/rewrite"
)

// newRewriter is cleanup's address rewriting from main.cf: tables
// through the policy's cache, the user and user+ext keys for $myorigin
// and the local domains, unqualified results completed with @$myorigin.
// log may be nil (nothing logged).
func newRewriter(cfg *config.Config, pol *policy.Policy, log *slog.Logger) (*rewrite.Rewriter, error) {
	rc, err := rewrite.FromConfig(cfg)
	if err != nil {
		return nil, err
	}
	myorigin, err := cfg.Get("myorigin")
	if err != nil {
		return nil, err
	}
	rc.Open = pol.OpenTable
	rc.IsLocal = func(d string) (bool, error) {
		if strings.EqualFold(d, strings.TrimSuffix(myorigin, ".")) {
			return true, nil
		}
		return pol.IsLocal(d)
	}
	rc.Qualify = func(a string) string { return pol.Canonical(address.Address{Local: a}).String() }
	if log != nil {
		rc.Log = log.With("program", "postern/cleanup")
	}
	return rewrite.New(rc), nil
}

// headerRules is cleanup's header address rewriting for a server or
// pickup (nil when no header class has a table): for local
// submissions and local_header_rewrite_clients, or every client with
// remote_header_rewrite_domain.
func headerRules(cfg *config.Config, pol *policy.Policy) (*rewrite.HeaderRules, error) {
	rw, err := newRewriter(cfg, pol, nil)
	if err != nil || !rw.HeaderActive() {
		return nil, err
	}
	clients, err := cfg.List("local_header_rewrite_clients")
	if err != nil {
		return nil, err
	}
	remote, err := cfg.Get("remote_header_rewrite_domain")
	if err != nil {
		return nil, err
	}
	h := &rewrite.HeaderRules{R: rw, RemoteDomain: remote,
		Qualify: func(a string) string { return pol.Canonical(address.Address{Local: a}).String() }}
	h.LocalClient = func(o cleanup.Origin) bool {
		for _, c := range clients {
			switch strings.ToLower(c) {
			case "static:all":
				return true
			case "permit_inet_interfaces":
				if o.ClientAddr.IsValid() && pol.IsOwnAddress(o.ClientAddr) {
					return true
				}
			case "permit_mynetworks":
				if o.MyNetworks {
					return true
				}
			case "permit_sasl_authenticated":
				if o.SASLUser != "" {
					return true
				}
			}
		}
		return false
	}
	return h, nil
}
