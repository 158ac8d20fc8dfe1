package policy

import (
	"strings"

	"github.com/postern-mta/postern/internal/config"
)

// DomainList is a domain match list parameter (mydestination,
// relay_domains, virtual_alias_domains, virtual_mailbox_domains) matched
// as the SMTP server and the queue manager match it, for postern check.
type DomainList struct {
	ml   *matchList
	open TableOpener
}

// NewDomainList reads param's list; open opens its lookup tables.
func NewDomainList(cfg *config.Config, param string, open TableOpener) (*DomainList, error) {
	ml, err := newMatchList(cfg, param)
	if err != nil {
		return nil, err
	}
	return &DomainList{ml: ml, open: open}, nil
}

// Match reports whether domain is in the list; an error means a table or
// entry could not be read.
func (d *DomainList) Match(domain string) (bool, error) {
	return d.ml.matchDomain(strings.TrimSuffix(domain, "."), d.open)
}

// Names are the list's plain domain names (not tables, files or
// negations), lower case.
func (d *DomainList) Names() []string {
	var out []string
	for _, e := range d.ml.entries {
		if e.domain != "" && !e.negate && !strings.HasPrefix(e.domain, ".") {
			out = append(out, e.domain)
		}
	}
	return out
}
