package policy

import (
	"fmt"
	"strconv"

	"github.com/postern-mta/postern/internal/config"
)

// codes are the reply-code parameters, with Postfix's defaults.
type codes struct {
	reject, deferCode, relay, accessReject, accessDefer int
	nonFQDN, invalidHost, unknownAddr, unknownClient    int
	unknownLocal, rbl, unknownName                      int
	unknownAlias, unknownMailbox, unknownRelay          int
}

func defaultCodes() codes {
	return codes{reject: 554, deferCode: 450, relay: 554, accessReject: 554, accessDefer: 450,
		nonFQDN: 504, invalidHost: 501, unknownAddr: 450, unknownClient: 450, unknownLocal: 550, rbl: 554,
		unknownName: 450, unknownAlias: 550, unknownMailbox: 550, unknownRelay: 550}
}

// readCodes takes the reply codes from main.cf; a parameter left unset
// (or not yet in the configuration registry) keeps Postfix's default.
func readCodes(cfg *config.Config) (codes, error) {
	c := defaultCodes()
	for name, dst := range map[string]*int{
		"reject_code": &c.reject, "defer_code": &c.deferCode, "relay_domains_reject_code": &c.relay,
		"access_map_reject_code": &c.accessReject, "access_map_defer_code": &c.accessDefer,
		"non_fqdn_reject_code": &c.nonFQDN, "invalid_hostname_reject_code": &c.invalidHost,
		"unknown_address_reject_code": &c.unknownAddr, "unknown_client_reject_code": &c.unknownClient,
		"unknown_local_recipient_reject_code": &c.unknownLocal, "maps_rbl_reject_code": &c.rbl,
		"unknown_hostname_reject_code":      &c.unknownName,
		"unknown_virtual_alias_reject_code": &c.unknownAlias, "unknown_virtual_mailbox_reject_code": &c.unknownMailbox,
		"unknown_relay_recipient_reject_code": &c.unknownRelay,
	} {
		v, err := cfg.Get(name)
		if err != nil {
			return c, err
		}
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 400 || n > 599 {
			return c, fmt.Errorf("parameter %s: %q is not a 4xx or 5xx reply code", name, v)
		}
		*dst = n
	}
	return c, nil
}
