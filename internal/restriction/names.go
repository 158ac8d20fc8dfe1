// Package restriction knows the smtpd_*_restrictions vocabulary: which
// restriction names exist, which take an argument, and which end a list
// unconditionally. The SMTP server's evaluator builds on this table.
package restriction

import (
	"fmt"
	"strings"
)

// Arg says what follows a restriction name in the list.
type Arg int

const (
	NoArg      Arg = iota
	TableArg       // a type:table lookup table
	DomainArg      // a DNS list domain (reject_rbl_client zen.spamhaus.org)
	NumberArg      // sleep seconds
	ServiceArg     // check_policy_service inet:host:port
)

// Spec describes one restriction name.
type Spec struct {
	Arg Arg
	// Final: the restriction always decides, so nothing after it in the
	// same list can be reached.
	Final bool
}

var specs = map[string]Spec{
	"permit": {Final: true}, "reject": {Final: true}, "defer": {Final: true},
	"defer_if_permit": {}, "defer_if_reject": {}, "warn_if_reject": {},
	"sleep": {Arg: NumberArg}, "reject_unauth_pipelining": {},

	"check_client_access": {Arg: TableArg}, "check_client_a_access": {Arg: TableArg},
	"check_client_mx_access": {Arg: TableArg}, "check_client_ns_access": {Arg: TableArg},
	"check_reverse_client_hostname_access": {Arg: TableArg}, "check_reverse_client_hostname_a_access": {Arg: TableArg},
	"check_reverse_client_hostname_mx_access": {Arg: TableArg}, "check_reverse_client_hostname_ns_access": {Arg: TableArg},
	"check_helo_access": {Arg: TableArg}, "check_helo_a_access": {Arg: TableArg},
	"check_helo_mx_access": {Arg: TableArg}, "check_helo_ns_access": {Arg: TableArg},
	"check_sender_access": {Arg: TableArg}, "check_sender_a_access": {Arg: TableArg},
	"check_sender_mx_access": {Arg: TableArg}, "check_sender_ns_access": {Arg: TableArg},
	"check_recipient_access": {Arg: TableArg}, "check_recipient_a_access": {Arg: TableArg},
	"check_recipient_mx_access": {Arg: TableArg}, "check_recipient_ns_access": {Arg: TableArg},
	"check_ccert_access": {Arg: TableArg}, "check_sasl_access": {Arg: TableArg},
	"check_policy_service": {Arg: ServiceArg},

	"permit_mynetworks": {}, "permit_inet_interfaces": {}, "permit_sasl_authenticated": {},
	"permit_tls_clientcerts": {}, "permit_tls_all_clientcerts": {}, "permit_naked_ip_address": {},
	"reject_unknown_client_hostname": {}, "reject_unknown_client": {},
	"reject_unknown_reverse_client_hostname": {}, "reject_unknown_forward_client_hostname": {},
	"reject_rbl_client": {Arg: DomainArg}, "reject_rhsbl_client": {Arg: DomainArg},
	"reject_rhsbl_reverse_client": {Arg: DomainArg}, "permit_dnswl_client": {Arg: DomainArg},
	"permit_rhswl_client": {Arg: DomainArg}, "reject_plaintext_session": {},

	"reject_invalid_helo_hostname": {}, "reject_invalid_hostname": {},
	"reject_non_fqdn_helo_hostname": {}, "reject_non_fqdn_hostname": {},
	"reject_unknown_helo_hostname": {}, "reject_unknown_hostname": {},
	"reject_rhsbl_helo": {Arg: DomainArg},

	"reject_authenticated_sender_login_mismatch": {}, "reject_known_sender_login_mismatch": {},
	"reject_non_fqdn_sender": {}, "reject_rhsbl_sender": {Arg: DomainArg},
	"reject_sender_login_mismatch": {}, "reject_unauthenticated_sender_login_mismatch": {},
	"reject_unknown_sender_domain": {}, "reject_unlisted_sender": {}, "reject_unverified_sender": {},
	"reject_spf_fail": {}, // postern only: internal/policy/spf.go

	"check_recipient_maps": {}, "permit_auth_destination": {}, "permit_mx_backup": {},
	"reject_non_fqdn_recipient": {}, "reject_rhsbl_recipient": {Arg: DomainArg},
	"reject_unauth_destination": {}, "defer_unauth_destination": {},
	"reject_unknown_recipient_domain": {}, "reject_unlisted_recipient": {},
	"reject_unverified_recipient": {}, "reject_multi_recipient_bounce": {},
}

// Lookup returns the spec of a built-in restriction.
func Lookup(name string) (Spec, bool) {
	s, ok := specs[name]
	return s, ok
}

// Item is one parsed restriction with its argument.
type Item struct {
	Name, Arg string
	Class     bool // a user-defined smtpd_restriction_classes name
}

// Parse checks a restriction list. classes are the names defined by
// smtpd_restriction_classes, which are valid restrictions too. It returns
// every problem, not just the first.
func Parse(fields []string, classes []string) ([]Item, []error) {
	var items []Item
	var errs []error
	for i := 0; i < len(fields); i++ {
		name := fields[i]
		spec, ok := specs[name]
		if !ok {
			if contains(classes, name) {
				items = append(items, Item{Name: name, Class: true})
				continue
			}
			if strings.Contains(name, ":") {
				errs = append(errs, fmt.Errorf("%q: a lookup table must follow a check_*_access restriction", name))
			} else {
				errs = append(errs, fmt.Errorf("unknown restriction %q", name))
			}
			continue
		}
		it := Item{Name: name}
		if spec.Arg != NoArg {
			if i+1 >= len(fields) {
				errs = append(errs, fmt.Errorf("restriction %q needs an argument", name))
				continue
			}
			i++
			it.Arg = fields[i]
			if spec.Arg == TableArg && !strings.Contains(it.Arg, ":") {
				errs = append(errs, fmt.Errorf("restriction %q: %q is not a type:table lookup table", name, it.Arg))
			}
		}
		items = append(items, it)
	}
	return items, errs
}

// Unreachable returns the first item that follows an unconditional
// permit/reject/defer (and the item that made it unreachable).
func Unreachable(items []Item) (after, first Item, ok bool) {
	for i, it := range items {
		if specs[it.Name].Final && !it.Class && i+1 < len(items) {
			return it, items[i+1], true
		}
	}
	return Item{}, Item{}, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
